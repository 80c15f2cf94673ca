/**
 * Every zone keeps how many records it holds (the per-zone limit is checked against it on every add): the
 * count follows adds, deletes, edits, whole-zone replacement (a cluster master's rawsave) and the
 * template, and the limit refuses an add past MAX_RECORDS_PER_ZONE while a change that stays within it
 * (delete one, add one) passes. Runs on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/actor.js';
import { AppError } from '../../src/core/errors.js';
import { findByUsername } from '../../src/modules/accounts/accounts.repository.js';
import {
  changeRecords,
  MAX_RECORDS_PER_ZONE,
  type RecordOp,
  saveReceivedZone,
} from '../../src/modules/dns/dns.service.js';
import { createAccount, startTestServer, type TestServer } from '../helpers/server.js';
import { passwordActor } from '../helpers/services.js';

const ORIGIN = 'fred.example.com';
let s: TestServer;
let actor: Actor;
let admin: Actor;

beforeAll(async () => {
  s = await startTestServer({ manualClock: true });
  await createAccount(s, 'user', 'fred');
  const fred = await findByUsername(s.services.db, 'fred');
  const adm = await findByUsername(s.services.db, 'admin');
  if (!fred || !adm) throw new Error('accounts missing');
  actor = passwordActor(fred);
  admin = passwordActor(adm);
});

afterAll(async () => {
  await s?.close();
});

/** The kept count and the real one, of one zone. */
async function counts(origin = ORIGIN): Promise<{ kept: number; real: number }> {
  const db = s.services.db;
  const zone = await db
    .selectFrom('dns_zones')
    .select(['id', 'record_count'])
    .where('origin', '=', origin)
    .executeTakeFirstOrThrow();
  const real = await db
    .selectFrom('dns_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('zone_id', '=', zone.id)
    .executeTakeFirstOrThrow();
  return { kept: Number(zone.record_count), real: Number(real.n) };
}

function change(ops: RecordOp[], origin = ORIGIN) {
  return changeRecords(s.services, actor, origin, ops, 'owner', 'dns.records.change');
}

const txt = (name: string, value = `v-${name}`): RecordOp => ({ op: 'add', name, type: 'TXT', value });

describe('the record count of a zone', () => {
  it('starts at the template and follows adds, deletes and edits', async () => {
    const start = await counts();
    expect(start.kept).toBe(start.real);
    expect(start.kept).toBeGreaterThan(0);
    await change([txt('a'), txt('b'), txt('c')]);
    expect(await counts()).toEqual({ kept: start.real + 3, real: start.real + 3 });
    // An exact duplicate is left as it is and counts nothing.
    await change([txt('a')]);
    expect((await counts()).kept).toBe(start.real + 3);
    await change([{ op: 'delete', name: 'b', type: 'TXT', value: 'v-b' }]);
    expect(await counts()).toEqual({ kept: start.real + 2, real: start.real + 2 });
    // An edit: the old value out, the new one in, in one change.
    await change([{ op: 'delete', name: 'c', type: 'TXT', value: 'v-c' }, txt('c', 'new')]);
    expect(await counts()).toEqual({ kept: start.real + 2, real: start.real + 2 });
    // A refused change (CNAME beside other data) moves nothing.
    await expect(
      change([{ op: 'add', name: 'a', type: 'CNAME', value: 'x.example.org.' }]),
    ).rejects.toThrow();
    expect(await counts()).toEqual({ kept: start.real + 2, real: start.real + 2 });
  });

  it('is the zone received whole from a cluster master, replaced or new', async () => {
    const zoneText = (n: number) =>
      [
        '$TTL 14400',
        '@ IN SOA ns1.master.example. hostmaster.master.example. 2026112601 3600 1800 1209600 86400',
        '@ IN NS ns1.master.example.',
        ...Array.from({ length: n }, (_, i) => `h${i} IN A 192.0.2.${i + 1}`),
      ].join('\n');
    await saveReceivedZone(s.services, admin, 'received.example.net', zoneText(5));
    expect(await counts('received.example.net')).toEqual({ kept: 6, real: 6 });
    await saveReceivedZone(s.services, admin, 'received.example.net', zoneText(2));
    expect(await counts('received.example.net')).toEqual({ kept: 3, real: 3 });
  });

  it(`refuses an add past ${MAX_RECORDS_PER_ZONE} records, and allows a change that stays within`, async () => {
    const { real } = await counts();
    const room = MAX_RECORDS_PER_ZONE - real;
    for (let i = 0; i < room; i += 500)
      await change(Array.from({ length: Math.min(500, room - i) }, (_, k) => txt(`fill${i + k}`)));
    expect(await counts()).toEqual({ kept: MAX_RECORDS_PER_ZONE, real: MAX_RECORDS_PER_ZONE });
    const refused = await change([txt('one-too-many')]).catch((e: unknown) => e);
    expect(refused instanceof AppError && refused.code).toBe('LIMIT_EXCEEDED');
    expect((await counts()).kept).toBe(MAX_RECORDS_PER_ZONE);
    await change([{ op: 'delete', name: 'fill0', type: 'TXT', value: 'v-fill0' }, txt('swapped')]);
    expect(await counts()).toEqual({ kept: MAX_RECORDS_PER_ZONE, real: MAX_RECORDS_PER_ZONE });
  }, 120_000);
});
