/**
 * Login-key limits under real concurrency (security.md §6A tests 1–3 and 5, §7; DESIGN.md rule 7): over
 * loopback HTTP with every request of a burst on a socket of its own, a key is never admitted more often
 * than its uses allow, a refused request spends nothing, the last use of a clear_key key removes it, and
 * a deleted key stops working at once, with one server process and with two `hostdeck serve` processes
 * sharing one store. A deliberately racy spender is run under the same load as a control: it must
 * over-admit, or the harness could not see the bug it is looking for.
 *
 * Everything runs on the suite's database (HOSTDECK_TEST_DB): SQLite, and PostgreSQL in the second pass;
 * the two processes share a fresh PostgreSQL database there and one SQLite file in the SQLite pass.
 * Trials, to stay within CI time on two cores: SQLite runs the 20 of §7 for max_uses=100 and 1;
 * PostgreSQL (about four times slower per burst) runs 5, as do the clear_key and two-process trials;
 * HOSTDECK_SLOW_TESTS=1 makes every one of them 20.
 */
import { setImmediate as tick } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/auth/key-format.js';
import type { ManualClock } from '../../src/core/clock.js';
import {
  burst,
  type Hit,
  loadAgent,
  type MultiServer,
  pairsOf,
  send,
  startMultiServer,
  tally,
} from '../helpers/multi-server.js';
import { authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';
import { TEST_DB } from '../helpers/services.js';

const SLOW = process.env.HOSTDECK_SLOW_TESTS === '1';
const FULL_TRIALS = 20;
const PG_TRIALS = 5;
const TRIALS = TEST_DB === 'postgres' && !SLOW ? PG_TRIALS : FULL_TRIALS;
const MULTI_TRIALS = SLOW ? FULL_TRIALS : 5;
const CLEAR_TRIALS = SLOW ? FULL_TRIALS : 5;
const CONCURRENCY = 1000;
const USER = 'racer';
const USER_PASSWORD = `${USER}-Pass-123`;
const ALLOWED = 'CMD_API_SHOW_DOMAINS';
// Keys whose refusals end in the password check would lock 127.0.0.1 out after ten; these tests are
// about key limits (the brute-force monitor has tests of its own).
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

let keySeq = 0;

/** Creates a login key of `user` through CMD_API_LOGIN_KEYS on `port`; returns its value (shown once). */
async function createKey(
  port: number,
  fields: Record<string, string>,
  user = USER,
  password = USER_PASSWORD,
): Promise<{ name: string; value: string }> {
  const name = fields.keyname ?? `k${++keySeq}`;
  const r = await send(false, port, {
    method: 'POST',
    path: '/CMD_API_LOGIN_KEYS',
    auth: `${user}:${password}`,
    params: {
      action: 'create',
      keyname: name,
      // An explicit expiry (year, month, day…) only counts without never_expires=yes.
      ...(fields.year ? {} : { never_expires: 'yes' }),
      passwd: password,
      ...fields,
    },
  });
  const { pairs } = pairsOf(r.body);
  if (r.status !== 200 || pairs.error !== '0' || !pairs.key)
    throw new Error(`creating key ${name} failed: ${r.status} ${r.body}`);
  return { name, value: pairs.key };
}

/** The key's listing entry (CMD_API_LOGIN_KEYS, json=yes) as its owner sees it, or undefined. */
async function listed(port: number, name: string): Promise<Record<string, string> | undefined> {
  const r = await send(false, port, {
    path: '/CMD_API_LOGIN_KEYS',
    auth: `${USER}:${USER_PASSWORD}`,
    params: { json: 'yes' },
  });
  expect(r.status, r.body).toBe(200);
  return (JSON.parse(r.body) as Record<string, Record<string, string>>)[name];
}

/** A use limit's outcome in one line, so a failing trial shows all of them at once. */
interface Outcome {
  ok: number;
  refused: number;
  other: Record<number, number>;
  usesLeft: number | null;
}

function outcome(hits: Hit[], usesLeft: number | null): Outcome {
  const t = tally(hits);
  const { 200: ok = 0, 401: refused = 0, ...other } = t;
  return { ok, refused, other, usesLeft };
}

/**
 * Every 200 is the command's real answer and every 401 the login page: no half-answers in either. (One
 * assertion over the odd ones out: thousands of expect calls per burst cost more than the burst.)
 */
function expectCleanAnswers(hits: Hit[]): void {
  const expected = `list[]=${USER}.example.com`;
  const odd = hits.filter((h) =>
    h.status === 200
      ? h.body !== expected
      : h.status === 401
        ? h.headers['x-directadmin'] !== 'Unauthorized' ||
          !h.body.includes('<title>DirectAdmin Login</title>')
        : false,
  );
  expect(odd.map((h) => `${h.status} ${h.body.slice(0, 200)}`)).toEqual([]);
}

/** Basic auth of `user:key`. */
const keyAuth = (value: string, user = USER) => `${user}:${value}`;

describe(`max_uses under ${CONCURRENCY} concurrent requests, one process (${TEST_DB})`, () => {
  let s: TestServer;
  const agent = loadAgent();
  let racy: FastifyInstance | undefined;

  beforeAll(async () => {
    // The brute-force monitor keeps its defaults: 900 refusals of a spent key must not lock 127.0.0.1
    // out (a spent key is a right secret, not a guess), or the next trial would see no success at all.
    s = await startTestServer();
    await createAccount(s, 'user', USER);
  });
  afterAll(async () => {
    agent.destroy();
    await racy?.close();
    await s?.close();
  });

  async function usesLeft(name: string): Promise<number> {
    const row = await s.services.db
      .selectFrom('login_keys')
      .select('uses_left')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.uses_left;
  }

  /** `trials` fresh keys of `maxUses`, each hit by CONCURRENCY requests at once. */
  async function race(maxUses: number, trials: number): Promise<Outcome[]> {
    const results: Outcome[] = [];
    for (let t = 0; t < trials; t++) {
      const k = await createKey(s.port, { max_uses: String(maxUses), select_allow0: ALLOWED });
      const hits = await burst(agent, [s.port], CONCURRENCY, { path: `/${ALLOWED}`, auth: keyAuth(k.value) });
      expectCleanAnswers(hits);
      results.push(outcome(hits, await usesLeft(k.name)));
    }
    return results;
  }

  it(`max_uses=100: exactly 100 × 200 and 900 × 401, uses_left=0, in each of ${TRIALS} trials`, async () => {
    const started = performance.now();
    const results = await race(100, TRIALS);
    console.info(
      `[key-races] ${TEST_DB}: ${TRIALS} trials × ${CONCURRENCY} on max_uses=100 in ${Math.round(performance.now() - started)} ms`,
    );
    expect(results).toEqual(
      Array.from({ length: TRIALS }, () => ({ ok: 100, refused: 900, other: {}, usesLeft: 0 })),
    );
  }, 600_000);

  it(`max_uses=1: exactly one success out of ${CONCURRENCY}, in each of ${TRIALS} trials`, async () => {
    const results = await race(1, TRIALS);
    expect(results).toEqual(
      Array.from({ length: TRIALS }, () => ({
        ok: 1,
        refused: CONCURRENCY - 1,
        other: {},
        usesLeft: 0,
      })),
    );
  }, 600_000);

  it("rate_limit under the same load: exactly the window's slots pass, and the smaller of uses and slots when both limit", async () => {
    const results: { ok: number; refused: number; usesLeft: number | null }[] = [];
    const variants: Record<string, string>[] = [
      { rate_limit: '37', rate_window: '3600' },
      { rate_limit: '37', rate_window: '3600', max_uses: '20' },
      { rate_limit: '20', rate_window: '3600', max_uses: '37' },
    ];
    for (const fields of variants) {
      const k = await createKey(s.port, { ...fields, select_allow0: ALLOWED });
      const hits = await burst(agent, [s.port], CONCURRENCY, { path: `/${ALLOWED}`, auth: keyAuth(k.value) });
      expectCleanAnswers(hits);
      const { ok, refused } = outcome(hits, null);
      results.push({ ok, refused, usesLeft: await usesLeft(k.name) });
    }
    expect(results).toEqual([
      { ok: 37, refused: CONCURRENCY - 37, usesLeft: 0 },
      { ok: 20, refused: CONCURRENCY - 20, usesLeft: 0 },
      { ok: 20, refused: CONCURRENCY - 20, usesLeft: 17 },
    ]);
  }, 120_000);

  it('control: a read-await-write spender on the same store under the same load over-admits', async () => {
    // What spendUse must not be: read uses_left, yield (any driver round trip does), write what was read
    // minus one. Authenticated by the same keyed digest against the same database as the server.
    racy = Fastify();
    racy.get('/racy', async (req, reply) => {
      const secret = Buffer.from((req.headers.authorization ?? '').slice(6), 'base64')
        .toString()
        .split(':')[1];
      const db = s.services.db;
      const row = await db
        .selectFrom('login_keys')
        .select(['id', 'uses_left'])
        .where('digest', '=', s.services.keyDigest(secret ?? ''))
        .executeTakeFirst();
      if (!row || row.uses_left <= 0) return reply.code(401).send('spent');
      await tick();
      await db
        .updateTable('login_keys')
        .set({ uses_left: row.uses_left - 1 })
        .where('id', '=', row.id)
        .execute();
      return 'ok';
    });
    // A thousand connections are opened at once: room for all of them in the accept queue.
    await racy.listen({ host: '127.0.0.1', port: 0, backlog: 2048 });
    const addr = racy.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const admitted: number[] = [];
    for (let t = 0; t < 3; t++) {
      const k = await createKey(s.port, { max_uses: '100', select_allow0: ALLOWED });
      const hits = await burst(agent, [port], CONCURRENCY, { path: '/racy', auth: keyAuth(k.value) });
      admitted.push(tally(hits)[200] ?? 0);
    }
    console.info(`[key-races] ${TEST_DB}: racy control admitted ${admitted.join(', ')} of 100 allowed`);
    for (const a of admitted) expect(a).toBeGreaterThan(100);
  }, 120_000);
});

describe(`clear_key: the last use removes the key atomically (${TEST_DB})`, () => {
  let s: TestServer;
  const agent = loadAgent();

  beforeAll(async () => {
    s = await startTestServer({ settings: NO_BFM });
    await createAccount(s, 'user', USER);
  });
  afterAll(async () => {
    agent.destroy();
    await s?.close();
  });

  /** The answer as sent, header order included, minus what may differ between any two requests (Date). */
  const comparable = (h: Hit) => ({
    status: h.status,
    body: h.body,
    headers: Array.from({ length: h.rawHeaders.length / 2 }, (_, i) => [
      h.rawHeaders[2 * i] as string,
      h.rawHeaders[2 * i + 1] as string,
    ]).filter(([n]) => n?.toLowerCase() !== 'date'),
  });

  it(`max_uses=3 with clear_key=yes under 300 concurrent (${CLEAR_TRIALS} trials): 3 successes, key gone, no 5xx, then like an unknown key`, async () => {
    const results: { counts: Record<number, number>; listed: boolean; usesLeft: number; cleared: boolean }[] =
      [];
    let k = { name: '', value: '' };
    for (let t = 0; t < CLEAR_TRIALS; t++) {
      k = await createKey(s.port, { max_uses: '3', clear_key: 'yes', select_allow0: ALLOWED });
      expect(await listed(s.port, k.name)).toMatchObject({ uses_left: '3', clear_key: 'yes' });
      const hits = await burst(agent, [s.port], 300, { path: `/${ALLOWED}`, auth: keyAuth(k.value) });
      expectCleanAnswers(hits);
      const row = await s.services.db
        .selectFrom('login_keys')
        .select(['uses_left', 'cleared_at'])
        .where('name', '=', k.name)
        .executeTakeFirstOrThrow();
      results.push({
        counts: tally(hits),
        listed: (await listed(s.port, k.name)) !== undefined,
        usesLeft: row.uses_left,
        cleared: row.cleared_at !== null,
      });
    }
    expect(results).toEqual(
      Array.from({ length: CLEAR_TRIALS }, () => ({
        counts: { 200: 3, 401: 297 },
        listed: false,
        usesLeft: 0,
        cleared: true,
      })),
    );

    // The spent key and a key that never existed, both in the generated format, over fresh connections
    // made the same way: the answers may differ in nothing but the Date header.
    const unknown = generateKey();
    expect(unknown.length).toBe(k.value.length);
    for (const [a, b] of [
      [k.value, unknown],
      [unknown, k.value],
    ] as const) {
      const first = await send(false, s.port, { path: `/${ALLOWED}`, auth: keyAuth(a) });
      const second = await send(false, s.port, { path: `/${ALLOWED}`, auth: keyAuth(b) });
      expect(first.status).toBe(401);
      expect(comparable(first)).toEqual(comparable(second));
    }
  }, 120_000);
});

describe(`refused requests spend nothing (${TEST_DB})`, () => {
  let s: TestServer;
  let clock: ManualClock;
  const agent = loadAgent();
  // The manual clock starts at 2026-11-25 12:00 UTC; the keys expire an hour later.
  const EXPIRY = { year: '2026', month: '11', day: '25', hour: '13', minute: '0' };
  const EXPIRES_AT = Date.UTC(2026, 10, 25, 13);

  beforeAll(async () => {
    // 127.0.0.1 (the test) is a trusted proxy, so X-Forwarded-For can stand for another source address.
    s = await startTestServer({
      manualClock: true,
      settings: { ...NO_BFM, trustedProxies: ['127.0.0.1'] },
    });
    clock = s.clock as ManualClock;
    await createAccount(s, 'user', USER);
  });
  afterAll(async () => {
    agent.destroy();
    await s?.close();
  });

  const stored = async (name: string) =>
    (
      await s.services.db
        .selectFrom('login_keys')
        .select(['uses_left', 'use_count'])
        .where('name', '=', name)
        .executeTakeFirstOrThrow()
    ).uses_left;

  it('50 × another command, 50 × another source (two ways), 50 × after expiry: uses_left stays 5; then 5 allowed calls take it to 0', async () => {
    const limits = { max_uses: '5', select_allow0: ALLOWED, ...EXPIRY };
    const a = await createKey(s.port, { keyname: 'denyA', ips: '127.0.0.1', ...limits });
    const b = await createKey(s.port, { keyname: 'denyB', ips: '10.0.0.1', ...limits });
    const fifty = (shot: Parameters<typeof burst>[3]) => burst(agent, [s.port], 50, shot);

    // A command the key does not allow.
    expect(tally(await fifty({ path: '/CMD_API_SHOW_USER_CONFIG', auth: keyAuth(a.value) }))).toEqual({
      401: 50,
    });
    expect(await stored(a.name)).toBe(5);
    // The allowed command from a source the key does not allow: as a trusted proxy reports it…
    expect(
      tally(
        await fifty({
          path: `/${ALLOWED}`,
          auth: keyAuth(a.value),
          headers: { 'x-forwarded-for': '10.9.9.9' },
        }),
      ),
    ).toEqual({ 401: 50 });
    expect(await stored(a.name)).toBe(5);
    // …and with a key that allows only another address (the peer is always 127.0.0.1 here).
    expect(tally(await fifty({ path: `/${ALLOWED}`, auth: keyAuth(b.value) }))).toEqual({ 401: 50 });
    expect(await stored(b.name)).toBe(5);
    // The allowed command from the allowed source once the key has expired (at and after the instant).
    clock.set(EXPIRES_AT);
    expect(tally(await fifty({ path: `/${ALLOWED}`, auth: keyAuth(a.value) }))).toEqual({ 401: 50 });
    clock.set(EXPIRES_AT + 3_600_000);
    expect(tally(await fifty({ path: `/${ALLOWED}`, auth: keyAuth(a.value) }))).toEqual({ 401: 50 });
    expect(await stored(a.name)).toBe(5);
    clock.set(EXPIRES_AT - 1);

    // Only now may uses go, one per admitted call, and nothing is left after the fifth.
    for (let i = 1; i <= 5; i++) {
      const r = await send(agent, s.port, { path: `/${ALLOWED}`, auth: keyAuth(a.value) });
      expect(r.status, r.body).toBe(200);
      expect(await stored(a.name)).toBe(5 - i);
    }
    const sixth = await send(agent, s.port, { path: `/${ALLOWED}`, auth: keyAuth(a.value) });
    expect(sixth.status).toBe(401);
    expect(await stored(a.name)).toBe(0);
    expect(await stored(b.name)).toBe(5);

    // The history says each refusal was for the reason the test meant.
    const history = await send(false, s.port, {
      path: '/CMD_API_LOGIN_KEYS',
      auth: authOf(USER),
      params: { action: 'history', keyname: a.name, json: 'yes' },
    });
    const reasons: Record<string, number> = {};
    // Identical refusals within a second are one row with their count.
    for (const e of JSON.parse(history.body) as { result: string; count: string }[])
      reasons[e.result] = (reasons[e.result] ?? 0) + Number(e.count);
    expect(reasons).toEqual({ command: 50, ip: 50, expired: 100, ok: 5, spent: 1 });
  }, 120_000);
});

describe(`two server processes sharing one ${TEST_DB === 'postgres' ? 'PostgreSQL database' : 'SQLite file'}`, () => {
  let m: MultiServer;
  const agent = loadAgent();

  beforeAll(async () => {
    // Default brute-force settings: after the revocation the key is a wrong password, and the block that
    // follows keeps the loops from queueing on argon2id (production hashing in these processes).
    m = await startMultiServer({ store: TEST_DB });
    const r = await send(false, m.ports[0] as number, {
      method: 'POST',
      path: '/CMD_API_ACCOUNT_USER',
      auth: `admin:${m.adminPassword}`,
      params: {
        action: 'create',
        add: 'Submit',
        username: USER,
        email: `${USER}@example.com`,
        passwd: USER_PASSWORD,
        passwd2: USER_PASSWORD,
        domain: `${USER}.example.com`,
        package: 'default',
        ip: 'shared',
        notify: 'no',
      },
    });
    expect(pairsOf(r.body).pairs.error, r.body).toBe('0');
  }, 180_000);
  afterAll(async () => {
    agent.destroy();
    await m?.close();
  });

  it(`max_uses=100: exactly 100 successes of ${CONCURRENCY} split across both, in each of ${MULTI_TRIALS} trials`, async () => {
    const results: (Outcome & { perNode: number[] })[] = [];
    for (let t = 0; t < MULTI_TRIALS; t++) {
      const k = await createKey(m.ports[t % 2] as number, { max_uses: '100', select_allow0: ALLOWED });
      const hits = await burst(agent, m.ports, CONCURRENCY, { path: `/${ALLOWED}`, auth: keyAuth(k.value) });
      expectCleanAnswers(hits);
      const rows = await m.query<{ uses_left: number }>('select uses_left from login_keys where name = ?', [
        k.name,
      ]);
      results.push({
        ...outcome(hits, rows[0]?.uses_left ?? null),
        perNode: m.ports.map((p) => hits.filter((h) => h.port === p && h.status === 200).length),
      });
    }
    console.info(
      `[key-races] ${TEST_DB}, two processes: successes per node ${results.map((r) => r.perNode.join('+')).join(', ')}`,
    );
    expect(results.map(({ perNode: _, ...o }) => o)).toEqual(
      Array.from({ length: MULTI_TRIALS }, () => ({ ok: 100, refused: 900, other: {}, usesLeft: 0 })),
    );
  }, 600_000);

  it('revocation: no success for a request started after the delete (through the other node) answered', async () => {
    const k = await createKey(m.ports[0] as number, { keyname: 'revokeme', select_allow0: ALLOWED });
    const hits: Hit[] = [];
    let stop = false;
    const clients = Array.from({ length: 50 }, async (_, i) => {
      const port = m.ports[i % 2] as number;
      while (!stop) hits.push(await send(agent, port, { path: `/${ALLOWED}`, auth: keyAuth(k.value) }));
    });
    // Let the loops get going on both nodes before revoking.
    while (m.ports.some((p) => hits.filter((h) => h.port === p && h.status === 200).length < 100))
      await new Promise((r) => setTimeout(r, 20));
    const del = await send(false, m.ports[1] as number, {
      method: 'POST',
      path: '/CMD_API_LOGIN_KEYS',
      auth: `${USER}:${USER_PASSWORD}`,
      params: { action: 'select', select0: k.name },
    });
    expect(pairsOf(del.body).pairs.error, del.body).toBe('0');
    const revoked = del.answered;
    // Keep the loops going through both nodes well after the revocation: at least 1.5 s and until each
    // node has answered 20 requests started after it (refused logins cost a hash, so a loaded machine
    // takes longer), bounded at 30 s.
    const afterOn = (p: number) => hits.filter((h) => h.port === p && h.started > revoked).length;
    const until = Date.now() + 30_000;
    await new Promise((r) => setTimeout(r, 1_500));
    while (Date.now() < until && m.ports.some((p) => afterOn(p) < 20))
      await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(clients);

    const before = hits.filter((h) => h.started <= revoked);
    const after = hits.filter((h) => h.started > revoked);
    // Requests in flight while the delete ran may go either way; those started after it may not succeed.
    const straddling = before.filter((h) => h.answered > del.started);
    console.info(
      `[key-races] ${TEST_DB}, revocation: ${before.length} requests started before the delete answered (${tally(before)[200] ?? 0} ok; ${straddling.length} in flight during it, ${tally(straddling)[200] ?? 0} ok), ${after.length} after (per node ${m.ports.map((p) => after.filter((h) => h.port === p).length).join('+')})`,
    );
    for (const p of m.ports) expect(after.filter((h) => h.port === p).length).toBeGreaterThanOrEqual(20);
    expect(tally(after)).toEqual({ 401: after.length });
    // Deleted means out of use (whether the row goes or stays for the history).
    expect(await m.query('select 1 from login_keys where name = ? and cleared_at is null', [k.name])).toEqual(
      [],
    );
  }, 120_000);
});
