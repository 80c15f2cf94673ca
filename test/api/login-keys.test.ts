import { afterEach, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import { looksLikeGeneratedKey } from '../../src/auth/key-format.js';
import type { ManualClock } from '../../src/core/clock.js';
import { ERRORS } from '../../src/core/errors.js';
import { callFrom, expiryParams, GHOST, savePackage, WRONG_KEY } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  type CallOptions,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { ADMIN_PASSWORD, createTestEnv } from '../helpers/services.js';

type Params = Record<string, string>;

const ADMIN = `admin:${ADMIN_PASSWORD}`;
const FRED = authOf('fred');
const FRED_PW = 'fred-Pass-123';
const HOUR = 3_600_000;
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

function expectUnauthorized(a: Answer): void {
  expect(a.status, a.body).toBe(401);
  expect(a.headers['x-directadmin']).toBe('Unauthorized');
  expect(a.headers['content-type']).toMatch(/^text\/html/);
  expect(a.body).toContain('<title>DirectAdmin Login</title>');
}

function expectOk(a: Answer): void {
  expect(a.status, a.body).toBe(200);
  expect(a.body).not.toMatch(/(^|&)error=1/);
}

function expectError(a: Answer, code: keyof typeof ERRORS, details?: string | RegExp): void {
  expect(a.pairs.error, a.body).toBe('1');
  expect(a.pairs.text, a.body).toBe(ERRORS[code].text);
  if (typeof details === 'string') expect(a.pairs.details).toContain(details);
  else if (details) expect(a.pairs.details).toMatch(details);
}

/** Status, headers clients compare, and body: what two refusals must share. */
function shape(a: Answer) {
  return {
    status: a.status,
    body: a.body,
    type: a.headers['content-type'],
    da: a.headers['x-directadmin'],
    auth: a.headers['www-authenticate'],
  };
}

/** CMD_API_LOGIN_KEYS as `auth` (POST). */
function keys(s: { port: number }, auth: string, params: Params = {}): Promise<Answer> {
  return rawCall(s.port, '/CMD_API_LOGIN_KEYS', { method: 'POST', auth, params });
}

/** Creates a key (never expiring unless expiry fields or never_expires are given). */
function create(s: { port: number }, auth: string, password: string, params: Params): Promise<Answer> {
  const expiry: Params = 'year' in params || 'never_expires' in params ? {} : { never_expires: 'yes' };
  return keys(s, auth, { action: 'create', ...expiry, passwd: password, ...params });
}

/** Creates a key that must succeed; returns its value. */
async function mint(s: { port: number }, auth: string, password: string, params: Params): Promise<string> {
  const a = await create(s, auth, password, params);
  expect(a.pairs.error, a.body).toBe('0');
  return a.pairs.key ?? '';
}

function use(
  s: { port: number },
  user: string,
  secret: string,
  cmd = 'CMD_API_LOGIN_TEST',
  params?: Params,
  headers?: Record<string, string>,
): Promise<Answer> {
  const opts: CallOptions = { auth: `${user}:${secret}` };
  if (params) {
    opts.method = 'POST';
    opts.params = params;
  }
  if (headers) opts.headers = headers;
  return rawCall(s.port, `/${cmd}`, opts);
}

/** The listing as JSON, by key name. */
async function listing(s: { port: number }, auth: string): Promise<Record<string, Record<string, string>>> {
  const a = await rawCall(s.port, '/CMD_API_LOGIN_KEYS?json=yes', { auth });
  expect(a.status, a.body).toBe(200);
  return a.json() as Record<string, Record<string, string>>;
}

async function listed(s: { port: number }, auth: string, name: string): Promise<Record<string, string>> {
  const k = (await listing(s, auth))[name];
  expect(k, `${name} is listed`).toBeDefined();
  return k as Record<string, string>;
}

type HistoryEntry = { time: string; ip: string; command: string; result: string };

/** A key's history as listed (identical uses within a second are one row with their count). */
async function historyRows(s: { port: number }, auth: string, name: string) {
  const a = await rawCall(s.port, `/CMD_API_LOGIN_KEYS?json=yes&action=history&keyname=${name}`, { auth });
  expect(a.status, a.body).toBe(200);
  return a.json() as (HistoryEntry & { count: string })[];
}

/** A key's history with one entry per use or refusal. */
async function history(s: { port: number }, auth: string, name: string): Promise<HistoryEntry[]> {
  return (await historyRows(s, auth, name)).flatMap(({ count, ...e }) =>
    Array<HistoryEntry>(Number(count)).fill(e),
  );
}

/** A server with a manual clock, fred (user of admin) and barney (user of res1). */
async function start(
  settings: Record<string, unknown> = NO_BFM,
): Promise<TestServer & { clock: ManualClock }> {
  const s = await startTestServer({ manualClock: true, settings });
  await createAccount(s, 'user', 'fred');
  await createAccount(s, 'reseller', 'res1');
  await savePackage(s, authOf('res1'), 'user', 'r1pkg');
  await createAccount(s, 'user', 'barney', { package: 'r1pkg' }, authOf('res1'));
  return s as TestServer & { clock: ManualClock };
}

describe('login keys', () => {
  let s: (TestServer & { clock: ManualClock }) | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  describe('the value', () => {
    it('a generated value is hdk_ + 38 characters with a checksum, different every time', async () => {
      s = await start();
      const values = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const v = await mint(s, FRED, FRED_PW, { keyname: `gen${i}` });
        expect(v).toMatch(/^hdk_[0-9A-Za-z]{38}$/);
        expect(looksLikeGeneratedKey(v)).toBe(true);
        // One changed character breaks the checksum.
        const flipped = v.slice(0, 10) + (v[10] === 'a' ? 'b' : 'a') + v.slice(11);
        expect(looksLikeGeneratedKey(flipped)).toBe(false);
        values.add(v);
        expectOk(await use(s, 'fred', v));
      }
      expect(values.size).toBe(5);
    });

    it('is shown once: in the create and rotate answers, never in listings, show_modify, history, messages or audit rows', async () => {
      s = await start();
      const a = await create(s, FRED, FRED_PW, { keyname: 'once' });
      const value = a.pairs.key ?? '';
      expect(looksLikeGeneratedKey(value)).toBe(true);
      // Only the field named like a secret carries it (debug mode hides that field).
      expect(a.pairs.details).not.toContain(value);
      const json = await create(s, FRED, FRED_PW, { keyname: 'oncejson', json: 'yes' });
      const jvalue = (json.json() as { key: string }).key;
      expect(looksLikeGeneratedKey(jvalue)).toBe(true);
      expect((json.json() as { result: string }).result).not.toContain(jvalue);
      const r = await keys(s, FRED, { action: 'rotate', keyname: 'oncejson', grace: '60', passwd: FRED_PW });
      const rotated = r.pairs.key ?? '';
      expect(looksLikeGeneratedKey(rotated)).toBe(true);
      for (const v of [value, jvalue, rotated]) expectOk(await use(s, 'fred', v));

      const bodies: string[] = [];
      for (const p of [
        {},
        { json: 'yes' },
        { action: 'show_modify', keyname: 'once' },
        { action: 'show_modify', keyname: 'oncejson', json: 'yes' },
        { action: 'history', keyname: 'once' },
        { action: 'history', keyname: 'oncejson', json: 'yes' },
      ] as Params[])
        bodies.push((await keys(s, FRED, p)).body);
      bodies.push((await rawCall(s.port, '/CMD_API_SHOW_MESSAGES', { auth: FRED })).body);
      bodies.push((await rawCall(s.port, '/CMD_API_SHOW_MESSAGES?json=yes', { auth: FRED })).body);
      await s.services.keyUsage.flush();
      for (const table of ['audit_events', 'messages', 'login_key_history', 'login_keys'] as const)
        bodies.push(JSON.stringify(await s.services.db.selectFrom(table).selectAll().execute()));
      const all = bodies.join('\n');
      expect(all).toContain('once');
      for (const v of [value, jvalue, rotated]) {
        expect(all).not.toContain(v);
        expect(all).not.toContain(encodeURIComponent(encodeURIComponent(v)));
        // Not even the random part without its prefix.
        expect(all).not.toContain(v.slice(4, 36));
      }
    });

    it('is stored only as a digest: no column of login_keys holds it, in any encoding', async () => {
      s = await start();
      const chosen = 'Chosen-Key-Value-0123';
      await mint(s, FRED, FRED_PW, { keyname: 'chosen', key: chosen, key2: chosen });
      const generated = await mint(s, FRED, FRED_PW, { keyname: 'generated' });
      const r = await keys(s, FRED, {
        action: 'rotate',
        keyname: 'generated',
        grace: '600',
        passwd: FRED_PW,
      });
      const rows = await s.services.db.selectFrom('login_keys').selectAll().execute();
      expect(rows).toHaveLength(2);
      for (const row of rows)
        for (const [column, v] of Object.entries(row)) {
          const text = String(v);
          for (const value of [chosen, generated, r.pairs.key ?? '']) {
            expect(text, column).not.toContain(value);
            expect(text, column).not.toContain(Buffer.from(value).toString('base64'));
            expect(text, column).not.toContain(Buffer.from(value).toString('hex'));
          }
        }
      // The digest is keyed (the installation secret): not a bare hash of the value.
      const { createHash } = await import('node:crypto');
      const plain = [
        createHash('sha256').update(chosen).digest('hex'),
        createHash('sha256').update(chosen).digest('base64url'),
      ];
      for (const row of rows) expect(plain).not.toContain(row.digest);
    });

    it('a chosen value: at least 12 characters, no spaces, not the password, not another key’s value', async () => {
      s = await start();
      const bad = async (key: string, details: string, keyname = 'chosen') =>
        expectError(
          await create(s as TestServer, FRED, FRED_PW, { keyname, key, key2: key }),
          'INVALID_PARAMETER',
          details,
        );
      await bad('Short-Key-1', 'at least 12 characters');
      await bad('With a space1', 'spaces');
      await bad(FRED_PW, 'not be the account password');
      expectOk(
        await create(s, FRED, FRED_PW, { keyname: 'twelve', key: 'Twelve-Chars', key2: 'Twelve-Chars' }),
      );
      expectOk(await use(s, 'fred', 'Twelve-Chars'));
      await bad('Twelve-Chars', 'Another key of this account has that value');
      // A modify may not take another key's value either, but may keep its own.
      expectOk(
        await create(s, FRED, FRED_PW, { keyname: 'other', key: 'Other-Value-123', key2: 'Other-Value-123' }),
      );
      expectError(
        await keys(s, FRED, {
          action: 'modify',
          keyname: 'other',
          key: 'Twelve-Chars',
          key2: 'Twelve-Chars',
          passwd: FRED_PW,
        }),
        'INVALID_PARAMETER',
        'Another key',
      );
      expectOk(
        await keys(s, FRED, {
          action: 'modify',
          keyname: 'other',
          key: 'Other-Value-123',
          key2: 'Other-Value-123',
          passwd: FRED_PW,
        }),
      );
      expectOk(await use(s, 'fred', 'Other-Value-123'));
      expect(Object.keys(await listing(s, FRED)).sort()).toEqual(['other', 'twelve']);
    });

    it('key and key2 must match', async () => {
      s = await start();
      const a = await create(s, FRED, FRED_PW, {
        keyname: 'k',
        key: 'Value-One-1234',
        key2: 'Value-Two-1234',
      });
      expectError(a, 'PASSWORDS_DIFFER');
      expect(await listing(s, FRED)).toEqual({});
    });
  });

  describe('the current password', () => {
    it('is required to create, modify and rotate, and a wrong one is refused', async () => {
      s = await start();
      expectError(
        await keys(s, FRED, { action: 'create', keyname: 'k', never_expires: 'yes' }),
        'MISSING_PARAMETER',
        'passwd',
      );
      expectError(await create(s, FRED, 'Wrong-Pass-999', { keyname: 'k' }), 'WRONG_CURRENT_PASSWORD');
      expect(await listing(s, FRED)).toEqual({});
      // A login key is no substitute for the password.
      const v = await mint(s, FRED, FRED_PW, { keyname: 'k' });
      expectError(await create(s, FRED, v, { keyname: 'k2' }), 'WRONG_CURRENT_PASSWORD');
      for (const action of ['modify', 'rotate']) {
        expectError(
          await keys(s, FRED, { action, keyname: 'k', max_uses: '3' }),
          'MISSING_PARAMETER',
          'passwd',
        );
        expectError(
          await keys(s, FRED, { action, keyname: 'k', max_uses: '3', passwd: 'Wrong-Pass-999' }),
          'WRONG_CURRENT_PASSWORD',
        );
      }
      expect((await listed(s, FRED, 'k')).max_uses).toBe('0');
      expectOk(await use(s, 'fred', v));
    });

    it('a wrong one is counted by the brute-force monitor like a wrong login', async () => {
      s = await start({ bfmAccountThreshold: 3, bfmIpThreshold: 1_000 });
      for (let i = 0; i < 3; i++)
        expectError(
          await create(s, FRED, `Wrong-Pass-${i}00`, { keyname: `k${i}` }),
          'WRONG_CURRENT_PASSWORD',
        );
      // The account is blocked: even its right password is refused now.
      expectUnauthorized(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: FRED }));
      expectUnauthorized(await create(s, FRED, FRED_PW, { keyname: 'k9' }));
      // Through login-as the passwd is the admin's, counted against the admin (not blocked).
      expectOk(await create(s, `admin|fred:${ADMIN_PASSWORD}`, ADMIN_PASSWORD, { keyname: 'viaadmin' }));
    });
  });

  describe('keyname', () => {
    it('letters and digits, 1 to 32, unique among the account’s keys', async () => {
      s = await start();
      expectError(await create(s, FRED, FRED_PW, { keyname: '' }), 'MISSING_PARAMETER', 'keyname');
      for (const name of ['bad-name', 'with space', 'dot.ted', 'ünï', 'a'.repeat(33), 'x;drop', '../up'])
        expectError(await create(s, FRED, FRED_PW, { keyname: name }), 'INVALID_PARAMETER', 'keyname');
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'a'.repeat(32) }));
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'Key1' }));
      expectError(await create(s, FRED, FRED_PW, { keyname: 'Key1' }), 'INVALID_PARAMETER', 'already exists');
      // Names are per account, and case matters.
      expectOk(await create(s, authOf('barney'), 'barney-Pass-123', { keyname: 'Key1' }));
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'key1' }));
      // A deleted key's name is free again.
      expectOk(await keys(s, FRED, { action: 'select', delete: 'Delete', select0: 'Key1' }));
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'Key1' }));
      expect(Object.keys(await listing(s, FRED)).sort()).toEqual(['Key1', 'a'.repeat(32), 'key1'].sort());
    });

    it('another account’s key name answers exactly like a name no key has', async () => {
      s = await start();
      await mint(s, FRED, FRED_PW, { keyname: 'fredkey' });
      const B = authOf('barney');
      for (const p of [
        { action: 'show_modify' },
        { action: 'history' },
        { action: 'modify', max_uses: '1', passwd: 'barney-Pass-123' },
        { action: 'rotate', passwd: 'barney-Pass-123' },
        { action: 'select', delete: 'Delete' },
      ] as Params[]) {
        for (const json of [{}, { json: 'yes' }] as Params[]) {
          const name = p.action === 'select' ? 'select0' : 'keyname';
          const foreign = await keys(s, B, { ...p, ...json, [name]: 'fredkey' });
          const missing = await keys(s, B, { ...p, ...json, [name]: GHOST });
          expect(foreign.body).toBe(missing.body.split(GHOST).join('fredkey'));
          expect(foreign.status).toBe(missing.status);
        }
      }
      expect((await listed(s, FRED, 'fredkey')).max_uses).toBe('0');
    });
  });

  describe('expiry', () => {
    it('hour, minute, month, day and year are UTC; never_expires=yes never expires; one of them is required', async () => {
      s = await start();
      const at = Date.UTC(2027, 1, 28, 23, 59);
      expectOk(
        await create(s, FRED, FRED_PW, {
          keyname: 'dated',
          year: '2027',
          month: '2',
          day: '28',
          hour: '23',
          minute: '59',
        }),
      );
      expect((await listed(s, FRED, 'dated')).expiry).toBe(new Date(at).toISOString());
      // Hour and minute default to 00:00.
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'midnight', year: '2027', month: '3', day: '1' }));
      expect((await listed(s, FRED, 'midnight')).expiry).toBe('2027-03-01T00:00:00.000Z');
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'never', never_expires: 'yes' }));
      expect((await listed(s, FRED, 'never')).expiry).toBe('never');
      expectError(
        await keys(s, FRED, { action: 'create', keyname: 'none', passwd: FRED_PW }),
        'MISSING_PARAMETER',
        'never_expires',
      );
      expectError(
        await create(s, FRED, FRED_PW, { keyname: 'part', year: '2027', month: '3' }),
        'MISSING_PARAMETER',
        'year, month and day',
      );
      for (const bad of [
        { year: '2027', month: '2', day: '30' },
        { year: '2027', month: '13', day: '1' },
        { year: '2027', month: '1', day: '1', hour: '24' },
        { year: '2027', month: '1', day: '1', minute: '60' },
        { year: '2027', month: '1', day: 'x' },
        { year: '-1', month: '1', day: '1' },
      ] as Params[])
        expectError(await create(s, FRED, FRED_PW, { keyname: 'bad', ...bad }), 'INVALID_PARAMETER');
      // The past is refused: 2026-11-25 12:00 is "now" on the test clock.
      expectError(
        await create(s, FRED, FRED_PW, {
          keyname: 'past',
          year: '2026',
          month: '11',
          day: '25',
          hour: '11',
          minute: '59',
        }),
        'INVALID_PARAMETER',
        'past',
      );
      // Modify moves the expiry, or removes it.
      expectOk(
        await keys(s, FRED, { action: 'modify', keyname: 'never', ...expiryParams(at), passwd: FRED_PW }),
      );
      expect((await listed(s, FRED, 'never')).expiry).toBe(new Date(at).toISOString());
      expectOk(
        await keys(s, FRED, { action: 'modify', keyname: 'dated', never_expires: 'yes', passwd: FRED_PW }),
      );
      expect((await listed(s, FRED, 'dated')).expiry).toBe('never');
    });

    it('works until the last millisecond before the expiry and is refused from it on', async () => {
      s = await start();
      const t = s.clock.now() + HOUR;
      const v = await mint(s, FRED, FRED_PW, { keyname: 'exp', ...expiryParams(t) });
      s.clock.set(t - 1);
      expectOk(await use(s, 'fred', v));
      s.clock.set(t);
      expectUnauthorized(await use(s, 'fred', v));
      s.clock.set(t + 1);
      expectUnauthorized(await use(s, 'fred', v));
      // Without clear_key the expired key stays listed, refused.
      expect((await listed(s, FRED, 'exp')).expiry).toBe(new Date(t).toISOString());
      expect((await history(s, FRED, 'exp')).map((e) => e.result)).toEqual(['expired', 'expired', 'ok']);
    });
  });

  describe('uses', () => {
    it('max_uses is spent exactly: n requests pass, the next is refused, uses_left counts down', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'three', max_uses: '3' });
      expect((await listed(s, FRED, 'three')).uses_left).toBe('3');
      for (const left of ['2', '1', '0']) {
        expectOk(await use(s, 'fred', v));
        expect((await listed(s, FRED, 'three')).uses_left).toBe(left);
      }
      expectUnauthorized(await use(s, 'fred', v));
      const k = await listed(s, FRED, 'three');
      expect(k).toMatchObject({ max_uses: '3', uses_left: '0', use_count: '3' });
      // Modify gives new uses.
      expectOk(await keys(s, FRED, { action: 'modify', keyname: 'three', max_uses: '1', passwd: FRED_PW }));
      expectOk(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', v));
    });

    it('concurrent requests never take more uses than there are', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'five', max_uses: '5' });
      const answers = await Promise.all(Array.from({ length: 40 }, () => use(s as TestServer, 'fred', v)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
      for (const a of answers.filter((x) => x.status !== 200)) expectUnauthorized(a);
      expect((await listed(s, FRED, 'five')).uses_left).toBe('0');
    });

    it('a request refused for any reason spends nothing', async () => {
      s = await start();
      const R = authOf('res1');
      const start0 = s.clock.now();
      const v = await mint(s, R, 'res1-Pass-123', {
        keyname: 'limited',
        max_uses: '2',
        not_before: String(start0 / 1000 + 3600),
        ...expiryParams(start0 + 3 * HOUR),
        ips: '127.0.0.1',
        select_allow0: 'CMD_API_LOGIN_TEST',
        select_allow1: 'CMD_API_SELECT_USERS',
        select_allow2: 'CMD_API_SHOW_USER_CONFIG',
      });
      const left = async () => (await listed(s as TestServer, R, 'limited')).uses_left;
      // Not yet valid.
      expectUnauthorized(await use(s, 'res1', v));
      s.clock.set(start0 + 2 * HOUR);
      // A command it does not hold, one unknown, one above nothing (a reseller's own level is fine).
      expectUnauthorized(await use(s, 'res1', v, 'CMD_API_SHOW_USERS'));
      expectUnauthorized(await use(s, 'res1', v, 'CMD_API_NOT_A_COMMAND'));
      expectUnauthorized(await use(s, 'res1', v, 'CMD_API_ACCOUNT_ADMIN', { action: 'create' }));
      // From an address it may not be used from.
      expectUnauthorized(await callFrom(s, '127.0.0.2', '/CMD_API_LOGIN_TEST', { auth: `res1:${v}` }));
      // Login-as into an account the owner does not manage.
      expectUnauthorized(await use(s, 'res1|fred', v));
      // Parameters refused before the command runs: no select0; a bad action.
      expectError(
        await use(s, 'res1', v, 'CMD_API_SELECT_USERS', { delete: 'yes' }),
        'MISSING_PARAMETER',
        'select0',
      );
      expectError(
        await use(s, 'res1', v, 'CMD_API_SELECT_USERS', { select0: 'barney' }),
        'MISSING_PARAMETER',
      );
      // Refused by the command's own level checks (the account is not the reseller's).
      expectError(await use(s, 'res1', v, 'CMD_API_SHOW_USER_CONFIG', { user: 'fred' }), 'ACCOUNT_NOT_FOUND');
      expect(await left()).toBe('1');
      expectOk(await use(s, 'res1', v));
      expect(await left()).toBe('0');
      // Spent: refused like a bad login whatever the request, even one with bad parameters.
      expectUnauthorized(await use(s, 'res1', v));
      expectUnauthorized(await use(s, 'res1', v, 'CMD_API_SELECT_USERS', { delete: 'yes' }));
      s.clock.set(start0 + 4 * HOUR);
      expectUnauthorized(await use(s, 'res1', v));
      expect(await left()).toBe('0');
      expect((await history(s, R, 'limited')).map((e) => e.result).reverse()).toEqual([
        'not_yet_valid',
        'command',
        'command',
        'command',
        'ip',
        'login_as_denied',
        'ok',
        'ok',
        'spent',
        'spent',
        'expired',
      ]);
    });

    // CMD_API_MANAGE_USER_PACKAGES reads the package list and CMD_API_MODIFY_USER customize the target's
    // config before they can parse the limits: those reads are peeks, which spend nothing.
    it('bad limits given to package and account commands spend nothing; a good request spends one use', async () => {
      s = await start();
      const v = await mint(s, authOf('res1'), 'res1-Pass-123', { keyname: 'pk', max_uses: '5' });
      expectError(
        await use(s, 'res1', v, 'CMD_API_MANAGE_USER_PACKAGES', { add: 'Save', packagename: 'np' }),
        'MISSING_PARAMETER',
      );
      expect((await listed(s, authOf('res1'), 'pk')).uses_left).toBe('5');
      expectError(
        await use(s, 'res1', v, 'CMD_API_MODIFY_USER', {
          action: 'customize',
          user: 'barney',
          nemails: 'lots',
        }),
        'INVALID_PARAMETER',
      );
      expect((await listed(s, authOf('res1'), 'pk')).uses_left).toBe('5');
      expectOk(
        await use(s, 'res1', v, 'CMD_API_MODIFY_USER', { action: 'customize', user: 'barney', nemails: '7' }),
      );
      expect((await listed(s, authOf('res1'), 'pk')).uses_left).toBe('4');
    });

    it('clear_key takes a spent or expired key out of use and out of the listing; its history stays', async () => {
      s = await start();
      const t = s.clock.now() + HOUR;
      const spent = await mint(s, FRED, FRED_PW, { keyname: 'spentc', max_uses: '2', clear_key: 'yes' });
      const kept = await mint(s, FRED, FRED_PW, { keyname: 'spentk', max_uses: '1' });
      const expC = await mint(s, FRED, FRED_PW, { keyname: 'expc', clear_key: 'yes', ...expiryParams(t) });
      const expK = await mint(s, FRED, FRED_PW, { keyname: 'expk', ...expiryParams(t) });
      await mint(s, FRED, FRED_PW, { keyname: 'untried', clear_key: 'yes', ...expiryParams(t) });
      for (const v of [spent, spent, kept, expC, expK]) expectOk(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', spent));
      expectUnauthorized(await use(s, 'fred', kept));
      s.clock.set(t + 1);
      expectUnauthorized(await use(s, 'fred', expC));
      expectUnauthorized(await use(s, 'fred', expK));
      // Cleared: gone from the listing (also the one nobody tried after its expiry); the others stay.
      expect(Object.keys(await listing(s, FRED)).sort()).toEqual(['expk', 'spentk']);
      expect((await listed(s, FRED, 'spentk')).uses_left).toBe('0');
      expectError(await keys(s, FRED, { action: 'show_modify', keyname: 'spentc' }), 'INVALID_PARAMETER');
      expect((await history(s, FRED, 'spentc')).map((e) => e.result)).toEqual(['ok', 'ok']);
      expect((await history(s, FRED, 'expc')).map((e) => e.result)).toEqual(['expired', 'ok']);
      // The names are free again; the old values work as nothing.
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'spentc' }));
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'untried' }));
      expectUnauthorized(await use(s, 'fred', spent));
    });

    it('a deleted key stops working at once and its history stays readable', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'gone' });
      expectOk(await use(s, 'fred', v));
      expectOk(await keys(s, FRED, { action: 'select', delete: 'Delete', select0: 'gone' }));
      expectUnauthorized(await use(s, 'fred', v));
      expect(await listing(s, FRED)).toEqual({});
      expect((await history(s, FRED, 'gone')).map((e) => e.result)).toEqual(['ok']);
      // All or nothing: one unknown name refuses the whole selection.
      await mint(s, FRED, FRED_PW, { keyname: 'a1' });
      expectError(
        await keys(s, FRED, { action: 'select', delete: 'Delete', select0: 'a1', select1: 'nokey' }),
        'INVALID_PARAMETER',
      );
      expect(Object.keys(await listing(s, FRED))).toEqual(['a1']);
    });
  });

  describe('commands', () => {
    it('allow_htm is stored and shown; API requests never need it', async () => {
      s = await start();
      const no = await mint(s, FRED, FRED_PW, { keyname: 'api' });
      await mint(s, FRED, FRED_PW, { keyname: 'browser', allow_htm: 'yes' });
      expect((await listed(s, FRED, 'api')).allow_htm).toBe('no');
      expect((await listed(s, FRED, 'browser')).allow_htm).toBe('yes');
      expectOk(await use(s, 'fred', no, 'CMD_API_LOGIN_TEST'));
      expectOk(await use(s, 'fred', no, 'CMD_LOGIN_TEST'));
      // allow_htm=no (TMB's spelling) and a modify without the box turn it off.
      expectOk(await keys(s, FRED, { action: 'modify', keyname: 'browser', passwd: FRED_PW }));
      expect((await listed(s, FRED, 'browser')).allow_htm).toBe('no');
      expectOk(await create(s, FRED, FRED_PW, { keyname: 'tmb', allow_htm: 'no' }));
      expect((await listed(s, FRED, 'tmb')).allow_htm).toBe('no');
    });

    it('no commands listed = every command the owner may run, and nothing above', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'all' });
      for (const cmd of [
        'CMD_API_LOGIN_TEST',
        'CMD_API_SHOW_DOMAINS',
        'CMD_API_SHOW_USER_CONFIG',
        'CMD_API_SHOW_MESSAGES',
        'CMD_API_LOGIN_KEYS',
      ])
        expectOk(await use(s, 'fred', v, cmd));
      // Above a user: the password gets 403, the key is refused as a login.
      expect((await rawCall(s.port, '/CMD_API_SHOW_USERS', { auth: FRED })).status).toBe(403);
      for (const cmd of [
        'CMD_API_SHOW_USERS',
        'CMD_API_ACCOUNT_USER',
        'CMD_API_SHOW_ALL_USERS',
        'CMD_API_USER_EXISTS',
      ])
        expectUnauthorized(await use(s, 'fred', v, cmd));
      const k = await listed(s, FRED, 'all');
      expect(k).toMatchObject({ allow: '', deny: '', manages_keys: 'yes' });
    });

    it('deny beats allow, under either spelling of a command', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, {
        keyname: 'denied',
        select_allow0: 'ALL_USER',
        select_allow1: 'CMD_API_SHOW_DOMAINS',
        select_deny0: 'CMD_SHOW_DOMAINS',
      });
      expectOk(await use(s, 'fred', v, 'CMD_API_LOGIN_TEST'));
      expectUnauthorized(await use(s, 'fred', v, 'CMD_API_SHOW_DOMAINS'));
      expectUnauthorized(await use(s, 'fred', v, 'CMD_SHOW_DOMAINS'));
      const w = await mint(s, FRED, FRED_PW, {
        keyname: 'both',
        select_allow0: 'CMD_API_LOGIN_TEST',
        select_deny0: 'CMD_API_LOGIN_TEST',
      });
      expectUnauthorized(await use(s, 'fred', w));
      // A grouping in the deny list beats a named allow.
      const x = await mint(s, FRED, FRED_PW, {
        keyname: 'grp',
        select_allow0: 'CMD_API_LOGIN_TEST',
        select_deny0: 'ALL_USER',
      });
      expectUnauthorized(await use(s, 'fred', x));
    });

    it('ALL_USER, ALL_RESELLER and ALL_ADMIN expand at the owner’s level only', async () => {
      s = await start();
      const R = authOf('res1');
      for (const g of ['ALL_RESELLER', 'ALL_ADMIN'])
        for (const which of ['select_allow0', 'select_deny0'])
          expectError(
            await create(s, FRED, FRED_PW, { keyname: 'g', [which]: g }),
            'INVALID_PARAMETER',
            `${g} in the`,
          );
      expectError(
        await create(s, R, 'res1-Pass-123', { keyname: 'g', select_allow0: 'ALL_ADMIN' }),
        'INVALID_PARAMETER',
        'above this account',
      );
      expectOk(await create(s, ADMIN, ADMIN_PASSWORD, { keyname: 'g', select_allow0: 'ALL_ADMIN' }));

      const userOnly = await mint(s, R, 'res1-Pass-123', { keyname: 'u', select_allow0: 'ALL_USER' });
      expectOk(await use(s, 'res1', userOnly, 'CMD_API_SHOW_DOMAINS'));
      expectUnauthorized(await use(s, 'res1', userOnly, 'CMD_API_SHOW_USERS'));
      const resOnly = await mint(s, R, 'res1-Pass-123', { keyname: 'r', select_allow0: 'ALL_RESELLER' });
      expectOk(await use(s, 'res1', resOnly, 'CMD_API_SHOW_USERS'));
      expectUnauthorized(await use(s, 'res1', resOnly, 'CMD_API_LOGIN_TEST'));
      expectUnauthorized(await use(s, 'res1', resOnly, 'CMD_API_ACCOUNT_RESELLER', { action: 'create' }));
    });

    it('a key never exceeds its owner: a user cannot list reseller or admin commands', async () => {
      s = await start();
      for (const cmd of [
        'CMD_API_SHOW_USERS',
        'CMD_API_ACCOUNT_USER',
        'CMD_API_SHOW_ALL_USERS',
        'CMD_ACCOUNT_ADMIN',
      ])
        for (const which of ['select_allow0', 'select_deny0'])
          expectError(
            await create(s, FRED, FRED_PW, { keyname: 'over', [which]: cmd }),
            'INVALID_PARAMETER',
            /needs (reseller|admin) level, above this account's \(user\)/,
          );
      for (const name of [
        'CMD_API_NOPE',
        'cmd_api_login_test ',
        'LOGIN_TEST',
        'CMD_API_LOGIN_TEST;',
        ''.padEnd(120, 'A'),
      ]) {
        const a = await create(s, FRED, FRED_PW, { keyname: 'odd', select_allow0: name });
        if (name.trim().toUpperCase() === 'CMD_API_LOGIN_TEST') expectOk(a);
        else expectError(a, 'INVALID_PARAMETER');
      }
      expect(Object.keys(await listing(s, FRED))).toEqual(['odd']);
      // Login-as beyond the owner is refused too.
      const v = await mint(s, FRED, FRED_PW, { keyname: 'fredall' });
      expectUnauthorized(await use(s, 'fred|barney', v));
    });

    it('a key loses what its owner loses: the login_keys feature, suspension, the reseller’s suspension', async () => {
      s = await start();
      const R = authOf('res1');
      const v = await mint(s, FRED, FRED_PW, { keyname: 'k' });
      const b = await mint(s, authOf('barney'), 'barney-Pass-123', { keyname: 'k' });
      const modify = (auth: string, user: string, on: 'ON' | 'OFF') =>
        rawCall(s!.port, '/CMD_API_MODIFY_USER', {
          method: 'POST',
          auth,
          params: { action: 'customize', user, login_keys: on },
        });
      expectOk(await modify(ADMIN, 'fred', 'OFF'));
      expectUnauthorized(await use(s, 'fred', v));
      // The password still works, but no key can be made.
      expectOk(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: FRED }));
      expectError(await create(s, FRED, FRED_PW, { keyname: 'k2' }), 'FEATURE_DISABLED');
      expectOk(await modify(ADMIN, 'fred', 'ON'));
      expectOk(await use(s, 'fred', v));

      expectOk(
        await rawCall(s.port, '/CMD_API_SELECT_USERS', {
          method: 'POST',
          auth: ADMIN,
          params: { suspend: 'Suspend', select0: 'fred' },
        }),
      );
      expectUnauthorized(await use(s, 'fred', v));
      expectOk(
        await rawCall(s.port, '/CMD_API_SELECT_USERS', {
          method: 'POST',
          auth: ADMIN,
          params: { suspend: 'Unsuspend', select0: 'fred' },
        }),
      );
      expectOk(await use(s, 'fred', v));

      // barney is res1's: suspending res1 takes barney's key with it.
      expectOk(await use(s, 'barney', b));
      expectOk(
        await rawCall(s.port, '/CMD_API_SELECT_USERS', {
          method: 'POST',
          auth: ADMIN,
          params: { suspend: 'Suspend', select0: 'res1' },
        }),
      );
      expectUnauthorized(await use(s, 'barney', b));
      expectOk(
        await rawCall(s.port, '/CMD_API_SELECT_USERS', {
          method: 'POST',
          auth: ADMIN,
          params: { suspend: 'Unsuspend', select0: 'res1' },
        }),
      );
      expectOk(await use(s, 'barney', b));
      // The reseller can switch it off for its user as well.
      expectOk(await modify(R, 'barney', 'OFF'));
      expectUnauthorized(await use(s, 'barney', b));
    });

    it('deleting an account (or its reseller) deletes its keys, also deleted and cleared ones', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'k' });
      await mint(s, FRED, FRED_PW, { keyname: 'gone' });
      expectOk(await keys(s, FRED, { action: 'select', delete: 'Delete', select0: 'gone' }));
      const b = await mint(s, authOf('barney'), 'barney-Pass-123', { keyname: 'k' });
      const del = (name: string) =>
        rawCall(s!.port, '/CMD_API_SELECT_USERS', {
          method: 'POST',
          auth: ADMIN,
          params: { confirmed: 'Confirm', delete: 'yes', select0: name },
        });
      expectOk(await del('fred'));
      expectUnauthorized(await use(s, 'fred', v));
      // barney is res1's: deleting res1 deletes barney and barney's key.
      expectOk(await del('res1'));
      expectUnauthorized(await use(s, 'barney', b));
      expect(await s.services.db.selectFrom('login_keys').selectAll().execute()).toEqual([]);
      // A new account of the same name inherits nothing.
      await createAccount(s, 'user', 'fred');
      expectUnauthorized(await use(s, 'fred', v));
      expect(await listing(s, FRED)).toEqual({});
    });

    it('keys that may manage keys are flagged, with DA’s warning, in the answer, the listing and the message', async () => {
      s = await start();
      const cases: [Params, 'yes' | 'no'][] = [
        [{}, 'yes'],
        [{ select_allow0: 'ALL_USER' }, 'yes'],
        [{ select_allow0: 'CMD_API_LOGIN_KEYS' }, 'yes'],
        [{ select_allow0: 'CMD_LOGIN_KEYS' }, 'yes'],
        [{ select_allow0: 'CMD_API_LOGIN_TEST' }, 'no'],
        [{ select_allow0: 'ALL_USER', select_deny0: 'CMD_LOGIN_KEYS' }, 'no'],
        [{ select_deny0: 'CMD_API_LOGIN_KEYS' }, 'no'],
      ];
      for (const [i, [params, flag]] of cases.entries()) {
        const a = await create(s, FRED, FRED_PW, { keyname: `m${i}`, ...params });
        expect(a.pairs.manages_keys, JSON.stringify(params)).toBe(flag);
        if (flag === 'yes') expect(a.pairs.warning).toMatch(/ALL_USER, CMD_LOGIN_KEYS or CMD_API_LOGIN_KEYS/);
        else expect(a.pairs.warning).toBeUndefined();
        expect((await listed(s, FRED, `m${i}`)).manages_keys).toBe(flag);
      }
      const msgs = (await rawCall(s.port, '/CMD_API_SHOW_MESSAGES?json=yes', { auth: FRED })).json() as {
        subject: string;
        message: string;
      }[];
      const m0 = msgs.find((m) => m.subject === 'Login key m0 created');
      const m4 = msgs.find((m) => m.subject === 'Login key m4 created');
      expect(m0?.message).toContain('higher privilege');
      expect(m4?.message).not.toContain('higher privilege');
    });

    it('a key holding CMD_API_LOGIN_KEYS cannot mint, widen, change or rotate a key beyond its own commands', async () => {
      s = await start();
      const broad = await mint(s, FRED, FRED_PW, { keyname: 'broad' });
      const narrow = await mint(s, FRED, FRED_PW, {
        keyname: 'narrow',
        select_allow0: 'CMD_API_LOGIN_KEYS',
        select_allow1: 'CMD_API_LOGIN_TEST',
      });
      const via = `fred:${narrow}`;
      const denied = (a: Answer) => expectError(a, 'PERMISSION_DENIED', 'beyond its own commands');
      denied(await create(s, via, FRED_PW, { keyname: 'wide1', select_allow0: 'CMD_API_SHOW_DOMAINS' }));
      denied(await create(s, via, FRED_PW, { keyname: 'wide2' }));
      denied(await create(s, via, FRED_PW, { keyname: 'wide3', select_allow0: 'ALL_USER' }));
      denied(
        await create(s, via, FRED_PW, {
          keyname: 'wide4',
          select_allow0: 'CMD_API_LOGIN_TEST',
          select_allow1: 'CMD_API_SHOW_MESSAGES',
        }),
      );
      // Within its own commands it may.
      const child = await mint(s, via, FRED_PW, { keyname: 'child', select_allow0: 'CMD_API_LOGIN_TEST' });
      expectOk(await use(s, 'fred', child));
      // It may not widen itself, nor touch a broader key: a new value or a rotation would hand it over.
      denied(
        await keys(s, via, {
          action: 'modify',
          keyname: 'narrow',
          select_allow0: 'ALL_USER',
          passwd: FRED_PW,
        }),
      );
      denied(
        await keys(s, via, {
          action: 'modify',
          keyname: 'broad',
          key: 'Taken-Over-Value-1',
          key2: 'Taken-Over-Value-1',
          passwd: FRED_PW,
        }),
      );
      denied(await keys(s, via, { action: 'modify', keyname: 'broad', max_uses: '7', passwd: FRED_PW }));
      denied(await keys(s, via, { action: 'rotate', keyname: 'broad', grace: '0', passwd: FRED_PW }));
      expectOk(await use(s, 'fred', broad));
      expectUnauthorized(await use(s, 'fred', 'Taken-Over-Value-1'));
      expect((await listed(s, FRED, 'broad')).max_uses).toBe('0');
      // Narrowing a key it covers is fine.
      expectOk(await keys(s, via, { action: 'modify', keyname: 'child', max_uses: '2', passwd: FRED_PW }));
      const r = await keys(s, via, { action: 'rotate', keyname: 'child', passwd: FRED_PW });
      expectOk(r);
      expectOk(await use(s, 'fred', r.pairs.key ?? ''));
    });

    it('login-as with a key works for the commands the key allows', async () => {
      s = await start();
      const v = await mint(s, ADMIN, ADMIN_PASSWORD, {
        keyname: 'la',
        select_allow0: 'CMD_API_SHOW_DOMAINS',
        select_allow1: 'CMD_API_LOGIN_TEST',
      });
      const d = await use(s, 'admin|fred', v, 'CMD_API_SHOW_DOMAINS');
      expect(d.list, d.body).toEqual(['fred.example.com']);
      expectOk(await use(s, 'admin|barney', v));
      expectUnauthorized(await use(s, 'admin|fred', v, 'CMD_API_SHOW_USER_CONFIG'));
      expectUnauthorized(await use(s, `admin|${GHOST}`, v));
      // A reseller's key reaches its own users only.
      const r = await mint(s, authOf('res1'), 'res1-Pass-123', { keyname: 'rla' });
      expectOk(await use(s, 'res1|barney', r, 'CMD_API_SHOW_DOMAINS'));
      expectUnauthorized(await use(s, 'res1|fred', r));
      expectUnauthorized(await use(s, 'res1|admin', r));
      // What was done is in the key's history, under the owner's key.
      expect((await history(s, ADMIN, 'la')).map((e) => [e.command, e.result]).reverse()).toEqual([
        ['CMD_API_SHOW_DOMAINS', 'ok'],
        ['CMD_API_LOGIN_TEST', 'ok'],
        ['CMD_API_SHOW_USER_CONFIG', 'command'],
        ['CMD_API_LOGIN_TEST', 'login_as_denied'],
      ]);
    });
  });

  describe('messages, listing and history', () => {
    it('the owner gets a message on creation (also when made through login-as)', async () => {
      s = await start();
      await mint(s, FRED, FRED_PW, { keyname: 'first' });
      await mint(s, `admin|fred:${ADMIN_PASSWORD}`, ADMIN_PASSWORD, {
        keyname: 'second',
        select_allow0: 'CMD_API_LOGIN_TEST',
      });
      const m = await rawCall(s.port, '/CMD_API_SHOW_MESSAGES?json=yes', { auth: FRED });
      const list = m.json() as { id: string; time: string; subject: string; message: string; read: string }[];
      expect(list.map((x) => x.subject)).toEqual(['Login key second created', 'Login key first created']);
      expect(list[0]).toMatchObject({ time: '2026-11-25T12:00:00.000Z', read: 'no' });
      expect(list[0]?.message).toContain('from 127.0.0.1');
      // Legacy form: one url-encoded entry per message.
      const legacy = await rawCall(s.port, '/CMD_API_SHOW_MESSAGES', { auth: FRED });
      expect(Object.keys(legacy.pairs)).toHaveLength(2);
      const first = new URLSearchParams(Object.values(legacy.pairs)[0] ?? '');
      expect(first.get('subject')).toMatch(/^Login key (first|second) created$/);
      // The admin got none of them.
      expect((await rawCall(s.port, '/CMD_API_SHOW_MESSAGES?json=yes', { auth: ADMIN })).json()).toEqual([]);
    });

    it('the listing shows limits, uses left, created, last used (time and address) and expiry', async () => {
      s = await start({ ...NO_BFM, trustedProxies: [] });
      const created = s.clock.now();
      const exp = created + 48 * HOUR;
      const v = await mint(s, FRED, FRED_PW, {
        keyname: 'shown',
        max_uses: '5',
        ...expiryParams(exp),
        ips: '127.0.0.0/8\n10.0.0.1-10',
        rate_limit: '100',
        rate_window: '3600',
        domains: 'fred.example.com',
        clear_key: 'yes',
        select_allow0: 'CMD_API_LOGIN_TEST',
        select_deny0: 'CMD_API_SHOW_DOMAINS',
      });
      const fresh = await listed(s, FRED, 'shown');
      expect(fresh).toEqual({
        keyname: 'shown',
        type: 'key',
        created: new Date(created).toISOString(),
        created_ip: '127.0.0.1',
        expiry: new Date(exp).toISOString(),
        not_before: '',
        max_uses: '5',
        uses_left: '5',
        use_count: '0',
        last_used: '',
        last_used_ip: '',
        clear_key: 'yes',
        allow_htm: 'no',
        allow: 'CMD_API_LOGIN_TEST',
        deny: 'CMD_API_SHOW_DOMAINS',
        ips: '127.0.0.0/8\n10.0.0.1-10',
        rate_limit: '100/3600s',
        scope_domains: 'fred.example.com',
        scope_dns_names: '',
        scope_dns_types: '',
        rotating: '',
        manages_keys: 'no',
      });
      s.clock.advance(HOUR);
      expectOk(await use(s, 'fred', v));
      s.clock.advance(60_000);
      expectOk(await callFrom(s, '127.0.0.3', '/CMD_API_LOGIN_TEST', { auth: `fred:${v}` }));
      expect(await listed(s, FRED, 'shown')).toMatchObject({
        uses_left: '3',
        use_count: '2',
        last_used: new Date(created + HOUR + 60_000).toISOString(),
        last_used_ip: '127.0.0.3',
      });
      // An unlimited key's last use is batched, yet the listing shows it at once.
      const u = await mint(s, FRED, FRED_PW, { keyname: 'unl' });
      s.clock.advance(1000);
      expectOk(await use(s, 'fred', u));
      expect(await listed(s, FRED, 'unl')).toMatchObject({
        uses_left: 'unlimited',
        use_count: '1',
        last_used: new Date(s.clock.now()).toISOString(),
        last_used_ip: '127.0.0.1',
      });
      // show_modify shows the same fields; the legacy listing nests them url-encoded.
      const sm = await keys(s, FRED, { action: 'show_modify', keyname: 'shown' });
      expect(sm.pairs).toEqual(await listed(s, FRED, 'shown'));
      const legacy = await keys(s, FRED, {});
      expect(Object.fromEntries(new URLSearchParams(legacy.pairs.shown ?? ''))).toEqual(
        await listed(s, FRED, 'shown'),
      );
    });

    it('the history shows time, address, command and outcome of uses and refusals, newest first', async () => {
      s = await start();
      const t0 = s.clock.now();
      const v = await mint(s, FRED, FRED_PW, {
        keyname: 'h',
        ips: '127.0.0.1',
        select_allow0: 'CMD_API_LOGIN_TEST',
      });
      expectOk(await use(s, 'fred', v));
      s.clock.advance(1000);
      expectUnauthorized(await use(s, 'fred', v, 'CMD_API_SHOW_DOMAINS'));
      s.clock.advance(1000);
      expectUnauthorized(await callFrom(s, '127.0.0.2', '/CMD_LOGIN_TEST', { auth: `fred:${v}` }));
      expect(await history(s, FRED, 'h')).toEqual([
        { time: new Date(t0 + 2000).toISOString(), ip: '127.0.0.2', command: 'CMD_LOGIN_TEST', result: 'ip' },
        {
          time: new Date(t0 + 1000).toISOString(),
          ip: '127.0.0.1',
          command: 'CMD_API_SHOW_DOMAINS',
          result: 'command',
        },
        { time: new Date(t0).toISOString(), ip: '127.0.0.1', command: 'CMD_API_LOGIN_TEST', result: 'ok' },
      ]);
      const legacy = await keys(s, FRED, { action: 'history', keyname: 'h' });
      expect(Object.fromEntries(new URLSearchParams(legacy.pairs.entry0 ?? ''))).toEqual({
        time: new Date(t0 + 2000).toISOString(),
        ip: '127.0.0.2',
        command: 'CMD_LOGIN_TEST',
        result: 'ip',
        count: '1',
      });
    });

    it('identical uses within one second are one history row with their count; every use is counted', async () => {
      s = await start();
      const t0 = Math.ceil(s.clock.now() / 1000) * 1000;
      s.clock.set(t0);
      const v = await mint(s, FRED, FRED_PW, { keyname: 'busy', select_allow0: 'CMD_API_LOGIN_TEST' });
      for (let i = 0; i < 5; i++) expectOk(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', v, 'CMD_API_SHOW_DOMAINS'));
      s.clock.set(t0 + 999);
      expectOk(await use(s, 'fred', v));
      s.clock.set(t0 + 1000);
      expectOk(await use(s, 'fred', v));
      expect(await historyRows(s, FRED, 'busy')).toEqual([
        {
          time: new Date(t0 + 1000).toISOString(),
          ip: '127.0.0.1',
          command: 'CMD_API_LOGIN_TEST',
          result: 'ok',
          count: '1',
        },
        {
          time: new Date(t0).toISOString(),
          ip: '127.0.0.1',
          command: 'CMD_API_SHOW_DOMAINS',
          result: 'command',
          count: '1',
        },
        {
          time: new Date(t0).toISOString(),
          ip: '127.0.0.1',
          command: 'CMD_API_LOGIN_TEST',
          result: 'ok',
          count: '6',
        },
      ]);
    });
  });

  describe('hostdeck’s additions', () => {
    it('not_before: refused before it, valid from it (Unix seconds or ISO 8601)', async () => {
      s = await start();
      const nb = s.clock.now() + HOUR;
      const v = await mint(s, FRED, FRED_PW, { keyname: 'nb', not_before: String(nb / 1000) });
      const w = await mint(s, FRED, FRED_PW, { keyname: 'nbiso', not_before: new Date(nb).toISOString() });
      expect((await listed(s, FRED, 'nb')).not_before).toBe(new Date(nb).toISOString());
      expect((await listed(s, FRED, 'nbiso')).not_before).toBe(new Date(nb).toISOString());
      expectUnauthorized(await use(s, 'fred', v));
      s.clock.set(nb - 1);
      expectUnauthorized(await use(s, 'fred', w));
      s.clock.set(nb);
      expectOk(await use(s, 'fred', v));
      expectOk(await use(s, 'fred', w));
      expectError(
        await create(s, FRED, FRED_PW, { keyname: 'bad', not_before: 'tomorrow' }),
        'INVALID_PARAMETER',
        'not_before',
      );
    });

    it('rate_limit=N per rate_window: N pass, the next is refused and spends no use, the window reopens', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, {
        keyname: 'rl',
        rate_limit: '3',
        rate_window: '60',
        max_uses: '10',
      });
      expect((await listed(s, FRED, 'rl')).rate_limit).toBe('3/60s');
      for (let i = 0; i < 3; i++) expectOk(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', v, 'CMD_API_SHOW_DOMAINS'));
      expect((await listed(s, FRED, 'rl')).uses_left).toBe('7');
      s.clock.advance(59_999);
      expectUnauthorized(await use(s, 'fred', v));
      s.clock.advance(1);
      for (let i = 0; i < 3; i++) expectOk(await use(s, 'fred', v));
      expectUnauthorized(await use(s, 'fred', v));
      expect((await listed(s, FRED, 'rl')).uses_left).toBe('4');
      expect((await history(s, FRED, 'rl')).filter((e) => e.result === 'rate_limited')).toHaveLength(4);
      // The window defaults to 60 seconds; 0 removes the limit; bad values are refused.
      await mint(s, FRED, FRED_PW, { keyname: 'rl2', rate_limit: '5' });
      expect((await listed(s, FRED, 'rl2')).rate_limit).toBe('5/60s');
      expectOk(await keys(s, FRED, { action: 'modify', keyname: 'rl', rate_limit: '0', passwd: FRED_PW }));
      expect((await listed(s, FRED, 'rl')).rate_limit).toBe('');
      for (const bad of [
        { rate_limit: '-1' },
        { rate_limit: 'x' },
        { rate_limit: '2', rate_window: '0' },
      ] as Params[])
        expectError(await create(s, FRED, FRED_PW, { keyname: 'rlbad', ...bad }), 'INVALID_PARAMETER');
    });

    it('concurrent requests never pass a rate limit', async () => {
      s = await start();
      const v = await mint(s, FRED, FRED_PW, { keyname: 'rlc', rate_limit: '4', rate_window: '3600' });
      const answers = await Promise.all(Array.from({ length: 30 }, () => use(s as TestServer, 'fred', v)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(4);
    });

    it('rotate with grace: old and new values both work until the grace ends, then only the new one', async () => {
      s = await start();
      const old = await mint(s, FRED, FRED_PW, {
        keyname: 'rot',
        max_uses: '10',
        select_allow0: 'CMD_API_LOGIN_TEST',
      });
      const r = await keys(s, FRED, { action: 'rotate', keyname: 'rot', grace: '300', passwd: FRED_PW });
      expect(r.pairs.text).toBe('Login Key rotated');
      expect(r.pairs.manages_keys).toBe('no');
      const fresh = r.pairs.key ?? '';
      expect(looksLikeGeneratedKey(fresh)).toBe(true);
      expect((await listed(s, FRED, 'rot')).rotating).toBe(new Date(s.clock.now() + 300_000).toISOString());
      expectOk(await use(s, 'fred', old));
      expectOk(await use(s, 'fred', fresh));
      // Same key, same limits: both values spend its uses, and the old one keeps its commands only.
      expect((await listed(s, FRED, 'rot')).uses_left).toBe('8');
      expectUnauthorized(await use(s, 'fred', old, 'CMD_API_SHOW_DOMAINS'));
      s.clock.advance(299_999);
      expectOk(await use(s, 'fred', old));
      s.clock.advance(1);
      expectUnauthorized(await use(s, 'fred', old));
      expectOk(await use(s, 'fred', fresh));
    });

    it('rotate without grace: the old value stops at once; the answer flags a key that manages keys', async () => {
      s = await start();
      const old = await mint(s, FRED, FRED_PW, { keyname: 'rot' });
      for (const p of [{}, { grace: '0' }] as Params[]) {
        const before = (await listing(s, FRED)).rot;
        const r = await keys(s, FRED, { action: 'rotate', keyname: 'rot', passwd: FRED_PW, ...p });
        expect(r.pairs.manages_keys).toBe('yes');
        expect(r.pairs.warning).toBeDefined();
        expectOk(await use(s, 'fred', r.pairs.key ?? ''));
        expect((await listing(s, FRED)).rot?.rotating).toBe('');
        expect(before).toBeDefined();
      }
      expectUnauthorized(await use(s, 'fred', old));
      for (const grace of ['-1', 'abc', '2592001', '1.5'])
        expectError(
          await keys(s, FRED, { action: 'rotate', keyname: 'rot', grace, passwd: FRED_PW }),
          'INVALID_PARAMETER',
        );
      expectError(
        await keys(s, FRED, { action: 'rotate', keyname: 'nokey', passwd: FRED_PW }),
        'INVALID_PARAMETER',
        'no key named',
      );
    });

    it('domains: the scope is stored and shown, and only the account’s own domains may be named', async () => {
      s = await start();
      await mint(s, FRED, FRED_PW, { keyname: 'scoped', domains: 'fred.example.com, FRED.example.com' });
      expect((await listed(s, FRED, 'scoped')).scope_domains).toBe('fred.example.com');
      expectError(
        await create(s, FRED, FRED_PW, { keyname: 'other', domains: 'barney.example.com' }),
        'INVALID_PARAMETER',
        'not a domain of this account',
      );
      expectError(
        await create(s, FRED, FRED_PW, { keyname: 'ghost', domains: 'nobody.example.org' }),
        'INVALID_PARAMETER',
        'not a domain of this account',
      );
      expectError(
        await create(s, FRED, FRED_PW, { keyname: 'junk', domains: 'not a domain!' }),
        'INVALID_DOMAIN',
      );
      expect(Object.keys(await listing(s, FRED))).toEqual(['scoped']);
      expectError(
        await keys(s, FRED, {
          action: 'modify',
          keyname: 'scoped',
          domains: 'barney.example.com',
          passwd: FRED_PW,
        }),
        'INVALID_PARAMETER',
      );
      expect((await listed(s, FRED, 'scoped')).scope_domains).toBe('fred.example.com');
    });

    it('dns_names and dns_types: a DNS scope set through the API, validated, listed, and replaced by modify', async () => {
      const srv = await start();
      s = srv;
      const v = await mint(s, FRED, FRED_PW, {
        keyname: 'acme',
        max_uses: '5',
        domains: 'fred.example.com',
        dns_names: '_acme-challenge, _ACME-challenge.*.',
        dns_types: 'txt',
      });
      expect(await listed(s, FRED, 'acme')).toMatchObject({
        scope_domains: 'fred.example.com',
        scope_dns_names: '_acme-challenge,_acme-challenge.*',
        scope_dns_types: 'TXT',
      });
      // The scope holds where records change: in scope is added, out of scope is refused and spends nothing.
      const dns = (params: Params) =>
        use(srv, 'fred', v, 'CMD_API_DNS_CONTROL', { domain: 'fred.example.com', ...params });
      expectOk(await dns({ action: 'add', type: 'TXT', name: '_acme-challenge', value: 'tok1' }));
      expect((await listed(s, FRED, 'acme')).uses_left).toBe('4');
      for (const params of [
        { action: 'add', type: 'A', name: '_acme-challenge', value: '192.0.2.1' },
        { action: 'add', type: 'TXT', name: 'www', value: 'tok2' },
      ])
        expect((await dns(params)).pairs.error).toBe('1');
      expect((await listed(s, FRED, 'acme')).uses_left).toBe('4');
      for (const [field, bad, text] of [
        ['dns_types', 'TXT,SOA', 'dns_types'],
        ['dns_names', 'a;b', 'dns_names'],
        ['dns_names', '$INCLUDE', 'dns_names'],
        ['dns_names', 'x'.repeat(64), 'dns_names'],
        ['dns_names', Array.from({ length: 51 }, (_, i) => `n${i}`).join(','), 'at most 50'],
      ] as const) {
        expectError(
          await create(s, FRED, FRED_PW, { keyname: 'bad', [field]: bad }),
          'INVALID_PARAMETER',
          text,
        );
      }
      expect(Object.keys(await listing(s, FRED))).toEqual(['acme']);
      expectOk(
        await keys(s, FRED, { action: 'modify', keyname: 'acme', dns_types: 'TXT,CNAME', passwd: FRED_PW }),
      );
      expect(await listed(s, FRED, 'acme')).toMatchObject({
        scope_domains: '',
        scope_dns_names: '',
        scope_dns_types: 'TXT,CNAME',
      });
    });
  });

  describe('client address', () => {
    it('X-Forwarded-For and X-Real-IP are ignored without trusted proxies', async () => {
      s = await start();
      const only10 = await mint(s, FRED, FRED_PW, { keyname: 'ten', ips: '10.1.2.3' });
      const local = await mint(s, FRED, FRED_PW, { keyname: 'local', ips: '127.0.0.1' });
      for (const headers of [
        { 'x-forwarded-for': '10.1.2.3' },
        { 'x-real-ip': '10.1.2.3' },
        { 'x-forwarded-for': '10.1.2.3, 127.0.0.1' },
        { forwarded: 'for=10.1.2.3' },
      ] as Params[]) {
        expectUnauthorized(await use(s, 'fred', only10, 'CMD_API_LOGIN_TEST', undefined, headers));
        expectOk(
          await use(s, 'fred', local, 'CMD_API_LOGIN_TEST', undefined, {
            ...headers,
            'x-forwarded-for': '10.9.9.9',
          }),
        );
      }
      expect((await history(s, FRED, 'ten')).every((e) => e.ip === '127.0.0.1' && e.result === 'ip')).toBe(
        true,
      );
    });

    it('with trustedProxies, X-Forwarded-For from a listed peer is the client address, from any other peer it is ignored', async () => {
      s = await start({ ...NO_BFM, trustedProxies: ['127.0.0.1'] });
      const only10 = await mint(s, FRED, FRED_PW, { keyname: 'ten', ips: '10.1.2.3' });
      const local = await mint(s, FRED, FRED_PW, { keyname: 'local', ips: '127.0.0.1' });
      expectOk(
        await use(s, 'fred', only10, 'CMD_API_LOGIN_TEST', undefined, { 'x-forwarded-for': '10.1.2.3' }),
      );
      expectUnauthorized(await use(s, 'fred', only10));
      // The proxy's own address is no longer the client's once it forwards one.
      expectUnauthorized(
        await use(s, 'fred', local, 'CMD_API_LOGIN_TEST', undefined, { 'x-forwarded-for': '10.1.2.3' }),
      );
      expectOk(await use(s, 'fred', local));
      // 127.0.0.2 is no trusted proxy: its header counts for nothing.
      expectUnauthorized(
        await callFrom(s, '127.0.0.2', '/CMD_API_LOGIN_TEST', {
          auth: `fred:${only10}`,
          headers: { 'x-forwarded-for': '10.1.2.3' },
        }),
      );
      const h = await history(s, FRED, 'ten');
      expect(h.map((e) => [e.ip, e.result])).toEqual([
        ['127.0.0.2', 'ip'],
        ['127.0.0.1', 'ip'],
        ['10.1.2.3', 'ok'],
      ]);
    });
  });

  describe('brute force', () => {
    it('wrong keys count like wrong passwords, and a blocked account refuses even a valid key without hashing', async () => {
      s = await start({ bfmAccountThreshold: 3, bfmIpThreshold: 1_000 });
      const v = await mint(s, FRED, FRED_PW, { keyname: 'k' });
      // A valid key costs no password hash at all.
      let before = s.services.hasher.verifications;
      expectOk(await use(s, 'fred', v));
      expect(s.services.hasher.verifications).toBe(before);
      const wrongPassword = shape(
        await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: 'barney:Wrong-Pass-1' }),
      );
      // The last character changed to one it is not (a fixed 'x' would sometimes be the same key).
      const nearMiss = `${v.slice(0, -1)}${v.endsWith('x') ? 'y' : 'x'}`;
      for (const wrong of [WRONG_KEY, nearMiss, 'Not-A-Key-At-All-1']) {
        const a = await use(s, 'fred', wrong);
        expect(shape(a)).toEqual(wrongPassword);
      }
      before = s.services.hasher.verifications;
      const blocked = await use(s, 'fred', v);
      expect(shape(blocked)).toEqual(wrongPassword);
      expect(s.services.hasher.verifications).toBe(before);
      expectUnauthorized(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: FRED }));
      expect(s.services.hasher.verifications).toBe(before);
      // Other accounts are not blocked by fred's failures.
      expectOk(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: authOf('res1') }));
      // The block ends with its time.
      s.clock.advance(3_600_000 + 1);
      expectOk(await use(s, 'fred', v));
    });
  });
});

