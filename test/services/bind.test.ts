import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Applier,
  DNS_TOPIC,
  DONE_RETENTION_MS,
  purgeUnconsumed,
  type ZoneSource,
} from '../../src/apply/applier.js';
import { BindDriver } from '../../src/apply/bind.js';
import { systemClock } from '../../src/core/clock.js';
import type { DnsRecord, Zone } from '../../src/modules/dns/zone.types.js';
import { type NamedServer, startNamed } from '../helpers/named.js';
import { createTestEnv, TEST_DB, type TestEnv } from '../helpers/services.js';

const log = pino({ level: process.env.HOSTDECK_TEST_LOG ? 'debug' : 'silent' });

function makeZone(origin: string, records: DnsRecord[], serial = 2026112501): Zone {
  return {
    origin,
    ttl: 300,
    soa: {
      mname: `ns1.${origin}.`,
      rname: `hostmaster.${origin}.`,
      serial,
      refresh: 3600,
      retry: 600,
      expire: 1209600,
      minimum: 60,
    },
    records: [
      { name: '@', type: 'NS', ttl: null, data: [`ns1.${origin}.`] },
      { name: 'ns1', type: 'A', ttl: null, data: ['192.0.2.53'] },
      ...records,
    ],
  };
}

const A = (name: string, ip: string): DnsRecord => ({ name, type: 'A', ttl: null, data: [ip] });
const TXT = (name: string, ...text: string[]): DnsRecord => ({ name, type: 'TXT', ttl: null, data: text });

/** Zones kept in memory, standing in for the database side of the contract. */
class MemorySource implements ZoneSource {
  zones = new Map<string, Zone>();
  async load(origin: string) {
    return this.zones.get(origin) ?? null;
  }
  async list() {
    return [...this.zones.keys()].sort();
  }
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
    v = await fn();
  }
  return v;
}

