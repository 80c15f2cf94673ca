import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BfmCounter,
  type BfmPolicy,
  type BfmTicket,
  claim,
  confirmFailure,
  counterState,
  ipKey,
  isBlocked,
  isWhitelisted,
  listEntries,
  purgeStale,
  recordFailure,
  release,
  unblock,
} from '../../src/auth/bfm.js';
import { type Config, ConfigError, loadConfig } from '../../src/config/config.js';
import type { ManualClock } from '../../src/core/clock.js';
import { createTestEnv, type TestEnv } from '../helpers/services.js';

function policy(p: Partial<BfmPolicy> = {}): BfmPolicy {
  return {
    ipThreshold: 5,
    accountThreshold: 5,
    windowMs: 1_200_000,
    blockMs: 600_000,
    whitelist: new Set(),
    ...p,
  };
}

const envs: TestEnv[] = [];
async function env(): Promise<{ e: TestEnv; clock: ManualClock }> {
  const e = await createTestEnv({ empty: true, manualClock: true });
  envs.push(e);
  return { e, clock: e.clock as ManualClock };
}

afterEach(async () => {
  while (envs.length) await envs.pop()?.close();
});

async function counter(e: TestEnv, kind: 'ip' | 'account', key: string) {
  return e.services.db
    .selectFrom('bfm_entries')
    .selectAll()
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirst();
}

describe('counterState (the rule the claim upsert applies)', () => {
  const p = policy({ windowMs: 1000 });
  const at = (failures: number, windowStart: number, blockedUntil: number): BfmCounter => ({
    failures,
    windowStart,
    blockedUntil,
  });
  it.each([
    ['no row', undefined, 'fresh'],
    ['places left', at(4, 500, 0), 'open'],
    ['every place taken, no block yet', at(5, 500, 0), 'full'],
    ['block running', at(5, 500, 1001), 'blocked'],
    ['block running past the window', at(5, 0, 5000), 'blocked'],
    ['window passed', at(5, 0, 0), 'fresh'],
    ['window passed exactly', at(3, 0, 0), 'fresh'],
    ['block ended exactly now', at(5, 900, 1000), 'fresh'],
    ['block served inside the window', at(5, 900, 999), 'fresh'],
  ] as const)('%s → %s', (_, c, want) => {
    expect(counterState(c, 5, p, 1000)).toBe(want);
  });
});

describe('ipKey and the whitelist', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    ['not an ip', 'not an ip'],
  ])('%s → %s', (ip, key) => {
    expect(ipKey(ip)).toBe(key);
  });

  it('matches whitelist entries whatever their spelling', () => {
    const p = policy({ whitelist: new Set(['2001:DB8::1', '::ffff:198.51.100.1', '192.0.2.9']) });
    expect(isWhitelisted(p, '2001:db8::1')).toBe(true);
    expect(isWhitelisted(p, '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(isWhitelisted(p, '198.51.100.1')).toBe(true);
    expect(isWhitelisted(p, '192.0.2.9')).toBe(true);
    // Whitelisting is per address, not per /64.
    expect(isWhitelisted(p, '2001:db8::2')).toBe(false);
    expect(isWhitelisted(p, '192.0.2.10')).toBe(false);
  });
});

