/**
 * WHM API 1 on its own listener: the envelope byte for byte, every function with good and bad input (bad
 * input changes nothing), reseller isolation, and accounts shared with the DirectAdmin API both ways.
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WHM_FUNCTIONS } from '../../src/protocols/cpanel/whm/functions.js';
import { RESELLER_ACLS, WHM_FUNCTION_ACLS } from '../../src/protocols/cpanel/whm-acls.js';
import {
  type Answer,
  authOf,
  type CallOptions,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { ADMIN_PASSWORD, snapshot } from '../helpers/services.js';

const ADMIN = `admin:${ADMIN_PASSWORD}`;

interface WhmCall {
  auth?: string;
  params?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** Calls a WHM function on the WHM listener (GET by default, parameters in the query). */
function whm(s: TestServer, fn: string, o: WhmCall = {}): Promise<Answer> {
  const opts: CallOptions = { method: o.method ?? 'GET' };
  // A token request carries its own Authorization header instead of the admin's password.
  if (!o.headers?.authorization) opts.auth = o.auth ?? ADMIN;
  if (o.params) opts.params = o.params;
  if (o.body !== undefined) opts.body = o.body;
  if (o.headers) opts.headers = o.headers;
  return rawCall(s.whmPort, `/json-api/${fn}?api.version=1`, opts);
}

interface Envelope {
  data?: Record<string, unknown>;
  metadata: { command: string; reason: string; result: number; version: number; output?: { raw: string } };
}

function env(a: Answer): Envelope {
  return a.json() as Envelope;
}

/** A success: HTTP 200, compact JSON, `result` the integer 1. */
function ok(a: Answer, fn: string): Envelope {
  expect(a.status, a.body).toBe(200);
  expect(a.headers['content-type']).toMatch(/^application\/json/);
  expectCompact(a.body);
  const e = env(a);
  expect(e.metadata, a.body).toMatchObject({ command: fn, result: 1, version: 1 });
  return e;
}

/** A failure: `result` the integer 0, the reason matching, and no `data`. */
function failed(a: Answer, fn: string, reason: RegExp, status = 200): Envelope {
  expect(a.status, a.body).toBe(status);
  expectCompact(a.body);
  const e = env(a);
  expect(e.metadata, a.body).toMatchObject({ command: fn, result: 0, version: 1 });
  expect(e.metadata.reason).toMatch(reason);
  expect(e.data).toBeUndefined();
  return e;
}

/** Compact: exactly what JSON.stringify writes, so no space or newline outside strings. */
function expectCompact(body: string): void {
  expect(JSON.stringify(JSON.parse(body))).toBe(body);
}

type Acct = Record<string, unknown>;

async function accts(s: TestServer, auth = ADMIN, params: Record<string, string> = {}): Promise<Acct[]> {
  const e = ok(await whm(s, 'listaccts', { auth, params }), 'listaccts');
  return (e.data as { acct: Acct[] }).acct;
}

async function daUsers(s: TestServer): Promise<string[]> {
  return (await s.admin('/CMD_API_SHOW_ALL_USERS')).list;
}

const FRED = {
  username: 'fred',
  domain: 'fred.example.com',
  password: 'Fred-Pass-1234',
  contactemail: 'fred@example.com',
  plan: 'default',
};

/** Runs a call that must fail and proves that nothing in the database changed. */
async function refusedWithoutChange(
  s: TestServer,
  fn: string,
  o: WhmCall,
  reason: RegExp,
  status = 200,
): Promise<void> {
  const before = await snapshot(s.services);
  failed(await whm(s, fn, o), fn, reason, status);
  expect(await snapshot(s.services), `${fn} ${JSON.stringify(o.params)} changed nothing`).toBe(before);
}

