/**
 * The authentication cache (src/auth/auth-cache.ts): repeated logins skip the pipeline on SQLite, and
 * every change a login depends on takes effect on the very next request, whether it was made through the
 * API, by the use of a key, by time passing, or by another connection to the same database.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import { expiryParams } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { lookupsDuring, TEST_DB } from '../helpers/services.js';

const FRED = authOf('fred');
const FRED_PW = 'fred-Pass-123';
const KEY = 'Fred-Bench-Key-Value-1';
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

const started: TestServer[] = [];
async function server(manualClock = false): Promise<TestServer> {
  const s = await startTestServer({ settings: NO_BFM, manualClock });
  started.push(s);
  await createAccount(s, 'user', 'fred');
  return s;
}

afterEach(async () => {
  while (started.length) await started.pop()?.close();
});

function keys(s: TestServer, params: Record<string, string>): Promise<Answer> {
  return rawCall(s.port, '/CMD_API_LOGIN_KEYS', { method: 'POST', auth: FRED, params });
}

async function mint(s: TestServer, params: Record<string, string> = {}): Promise<void> {
  const a = await keys(s, {
    action: 'create',
    keyname: 'k',
    key: KEY,
    key2: KEY,
    never_expires: 'yes',
    passwd: FRED_PW,
    ...params,
  });
  expect(a.pairs.error, a.body).toBe('0');
}

const show = (s: TestServer, secret = KEY) =>
  rawCall(s.port, '/CMD_API_SHOW_USER_CONFIG', { auth: `fred:${secret}` });

/** A request of the key whose parameters fail validation (a username over the input limit). */
const malformed = (s: TestServer) =>
  rawCall(s.port, `/CMD_API_SHOW_USER_CONFIG?user=${'x'.repeat(5000)}`, { auth: `fred:${KEY}` });

function ok(a: Answer): boolean {
  return a.status === 200 && a.pairs.error !== '1';
}

