/**
 * Concurrent DNS record changes: on SQLite they share one transaction (one fsync) with a savepoint each;
 * on PostgreSQL each has its own transaction. Either way every add lands once with its own serial, a
 * refused one changes nothing, and the audit rows follow the serials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/actor.js';
import { AppError } from '../../src/core/errors.js';
import { findByUsername } from '../../src/modules/accounts/accounts.repository.js';
import { loadZone } from '../../src/modules/dns/dns.repository.js';
import { type ChangeResult, changeRecords } from '../../src/modules/dns/dns.service.js';
import { createAccount, startTestServer, type TestServer } from '../helpers/server.js';
import { passwordActor } from '../helpers/services.js';

const ORIGIN = 'fred.example.com';
const N = 200;

let s: TestServer;
let actor: Actor;

beforeAll(async () => {
  s = await startTestServer({ manualClock: true });
  await createAccount(s, 'user', 'fred');
  const fred = await findByUsername(s.services.db, 'fred');
  if (!fred) throw new Error('fred was not created');
  actor = passwordActor(fred);
});

afterAll(async () => {
  await s?.close();
});

function add(name: string, type = 'TXT', value = `"v-${name}"`): Promise<ChangeResult> {
  return changeRecords(
    s.services,
    actor,
    ORIGIN,
    [{ op: 'add', name, type, value }],
    'owner',
    'dns.records.change',
  );
}

async function auditOf(target: string) {
  return s.services.db
    .selectFrom('audit_events')
    .select(['id', 'details'])
    .where('target', '=', target)
    .where('command', '=', 'dns.records.change')
    .orderBy('id')
    .execute();
}

describe('concurrent record changes', () => {
  it(`${N} adds at once all land, each with its own serial; a refused one among them changes nothing`, async () => {
    const before = await loadZone(s.services.db, ORIGIN);
    if (!before) throw new Error('no zone');
    const names = Array.from({ length: N }, (_, i) => `c${i}`);
    // `www` holds an A record, so a CNAME there is refused in the middle of the batch.
    const refused = add('www', 'CNAME', 'elsewhere.example.org.');
    const results = await Promise.allSettled([...names.map((n) => add(n)), refused]);

    const last = results.at(-1);
    expect(last?.status).toBe('rejected');
    expect(last?.status === 'rejected' && last.reason instanceof AppError && last.reason.code).toBe(
      'RECORD_CONFLICT',
    );
    const serials = results.slice(0, N).map((r) => {
      if (r.status !== 'fulfilled') throw r.reason;
      expect(r.value.added).toBe(1);
      return r.value.serial;
    });
    expect(new Set(serials).size).toBe(N);
    const sorted = [...serials].sort((a, b) => a - b);
    expect(sorted[0]).toBe(before.soa.serial + 1);
    expect(sorted.at(-1)).toBe(before.soa.serial + N);

    const after = await loadZone(s.services.db, ORIGIN);
    expect(after?.soa.serial).toBe(before.soa.serial + N);
    expect(after?.records.length).toBe(before.records.length + N);
    expect(after?.records.some((r) => r.type === 'CNAME')).toBe(false);
    for (const n of names) expect(after?.records.filter((r) => r.name === n)).toHaveLength(1);

    // One audit row per add, none for the refused one, in the order of the serials they made.
    const audit = await auditOf(ORIGIN);
    const serialOf = new Map(names.map((n, i) => [`${n} TXT`, serials[i]]));
    const inOrder = audit.map((a) =>
      serialOf.get((JSON.parse(a.details) as { added: string[] }).added[0] ?? ''),
    );
    expect(inOrder).toHaveLength(N);
    expect(inOrder).toEqual(sorted);

    const outbox = await s.services.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('topic', '=', 'dns.zone')
      .where('payload', 'like', `%"${ORIGIN}"%`)
      .executeTakeFirstOrThrow();
    expect(Number(outbox.n)).toBeGreaterThanOrEqual(N);
  }, 60_000);

  it('a failing item rolls back to its savepoint only; writes from outside the batch do not join it (SQLite)', async () => {
    const batch = s.services.dnsBatch;
    if (!batch) return; // PostgreSQL: one transaction per change, nothing batched.
    const mark = (target: string) =>
      ({
        at: 0,
        actor_id: null,
        actor_username: 'test',
        effective_username: '',
        credential_kind: 'cli',
        credential_id: '',
        ip: '',
        command: 'test.batch',
        target,
        outcome: 'ok',
        details: '',
      }) as const;
    let outside: Promise<unknown> | undefined;
    const results = await Promise.allSettled([
      batch.submit((trx) => trx.insertInto('audit_events').values(mark('a')).execute()),
      batch.submit(async (trx) => {
        await trx.insertInto('audit_events').values(mark('b')).execute();
        // Another request writes while this item is in the middle of the open transaction.
        outside = s.services.db.insertInto('audit_events').values(mark('outside')).execute();
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('item b fails');
      }),
      batch.submit((trx) => trx.insertInto('audit_events').values(mark('c')).execute()),
    ]);
    await outside;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const rows = await s.services.db
      .selectFrom('audit_events')
      .select(['id', 'target'])
      .where('command', '=', 'test.batch')
      .orderBy('id')
      .execute();
    // The outside write waited for the batch's COMMIT and was not undone with item b.
    expect(rows.map((r) => r.target)).toEqual(['a', 'c', 'outside']);
  });
});