describe('claims', () => {
  it('under 500 concurrent claims exactly the threshold is granted, and the refused change nothing', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ ipThreshold: 1_000_000 });
    const now = clock.now();
    const claims = await Promise.all(
      Array.from({ length: 500 }, (_, i) => claim(db, p, `10.0.${i >> 8}.${i & 255}`, 'alice', now)),
    );
    const granted = claims.flatMap((c) => (c.kind === 'granted' ? [c.ticket] : []));
    expect(granted).toHaveLength(5);
    // No block yet: the refused are told to wait for the outcome of the five.
    expect(claims.filter((c) => c.kind === 'busy')).toHaveLength(495);
    expect((await counter(e, 'account', 'alice'))?.failures).toBe(5);
    // A refused claim was rolled back on its IP as well.
    expect(
      await e.services.db.selectFrom('bfm_entries').where('kind', '=', 'ip').selectAll().execute(),
    ).toHaveLength(5);
    await Promise.all(granted.map((t) => confirmFailure(db, p, t, now)));
    expect((await counter(e, 'account', 'alice'))?.blocked_until).toBe(now + p.blockMs);
    expect(await isBlocked(db, p, '192.0.2.1', 'alice', now)).toBe(true);
    const late = await Promise.all(Array.from({ length: 50 }, () => claim(db, p, '192.0.2.1', 'alice', now)));
    expect(late.every((c) => c.kind === 'blocked')).toBe(true);
    expect((await counter(e, 'account', 'alice'))?.failures).toBe(5);
    expect(await counter(e, 'ip', '192.0.2.1')).toBeUndefined();
  });

  it('the same holds for one IP across many names', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ accountThreshold: 1_000_000 });
    const now = clock.now();
    const claims = await Promise.all(
      Array.from({ length: 300 }, (_, i) => claim(db, p, '198.51.100.7', `user${i}`, now)),
    );
    expect(claims.filter((c) => c.kind === 'granted')).toHaveLength(5);
    expect((await counter(e, 'ip', '198.51.100.7'))?.failures).toBe(5);
    const accounts = await db.selectFrom('bfm_entries').where('kind', '=', 'account').selectAll().execute();
    expect(accounts).toHaveLength(5);
  });

  it('a good password gives the IP its place back and clears the account', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy();
    const now = clock.now();
    for (let i = 0; i < 3; i++) await recordFailure(db, p, '192.0.2.1', 'alice', now);
    const c = await claim(db, p, '192.0.2.1', 'alice', now);
    expect(c.kind).toBe('granted');
    expect((await counter(e, 'ip', '192.0.2.1'))?.failures).toBe(4);
    await release(db, (c as { ticket: BfmTicket }).ticket, now);
    expect((await counter(e, 'ip', '192.0.2.1'))?.failures).toBe(3);
    expect(await counter(e, 'account', 'alice')).toBeUndefined();
  });

  it('a refund never reaches into a later window', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy();
    const c = await claim(db, p, '192.0.2.1', null, clock.now());
    clock.advance(p.windowMs);
    await recordFailure(db, p, '192.0.2.1', null, clock.now());
    await release(db, (c as { ticket: BfmTicket }).ticket, clock.now());
    expect((await counter(e, 'ip', '192.0.2.1'))?.failures).toBe(1);
  });

  it('a good password does not lift a block that concurrent failures started', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ ipThreshold: 1_000_000, accountThreshold: 2 });
    const now = clock.now();
    const good = await claim(db, p, '192.0.2.1', 'alice', now);
    const bad = await claim(db, p, '192.0.2.2', 'alice', now);
    await confirmFailure(db, p, (bad as { ticket: BfmTicket }).ticket, now);
    await release(db, (good as { ticket: BfmTicket }).ticket, now);
    expect(await isBlocked(db, p, '192.0.2.3', 'alice', now)).toBe(true);
  });

  it('a whitelisted IP is never counted; its accounts are', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ whitelist: new Set(['192.0.2.1']) });
    for (let i = 0; i < 20; i++) await recordFailure(db, p, '192.0.2.1', `u${i}`, clock.now());
    expect(await counter(e, 'ip', '192.0.2.1')).toBeUndefined();
    for (let i = 0; i < 5; i++) await recordFailure(db, p, '192.0.2.1', 'alice', clock.now());
    expect(await isBlocked(db, p, '192.0.2.1', 'alice', clock.now())).toBe(true);
    expect(await isBlocked(db, p, '192.0.2.1', null, clock.now())).toBe(false);
  });

  it('an IPv6 attacker cannot rotate through its /64', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ accountThreshold: 1_000_000 });
    for (let i = 1; i <= 5; i++)
      await recordFailure(db, p, `2001:db8:5:6::${i.toString(16)}`, null, clock.now());
    expect(await isBlocked(db, p, '2001:db8:5:6:ffff:1:2:3', null, clock.now())).toBe(true);
    expect(await isBlocked(db, p, '2001:db8:5:7::1', null, clock.now())).toBe(false);
    // The CLI can name the block by any address in it.
    expect(await unblock(db, 'ip', '2001:db8:5:6::42')).toBe(true);
    expect(await isBlocked(db, p, '2001:db8:5:6::1', null, clock.now())).toBe(false);
  });

  it('the largest settings keep their exact values', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const year = 31_536_000_000;
    const p = policy({ ipThreshold: 1_000_000, accountThreshold: 1, windowMs: year, blockMs: year });
    const t0 = clock.now();
    await recordFailure(db, p, '192.0.2.1', 'alice', t0);
    const [ip, account] = [await counter(e, 'ip', '192.0.2.1'), await counter(e, 'account', 'alice')];
    expect(account?.blocked_until).toBe(t0 + year);
    expect(ip?.blocked_until).toBe(0);
    clock.advance(year - 1);
    expect(await isBlocked(db, p, '192.0.2.9', 'alice', clock.now())).toBe(true);
    clock.advance(1);
    expect(await isBlocked(db, p, '192.0.2.9', 'alice', clock.now())).toBe(false);
    expect((await listEntries(db)).map((x) => x.key)).toEqual(['alice', '192.0.2.1']);
  });
});

