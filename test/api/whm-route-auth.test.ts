/**
 * The shared security suite over every WHM API 1 function (DESIGN.md rule 12): no credentials, a wrong
 * password, an unknown user, a cPanel user's own password, DirectAdmin login-as, and WHM tokens that are
 * wrong, expired, revoked, another account's, missing the function's ACL, used from an address off their
 * whitelist, or owned by a suspended account. Each refused request changes nothing; the same request
 * with a good token then succeeds, so every refusal is the credential's doing.
 */
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import { accessDeniedBody } from '../../src/protocols/cpanel/auth.js';
import { WHM_FUNCTIONS } from '../../src/protocols/cpanel/whm/functions.js';
import { WHM_FUNCTION_ACLS } from '../../src/protocols/cpanel/whm-acls.js';
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
// Wrong secrets run against every function; the brute-force monitor has its own test below.
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

type Cred = { basic: string } | { header: string } | null;

function call(s: TestServer, fn: string, cred: Cred, params: Record<string, string>): Promise<Answer> {
  const opts: CallOptions = { method: 'POST', params };
  if (cred && 'basic' in cred) opts.auth = cred.basic;
  if (cred && 'header' in cred) opts.headers = { authorization: cred.header };
  return rawCall(s.whmPort, `/json-api/${fn}?api.version=1`, opts);
}

function result(a: Answer): number | undefined {
  return (a.json() as { metadata?: { result?: number } }).metadata?.result;
}

/**
 * A valid request for each function, against objects made in beforeAll. Run in this order with a good
 * token, each succeeds (suspend before unsuspend, create before update and revoke).
 */
function samples(fullToken: string): Record<string, Record<string, string>> {
  return {
    version: {},
    applist: {},
    listaccts: {},
    accountsummary: { user: 'fred' },
    createacct: {
      username: 'newacct',
      domain: 'newacct.example.com',
      password: 'Newacct-Pass-1',
      contactemail: 'n@example.com',
    },
    removeacct: { username: 'victim' },
    suspendacct: { user: 'fred', reason: 'test' },
    unsuspendacct: { user: 'fred' },
    passwd: { user: 'fred', password: 'Fred-New-Pass-1' },
    listpkgs: {},
    addpkg: { name: 'newpkg', quota: '10' },
    editpkg: { name: 'spare2', quota: '20' },
    killpkg: { pkgname: 'spare' },
    changepackage: { user: 'fred', pkg: 'spare2' },
    modifyacct: { user: 'fred', MAXPOP: '3' },
    create_user_session: { user: 'fred', service: 'cpaneld' },
    api_token_create: { token_name: 'made' },
    api_token_list: {},
    api_token_update: { token_name: 'made', new_name: 'renamed' },
    api_token_revoke: { token_name: 'renamed' },
    api_token_get_details: { token: fullToken },
    installssl: { domain: 'fred.example.com', ...fredCertificate },
    listzones: {},
    parse_dns_zone: { zone: 'fred.example.com' },
    // The zone's first serial on the suite's manual clock (2026-11-25).
    mass_edit_dns_zone: {
      zone: 'fred.example.com',
      serial: '2026112501',
      add: JSON.stringify({ dname: '_acme-challenge', ttl: 60, record_type: 'TXT', data: ['t'] }),
    },
  };
}

/** A certificate and key for fred's domain, made in beforeAll (installssl's sample). */
const fredCertificate = { crt: '', key: '' };

