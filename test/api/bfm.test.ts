import { request as httpRequest } from 'node:http';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createPasswordHasher, PRODUCTION_HASHER } from '../../src/auth/passwords.js';
import type { Config } from '../../src/config/config.js';
import type { ManualClock } from '../../src/core/clock.js';
import { type Answer, authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD } from '../helpers/services.js';

// Loopback is the whole of 127.0.0.0/8 on Linux, so binding the client socket to another 127.x address
// gives the server a different peer address: enough to tell per-IP from per-account counting.
const IP_A = '127.0.0.1';
const IP_B = '127.0.0.2';
const IP_C = '127.0.0.3';
const IP_D = '127.0.0.4';

const SLOW = process.env.HOSTDECK_SLOW_TESTS === '1';

/** A DA call with Basic auth from a chosen loopback source address. */
function callFrom(s: TestServer, ip: string, auth: string, path = '/CMD_API_LOGIN_TEST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: s.port,
        path,
        method: 'GET',
        localAddress: ip,
        agent: false,
        headers: { authorization: `Basic ${Buffer.from(auth, 'utf8').toString('base64')}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            pairs: {},
            list: [],
            json: () => JSON.parse(body),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Status, body and every header but the date: what a client can compare between two refusals. */
function shape(a: Answer): { status: number; body: string; headers: Record<string, unknown> } {
  const { date: _, ...headers } = a.headers;
  return { status: a.status, body: a.body, headers };
}

function isOk(a: Answer): boolean {
  return a.status === 200 && a.body.startsWith('error=0');
}

async function entry(s: TestServer, kind: 'ip' | 'account', key: string) {
  return s.services.db
    .selectFrom('bfm_entries')
    .selectAll()
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirst();
}

function manual(s: TestServer): ManualClock {
  return s.clock as ManualClock;
}

/** Runs `work` and returns how many password-hash verifications it caused. */
async function hashesDuring(s: TestServer, work: () => Promise<unknown>): Promise<number> {
  const before = s.services.hasher.verifications;
  await work();
  return s.services.hasher.verifications - before;
}

/** Records every query a Kysely instance runs: its kind and the tables it names. */
/**
 * Records every query that runs. Queries on the hot path are compiled once and re-run (db/hot-query.ts),
 * so transformQuery sees each shape only once; transformResult runs for every execution and finds the
 * shape by query id.
 */
class QueryLog implements KyselyPlugin {
  readonly queries: { kind: string; tables: string[] }[] = [];
  private readonly shapes = new Map<unknown, { kind: string; tables: string[] }>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const text = JSON.stringify(args.node);
    const tables = ['accounts', 'bfm_entries', 'domains', 'packages', 'audit_events', 'outbox'].filter((t) =>
      text.includes(`"name":"${t}"`),
    );
    this.shapes.set(args.queryId, { kind: args.node.kind, tables });
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const shape = this.shapes.get(args.queryId);
    if (shape) this.queries.push(shape);
    return args.result;
  }
}

const started: TestServer[] = [];
async function server(settings: Partial<Record<keyof Config, unknown>>): Promise<TestServer> {
  const s = await startTestServer({ settings, manualClock: true });
  started.push(s);
  return s;
}

afterEach(async () => {
  while (started.length) await started.pop()?.close();
});

describe('BFM lockout exactness under concurrency', () => {
  it('200 parallel wrong passwords: exactly 5 verified, then the right password looks like a wrong one', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'alice');
    await createAccount(s, 'user', 'bob');
    const wrongAnswer = shape(await callFrom(s, IP_D, 'bob:not-his-password'));
    expect(wrongAnswer.status).toBe(401);

    let answers: Answer[] = [];
    const hashes = await hashesDuring(s, async () => {
      answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => callFrom(s, IP_A, `alice:wrong-guess-${i}`)),
      );
    });
    expect(answers.map((a) => a.status)).toEqual(Array(200).fill(401));
    for (const a of answers) expect(shape(a)).toEqual(wrongAnswer);
    // Only the threshold's worth of guesses may ever reach the hasher.
    expect(hashes).toBe(5);
    const row = await entry(s, 'account', 'alice');
    expect(row?.failures).toBe(5);
    expect(row?.blocked_until).toBeGreaterThan(s.clock.now());

    // The locked account refuses its right password, from the attacking IP and from a fresh one, exactly
    // as it refuses a wrong one, and without hashing anything.
    const late = await hashesDuring(s, async () => {
      for (const ip of [IP_A, IP_B]) {
        expect(shape(await callFrom(s, ip, authOf('alice')))).toEqual(wrongAnswer);
        expect(shape(await callFrom(s, ip, 'alice:another-guess'))).toEqual(wrongAnswer);
      }
      await Promise.all(Array.from({ length: 50 }, (_, i) => callFrom(s, IP_C, `alice:more-${i}`)));
    });
    expect(late).toBe(0);
    expect((await entry(s, 'account', 'alice'))?.failures).toBe(5);
    // Other accounts are untouched.
    expect(isOk(await callFrom(s, IP_A, authOf('bob')))).toBe(true);
  });

  it('parallel good logins of one account are all admitted while its failure budget is nearly spent', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 5, credentialCacheSeconds: 0 });
    await createAccount(s, 'user', 'alice');
    for (let i = 0; i < 4; i++) await callFrom(s, IP_B, `alice:wrong-${i}`);
    // One place is left; 20 concurrent right passwords share it one after another instead of failing.
    const answers = await Promise.all(Array.from({ length: 20 }, () => callFrom(s, IP_A, authOf('alice'))));
    expect(answers.filter(isOk)).toHaveLength(20);
    expect(await entry(s, 'account', 'alice')).toBeUndefined();
    expect((await entry(s, 'ip', IP_A))?.failures ?? 0).toBe(0);
  });

  it('failures from one IP across many names (unknown and malformed too) block that IP only', async () => {
    const s = await server({ bfmAccountThreshold: 1_000_000, bfmIpThreshold: 5, bfmWhitelist: IP_C });
    await createAccount(s, 'user', 'alice');
    for (const name of ['alice', 'nosuch', 'Ghost', 'bad name!', 'x'.repeat(300)])
      expect((await callFrom(s, IP_A, `${name}:wrong`)).status).toBe(401);
    expect((await entry(s, 'ip', IP_A))?.failures).toBe(5);
    const blocked = await hashesDuring(s, async () => {
      expect((await callFrom(s, IP_A, authOf('alice'))).status).toBe(401);
      expect((await callFrom(s, IP_A, `admin:${ADMIN_PASSWORD}`)).status).toBe(401);
    });
    expect(blocked).toBe(0);
    expect((await entry(s, 'ip', IP_A))?.failures).toBe(5);
    expect(isOk(await callFrom(s, IP_B, authOf('alice')))).toBe(true);

    // Under concurrency too, an IP gets exactly its threshold of guesses.
    const hashes = await hashesDuring(s, () =>
      Promise.all(Array.from({ length: 200 }, (_, i) => callFrom(s, IP_D, `user${i}:wrong`))),
    );
    expect(hashes).toBe(5);
    expect((await entry(s, 'ip', IP_D))?.failures).toBe(5);
    expect((await callFrom(s, IP_D, authOf('alice'))).status).toBe(401);
  });

  it('a whitelisted IP is never IP-blocked, but accounts still lock', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 2, bfmWhitelist: `${IP_C},${IP_B}` });
    await createAccount(s, 'user', 'alice');
    await createAccount(s, 'user', 'bob');
    await Promise.all(Array.from({ length: 40 }, (_, i) => callFrom(s, IP_C, `stranger${i}:wrong`)));
    expect(await entry(s, 'ip', IP_C)).toBeUndefined();
    expect(isOk(await callFrom(s, IP_C, authOf('alice')))).toBe(true);
    for (let i = 0; i < 5; i++) await callFrom(s, IP_C, `bob:wrong-${i}`);
    expect((await callFrom(s, IP_C, authOf('bob'))).status).toBe(401);
    expect(isOk(await callFrom(s, IP_C, authOf('alice')))).toBe(true);
  });
});

describe('BFM lockout timing', () => {
  it('a block ends after bfmBlockSeconds and the count starts again', async () => {
    const s = await server({
      bfmAccountThreshold: 5,
      bfmIpThreshold: 1_000_000,
      bfmBlockSeconds: 600,
      bfmWindowSeconds: 1200,
    });
    await createAccount(s, 'user', 'alice');
    for (let i = 0; i < 5; i++) await callFrom(s, IP_A, `alice:wrong-${i}`);
    manual(s).advance(599_999);
    expect((await callFrom(s, IP_A, authOf('alice'))).status).toBe(401);
    manual(s).advance(1);
    // The window (1200 s) has not passed, yet the served block wipes the slate: four more mistakes are
    // allowed, not one.
    for (let i = 0; i < 4; i++) await callFrom(s, IP_A, `alice:again-${i}`);
    expect((await entry(s, 'account', 'alice'))?.failures).toBe(4);
    expect(isOk(await callFrom(s, IP_A, authOf('alice')))).toBe(true);
  });

  it('the count restarts once bfmWindowSeconds have passed since the first failure', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 1_000_000, bfmWindowSeconds: 1200 });
    await createAccount(s, 'user', 'alice');
    for (let i = 0; i < 4; i++) await callFrom(s, IP_A, `alice:wrong-${i}`);
    manual(s).advance(1_200_000);
    for (let i = 0; i < 4; i++) await callFrom(s, IP_A, `alice:wrong-${i}`);
    expect((await entry(s, 'account', 'alice'))?.failures).toBe(4);
    expect(isOk(await callFrom(s, IP_A, authOf('alice')))).toBe(true);
    // A good login forgets the account's failures.
    expect(await entry(s, 'account', 'alice')).toBeUndefined();
  });

  it('the largest settings neither overflow nor end early', async () => {
    const year = 31_536_000;
    const s = await server({
      bfmAccountThreshold: 1,
      bfmIpThreshold: 1_000_000,
      bfmBlockSeconds: year,
      bfmWindowSeconds: year,
    });
    await createAccount(s, 'user', 'alice');
    const t0 = s.clock.now();
    await callFrom(s, IP_A, 'alice:wrong');
    expect((await entry(s, 'account', 'alice'))?.blocked_until).toBe(t0 + year * 1000);
    expect((await entry(s, 'ip', IP_A))?.failures).toBe(1);
    manual(s).advance(year * 1000 - 1);
    expect((await callFrom(s, IP_A, authOf('alice'))).status).toBe(401);
    manual(s).advance(1);
    expect(isOk(await callFrom(s, IP_A, authOf('alice')))).toBe(true);
  });
});

describe('BFM identifier normalisation', () => {
  it('every spelling of a name counts toward one account; invalid forms count toward none', async () => {
    const s = await server({ bfmAccountThreshold: 1_000_000, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'alice');
    const same = [
      'Alice',
      'alice',
      ' alice ',
      'ALICE',
      'aLiCe',
      '\talice',
      'alice\u00a0',
      '\u3000alice',
      'alice\n',
    ];
    for (const name of same) expect((await callFrom(s, IP_A, `${name}:wrong`)).status).toBe(401);
    expect((await entry(s, 'account', 'alice'))?.failures).toBe(same.length);
    const invalid = ['al ice', 'alice!', '\u0430lice', 'al\u0131ce', 'alice|', '|alice', '', 'a'.repeat(65)];
    const hashes = await hashesDuring(s, async () => {
      for (const name of invalid) expect((await callFrom(s, IP_A, `${name}:wrong`)).status).toBe(401);
    });
    // Refused before any lookup or hashing, and never charged to alice (or to a name of their own).
    expect(hashes).toBe(0);
    expect((await entry(s, 'account', 'alice'))?.failures).toBe(same.length);
    const accounts = await s.services.db
      .selectFrom('bfm_entries')
      .select('key')
      .where('kind', '=', 'account')
      .execute();
    expect(accounts.map((r) => r.key)).toEqual(['alice']);
  });

  it('five spellings lock the account for every spelling', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'alice');
    for (const name of ['Alice', 'alice', ' alice ', 'ALICE', 'aLICE'])
      await callFrom(s, IP_A, `${name}:wrong`);
    for (const name of ['alice', 'Alice', ' ALICE'])
      expect((await callFrom(s, IP_B, `${name}:alice-Pass-123`)).status).toBe(401);
  });

  it('login-as failures count toward the owner, not the target', async () => {
    const s = await server({ bfmAccountThreshold: 5, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'fred');
    for (const name of ['admin|fred', 'Admin|fred', 'admin|FRED', ' ADMIN |fred'])
      await callFrom(s, IP_A, `${name}:wrong`);
    expect((await entry(s, 'account', 'admin'))?.failures).toBe(4);
    expect(await entry(s, 'account', 'fred')).toBeUndefined();
    await callFrom(s, IP_A, 'admin|fred:wrong');
    expect((await callFrom(s, IP_B, `admin:${ADMIN_PASSWORD}`)).status).toBe(401);
    expect((await callFrom(s, IP_B, `admin|fred:${ADMIN_PASSWORD}`)).status).toBe(401);
    expect(isOk(await callFrom(s, IP_B, authOf('fred')))).toBe(true);
  });
});

describe('BFM and enumeration', () => {
  it('a wrong password for an existing and for a missing user answer identically', async () => {
    const s = await server({ bfmAccountThreshold: 3, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'alice');
    const existing = shape(await callFrom(s, IP_A, 'alice:wrong'));
    const missing = shape(await callFrom(s, IP_A, 'nobody:wrong'));
    expect(missing).toEqual(existing);
    expect(existing.status).toBe(401);
  });

  it('an unknown name locks exactly like an existing one (no hash once locked, either way)', async () => {
    const s = await server({ bfmAccountThreshold: 3, bfmIpThreshold: 1_000_000 });
    await createAccount(s, 'user', 'alice');
    const costs: Record<string, number[]> = {};
    for (const name of ['alice', 'nobody']) {
      costs[name] = [];
      for (let i = 0; i < 6; i++)
        costs[name].push(await hashesDuring(s, () => callFrom(s, IP_A, `${name}:wrong-${i}`)));
    }
    expect(costs.alice).toEqual([1, 1, 1, 0, 0, 0]);
    expect(costs.nobody).toEqual(costs.alice);
  });

  it(`timing: medians of existing and missing users differ by < ${SLOW ? 10 : 25}% (production hasher)`, async () => {
    const s = await server({ bfmAccountThreshold: 1_000_000, bfmIpThreshold: 1_000_000 });
    // The installation's hasher is the fast test one; swap in production parameters before the account
    // is created, so its stored hash costs what a real one does.
    s.services.hasher = createPasswordHasher(PRODUCTION_HASHER);
    await createAccount(s, 'user', 'alice');
    const samples = SLOW ? 200 : 40;
    const time = async (auth: string): Promise<number> => {
      const t = performance.now();
      const a = await callFrom(s, IP_A, auth);
      const ms = performance.now() - t;
      expect(a.status).toBe(401);
      return ms;
    };
    for (let i = 0; i < 5; i++) {
      await time(`alice:warm-${i}`);
      await time(`nobody:warm-${i}`);
    }
    const existing: number[] = [];
    const missing: number[] = [];
    // Interleaved, so drift in machine load hits both series alike.
    for (let i = 0; i < samples; i++) {
      existing.push(await time(`alice:wrong-${i}`));
      missing.push(await time(`nobody${i % 7}:wrong-${i}`));
    }
    const median = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)] ?? 0;
    };
    const a = median(existing);
    const b = median(missing);
    const gap = Math.abs(a - b) / Math.max(a, b);
    expect(gap, `medians ${a.toFixed(2)} ms (existing) vs ${b.toFixed(2)} ms (missing)`).toBeLessThan(
      SLOW ? 0.1 : 0.25,
    );
  }, 120_000);
});

describe('BFM cost of a blocked login', () => {
  it('costs one BFM read: no account lookup, no hash, no write', async () => {
    const s = await server({ bfmAccountThreshold: 2, bfmIpThreshold: 3 });
    await createAccount(s, 'user', 'alice');
    for (let i = 0; i < 2; i++) await callFrom(s, IP_A, `alice:wrong-${i}`);
    for (let i = 0; i < 3; i++) await callFrom(s, IP_B, `ghost${i}:wrong`);
    const log = new QueryLog();
    const plain = s.services.db;
    s.services.db = plain.withPlugin(log);
    try {
      for (const [ip, auth] of [
        [IP_A, authOf('alice')],
        [IP_C, 'alice:wrong'],
        [IP_B, authOf('alice')],
        [IP_B, 'bad name!:x'],
      ] as const) {
        log.queries.length = 0;
        const hashes = await hashesDuring(s, () => callFrom(s, ip, auth));
        expect(hashes).toBe(0);
        expect(log.queries).toEqual([{ kind: 'SelectQueryNode', tables: ['bfm_entries'] }]);
      }
    } finally {
      s.services.db = plain;
    }
  });
});