describe('the claim upsert agrees with counterState (random model test)', () => {
  it('400 random steps on one counter', async () => {
    const { e, clock } = await env();
    const db = e.services.db;
    const p = policy({ ipThreshold: 1_000_000, accountThreshold: 3, windowMs: 10_000, blockMs: 4_000 });
    let seed = 0x9e3779b9;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    let model: BfmCounter | undefined;
    const held: { ticket: BfmTicket; good: boolean }[] = [];
    const visited = new Set<string>();
    for (let step = 0; step < 400; step++) {
      const now = clock.now();
      const op = rand(5);
      if (op === 0) clock.advance(rand(3000));
      else if (op <= 2 || held.length === 0) {
        const state = counterState(model, p.accountThreshold, p, now);
        const c = await claim(db, p, '192.0.2.1', 'alice', now);
        const want =
          state === 'fresh' || state === 'open' ? 'granted' : state === 'blocked' ? 'blocked' : 'busy';
        expect(c.kind, `step ${step}`).toBe(want);
        visited.add(state);
        if (c.kind === 'granted') {
          model =
            state === 'fresh'
              ? { failures: 1, windowStart: now, blockedUntil: 0 }
              : { ...(model as BfmCounter), failures: (model as BfmCounter).failures + 1 };
          held.push({ ticket: c.ticket, good: rand(4) === 0 });
        }
      } else {
        const { ticket, good } = held.splice(rand(held.length), 1)[0] as (typeof held)[number];
        if (good) {
          await release(db, ticket, now);
          if (model && model.blockedUntil <= now) model = undefined;
        } else {
          await confirmFailure(db, p, ticket, now);
          if (model && model.failures >= p.accountThreshold && model.blockedUntil <= now)
            model = { ...model, blockedUntil: now + p.blockMs };
        }
      }
      const row = await counter(e, 'account', 'alice');
      const seen = row && {
        failures: row.failures,
        windowStart: row.window_start,
        blockedUntil: row.blocked_until,
      };
      expect(seen, `step ${step}`).toEqual(model);
    }
    // The walk went through every state, so each branch of the upsert was compared.
    expect([...visited].sort()).toEqual(['blocked', 'fresh', 'full', 'open']);
  });
});

describe('BFM settings at config load', () => {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
  });
  function load(flags: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = {}): Config {
    const dir = mkdtempSync(join(tmpdir(), 'hostdeck-bfm-config-'));
    dirs.push(dir);
    return loadConfig({ flags, env: { HOSTDECK_DATA_DIR: dir, ...env } });
  }

  it.each([
    ['bfmIpThreshold', 0],
    ['bfmIpThreshold', -1],
    ['bfmAccountThreshold', 0],
    ['bfmAccountThreshold', '-5'],
    ['bfmAccountThreshold', 'ten'],
    ['bfmWindowSeconds', 0],
    ['bfmWindowSeconds', 1.5],
    ['bfmWindowSeconds', '1e3'],
    ['bfmBlockSeconds', -3600],
    ['bfmBlockSeconds', 2 ** 31],
    ['bfmBlockSeconds', Number.MAX_SAFE_INTEGER + 2],
    ['bfmBlockSeconds', 'forever'],
    ['bfmIpThreshold', 1_000_001],
    ['bfmWhitelist', 'not-an-ip'],
  ] as const)('refuses %s = %s', (key, value) => {
    expect(() => load({ [key]: value })).toThrow(ConfigError);
  });

  it('refuses bad values from the environment too, naming every one', () => {
    try {
      load({}, { HOSTDECK_BFM_IP_THRESHOLD: '0', HOSTDECK_BFM_BLOCK_SECONDS: 'abc' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toContain('bfmIpThreshold');
      expect(problems).toContain('bfmBlockSeconds');
    }
  });

  it('accepts the largest values', () => {
    const c = load({
      bfmIpThreshold: 1_000_000,
      bfmAccountThreshold: '1000000',
      bfmWindowSeconds: 31_536_000,
      bfmBlockSeconds: 31_536_000,
    });
    expect(c.bfmBlockSeconds * 1000).toBe(31_536_000_000);
    expect(Number.isSafeInteger(Date.now() + c.bfmBlockSeconds * 1000)).toBe(true);
  });
});

describe('purgeStale', () => {
  it('deletes counters whose window is over and that hold no running block; keeps the rest', async () => {
    const { e, clock } = await env();
    const p = policy({ ipThreshold: 2, windowMs: 1000, blockMs: 5000 });
    await recordFailure(e.services.db, p, '192.0.2.1', null, clock.now()); // one failure: goes stale
    await recordFailure(e.services.db, p, '192.0.2.2', null, clock.now());
    await recordFailure(e.services.db, p, '192.0.2.2', null, clock.now()); // blocked for 5 s
    clock.advance(500);
    await recordFailure(e.services.db, p, '192.0.2.3', null, clock.now()); // window still open
    clock.advance(600);
    expect(await purgeStale(e.services.db, p, clock.now())).toBe(1);
    expect(await counter(e, 'ip', ipKey('192.0.2.1'))).toBeUndefined();
    expect(await isBlocked(e.services.db, p, '192.0.2.2', null, clock.now())).toBe(true);
    expect(await counter(e, 'ip', ipKey('192.0.2.3'))).toBeDefined();
    clock.advance(5000);
    expect(await purgeStale(e.services.db, p, clock.now())).toBe(2);
    expect(await listEntries(e.services.db)).toEqual([]);
  });
});