/** A DA listener whose logger writes to memory, with a manual clock (as test/api/debug.test.ts does). */
async function startLogged(settings: Record<string, unknown>) {
  const lines: string[] = [];
  const env = await createTestEnv({ settings, manualClock: true, logLines: lines });
  const app = buildApps(env.services, null).da;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    clock: env.clock as ManualClock,
    services: env.services,
    lines,
    authLines: () =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.debug === 'auth'),
    async close() {
      await app.close();
      await env.close();
    },
  };
}

describe('login keys in debug mode', () => {
  let d: Awaited<ReturnType<typeof startLogged>> | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  it('level 2000 logs why a key was refused; the client gets the answer of a bad password every time', async () => {
    d = await startLogged({ debug: 2000, ...NO_BFM });
    const srv = d;
    const mk = (auth: string, pw: string, p: Params) =>
      mint(srv, auth, pw, { keyname: `k${Math.random().toString(36).slice(2, 8)}`, ...p });
    for (const u of ['fred', 'barney', 'ginny'])
      expect(
        (
          await rawCall(srv.port, '/CMD_API_ACCOUNT_USER', {
            method: 'POST',
            auth: ADMIN,
            params: {
              action: 'create',
              username: u,
              email: `${u}@example.com`,
              passwd: `${u}-Pass-123`,
              passwd2: `${u}-Pass-123`,
              domain: `${u}.example.com`,
              package: 'default',
              ip: 'shared',
              notify: 'no',
            },
          })
        ).pairs.error,
      ).toBe('0');
    const expiring = await mk(FRED, FRED_PW, expiryParams(srv.clock.now() + HOUR));
    const ip = await mk(FRED, FRED_PW, { ips: '10.9.9.9' });
    const cmd = await mk(FRED, FRED_PW, { select_allow0: 'CMD_API_LOGIN_TEST' });
    const spent = await mk(FRED, FRED_PW, { max_uses: '1' });
    const notYet = await mk(FRED, FRED_PW, { not_before: String(srv.clock.now() / 1000 + 86_400 * 30) });
    const rate = await mk(FRED, FRED_PW, { rate_limit: '1', rate_window: '86400' });
    const feature = await mk(authOf('barney'), 'barney-Pass-123', {});
    const suspended = await mk(authOf('ginny'), 'ginny-Pass-123', {});
    const any = await mk(FRED, FRED_PW, {});
    expectOk(await use(srv, 'fred', spent));
    expectOk(await use(srv, 'fred', rate));
    expectOk(
      await rawCall(srv.port, '/CMD_API_MODIFY_USER', {
        method: 'POST',
        auth: ADMIN,
        params: { action: 'customize', user: 'barney', login_keys: 'OFF' },
      }),
    );
    expectOk(
      await rawCall(srv.port, '/CMD_API_SELECT_USERS', {
        method: 'POST',
        auth: ADMIN,
        params: { suspend: 'Suspend', select0: 'ginny' },
      }),
    );
    srv.clock.advance(2 * HOUR);
    const bad = shape(await rawCall(srv.port, '/CMD_API_LOGIN_TEST', { auth: 'fred:Wrong-Pass-1234' }));
    const first = srv.lines.length;
    const attempts: [string, string, string][] = [
      ['fred', expiring, 'CMD_API_LOGIN_TEST'],
      ['fred', ip, 'CMD_API_LOGIN_TEST'],
      ['fred', cmd, 'CMD_API_SHOW_DOMAINS'],
      ['fred', spent, 'CMD_API_LOGIN_TEST'],
      ['fred', notYet, 'CMD_API_LOGIN_TEST'],
      ['fred', rate, 'CMD_API_LOGIN_TEST'],
      ['barney', feature, 'CMD_API_LOGIN_TEST'],
      ['ginny', suspended, 'CMD_API_LOGIN_TEST'],
      ['fred|barney', any, 'CMD_API_LOGIN_TEST'],
      ['fred', any, 'CMD_API_SHOW_USERS'],
    ];
    for (const [user, key, c] of attempts) {
      const a = await use(srv, user, key, c);
      expect(shape(a), `${user} ${c}`).toEqual(bad);
    }
    const reasons = srv.lines
      .slice(first)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.debug === 'auth');
    expect(reasons.map((l) => l.reason)).toEqual([
      'expired',
      'ip',
      'command',
      'spent',
      'not_yet_valid',
      'rate_limited',
      'feature_disabled',
      'suspended',
      'login_as_denied',
      'command',
    ]);
    expect(reasons[0]).toMatchObject({ cmd: 'CMD_API_LOGIN_TEST', ip: '127.0.0.1', user: 'fred' });
    // No key value reached the log.
    const text = srv.lines.join('\n');
    for (const v of [expiring, ip, cmd, spent, notYet, rate, feature, suspended, any])
      expect(text).not.toContain(v);
  });

  for (const level of [1000, 100000])
    it(`no key value reaches the log at level ${level}, whatever is done with the key`, async () => {
      d = await startLogged({ debug: level, ...NO_BFM });
      const srv = d;
      const values: string[] = [];
      const c = await create(srv, ADMIN, ADMIN_PASSWORD, { keyname: 'gen' });
      values.push(c.pairs.key ?? '');
      const cj = await create(srv, ADMIN, ADMIN_PASSWORD, { keyname: 'genjson', json: 'yes' });
      values.push((cj.json() as { key: string }).key);
      const chosen = 'Chosen-Debug-Value-42';
      expectOk(await create(srv, ADMIN, ADMIN_PASSWORD, { keyname: 'chosen', key: chosen, key2: chosen }));
      values.push(chosen);
      const r = await keys(srv, ADMIN, {
        action: 'rotate',
        keyname: 'gen',
        grace: '60',
        passwd: ADMIN_PASSWORD,
      });
      values.push(r.pairs.key ?? '');
      for (const v of values) expect(looksLikeGeneratedKey(v) || v === chosen, v).toBe(true);
      for (const v of values) expectOk(await use(srv, 'admin', v));
      await use(srv, 'admin', `${values[0]}x`);
      await keys(srv, ADMIN, {});
      await keys(srv, ADMIN, { action: 'show_modify', keyname: 'gen' });
      await keys(srv, ADMIN, { action: 'history', keyname: 'gen' });
      await keys(srv, ADMIN, {
        action: 'modify',
        keyname: 'chosen',
        key: 'Other-Debug-Value-43',
        key2: 'Other-Debug-Value-43',
        passwd: ADMIN_PASSWORD,
      });
      values.push('Other-Debug-Value-43');
      await rawCall(srv.port, '/CMD_API_SHOW_MESSAGES', { auth: ADMIN });
      const answers = srv.lines.filter((l) => l.includes('"answer"'));
      expect(answers.length).toBeGreaterThan(5);
      const text = srv.lines.join('\n');
      for (const v of values) {
        expect(text, v).not.toContain(v);
        expect(text, v).not.toContain(encodeURIComponent(v));
        expect(text, v).not.toContain(v.slice(4, 30));
      }
    });
});