describe('WHM route × credential matrix', () => {
  let s: TestServer;
  const tokens: Record<string, string> = {};
  const state = async () => {
    await s.services.keyUsage.flush();
    const t = await s.services.db.selectFrom('api_tokens').selectAll().orderBy('id').execute();
    const k = await s.services.db.selectFrom('login_keys').selectAll().orderBy('id').execute();
    // A refused token request rightly stamps nothing but its own history; uses are not compared.
    const stable = t.map(
      ({ use_count, last_used_at, last_used_ip, rate_count, rate_window_start, ...r }) => r,
    );
    return `${await snapshot(s.services)}${JSON.stringify({ stable, k })}`;
  };
  const makeToken = async (auth: string, params: Record<string, string>): Promise<string> => {
    const a = await call(s, 'api_token_create', { basic: auth }, params);
    expect(result(a), a.body).toBe(1);
    return (a.json() as { data: { token: string } }).data.token;
  };

  beforeAll(async () => {
    s = await startTestServer({ whm: true, settings: NO_BFM, manualClock: true });
    await createAccount(s, 'user', 'fred');
    await createAccount(s, 'user', 'victim');
    const made = await selfsigned.generate([{ name: 'commonName', value: 'fred.example.com' }], {
      keyType: 'ec',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'fred.example.com' }] }],
    });
    fredCertificate.crt = made.cert;
    fredCertificate.key = made.private;
    // Its password never changes here, so it is always a good credential of a cPanel user.
    await createAccount(s, 'user', 'carol');
    for (const r of ['res1', 'res2', 'res3']) await createAccount(s, 'reseller', r);
    for (const name of ['spare', 'spare2']) {
      const a = await call(s, 'addpkg', { basic: ADMIN }, { name, quota: '5' });
      expect(result(a), a.body).toBe(1);
    }
    tokens.full = await makeToken(ADMIN, { token_name: 'full' });
    tokens.basic = await makeToken(ADMIN, { token_name: 'basiconly', acl: 'basic-whm-functions' });
    tokens.revoked = await makeToken(ADMIN, { token_name: 'gone' });
    expect(result(await call(s, 'api_token_revoke', { basic: ADMIN }, { token_name: 'gone' }))).toBe(1);
    tokens.elsewhere = await makeToken(ADMIN, { token_name: 'elsewhere', whitelist_ip: '10.0.0.1' });
    const clock = s.clock as ManualClock;
    tokens.expired = await makeToken(ADMIN, {
      token_name: 'shortlived',
      expires_at: String(Math.floor(clock.now() / 1000) + 60),
    });
    clock.advance(120_000);
    tokens.res2 = await makeToken(authOf('res2'), { token_name: 'theirs' });
    tokens.res3 = await makeToken(authOf('res3'), { token_name: 'suspendedowner' });
    expect(result(await call(s, 'suspendacct', { basic: ADMIN }, { user: 'res3' }))).toBe(1);
  });
  afterAll(async () => s?.close());

  const refusedCredentials: [string, () => Cred][] = [
    ['no credentials', () => null],
    ['a wrong password', () => ({ basic: 'admin:Wrong-Pass-123' })],
    ['an unknown user', () => ({ basic: 'ghost:Ghost-Pass-123' })],
    ["a cPanel user's own password", () => ({ basic: authOf('carol') })],
    ['DirectAdmin login-as', () => ({ basic: `admin|res1:${ADMIN_PASSWORD}` })],
    ['a malformed Authorization header', () => ({ header: 'Bearer abc' })],
    ['a wrong token', () => ({ header: `whm admin:${'Q'.repeat(32)}` })],
    ['an expired token', () => ({ header: `whm admin:${tokens.expired}` })],
    ['a revoked token', () => ({ header: `whm admin:${tokens.revoked}` })],
    ["another account's token", () => ({ header: `whm admin:${tokens.res2}` })],
    ['a token off its IP whitelist', () => ({ header: `whm admin:${tokens.elsewhere}` })],
    ['the token of a suspended owner', () => ({ header: `whm res3:${tokens.res3}` })],
    ['a token in the cPanel scheme', () => ({ header: `cpanel admin:${tokens.full}` })],
  ];

  it('covers every WHM function', () => {
    expect(Object.keys(samples('')).sort()).toEqual(Object.keys(WHM_FUNCTIONS).sort());
  });

  it('refuses every bad credential on every function alike, changing nothing; a good token then succeeds', async () => {
    const denied = accessDeniedBody();
    for (const [fn, params] of Object.entries(samples(tokens.full ?? ''))) {
      const before = await state();
      for (const [label, cred] of refusedCredentials) {
        const a = await call(s, fn, cred(), params);
        expect(a.status, `${fn} with ${label}`).toBe(403);
        expect(a.body, `${fn} with ${label}`).toBe(denied);
        expect(a.headers['content-type']).toMatch(/^application\/json/);
      }
      // A token without the function's privilege is a WHM answer, not a login failure.
      const needs = WHM_FUNCTION_ACLS[fn];
      const basic = await call(s, fn, { header: `whm admin:${tokens.basic}` }, params);
      if (needs) {
        expect(basic.status, `${fn} with a token lacking ${needs}`).toBe(403);
        expect(basic.json(), fn).toMatchObject({
          metadata: { command: fn, result: 0, reason: `${fn} needs the ${needs} privilege` },
        });
      }
      if (needs) expect(await state(), `${fn}: refused requests changed something`).toBe(before);
      else expect(result(basic), `${fn} needs no privilege`).toBe(1);
      const good = await call(s, fn, { header: `whm admin:${tokens.full}` }, params);
      expect(good.status, `${fn}: ${good.body}`).toBe(200);
      expect(result(good), `${fn}: ${good.body}`).toBe(1);
    }
  });

  it("a reseller's token sees and touches only the reseller's accounts", async () => {
    const res1 = await makeToken(authOf('res1'), { token_name: 'r1' });
    const a = await call(s, 'addpkg', { basic: authOf('res1') }, { name: 'rp', quota: '1' });
    expect(result(a), a.body).toBe(1);
    const made = await call(
      s,
      'createacct',
      { header: `whm res1:${res1}` },
      { username: 'resuser', domain: 'resuser.example.com', contactemail: 'r@example.com', plan: 'rp' },
    );
    expect(result(made), made.body).toBe(1);
    const list = await call(s, 'listaccts', { header: `whm res1:${res1}` }, {});
    expect((list.json() as { data: { acct: { user: string }[] } }).data.acct.map((x) => x.user)).toEqual([
      'resuser',
    ]);
    const before = await state();
    for (const user of ['fred', 'res2', 'admin']) {
      const r = await call(s, 'suspendacct', { header: `whm res1:${res1}` }, { user });
      expect(result(r), r.body).toBe(0);
      expect((r.json() as { metadata: { reason: string } }).metadata.reason).toBe(
        `There is no account named ${user}`,
      );
    }
    expect(await state()).toBe(before);
  });
});

describe('WHM and the brute-force monitor', () => {
  it('counts wrong WHM passwords and tokens; past the threshold even the right password is refused', async () => {
    const s = await startTestServer({ whm: true, settings: { bfmIpThreshold: 3, bfmAccountThreshold: 100 } });
    try {
      const version = (cred: Cred) => call(s, 'version', cred, {});
      expect((await version({ basic: ADMIN })).status).toBe(200);
      await version({ basic: 'admin:Wrong-Pass-1' });
      await version({ header: `whm admin:${'Z'.repeat(32)}` });
      await version({ basic: 'ghost:Wrong-Pass-1' });
      const blocked = await version({ basic: ADMIN });
      expect(blocked.status).toBe(403);
      expect(blocked.body).toBe(accessDeniedBody());
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: ADMIN })).status).toBe(401);
    } finally {
      await s.close();
    }
  });
});