function multipart(fields: Record<string, string>): { body: Buffer; type: string } {
  const boundary = '----whmtest7d1';
  const parts = Object.entries(fields).map(
    ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

describe('WHM API 1', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ whm: true });
  });
  afterEach(async () => s.close());

  describe('envelope and routing', () => {
    it('answers compact JSON with data first and an integer result, byte for byte', async () => {
      const a = await whm(s, 'version');
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(a.body).toBe(
        '{"data":{"version":"11.126.0.0"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}',
      );
    });

    it('answers a failure with result 0 and the reason, also compact', async () => {
      const a = await whm(s, 'listaccts', { params: { search: 'x', searchtype: 'colour' } });
      expect(a.body).toBe(
        '{"metadata":{"command":"listaccts","reason":"searchtype must be domain, owner, user, ip or package","result":0,"version":1}}',
      );
    });

    it('answers an unknown function in WHM wording, and other paths in the WHM envelope', async () => {
      const a = await whm(s, 'nosuchfunction');
      expect(a.status).toBe(404);
      expect(a.body).toBe(
        '{"metadata":{"command":"nosuchfunction","reason":"Unknown app (“nosuchfunction”) requested for this version (1) of the API.","result":0,"version":1}}',
      );
      // Inherited object properties are no functions.
      failed(await whm(s, 'constructor'), 'constructor', /Unknown app/, 404);
      const other = await rawCall(s.whmPort, '/xml-api/version', { auth: ADMIN });
      expect(other.status).toBe(404);
      expect(env(other).metadata).toMatchObject({ result: 0, command: '' });
      const root = await rawCall(s.whmPort, '/', { auth: ADMIN });
      expect(root.status).toBe(404);
      expectCompact(root.body);
    });

    it('assumes version 1 without api.version and refuses any other version', async () => {
      ok(await rawCall(s.whmPort, '/json-api/version', { auth: ADMIN }), 'version');
      const v0 = await rawCall(s.whmPort, '/json-api/version?api.version=0', { auth: ADMIN });
      failed(v0, 'version', /api\.version=1/);
    });

    it('strips a cpsess session prefix and a trailing slash', async () => {
      ok(await rawCall(s.whmPort, '/cpsess0123456789/json-api/version/', { auth: ADMIN }), 'version');
    });

    it('refuses other methods with 405 in the WHM envelope', async () => {
      const a = await rawCall(s.whmPort, '/json-api/listaccts', { method: 'DELETE', auth: ADMIN });
      expect(a.status).toBe(405);
      expect(a.headers.allow).toBe('GET, HEAD, POST');
      failed(a, 'listaccts', /Use GET or POST/, 405);
    });

    it('answers an oversized body and a broken multipart body in the WHM envelope', async () => {
      const big = await whm(s, 'listaccts', {
        method: 'POST',
        body: `search=${'a'.repeat(1 << 20)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(big.status).toBe(413);
      expect(env(big).metadata).toMatchObject({ command: 'listaccts', result: 0 });
      const broken = await whm(s, 'listaccts', {
        method: 'POST',
        body: '--x\r\nContent-Disposition: form-data; name="search"\r\n\r\n\xff',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
      });
      expect(broken.status).toBe(200);
      failed(broken, 'listaccts', /multipart|UTF-8/);
    });

    it('answers a request that is not valid HTTP in the WHM envelope and closes the connection', async () => {
      const text = await new Promise<string>((resolve, reject) => {
        const sock = connect(s.whmPort, '127.0.0.1', () =>
          sock.write('GET /json-api/version HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
        );
        const chunks: Buffer[] = [];
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
        sock.on('error', reject);
      });
      const [head = '', body = ''] = text.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
      expect(head).toMatch(/Content-Type: application\/json/);
      expect(body).toBe(
        '{"metadata":{"command":"","reason":"The request is not valid HTTP","result":0,"version":1}}',
      );
    });

    it('serves every function the ACL table names, and no function without a privilege entry', () => {
      const served = Object.keys(WHM_FUNCTIONS);
      for (const f of served) expect(Object.hasOwn(WHM_FUNCTION_ACLS, f), f).toBe(true);
      const pending = Object.keys(WHM_FUNCTION_ACLS).filter((f) => !served.includes(f));
      for (const f of pending)
        expect(f, 'only token functions may wait for their service').toMatch(/^api_token_/);
    });

    it('applist lists the functions the caller may run', async () => {
      const e = ok(await whm(s, 'applist'), 'applist');
      expect((e.data as { app: string[] }).app).toEqual(Object.keys(WHM_FUNCTIONS).sort());
    });
  });

  describe('createacct and the DirectAdmin API share accounts', () => {
    it('creates by query, url-encoded body and multipart body; DA lists them and WHM lists DA-made ones', async () => {
      const q = ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      expect(q.metadata.reason).toBe('Account Creation Ok');
      expect(q.metadata.output?.raw).toContain('fred');
      expect(q.data).toEqual({
        ip: 'shared',
        nameserver: 'ns1.panel.example.net',
        nameserver2: 'ns2.panel.example.net',
        nameserver3: null,
        nameserver4: null,
        nameservera: null,
        nameservera2: null,
        nameservera3: null,
        nameservera4: null,
        nameserverentry: null,
        nameserverentry2: null,
        nameserverentry3: null,
        nameserverentry4: null,
        package: 'default',
      });
      ok(
        await whm(s, 'createacct', {
          method: 'POST',
          params: { ...FRED, username: 'george', domain: 'george.example.com', pkgname: 'default' },
        }),
        'createacct',
      );
      const m = multipart({
        ...FRED,
        username: 'harry',
        domain: 'harry.example.com',
        pass: 'Harry-Pass-123',
      });
      ok(
        await whm(s, 'createacct', { method: 'POST', body: m.body, headers: { 'content-type': m.type } }),
        'createacct',
      );
      expect(await daUsers(s)).toEqual(['admin', 'fred', 'george', 'harry']);
      // The password given (pass or password) is the account's DA password.
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:Fred-Pass-1234' })).pairs.error).toBe('0');
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'harry:Harry-Pass-123' })).pairs.error).toBe('0');

      await createAccount(s, 'user', 'daonly');
      const list = await accts(s);
      expect(list.map((a) => a.user)).toEqual(['daonly', 'fred', 'george', 'harry']);
      const fred = list.find((a) => a.user === 'fred') as Acct;
      expect(fred).toMatchObject({
        user: 'fred',
        domain: 'fred.example.com',
        email: 'fred@example.com',
        plan: 'default',
        owner: 'admin',
        suspended: 0,
        suspendreason: 'not suspended',
        suspendtime: null,
        disklimit: 'unlimited',
        maxpop: 'unlimited',
        maxaddons: 'unlimited',
        ipv6: [],
      });
      expect(fred.startdate).toMatch(/^\d{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}$/);
      expect(typeof fred.unix_startdate).toBe('number');
      expect(Math.abs((fred.unix_startdate as number) - Date.now() / 1000)).toBeLessThan(120);
      expect(JSON.stringify(list)).not.toMatch(/argon|password|hash/i);
    });

    it('makes up a password when none is sent and creates resellers with reseller=1', async () => {
      const { password: _, ...nopw } = FRED;
      ok(await whm(s, 'createacct', { params: nopw }), 'createacct');
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:' })).status).toBe(401);
      ok(
        await whm(s, 'createacct', {
          params: { ...FRED, username: 'resone', domain: 'resone.example.com', reseller: '1' },
        }),
        'createacct',
      );
      const cfg = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'resone' });
      expect(cfg.pairs).toMatchObject({ usertype: 'reseller', package: 'default' });
    });

    it('creates a custom account from cPanel limits, in DirectAdmin terms (MAXADDON counts beside the main domain)', async () => {
      const { plan: _, ...noplan } = FRED;
      ok(
        await whm(s, 'createacct', {
          params: {
            ...noplan,
            quota: '500',
            maxpop: '10',
            maxaddon: '2',
            bwlimit: '0',
            hasshell: 'n',
            cgi: '1',
          },
        }),
        'createacct',
      );
      const cfg = (await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs;
      expect(cfg).toMatchObject({
        package: 'custom',
        quota: '500',
        nemails: '10',
        vdomains: '3',
        bandwidth: 'unlimited',
        ssh: 'OFF',
        cgi: 'ON',
        login_keys: 'ON',
      });
      const [fred] = await accts(s);
      expect(fred).toMatchObject({ disklimit: '500M', maxpop: '10', maxaddons: '2', plan: 'custom' });
      expect(fred?.shell).toBe('/usr/local/cpanel/bin/noshell');
    });

    it('refuses bad input and changes nothing', async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      const other = { ...FRED, username: 'george', domain: 'george.example.com' };
      const cases: [Record<string, string>, RegExp][] = [
        [{ ...other, username: '' }, /username is required/],
        [{ ...other, username: '9lives' }, /.+/],
        [{ ...other, username: 'root' }, /.+/],
        [{ ...other, username: 'fred' }, /fred already exists/],
        [{ ...other, domain: 'fred.example.com' }, /already exists/],
        [{ ...other, domain: 'not a domain' }, /.+/],
        [{ ...other, contactemail: '' }, /contactemail is required/],
        [{ ...other, contactemail: 'nope' }, /.+/],
        [{ ...other, plan: 'gold' }, /no user package named gold/],
        [{ ...other, password: 'x' }, /at least/],
        [{ ...other, plan: '', quota: 'lots' }, /quota must be a whole number/],
        [{ ...other, plan: '', cgi: 'maybe' }, /cgi must be 1 or 0/],
        [{ ...other, owner: 'someoneelse' }, /owner/],
        [{ ...other, ip: 'y' }, /dedicated IP/],
        [{ ...other, customip: 'not-an-ip' }, /ip must be/],
      ];
      for (const [params, reason] of cases) await refusedWithoutChange(s, 'createacct', { params }, reason);
      expect(await daUsers(s)).toEqual(['admin', 'fred']);
    });
  });

  describe('listaccts and accountsummary', () => {
    beforeEach(async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      ok(await whm(s, 'addpkg', { params: { name: 'small', quota: '100' } }), 'addpkg');
      ok(
        await whm(s, 'createacct', {
          params: { ...FRED, username: 'george', domain: 'shop.example.org', plan: 'small' },
        }),
        'createacct',
      );
    });

    it('searches by user, domain, owner and package, by regex or exactly, and returns only wanted fields', async () => {
      const users = async (params: Record<string, string>) =>
        (await accts(s, ADMIN, params)).map((a) => a.user);
      expect(await users({ search: '^fr', searchtype: 'user' })).toEqual(['fred']);
      expect(await users({ search: 'EXAMPLE\\.org$', searchtype: 'domain' })).toEqual(['george']);
      expect(
        await users({ search: 'shop.example.org', searchtype: 'domain', searchmethod: 'exact' }),
      ).toEqual(['george']);
      expect(await users({ search: 'shop', searchtype: 'domain', searchmethod: 'exact' })).toEqual([]);
      expect(await users({ search: 'admin', searchtype: 'owner' })).toEqual(['fred', 'george']);
      expect(await users({ search: '^small$', searchtype: 'package' })).toEqual(['george']);
      expect(await accts(s, ADMIN, { want: 'user,plan' })).toEqual([
        { user: 'fred', plan: 'default' },
        { user: 'george', plan: 'small' },
      ]);
      failed(
        await whm(s, 'listaccts', { params: { search: '(', searchtype: 'user' } }),
        'listaccts',
        /regular/,
      );
      failed(
        await whm(s, 'listaccts', { params: { search: 'x', searchtype: 'user', searchmethod: 'fuzzy' } }),
        'listaccts',
        /searchmethod/,
      );
    });

    it('filters, sorts and chunks lists with the api.* output arguments', async () => {
      const get = (params: Record<string, string>) => whm(s, 'listaccts', { params });
      const users = (e: Envelope) => (e.data as { acct: Acct[] }).acct.map((x) => x.user);
      const filtered = ok(
        await get({
          'api.filter.enable': '1',
          'api.filter.a.field': 'user',
          'api.filter.a.type': 'begins',
          'api.filter.a.arg0': 'G',
        }),
        'listaccts',
      );
      expect(users(filtered)).toEqual(['george']);
      expect(filtered.metadata).toMatchObject({ filter: { filtered: 1 } });
      const sorted = ok(
        await get({ 'api.sort.enable': '1', 'api.sort.a.field': 'user', 'api.sort.a.reverse': '1' }),
        'listaccts',
      );
      expect(users(sorted)).toEqual(['george', 'fred']);
      const chunk = ok(
        await get({ 'api.chunk.enable': '1', 'api.chunk.size': '1', 'api.chunk.start': '2' }),
        'listaccts',
      );
      expect(users(chunk)).toEqual(['george']);
      expect(chunk.metadata).toMatchObject({
        chunk: { start: 2, current: 2, size: 1, chunks: 2, records: 2 },
      });
      // Numeric sorting puts "unlimited" above every number.
      const pkgs = ok(
        await whm(s, 'listpkgs', {
          params: { 'api.sort.enable': '1', 'api.sort.a.field': 'QUOTA', 'api.sort.a.method': 'numeric' },
        }),
        'listpkgs',
      );
      expect((pkgs.data as { pkg: Acct[] }).pkg.map((x) => x.name)).toEqual(['small', 'default']);
      // Without the enable switches nothing is applied.
      expect(users(ok(await get({ 'api.chunk.size': '1' }), 'listaccts'))).toEqual(['fred', 'george']);
      failed(
        await get({ 'api.filter.enable': '1', 'api.filter.a.field': 'user', 'api.filter.a.type': 'fuzzy' }),
        'listaccts',
        /api\.filter\.a\.type/,
      );
      failed(await get({ 'api.chunk.enable': '1', 'api.chunk.size': '0' }), 'listaccts', /api\.chunk\.size/);
      failed(
        await get({ 'api.sort.enable': '1', 'api.sort.a.field': 'user', 'api.sort.a.method': 'random' }),
        'listaccts',
        /api\.sort\.a\.method/,
      );
    });

    it('accountsummary finds an account by user or by domain, with null suspension fields', async () => {
      const byUser = ok(await whm(s, 'accountsummary', { params: { user: 'george' } }), 'accountsummary');
      const acct = (byUser.data as { acct: Acct[] }).acct;
      expect(acct).toHaveLength(1);
      expect(acct[0]).toMatchObject({
        user: 'george',
        plan: 'small',
        suspendreason: null,
        suspendtime: null,
      });
      expect(acct[0]?.disklimit).toBe('100M');
      const byDomain = ok(
        await whm(s, 'accountsummary', { params: { domain: 'SHOP.example.org.' } }),
        'accountsummary',
      );
      expect(byDomain.data).toEqual(byUser.data);
      failed(await whm(s, 'accountsummary'), 'accountsummary', /user or domain is required/);
      failed(await whm(s, 'accountsummary', { params: { user: 'ghost' } }), 'accountsummary', /ghost/);
      failed(
        await whm(s, 'accountsummary', { params: { domain: 'nowhere.example' } }),
        'accountsummary',
        /nowhere/,
      );
      // Admin accounts are no cPanel accounts.
      failed(await whm(s, 'accountsummary', { params: { user: 'admin' } }), 'accountsummary', /admin/);
    });
  });

  describe('suspension, passwords, removal', () => {
    beforeEach(async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
    });

    it('suspendacct and unsuspendacct change what both APIs see and whether the account may log in', async () => {
      const sus = ok(
        await whm(s, 'suspendacct', { params: { user: 'fred', reason: 'Unpaid invoice' } }),
        'suspendacct',
      );
      expect(sus.data).toBeUndefined();
      expect(sus.metadata.output?.raw).toContain('fred');
      const [fred] = await accts(s);
      expect(fred).toMatchObject({ suspended: 1, suspendreason: 'Unpaid invoice' });
      expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs).toMatchObject({
        suspended: 'yes',
        suspended_reason: 'Unpaid invoice',
      });
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:Fred-Pass-1234' })).status).toBe(401);
      ok(await whm(s, 'unsuspendacct', { params: { user: 'fred' } }), 'unsuspendacct');
      expect((await accts(s))[0]).toMatchObject({ suspended: 0, suspendreason: 'not suspended' });
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:Fred-Pass-1234' })).pairs.error).toBe('0');
      ok(await whm(s, 'suspendacct', { params: { user: 'fred' } }), 'suspendacct');
      expect((await accts(s))[0]).toMatchObject({ suspended: 1, suspendreason: 'Unknown' });
    });

    it('refuses bad suspension input and changes nothing', async () => {
      await refusedWithoutChange(s, 'suspendacct', {}, /user is required/);
      await refusedWithoutChange(s, 'suspendacct', { params: { user: 'ghost' } }, /ghost/);
      await refusedWithoutChange(s, 'suspendacct', { params: { user: 'admin' } }, /your own account/);
      await refusedWithoutChange(
        s,
        'suspendacct',
        { params: { user: 'fred', reason: 'x'.repeat(200) } },
        /reason/,
      );
      await refusedWithoutChange(
        s,
        'suspendacct',
        { params: { user: 'fred', disallowun: '1' } },
        /disallowun/,
      );
      await refusedWithoutChange(s, 'unsuspendacct', { params: { user: 'ghost' } }, /ghost/);
    });

    it('passwd sets the password the DirectAdmin API then takes', async () => {
      const e = ok(
        await whm(s, 'passwd', { params: { user: 'fred', password: 'New-Fred-Pass-9' } }),
        'passwd',
      );
      expect(e.metadata.reason).toBe('Password changed for user “fred”.');
      expect(e.data).toEqual({ app: ['system'] });
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:New-Fred-Pass-9' })).pairs.error).toBe('0');
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:Fred-Pass-1234' })).status).toBe(401);
      await refusedWithoutChange(s, 'passwd', { params: { user: 'fred', password: 'short' } }, /at least/);
      await refusedWithoutChange(s, 'passwd', { params: { user: 'fred' } }, /password is required/);
      await refusedWithoutChange(
        s,
        'passwd',
        { params: { user: 'ghost', password: 'Ghost-Pass-123' } },
        /ghost/,
      );
    });

    it('removeacct takes username or the deprecated user, and the account leaves both APIs', async () => {
      ok(
        await whm(s, 'createacct', { params: { ...FRED, username: 'george', domain: 'g.example.com' } }),
        'createacct',
      );
      const r = ok(await whm(s, 'removeacct', { params: { username: 'fred' } }), 'removeacct');
      expect(r.metadata.reason).toBe('fred account removed');
      expect(r.data).toBeUndefined();
      ok(await whm(s, 'removeacct', { params: { user: 'george' } }), 'removeacct');
      expect(await daUsers(s)).toEqual(['admin']);
      expect(await accts(s)).toEqual([]);
      await refusedWithoutChange(s, 'removeacct', { params: { username: 'fred' } }, /fred/);
      await refusedWithoutChange(s, 'removeacct', {}, /user is required/);
      await refusedWithoutChange(s, 'removeacct', { params: { username: 'admin' } }, /your own account/);
    });
  });

  describe('packages', () => {
    it('lists, adds, edits and kills packages, seen by the DirectAdmin API too', async () => {
      const before = ok(await whm(s, 'listpkgs'), 'listpkgs');
      expect((before.data as { pkg: Acct[] }).pkg).toEqual([
        {
          name: 'default',
          QUOTA: 'unlimited',
          BWLIMIT: 'unlimited',
          MAXPOP: 'unlimited',
          MAXSQL: 'unlimited',
          MAXFTP: 'unlimited',
          MAXSUB: 'unlimited',
          MAXPARK: 'unlimited',
          MAXADDON: 'unlimited',
          MAXLST: 'unlimited',
          MAX_EMAIL_PER_HOUR: 'unlimited',
          MAX_DEFER_FAIL_PERCENTAGE: 'unlimited',
          MAX_EMAILACCT_QUOTA: 'unlimited',
          FEATURELIST: 'default',
          CPMOD: 'evolution',
          LANG: 'en',
          CGI: 'y',
          HASSHELL: 'y',
          IP: 'n',
          DIGESTAUTH: 'n',
          _PACKAGE_EXTENSIONS: '',
        },
      ]);
      const add = ok(
        await whm(s, 'addpkg', {
          params: { name: 'small', QUOTA: '100', MAXPOP: '5', MAXADDON: '0', HASSHELL: 'n' },
        }),
        'addpkg',
      );
      expect(add.data).toEqual({ pkg: 'small' });
      expect((await s.admin('/CMD_API_PACKAGES_USER')).list).toEqual(['default', 'small']);
      const da = (await s.admin('/CMD_API_PACKAGES_USER', { package: 'small' })).pairs;
      expect(da).toMatchObject({
        quota: '100',
        nemails: '5',
        vdomains: '1',
        ssh: 'OFF',
        cgi: 'ON',
        mysql: 'unlimited',
      });
      ok(await whm(s, 'editpkg', { params: { name: 'small', quota: '200', maxsql: '3' } }), 'editpkg');
      const small = ((await whm(s, 'listpkgs')).json() as { data: { pkg: Acct[] } }).data.pkg.find(
        (p) => p.name === 'small',
      );
      expect(small).toMatchObject({ QUOTA: 200, MAXSQL: 3, MAXPOP: 5, MAXADDON: 0, HASSHELL: 'n', CGI: 'y' });
      ok(await whm(s, 'killpkg', { params: { pkgname: 'small' } }), 'killpkg');
      expect((await s.admin('/CMD_API_PACKAGES_USER')).list).toEqual(['default']);
      failed(await whm(s, 'listpkgs', { params: { want: 'everything' } }), 'listpkgs', /want/);
    });

    it('refuses bad package input and changes nothing', async () => {
      ok(await whm(s, 'addpkg', { params: { name: 'small', quota: '100' } }), 'addpkg');
      ok(await whm(s, 'createacct', { params: { ...FRED, plan: 'small' } }), 'createacct');
      await refusedWithoutChange(s, 'addpkg', { params: { name: 'small' } }, /already exists/);
      await refusedWithoutChange(s, 'addpkg', {}, /name is required/);
      await refusedWithoutChange(s, 'addpkg', { params: { name: 'bad name!' } }, /.+/);
      await refusedWithoutChange(s, 'addpkg', { params: { name: 'big', maxpop: '-1' } }, /maxpop must be/);
      await refusedWithoutChange(
        s,
        'editpkg',
        { params: { name: 'gold', quota: '5' } },
        /no package named gold/,
      );
      await refusedWithoutChange(s, 'editpkg', { params: { name: 'small' } }, /at least one limit/);
      await refusedWithoutChange(s, 'editpkg', { params: { name: 'small', quota: 'many' } }, /quota must be/);
      await refusedWithoutChange(s, 'killpkg', { params: { pkgname: 'small' } }, /used by 1 account/);
      await refusedWithoutChange(s, 'killpkg', { params: { pkgname: 'gold' } }, /gold/);
      await refusedWithoutChange(s, 'killpkg', {}, /pkgname is required/);
    });

    it('changepackage moves an account to another package; editpkg then reaches it', async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      ok(await whm(s, 'addpkg', { params: { name: 'small', quota: '100' } }), 'addpkg');
      ok(await whm(s, 'changepackage', { params: { user: 'fred', pkg: 'small' } }), 'changepackage');
      expect((await accts(s))[0]).toMatchObject({ plan: 'small', disklimit: '100M' });
      expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs.package).toBe('small');
      ok(await whm(s, 'editpkg', { params: { name: 'small', quota: '300' } }), 'editpkg');
      expect((await accts(s))[0]).toMatchObject({ disklimit: '300M' });
      await refusedWithoutChange(s, 'changepackage', { params: { user: 'fred', pkg: 'gold' } }, /gold/);
      await refusedWithoutChange(s, 'changepackage', { params: { user: 'ghost', pkg: 'small' } }, /ghost/);
      await refusedWithoutChange(s, 'changepackage', { params: { user: 'fred' } }, /pkg is required/);
    });
  });

  describe('modifyacct', () => {
    it('changes the contact address and limits; refuses what this server cannot change', async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      ok(
        await whm(s, 'modifyacct', {
          params: { user: 'fred', CONTACTEMAIL: 'new@example.com', MAXPOP: '7' },
        }),
        'modifyacct',
      );
      expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs).toMatchObject({
        email: 'new@example.com',
        nemails: '7',
        package: 'custom',
      });
      expect((await accts(s))[0]).toMatchObject({ email: 'new@example.com', maxpop: '7', plan: 'custom' });
      // Naming what is already so is no change request.
      ok(
        await whm(s, 'modifyacct', { params: { user: 'fred', newuser: 'fred', MAXSQL: '2' } }),
        'modifyacct',
      );
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'fred', newuser: 'freddy' } }, /renamed/);
      await refusedWithoutChange(
        s,
        'modifyacct',
        { params: { user: 'fred', DNS: 'other.example.com' } },
        /domain/,
      );
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'fred', owner: 'someone' } }, /owner/);
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'fred', contactemail: 'bad' } }, /.+/);
      await refusedWithoutChange(
        s,
        'modifyacct',
        { params: { user: 'fred', QUOTA: 'huge' } },
        /quota must be/,
      );
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'fred' } }, /Give a limit/);
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'ghost', MAXPOP: '1' } }, /ghost/);
      await refusedWithoutChange(s, 'modifyacct', { params: { user: 'admin', MAXPOP: '1' } }, /admin/);
    });
  });

  describe('create_user_session', () => {
    it('answers a one-time login URL that opens a session on the panel once', async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      const e = ok(
        await whm(s, 'create_user_session', { params: { user: 'fred', service: 'cpaneld' } }),
        'create_user_session',
      );
      const data = e.data as { url: string; expires: number; service: string };
      expect(data.service).toBe('cpaneld');
      expect(data.expires).toBeGreaterThan(Date.now() / 1000);
      const url = new URL(data.url);
      expect(url.pathname).toBe('/CMD_LOGIN_URL');
      const first = await s.call(`${url.pathname}${url.search}`);
      expect(first.status, `${data.url} ${first.body}`).toBe(302);
      const cookies = ([] as string[]).concat(first.headers['set-cookie'] ?? []).join('; ');
      expect(cookies).toMatch(/session=/);
      const again = await s.call(`${url.pathname}${url.search}`);
      expect(again.status).toBe(401);
      // The audit names the WHM caller and the account the URL opens.
      const audit = await s.services.db
        .selectFrom('audit_events')
        .select(['actor_username', 'effective_username', 'command'])
        .where('command', '=', 'loginkey.loginurl.create')
        .execute();
      expect(audit).toEqual([
        { actor_username: 'admin', effective_username: 'fred', command: 'loginkey.loginurl.create' },
      ]);
    });

    it('refuses bad input without making a URL', async () => {
      ok(await whm(s, 'createacct', { params: FRED }), 'createacct');
      const urls = async () => (await s.services.db.selectFrom('login_keys').select('id').execute()).length;
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'fred' } },
        /service is required/,
      );
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { service: 'cpaneld' } },
        /user is required/,
      );
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'fred', service: 'ftpd' } },
        /service must be/,
      );
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'fred', service: 'whostmgrd' } },
        /not a reseller/,
      );
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'fred', service: 'webmaild' } },
        /Webmail/,
        501,
      );
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'ghost', service: 'cpaneld' } },
        /ghost/,
      );
      ok(await whm(s, 'suspendacct', { params: { user: 'fred' } }), 'suspendacct');
      await refusedWithoutChange(
        s,
        'create_user_session',
        { params: { user: 'fred', service: 'cpaneld' } },
        /suspended/,
        403,
      );
      expect(await urls()).toBe(0);
    });
  });

  describe('API tokens', () => {
    const tokenSnapshot = async () =>
      `${await snapshot(s.services)}${JSON.stringify(
        await s.services.db.selectFrom('api_tokens').selectAll().orderBy('id').execute(),
      )}`;
    async function refusedKeepsTokens(fn: string, o: WhmCall, reason: RegExp, status = 200) {
      const before = await tokenSnapshot();
      failed(await whm(s, fn, o), fn, reason, status);
      expect(await tokenSnapshot(), `${fn} ${JSON.stringify(o.params)}`).toBe(before);
    }
    const create = async (params: Record<string, string>, auth = ADMIN) =>
      ok(await whm(s, 'api_token_create', { auth, params }), 'api_token_create').data as {
        token: string;
        name: string;
        acls: string[];
        whitelist_ips: string[] | null;
        expires_at: number | null;
        create_time: number;
      };
    const withToken = (user: string, token: string) => ({
      headers: { authorization: `whm ${user}:${token}` },
    });

    it('creates a token shown once, with all of the owner’s privileges by default', async () => {
      const t = await create({ token_name: 'billing' });
      expect(t.token).toMatch(/^[0-9A-Z]{32}$/);
      expect(t).toMatchObject({ name: 'billing', acls: ['all'], whitelist_ips: null, expires_at: null });
      expect(Math.abs(t.create_time - Date.now() / 1000)).toBeLessThan(120);
      const rows = await s.services.db.selectFrom('api_tokens').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(t.token);
      // The token works in place of the password.
      ok(await whm(s, 'createacct', { params: FRED, ...withToken('admin', t.token) }), 'createacct');
      expect(await daUsers(s)).toEqual(['admin', 'fred']);
    });

    it('takes acl-N and whitelist_ip-N lists, and the token may run only what its ACLs allow', async () => {
      const future = Math.floor(Date.now() / 1000) + 86400;
      const t = await create({
        token_name: 'lister',
        'acl-0': 'list-accts',
        'acl-1': 'suspend-acct',
        'whitelist_ip-0': '127.0.0.1',
        'whitelist_ip-1': '2001:db8::/64',
        expires_at: String(future),
      });
      expect(t).toMatchObject({
        acls: ['list-accts', 'suspend-acct'],
        whitelist_ips: ['127.0.0.1', '2001:0db8:0000:0000:0000:0000:0000:0000/64'],
        expires_at: future,
      });
      ok(await whm(s, 'listaccts', withToken('admin', t.token)), 'listaccts');
      const before = await tokenSnapshot();
      const denied = await whm(s, 'createacct', { params: FRED, ...withToken('admin', t.token) });
      failed(denied, 'createacct', /needs the create-acct privilege/, 403);
      expect(await tokenSnapshot()).toBe(before);
      const app = ok(await whm(s, 'applist', withToken('admin', t.token)), 'applist');
      expect((app.data as { app: string[] }).app).toEqual([
        'accountsummary',
        'applist',
        'listaccts',
        'suspendacct',
        'unsuspendacct',
        'version',
      ]);
    });

    it('lists tokens keyed by name with ACLs as a map, updates and revokes them', async () => {
      const a = await create({ token_name: 'one', acl: 'list-accts' });
      await create({ token_name: 'two' });
      const listed = await whm(s, 'api_token_list');
      const list = ok(listed, 'api_token_list');
      const tokens = (list.data as { tokens: Record<string, { acls: Record<string, number> }> }).tokens;
      expect(Object.keys(tokens).sort()).toEqual(['one', 'two']);
      expect(tokens.one).toMatchObject({ name: 'one', expires_at: null, whitelist_ips: null });
      expect(tokens.one?.acls['list-accts']).toBe(1);
      expect(tokens.one?.acls['create-acct']).toBe(0);
      expect(tokens.two?.acls.all).toBe(1);
      expect(listed.body).not.toContain(a.token);

      const up = ok(
        await whm(s, 'api_token_update', {
          params: { token_name: 'one', new_name: 'uno', 'acl-0': 'create-acct', whitelist_ip: '127.0.0.0/8' },
        }),
        'api_token_update',
      );
      expect(up.data).toMatchObject({ name: 'uno', acls: ['create-acct'], whitelist_ips: ['127.0.0.0/8'] });
      expect(up.data).not.toHaveProperty('token');
      // The value stays; the privileges are the new ones.
      ok(await whm(s, 'createacct', { params: FRED, ...withToken('admin', a.token) }), 'createacct');
      failed(await whm(s, 'listaccts', withToken('admin', a.token)), 'listaccts', /list-accts/, 403);
      // Omitting acl keeps the privileges it has.
      const renamed = ok(
        await whm(s, 'api_token_update', { params: { token_name: 'uno', new_name: 'one' } }),
        'api_token_update',
      );
      expect((renamed.data as { acls: string[] }).acls).toEqual(['create-acct']);
      ok(
        await whm(s, 'api_token_update', { params: { token_name: 'one', whitelist_ip: 'any' } }),
        'api_token_update',
      );

      const details = ok(
        await whm(s, 'api_token_get_details', { params: { token: a.token } }),
        'api_token_get_details',
      );
      expect(details.data).toMatchObject({ name: 'one', acls: ['create-acct'], whitelist_ips: null });
      const unknown = ok(
        await whm(s, 'api_token_get_details', { params: { token: 'A'.repeat(32) } }),
        'api_token_get_details',
      );
      expect(unknown.data).toBeUndefined();

      const rev = ok(
        await whm(s, 'api_token_revoke', { params: { 'token_name-1': 'one', 'token_name-2': 'two' } }),
        'api_token_revoke',
      );
      expect(rev.data).toBeUndefined();
      expect(
        (ok(await whm(s, 'api_token_list'), 'api_token_list').data as { tokens: object }).tokens,
      ).toEqual({});
      const refused = await whm(s, 'version', withToken('admin', a.token));
      expect(refused.status).toBe(403);
      expect(refused.json()).toMatchObject({ cpanelresult: { error: 'Access denied' } });
    });

    it('refuses bad token input and changes nothing', async () => {
      await create({ token_name: 'taken' });
      const past = String(Math.floor(Date.now() / 1000) - 60);
      await refusedKeepsTokens('api_token_create', { params: { token_name: 'taken' } }, /already exists/);
      await refusedKeepsTokens('api_token_create', {}, /token_name/);
      await refusedKeepsTokens('api_token_create', { params: { token_name: 'bad name' } }, /token_name/);
      await refusedKeepsTokens('api_token_create', { params: { token_name: 'x'.repeat(51) } }, /token_name/);
      await refusedKeepsTokens(
        'api_token_create',
        { params: { token_name: 'n', acl: 'fly' } },
        /Invalid ACL/,
      );
      await refusedKeepsTokens(
        'api_token_create',
        { params: { token_name: 'n', expires_at: past } },
        /future/,
      );
      await refusedKeepsTokens(
        'api_token_create',
        { params: { token_name: 'n', expires_at: 'soon' } },
        /Unix time/,
      );
      await refusedKeepsTokens(
        'api_token_create',
        { params: { token_name: 'n', whitelist_ip: '10.0.0.300' } },
        /not a valid IP/,
      );
      await refusedKeepsTokens('api_token_update', { params: { token_name: 'ghost', acl: 'all' } }, /ghost/);
      await refusedKeepsTokens(
        'api_token_update',
        { params: { token_name: 'taken', new_name: 'taken' } },
        /different/,
      );
      await refusedKeepsTokens(
        'api_token_update',
        { params: { token_name: 'taken', acl: 'nope' } },
        /Invalid ACL/,
      );
      await refusedKeepsTokens('api_token_revoke', { params: { token_name: 'ghost' } }, /ghost/);
      await refusedKeepsTokens('api_token_revoke', {}, /token_name/);
      await refusedKeepsTokens('api_token_get_details', {}, /token is required/);
    });

    it('a reseller’s tokens never exceed the reseller, and a token never mints a broader one', async () => {
      await createAccount(s, 'reseller', 'res1');
      const RES = authOf('res1');
      const t = await create({ token_name: 'mine' }, RES);
      expect(t.acls).toEqual([...RESELLER_ACLS]);
      await refusedKeepsTokens(
        'api_token_create',
        { auth: RES, params: { token_name: 'root', acl: 'all' } },
        /all/,
        403,
      );
      const narrow = await create({
        token_name: 'narrow',
        'acl-0': 'manage-api-tokens',
        'acl-1': 'list-accts',
      });
      const before = await tokenSnapshot();
      const wider = await whm(s, 'api_token_create', {
        params: { token_name: 'wider', acl: 'create-acct' },
        ...withToken('admin', narrow.token),
      });
      failed(wider, 'api_token_create', /create-acct/, 403);
      expect(await tokenSnapshot()).toBe(before);
      const same = ok(
        await whm(s, 'api_token_create', {
          params: { token_name: 'same' },
          ...withToken('admin', narrow.token),
        }),
        'api_token_create',
      );
      expect((same.data as { acls: string[] }).acls.sort()).toEqual(['list-accts', 'manage-api-tokens']);
      // Each account lists only its own tokens.
      const resList = ok(await whm(s, 'api_token_list', { auth: RES }), 'api_token_list');
      expect(Object.keys((resList.data as { tokens: object }).tokens)).toEqual(['mine']);
    });
  });

  describe('resellers', () => {
    const RES = 'res1:res1-Pass-123';
    beforeEach(async () => {
      await createAccount(s, 'reseller', 'res1');
      await createAccount(s, 'reseller', 'res2');
      // Each reseller gets a package of its own to create accounts on.
      for (const r of ['res1', 'res2'])
        ok(await whm(s, 'addpkg', { auth: authOf(r), params: { name: 'basic', quota: '50' } }), 'addpkg');
      ok(await whm(s, 'createacct', { auth: RES, params: { ...FRED, plan: 'basic' } }), 'createacct');
      ok(
        await whm(s, 'createacct', {
          auth: authOf('res2'),
          params: { ...FRED, username: 'other', domain: 'other.example.com', plan: 'basic' },
        }),
        'createacct',
      );
      ok(
        await whm(s, 'createacct', { params: { ...FRED, username: 'adminsown', domain: 'ao.example.com' } }),
        'createacct',
      );
    });

    it('sees only its own accounts and packages', async () => {
      expect((await accts(s, RES)).map((a) => a.user)).toEqual(['fred']);
      expect((await accts(s, RES))[0]).toMatchObject({ owner: 'res1', plan: 'basic', disklimit: '50M' });
      expect((await accts(s)).map((a) => a.user)).toEqual(['adminsown', 'fred', 'other', 'res1', 'res2']);
      const pkgs = ok(await whm(s, 'listpkgs', { auth: RES }), 'listpkgs');
      expect((pkgs.data as { pkg: Acct[] }).pkg.map((p) => p.name)).toEqual(['basic']);
      const sum = await whm(s, 'accountsummary', { auth: RES, params: { domain: 'other.example.com' } });
      failed(sum, 'accountsummary', /other\.example\.com/);
    });

    it("answers another tenant's account exactly like a missing one, and changes nothing", async () => {
      const calls: [string, Record<string, string>][] = [
        ['accountsummary', { user: '%' }],
        ['suspendacct', { user: '%' }],
        ['unsuspendacct', { user: '%' }],
        ['passwd', { user: '%', password: 'Taken-Over-123' }],
        ['removeacct', { username: '%' }],
        ['changepackage', { user: '%', pkg: 'basic' }],
        ['modifyacct', { user: '%', MAXPOP: '1' }],
        ['create_user_session', { user: '%', service: 'cpaneld' }],
      ];
      for (const [fn, template] of calls) {
        const fill = (name: string) =>
          Object.fromEntries(Object.entries(template).map(([k, v]) => [k, v === '%' ? name : v]));
        for (const foreign of ['other', 'adminsown', 'res2', 'admin']) {
          const before = await snapshot(s.services);
          const theirs = await whm(s, fn, { auth: RES, params: fill(foreign) });
          const ghost = await whm(s, fn, { auth: RES, params: fill('ghost') });
          expect(theirs.status, `${fn} ${foreign}`).toBe(ghost.status);
          expect(theirs.body.replaceAll(foreign, 'NAME'), `${fn} ${foreign}`).toBe(
            ghost.body.replaceAll('ghost', 'NAME'),
          );
          expect(env(theirs).metadata.result).toBe(0);
          expect(await snapshot(s.services)).toBe(before);
        }
      }
    });

    it('cannot create resellers, nor kill or edit another tenant’s package', async () => {
      await refusedWithoutChange(
        s,
        'createacct',
        {
          auth: RES,
          params: { ...FRED, username: 'sub', domain: 'sub.example.com', reseller: '1', plan: 'basic' },
        },
        /needs admin level|cannot create reseller/,
        403,
      );
      ok(await whm(s, 'addpkg', { params: { name: 'adminonly', quota: '5' } }), 'addpkg');
      await refusedWithoutChange(s, 'killpkg', { auth: RES, params: { pkgname: 'adminonly' } }, /adminonly/);
      await refusedWithoutChange(
        s,
        'editpkg',
        { auth: RES, params: { name: 'adminonly', quota: '9' } },
        /adminonly/,
      );
      // Its own package is its own to change.
      ok(await whm(s, 'editpkg', { auth: RES, params: { name: 'basic', quota: '40' } }), 'editpkg');
    });

    it('applist gives a reseller every function (none needs root’s `all`)', async () => {
      const e = ok(await whm(s, 'applist', { auth: RES }), 'applist');
      expect((e.data as { app: string[] }).app).toEqual(Object.keys(WHM_FUNCTIONS).sort());
    });
  });
});