describe('authentication cache', () => {
  it('serves a repeated key login without looking the key up again (SQLite), and never on PostgreSQL', async () => {
    const s = await server();
    await mint(s);
    expect(ok(await show(s))).toBe(true);
    const lookups = await lookupsDuring(s, async () => {
      for (let i = 0; i < 5; i++) expect(ok(await show(s))).toBe(true);
    });
    const remembered = s.services.credentialCache.logins.size;
    if (TEST_DB === 'sqlite') {
      expect(lookups).toBe(0);
      expect(remembered).toBeGreaterThan(0);
    } else {
      expect(lookups).toBe(5);
      expect(remembered).toBe(0);
    }
  });

  it('a key changed, deleted or narrowed through the API is judged anew on the next request', async () => {
    const s = await server();
    await mint(s);
    expect(ok(await show(s))).toBe(true);
    expect(ok(await show(s))).toBe(true);
    // Narrowed to another address: refused at once.
    expect(
      (
        await keys(s, {
          action: 'modify',
          keyname: 'k',
          ips: '10.9.8.7',
          never_expires: 'yes',
          passwd: FRED_PW,
        })
      ).pairs.error,
    ).toBe('0');
    expect((await show(s)).status).toBe(401);
    expect(
      (
        await keys(s, {
          action: 'modify',
          keyname: 'k',
          ips: '127.0.0.1',
          never_expires: 'yes',
          passwd: FRED_PW,
        })
      ).pairs.error,
    ).toBe('0');
    expect(ok(await show(s))).toBe(true);
    // Another command only: this one is refused at once.
    expect(
      (
        await keys(s, {
          action: 'modify',
          keyname: 'k',
          select_allow0: 'CMD_API_LOGIN_TEST',
          never_expires: 'yes',
          passwd: FRED_PW,
        })
      ).pairs.error,
    ).toBe('0');
    expect((await show(s)).status).toBe(401);
    expect(ok(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: `fred:${KEY}` }))).toBe(true);
    expect((await keys(s, { action: 'select', delete: 'Delete', select0: 'k' })).pairs.error).toBe('0');
    expect((await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: `fred:${KEY}` })).status).toBe(401);
  });

  it('a max_uses key is spent exactly, and once spent even a malformed request gets the bad-login answer', async () => {
    const s = await server();
    await mint(s, { max_uses: '3' });
    for (let i = 0; i < 3; i++) expect(ok(await show(s))).toBe(true);
    // A username over the input limit fails validation before a use would be spent: without the spent
    // check at login it would get its parameter error, telling that the key is valid.
    expect((await malformed(s)).status).toBe(401);
    expect((await show(s)).status).toBe(401);
    const row = await s.services.db
      .selectFrom('login_keys')
      .select(['uses_left', 'use_count'])
      .where('name', '=', 'k')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ uses_left: 0, use_count: 3 });
  });

  it('a rate-limited key is refused when its window is full and admitted when it reopens', async () => {
    const s = await server(true);
    await mint(s, { rate_limit: '2', rate_window: '60' });
    expect(ok(await show(s))).toBe(true);
    expect(ok(await show(s))).toBe(true);
    expect((await malformed(s)).status).toBe(401);
    expect((await show(s)).status).toBe(401);
    (s.clock as ManualClock).advance(60_001);
    expect(ok(await show(s))).toBe(true);
  });

  it('a remembered key login ends at the key’s expiry, to the millisecond', async () => {
    const s = await server(true);
    const clock = s.clock as ManualClock;
    const t = clock.now() + 3_600_000;
    await mint(s, { never_expires: '', ...expiryParams(t) });
    expect(ok(await show(s))).toBe(true);
    clock.set(t - 1);
    expect(ok(await show(s))).toBe(true);
    expect(ok(await show(s))).toBe(true);
    clock.set(t);
    expect((await show(s)).status).toBe(401);
  });

  it.runIf(TEST_DB === 'sqlite')(
    'a commit of another connection (the CLI, another process) is seen by the next request',
    async () => {
      const s = await server();
      await mint(s);
      expect(ok(await show(s))).toBe(true);
      expect(ok(await show(s, FRED_PW))).toBe(true);
      expect(ok(await show(s))).toBe(true);
      const other = new SQLite(join(s.dataDir, 'hostdeck.sqlite'));
      try {
        other.prepare('update accounts set suspended = 1 where username = ?').run('fred');
        expect((await show(s)).status).toBe(401);
        expect((await show(s, FRED_PW)).status).toBe(401);
        other.prepare('update accounts set suspended = 0 where username = ?').run('fred');
        expect(ok(await show(s))).toBe(true);
        other.prepare('delete from login_keys').run();
        expect((await show(s)).status).toBe(401);
      } finally {
        other.close();
      }
    },
  );

  it('a wrong password from the same address blocks the cached login once the address is blocked', async () => {
    const s = await startTestServer({ settings: { bfmIpThreshold: 2, bfmAccountThreshold: 1_000 } });
    started.push(s);
    await createAccount(s, 'user', 'fred');
    expect(ok(await show(s, FRED_PW))).toBe(true);
    expect(ok(await show(s, FRED_PW))).toBe(true);
    expect((await show(s, 'wrong-Pass-1')).status).toBe(401);
    expect((await show(s, 'wrong-Pass-2')).status).toBe(401);
    expect((await show(s, FRED_PW)).status).toBe(401);
  });

  it('never holds a password or key: what it keeps shares no fragment of either', async () => {
    const s = await server();
    await mint(s);
    expect(ok(await show(s))).toBe(true);
    expect(ok(await show(s, FRED_PW))).toBe(true);
    const map = (s.services.credentialCache.logins as unknown as { map: Map<unknown, unknown> }).map;
    const held = JSON.stringify([...map.entries()]);
    // Six-character runs: shorter ones of the password are the username itself ("fred"), which is held.
    for (const secret of [KEY, FRED_PW])
      for (let i = 0; i + 6 <= secret.length; i++) expect(held).not.toContain(secret.slice(i, i + 6));
    expect(held).not.toContain(Buffer.from(`fred:${KEY}`).toString('base64').slice(4, 16));
  });
});