describe('DNS applier against a real named', () => {
  let named: NamedServer;
  let env: TestEnv;
  let source: MemorySource;
  let driver: BindDriver;
  let applier: Applier;
  let serial = 2026112501;

  beforeAll(async () => {
    named = await startNamed();
    env = await createTestEnv({ empty: true });
    source = new MemorySource();
    driver = new BindDriver({
      zoneDir: named.zoneDir,
      includePath: named.includePath,
      checkzone: 'named-checkzone',
      checkconf: 'named-checkconf',
      reloadCommand: [...named.rndc, 'reload', '{zone}'],
      reconfigCommand: [...named.rndc, 'reconfig'],
    });
    applier = new Applier({
      db: env.services.db,
      dialect: env.services.dialect,
      driver,
      source,
      logger: log,
      clock: systemClock,
      backoffMs: 100,
      maxBackoffMs: 400,
    });
    applier.start();
  });
  afterAll(async () => {
    await applier?.stop();
    await env?.close();
    await named?.stop();
  });

  /** Writes the outbox row a zone change writes, kicks, and waits until the applier marks it done. */
  async function change(origin: string, records: DnsRecord[] | null): Promise<number> {
    if (records) source.zones.set(origin, makeZone(origin, records, ++serial));
    else source.zones.delete(origin);
    const row = await env.services.db
      .insertInto('outbox')
      .values({
        topic: DNS_TOPIC,
        payload: JSON.stringify({ origin, action: records ? 'upsert' : 'delete' }),
        created_at: Date.now(),
        attempts: 0,
        last_error: '',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    applier.kick();
    await until(
      'outbox row done',
      () => rowState(row.id),
      (r) => r.done_at !== null,
      10_000,
    );
    return Date.now();
  }

  async function rowState(id: number) {
    return env.services.db
      .selectFrom('outbox')
      .select(['done_at', 'attempts', 'last_error'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  it('deletes done rows once they are a week old; pending and newer rows stay', async () => {
    const now = Date.now();
    const row = (done_at: number | null, created_at = now) =>
      env.services.db
        .insertInto('outbox')
        .values({
          topic: DNS_TOPIC,
          payload: JSON.stringify({ origin: 'purge.test', action: 'delete' }),
          created_at,
          done_at,
          attempts: 0,
          last_error: '',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const old = await row(now - DONE_RETENTION_MS - 60_000, now - DONE_RETENTION_MS - 120_000);
    const recent = await row(now - DONE_RETENTION_MS + 60_000);
    // A fresh applier purges on its first pass (this one applies the pending row, a delete of a zone
    // BIND never had, and marks it done).
    const purger = new Applier({
      db: env.services.db,
      dialect: env.services.dialect,
      driver,
      source,
      logger: log,
      clock: systemClock,
    });
    const pending = await row(null);
    await purger.applyPending();
    const left = await env.services.db
      .selectFrom('outbox')
      .select('id')
      .where('id', 'in', [old.id, recent.id, pending.id])
      .orderBy('id')
      .execute();
    expect(left.map((r) => r.id)).toEqual([recent.id, pending.id]);
  });

  it('deletes week-old events of topics nothing consumes; DNS rows, pending or not, stay', async () => {
    const now = Date.now();
    const row = (topic: string, created_at: number) =>
      env.services.db
        .insertInto('outbox')
        .values({
          topic,
          payload: JSON.stringify({ username: 'someone', origin: 'unconsumed.test', action: 'upsert' }),
          created_at,
          attempts: 0,
          last_error: '',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const weekOld = now - DONE_RETENTION_MS - 60_000;
    const oldAccount = await row('account.created', weekOld);
    const oldPassword = await row('account.password', weekOld);
    const newAccount = await row('account.deleted', now - 60_000);
    const oldDns = await row(DNS_TOPIC, weekOld);
    expect(await purgeUnconsumed(env.services.db, now)).toBeGreaterThanOrEqual(2);
    const left = await env.services.db
      .selectFrom('outbox')
      .select('id')
      .where('id', 'in', [oldAccount.id, oldPassword.id, newAccount.id, oldDns.id])
      .orderBy('id')
      .execute();
    expect(left.map((r) => r.id)).toEqual([newAccount.id, oldDns.id]);
    // Later tests wait for every row to be done; these two are not theirs.
    await env.services.db.deleteFrom('outbox').where('id', 'in', [newAccount.id, oldDns.id]).execute();
  });

  /** The answer once named serves `want`, which must happen within 1 s of the applier's done. */
  async function served(name: string, type: string, want: string[], doneAt: number) {
    const got = await until(
      `${type} ${name}`,
      () => named.dig(name, type),
      (a) => eq(a, want),
      1000,
    );
    expect(Date.now() - doneAt).toBeLessThanOrEqual(1000);
    return got;
  }
  const eq = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

  it('serves an added zone and an added record, changes a changed one, drops a deleted one', async () => {
    let t = await change('example.com', [A('www', '192.0.2.10')]);
    await served('www.example.com', 'A', ['192.0.2.10'], t);
    expect(readFileSync(named.includePath, 'utf8')).toContain(
      `zone "example.com" { type master; file "${join(named.zoneDir, 'example.com.db')}"; };`,
    );

    t = await change('example.com', [A('www', '192.0.2.10'), A('api', '192.0.2.11')]);
    await served('api.example.com', 'A', ['192.0.2.11'], t);

    t = await change('example.com', [A('www', '192.0.2.20'), A('api', '192.0.2.11')]);
    await served('www.example.com', 'A', ['192.0.2.20'], t);

    t = await change('example.com', [A('www', '192.0.2.20')]);
    await served('api.example.com', 'A', [], t);
    expect(await named.status('api.example.com', 'A')).toBe('NXDOMAIN');
    // Another type at a name that still exists: an empty answer, not NXDOMAIN.
    expect(await named.dig('www.example.com', 'TXT')).toEqual([]);
    expect(await named.status('www.example.com', 'TXT')).toBe('NOERROR');
  });

  it('serves hostile TXT values byte for byte and adds nothing to the zone', async () => {
    const hostile = 'a"b\\c;d\n$INCLUDE /etc/passwd\n$ORIGIN evil.\n@ IN A 6.6.6.6 ( ) \u0001é';
    const t = await change('example.com', [
      A('www', '192.0.2.20'),
      TXT('_acme-challenge', hostile, 'x'.repeat(300)),
    ]);
    const [answer] = await served(
      '_acme-challenge.example.com',
      'TXT',
      [
        `"a\\"b\\\\c;d\\010$INCLUDE /etc/passwd\\010$ORIGIN evil.\\010@ IN A 6.6.6.6 ( ) \\001\\195\\169" "${'x'.repeat(255)}" "${'x'.repeat(45)}"`,
      ],
      t,
    );
    expect(answer).toContain('$INCLUDE');
    expect(await named.status('evil', 'A')).toBe('REFUSED');
    const file = readFileSync(join(named.zoneDir, 'example.com.db'), 'utf8');
    expect(file.split('\n').filter((l) => l.startsWith('$'))).toEqual(['$ORIGIN example.com.', '$TTL 300']);
    expect(file.split('\n')).toHaveLength(9);
  });

  it('keeps the old file and answers when named-checkzone fails, records the error, and retries', async () => {
    const path = join(named.zoneDir, 'example.com.db');
    const before = readFileSync(path, 'utf8');
    // A CNAME beside other data at the same name renders, but BIND refuses the zone.
    source.zones.set(
      'example.com',
      makeZone(
        'example.com',
        [A('www', '192.0.2.99'), { name: 'www', type: 'CNAME', ttl: null, data: ['x.example.net.'] }],
        ++serial,
      ),
    );
    const row = await env.services.db
      .insertInto('outbox')
      .values({
        topic: DNS_TOPIC,
        payload: '{"origin":"example.com","action":"upsert"}',
        created_at: Date.now(),
        attempts: 0,
        last_error: '',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    applier.kick();
    const failed = await until(
      'attempts',
      () => rowState(row.id),
      (r) => r.attempts >= 2,
      5000,
    );
    expect(failed.done_at).toBeNull();
    expect(failed.last_error).toMatch(/^named-checkzone: .*CNAME and other data/);
    expect(failed.last_error).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(await named.dig('www.example.com', 'A')).toEqual(['192.0.2.20']);
    // No temporary file is left behind (once the retry in flight, if any, has finished).
    await applier.stop();
    expect(readdirSync(named.zoneDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    applier.start();

    // The next change of the zone fixes it; both rows end done.
    const t = await change('example.com', [A('www', '192.0.2.30')]);
    await served('www.example.com', 'A', ['192.0.2.30'], t);
    expect((await rowState(row.id)).done_at).not.toBeNull();
  });

  it('a second zone is added with a reconfig, and a deleted zone is no longer served', async () => {
    let t = await change('example.org', [A('@', '192.0.2.40')]);
    await served('example.org', 'A', ['192.0.2.40'], t);
    expect(await named.dig('www.example.com', 'A')).toEqual(['192.0.2.30']);

    t = await change('example.org', null);
    await until(
      'example.org refused',
      () => named.status('example.org', 'A'),
      (s) => s === 'REFUSED',
      1000,
    );
    expect(Date.now() - t).toBeLessThanOrEqual(1000);
    expect(existsSync(join(named.zoneDir, 'example.org.db'))).toBe(false);
    expect(readFileSync(named.includePath, 'utf8')).not.toContain('example.org');
    expect(await named.dig('www.example.com', 'A')).toEqual(['192.0.2.30']);
  });

  it('many rows for one zone are coalesced into one pass, all marked done', async () => {
    for (let i = 0; i < 25; i++) {
      source.zones.set('example.com', makeZone('example.com', [A('www', `192.0.2.${100 + i}`)], ++serial));
      await env.services.db
        .insertInto('outbox')
        .values({
          topic: DNS_TOPIC,
          payload: '{"origin":"example.com","action":"upsert"}',
          created_at: Date.now(),
          attempts: 0,
          last_error: '',
        })
        .execute();
      applier.kick();
    }
    await until(
      'all done',
      () =>
        env.services.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('done_at', 'is', null)
          .executeTakeFirstOrThrow(),
      (r) => Number(r.n) === 0,
      10_000,
    );
    await until(
      'last state',
      () => named.dig('www.example.com', 'A'),
      (a) => eq(a, ['192.0.2.124']),
      1000,
    );
  });

  it('BIND being down delays the change without losing it', async () => {
    const down = new Applier({
      db: env.services.db,
      dialect: env.services.dialect,
      driver: new BindDriver({
        ...driver.settings,
        // A control port nobody listens on: rndc fails as it does when named is stopped.
        reloadCommand: [...named.rndc, '-p', '1', 'reload', '{zone}'],
        reconfigCommand: [...named.rndc, '-p', '1', 'reconfig'],
      }),
      source,
      logger: log,
      clock: systemClock,
    });
    await applier.stop();
    try {
      source.zones.set('example.com', makeZone('example.com', [A('www', '192.0.2.77')], ++serial));
      const row = await env.services.db
        .insertInto('outbox')
        .values({
          topic: DNS_TOPIC,
          payload: '{"origin":"example.com","action":"upsert"}',
          created_at: Date.now(),
          attempts: 0,
          last_error: '',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const r = await down.applyPending();
      expect(r.failed).toBe(1);
      const st = await rowState(row.id);
      expect(st.done_at).toBeNull();
      expect(st.attempts).toBe(1);
      expect(st.last_error).toMatch(/^rndc: .*(connection refused|connect failed)/);
      expect(await named.dig('www.example.com', 'A')).toEqual(['192.0.2.124']);
    } finally {
      applier.start();
    }
    // BIND is back: the pending row is applied on the next pass.
    await until(
      'served after recovery',
      () => named.dig('www.example.com', 'A'),
      (a) => eq(a, ['192.0.2.77']),
      5000,
    );
  });

  it('rows of a zone in backoff do not hold back newer rows of other zones, and file errors are recorded', async () => {
    await applier.stop();
    try {
      const small = new Applier({
        db: env.services.db,
        dialect: env.services.dialect,
        driver,
        source,
        logger: log,
        clock: systemClock,
        batchSize: 2,
        backoffMs: 60_000,
      });
      const insert = (origin: string) =>
        env.services.db
          .insertInto('outbox')
          .values({
            topic: DNS_TOPIC,
            payload: JSON.stringify({ origin, action: 'upsert' }),
            created_at: Date.now(),
            attempts: 0,
            last_error: '',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
      source.zones.set(
        'broken.example',
        makeZone('broken.example', [
          A('x', '192.0.2.1'),
          { name: 'x', type: 'CNAME', ttl: null, data: ['y.example.'] },
        ]),
      );
      const broken = [
        await insert('broken.example'),
        await insert('broken.example'),
        await insert('broken.example'),
      ];
      let r = await small.applyPending();
      expect([r.done, r.failed]).toEqual([0, 3]);
      source.zones.set('late.example', makeZone('late.example', [A('@', '192.0.2.8')], ++serial));
      const late = await insert('late.example');
      // The broken zone waits for its backoff; the newer row of another zone, past a full page, is applied.
      r = await small.applyPending();
      expect([r.done, r.failed, r.applied]).toEqual([1, 0, ['late.example']]);
      expect((await rowState(late.id)).done_at).not.toBeNull();
      for (const b of broken) expect(await rowState(b.id)).toMatchObject({ done_at: null, attempts: 1 });
      await until(
        'late.example',
        () => named.dig('late.example', 'A'),
        (x) => eq(x, ['192.0.2.8']),
        1000,
      );

      // A zone directory that cannot be made: the error lands on the row instead of failing the pass.
      const blocked = new Applier({
        db: env.services.db,
        dialect: env.services.dialect,
        driver: new BindDriver({ ...driver.settings, zoneDir: join(named.includePath, 'zones') }),
        source,
        logger: log,
        clock: systemClock,
      });
      source.zones.set('late.example', makeZone('late.example', [A('@', '192.0.2.9')], ++serial));
      const row = await insert('late.example');
      r = await blocked.applyPending();
      expect(r.failed).toBeGreaterThanOrEqual(1);
      expect((await rowState(row.id)).last_error).toMatch(/^preparing .*ENOTDIR/);
      source.zones.delete('broken.example');
    } finally {
      applier.start();
    }
    await until(
      'late.example updated',
      () => named.dig('late.example', 'A'),
      (x) => eq(x, ['192.0.2.9']),
      5000,
    );
  });

  it.runIf(TEST_DB === 'postgres')('two nodes sharing the database apply one at a time', async () => {
    await applier.stop();
    try {
      // Loads in flight per node; `most` is the largest number of nodes loading at the same moment.
      const active = new Map<string, number>();
      let most = 0;
      // Slow loads make an overlap of two passes certain if the lock did not prevent it.
      const slow = (id: string): ZoneSource => ({
        load: async (origin) => {
          active.set(id, (active.get(id) ?? 0) + 1);
          most = Math.max(most, [...active.values()].filter((n) => n > 0).length);
          await new Promise((r) => setTimeout(r, 40));
          active.set(id, (active.get(id) ?? 0) - 1);
          return source.load(origin);
        },
        list: () => source.list(),
      });
      const node = (id: string) =>
        new Applier({
          db: env.services.db,
          dialect: 'postgres',
          driver,
          source: slow(id),
          logger: log,
          clock: systemClock,
        });
      const [a, b] = [node('a'), node('b')];
      for (const origin of ['n1.example', 'n2.example', 'n3.example']) {
        source.zones.set(origin, makeZone(origin, [A('@', '192.0.2.5')], ++serial));
        await env.services.db
          .insertInto('outbox')
          .values({
            topic: DNS_TOPIC,
            payload: JSON.stringify({ origin, action: 'upsert' }),
            created_at: Date.now(),
            attempts: 0,
            last_error: '',
          })
          .execute();
      }
      const [ra, rb] = await Promise.all([a.applyPending(), b.applyPending()]);
      expect(most).toBe(1);
      expect(ra.failed + rb.failed).toBe(0);
      // One node took the three rows; the other found nothing left.
      expect([ra.done, rb.done].sort()).toEqual([0, 3]);
      for (const origin of ['n1.example', 'n2.example', 'n3.example'])
        await until(
          origin,
          () => named.dig(origin, 'A'),
          (x) => eq(x, ['192.0.2.5']),
          2000,
        );
    } finally {
      applier.start();
    }
  });

  it('reconcile rebuilds zone files and the include, and removes files of zones that are gone', async () => {
    await applier.stop();
    try {
      source.zones.set('example.net', makeZone('example.net', [A('www', '192.0.2.60')], ++serial));
      // A stale zone file hostdeck wrote for a zone that no longer exists, and a damaged live file.
      writeFileSync(
        join(named.zoneDir, 'gone.example.db'),
        readFileSync(join(named.zoneDir, 'example.com.db'), 'utf8').replaceAll('example.com', 'gone.example'),
      );
      writeFileSync(join(named.zoneDir, 'example.com.db'), 'garbage\n');
      writeFileSync(join(named.zoneDir, 'foreign.example.db'), '; not ours\n');
      writeFileSync(named.includePath, '');
      const r = await applier.reconcile();
      expect(r.errors).toEqual(new Map());
      const zones = (await source.list()).length;
      expect(r.written).toBe(2);
      expect(r.unchanged).toBe(zones - 2);
      expect(r.removed).toBe(1);
      expect(existsSync(join(named.zoneDir, 'gone.example.db'))).toBe(false);
      expect(existsSync(join(named.zoneDir, 'foreign.example.db'))).toBe(true);
      await until(
        'example.net',
        () => named.dig('www.example.net', 'A'),
        (a) => eq(a, ['192.0.2.60']),
        2000,
      );
      await until(
        'example.com',
        () => named.dig('www.example.com', 'A'),
        (a) => eq(a, ['192.0.2.77']),
        2000,
      );
      const again = await applier.reconcile();
      expect([again.written, again.unchanged, again.removed]).toEqual([0, zones, 0]);
    } finally {
      applier.start();
    }
  });
});
