import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import type { Actor } from '../../src/auth/actor.js';
import { isTokenShaped, newToken } from '../../src/auth/sessions.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { ManualClock } from '../../src/core/clock.js';
import { findByUsername } from '../../src/modules/accounts/accounts.repository.js';
import { createLoginUrl } from '../../src/modules/sessions/login-urls.js';
import { hideUrlSecrets } from '../../src/protocols/directadmin/router.js';
import { loginUrlInput, oneTimeUrlAnswer } from '../../src/protocols/directadmin/session-routes.js';
import { Params } from '../../src/protocols/params.js';
import { ensureTls, readTls } from '../../src/setup.js';
import { savePackage } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  type CallOptions,
  createAccount,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { ADMIN_PASSWORD, passwordActor, snapshot } from '../helpers/services.js';

/*
 * Browser sessions of the DirectAdmin listener (security.md §6 D, tests 17-20): the seed's auto-login
 * form, cookies, fixation, IP binding, timeouts, revocation, the CSRF matrix, login keys in the browser
 * and one-time login URLs. Everything over real HTTP on loopback.
 */

const ADMIN = `admin:${ADMIN_PASSWORD}`;
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

const started: TestServer[] = [];
async function server(
  settings: Partial<Record<keyof Config, unknown>> = {},
  manualClock = false,
): Promise<TestServer> {
  const s = await startTestServer({ settings: { ...NO_BFM, ...settings }, manualClock });
  started.push(s);
  return s;
}
afterEach(async () => {
  while (started.length) await started.pop()?.close();
});

/** The cookies a browser keeps: name → value, updated from each answer's Set-Cookie. */
class Jar {
  readonly values = new Map<string, string>();

  take(a: Answer): this {
    for (const line of setCookies(a)) {
      const [pair = '', ...attrs] = line.split(';').map((x) => x.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (attrs.some((x) => /^max-age=0$/i.test(x))) this.values.delete(name);
      else this.values.set(name, value);
    }
    return this;
  }

  get header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get csrf(): string {
    return this.values.get('csrftoken') ?? '';
  }

  copy(): Jar {
    const j = new Jar();
    for (const [k, v] of this.values) j.values.set(k, v);
    return j;
  }
}

function setCookies(a: Answer): string[] {
  const h = a.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

/** A browser request: the jar's cookies, plus anything else. */
function browse(s: TestServer, jar: Jar | null, path: string, opts: CallOptions = {}): Promise<Answer> {
  return s.call(path, {
    ...opts,
    headers: { ...(jar?.values.size ? { cookie: jar.header } : {}), ...opts.headers },
  });
}

/** POSTs the seed's auto-login form (referer, FAIL_URL, LOGOUT_URL, username, password). */
function loginForm(
  s: TestServer,
  username: string,
  password: string,
  extra: Record<string, string> = {},
  opts: { jar?: Jar; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return browse(s, opts.jar ?? null, '/CMD_LOGIN', {
    method: 'POST',
    params: { referer: '/', FAIL_URL: '/failed.html', LOGOUT_URL: '/bye.html', username, password, ...extra },
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
}

/** Logs in and returns the browser's jar; fails the test unless the login succeeded. */
async function loggedIn(
  s: TestServer,
  username: string,
  password = `${username}-Pass-123`,
  headers?: Record<string, string>,
): Promise<Jar> {
  const r = await loginForm(s, username, password, {}, headers ? { headers } : {});
  expect(r.status, r.body).toBe(302);
  expect(r.headers.location).toBe('/');
  const jar = new Jar().take(r);
  expect([...jar.values.keys()].sort()).toEqual(['csrftoken', 'key', 'session']);
  return jar;
}

/** Whether the jar's session can read its account (a GET, so no CSRF token is needed). */
async function works(s: TestServer, jar: Jar, headers?: Record<string, string>): Promise<boolean> {
  const r = await browse(s, jar, '/CMD_API_SHOW_USER_CONFIG?json=yes', headers ? { headers } : {});
  if (r.status === 200) return true;
  expect(r.status).toBe(401);
  expect(r.headers['x-directadmin']).toBe('Unauthorized');
  expect(r.body).toContain('<title>DirectAdmin Login</title>');
  return false;
}

/** Creates a login key of `user` through the API; returns its value. */
async function createKey(s: TestServer, user: string, fields: Record<string, string>): Promise<string> {
  const r = await s.call('/CMD_API_LOGIN_KEYS', {
    method: 'POST',
    auth: authOf(user),
    params: { action: 'create', never_expires: 'yes', passwd: `${user}-Pass-123`, ...fields },
  });
  expect(r.pairs.error, r.body).toBe('0');
  return r.pairs.key ?? '';
}

async function keyRow(s: TestServer, name: string) {
  return s.services.db
    .selectFrom('login_keys')
    .selectAll()
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
}

async function actorOf(s: TestServer, username: string): Promise<Actor> {
  const a = await findByUsername(s.services.db, username);
  if (!a) throw new Error(`no account ${username}`);
  return passwordActor(a);
}

/** The path and query of a one-time URL (the host in it is the configured one, not the test's port). */
function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function manual(s: TestServer): ManualClock {
  return s.clock as ManualClock;
}

describe('the seed’s auto-login form', () => {
  it('logs in, shows the page, runs commands, logs out to LOGOUT_URL; the cookies then stop working', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const r = await loginForm(s, 'fred', 'fred-Pass-123');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/');
    expect(r.headers['cache-control']).toBe('no-store');
    const jar = new Jar().take(r);

    const page = await browse(s, jar, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<strong id="account">fred</strong>');
    expect(page.body).toContain('<span id="level">user</span>');
    expect(page.body).toContain('action="/CMD_LOGOUT" method="POST"');
    expect(page.body).toContain(`name="csrftoken" value="${jar.csrf}"`);
    expect(page.body).not.toContain('DirectAdmin Login');

    const cfg = await browse(s, jar, '/CMD_API_SHOW_USER_CONFIG?json=yes');
    expect(cfg.status).toBe(200);
    expect((cfg.json() as Record<string, string>).username).toBe('fred');
    // The browser name of the command works the same way.
    expect((await browse(s, jar, '/CMD_SHOW_USER_CONFIG')).pairs.username).toBe('fred');

    const out = await browse(s, jar, '/CMD_LOGOUT', { method: 'POST', params: { csrftoken: jar.csrf } });
    expect(out.status).toBe(302);
    expect(out.headers.location).toBe('/bye.html');
    const cleared = setCookies(out);
    expect(cleared).toHaveLength(3);
    for (const c of cleared) expect(c).toMatch(/^(session|key|csrftoken)=; .*Max-Age=0/);

    // The same cookies replayed after logout: a bad login, also on the page.
    expect(await works(s, jar)).toBe(false);
    const again = await browse(s, jar, '/');
    expect(again.status).toBe(401);
    expect(again.body).toContain('<title>DirectAdmin Login</title>');
    expect(await s.services.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });

  it('without a session, / is the login page as before', async () => {
    const s = await server();
    const r = await s.call('/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>DirectAdmin Login</title>');
    expect(r.body).toContain('action="/CMD_LOGIN"');
    expect(setCookies(r)).toEqual([]);
    // GET CMD_LOGIN shows the form; it never logs in (a password in a URL would land in logs).
    const g = await s.call(`/CMD_LOGIN?username=admin&password=${ADMIN_PASSWORD}`);
    expect(g.status).toBe(200);
    expect(setCookies(g)).toEqual([]);
  });

  it('a failed login goes to FAIL_URL, or answers the login page with 401 without one; no cookies', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const r = await loginForm(s, 'fred', 'wrong-password');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/failed.html');
    expect(setCookies(r)).toEqual([]);
    const plain = await s.call('/CMD_LOGIN', {
      method: 'POST',
      params: { username: 'fred', password: 'wrong-password' },
    });
    expect(plain.status).toBe(401);
    expect(plain.headers['x-directadmin']).toBe('Unauthorized');
    expect(plain.body).toContain('Invalid login');
    expect(setCookies(plain)).toEqual([]);
    for (const [u, p] of [
      ['nobody', 'whatever-123'],
      ['', ''],
      ['fred', ''],
    ] as const)
      expect((await loginForm(s, u, p)).headers.location).toBe('/failed.html');
    expect(await s.services.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });

  it('sends off-site referers, FAIL_URLs and LOGOUT_URLs to /', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const offSite = [
      'https://evil.example/',
      'http://evil.example',
      '//evil.example/x',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      'javascript:alert(1)',
      'evil.example',
      ' /x',
      '/\u00e9',
    ];
    for (const bad of offSite) {
      const ok = await loginForm(s, 'fred', 'fred-Pass-123', { referer: bad, LOGOUT_URL: bad });
      expect(ok.headers.location, bad).toBe('/');
      const jar = new Jar().take(ok);
      const out = await browse(s, jar, '/CMD_LOGOUT', { method: 'POST', params: { csrftoken: jar.csrf } });
      expect(out.headers.location, bad).toBe('/');
      expect((await loginForm(s, 'fred', 'nope-nope', { FAIL_URL: bad })).headers.location, bad).toBe('/');
    }
    const deep = await loginForm(s, 'fred', 'fred-Pass-123', { referer: '/CMD_SHOW_USER_CONFIG?json=yes' });
    expect(deep.headers.location).toBe('/CMD_SHOW_USER_CONFIG?json=yes');
  });

  it('lets FAIL_URL and LOGOUT_URL go to an origin on loginRedirectOrigins, and nowhere else', async () => {
    const s = await server({ loginRedirectOrigins: ['https://www.example.com'] });
    await createAccount(s, 'user', 'fred');
    const fail = (url: string) => loginForm(s, 'fred', 'wrong-one', { FAIL_URL: url });
    expect((await fail('https://www.example.com/failed?x=1')).headers.location).toBe(
      'https://www.example.com/failed?x=1',
    );
    for (const bad of [
      'https://www.example.com.evil.net/',
      'http://www.example.com/',
      'https://www.example.com:444/',
      'https://user@www.example.com/',
    ])
      expect((await fail(bad)).headers.location, bad).toBe('/');
    const ok = await loginForm(s, 'fred', 'fred-Pass-123', {
      referer: 'https://www.example.com/',
      LOGOUT_URL: 'https://www.example.com/bye',
    });
    // The referer is where to go inside the panel: never another site.
    expect(ok.headers.location).toBe('/');
    const jar = new Jar().take(ok);
    const out = await browse(s, jar, '/CMD_LOGOUT', { method: 'POST', params: { csrftoken: jar.csrf } });
    expect(out.headers.location).toBe('https://www.example.com/bye');
  });

  it('logs in as a user with login-as (owner|user) and shows both names', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const jar = await loggedIn(s, 'admin|fred', ADMIN_PASSWORD);
    const page = await browse(s, jar, '/');
    expect(page.body).toContain('<strong id="account">fred</strong>');
    expect(page.body).toContain('<span id="authenticated">admin</span>');
    expect((await browse(s, jar, '/CMD_API_SHOW_USER_CONFIG')).pairs.username).toBe('fred');
  });

  it('escapes what it shows', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const jar = await loggedIn(s, 'fred');
    // No account name can hold markup, so the escaping is shown on the CSRF token the page echoes.
    await s.services.db.updateTable('sessions').set({ csrf_token: '"><script>x</script>' }).execute();
    const page = await browse(s, jar, '/');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });
});

describe('cookies and tokens', () => {
  it('session and key are HttpOnly, SameSite=Lax, Path=/, host-only, and not Secure over plain HTTP', async () => {
    const s = await server();
    const r = await loginForm(s, 'admin', ADMIN_PASSWORD);
    const byName = Object.fromEntries(setCookies(r).map((c) => [c.split('=')[0], c]));
    for (const name of ['session', 'key']) {
      const c = byName[name] ?? '';
      expect(c).toMatch(new RegExp(`^${name}=[A-Za-z0-9_-]{43}; `));
      expect(c).toContain('; HttpOnly');
      expect(c).toContain('; SameSite=Lax');
      expect(c).toContain('; Path=/');
      expect(c).not.toMatch(/Domain=|Secure|Expires|Max-Age/i);
    }
    // The CSRF token is for the page's own script to read.
    expect(byName.csrftoken).toMatch(/^csrftoken=[A-Za-z0-9_-]{43}; Path=\/; SameSite=Lax$/);
  });

  it('adds Secure under TLS, and behind a trusted proxy that says https', async () => {
    const s = await server({ trustedProxies: ['127.0.0.1'] });
    const viaProxy = await loginForm(
      s,
      'admin',
      ADMIN_PASSWORD,
      {},
      { headers: { 'x-forwarded-proto': 'https' } },
    );
    for (const c of setCookies(viaProxy)) expect(c).toMatch(/; Secure$/);

    await ensureTls(s.config);
    const tlsApp = buildApps(s.services, readTls(s.config)).da;
    await tlsApp.listen({ host: '127.0.0.1', port: 0 });
    try {
      const addr = tlsApp.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const cookies = await new Promise<string[]>((resolve, reject) => {
        const body = new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }).toString();
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/CMD_LOGIN',
            method: 'POST',
            rejectUnauthorized: false,
            agent: false,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.headers['set-cookie'] ?? []));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(cookies).toHaveLength(3);
      for (const c of cookies) {
        expect(c).toMatch(/; Secure$/);
        expect(c).toContain('; SameSite=Lax');
        expect(c).toContain('; Path=/');
      }
    } finally {
      await tlsApp.close();
    }
  });

  it('10,000 session tokens are distinct, 256 bits each; real logins get distinct ids, secrets and CSRF tokens', async () => {
    const s = await server();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const t = newToken(s.services);
      expect(isTokenShaped(t)).toBe(true);
      expect(Buffer.from(t, 'base64url')).toHaveLength(32);
      seen.add(t);
    }
    expect(seen.size).toBe(10_000);
    const values = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const jar = new Jar().take(await loginForm(s, 'admin', ADMIN_PASSWORD));
      for (const v of jar.values.values()) values.add(v);
    }
    expect(values.size).toBe(150);
    // Only digests are stored: no cookie value is in the table.
    const rows = JSON.stringify(
      await s.services.db.selectFrom('sessions').select(['id', 'secret_digest']).execute(),
    );
    for (const v of values) expect(rows).not.toContain(v);
  });

  it('fixation: a cookie the browser had before login is not the session after it', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    await createAccount(s, 'user', 'barney');
    // A cookie planted by someone else: invented values, then the planter's own real session.
    const invented = new Jar();
    invented.values.set('session', newToken(s.services));
    invented.values.set('key', newToken(s.services));
    invented.values.set('csrftoken', newToken(s.services));
    const after = new Jar().take(await loginForm(s, 'fred', 'fred-Pass-123', {}, { jar: invented }));
    for (const name of ['session', 'key', 'csrftoken'])
      expect(after.values.get(name)).not.toBe(invented.values.get(name));
    expect(await works(s, invented)).toBe(false);

    const planted = await loggedIn(s, 'barney');
    const victim = new Jar().take(await loginForm(s, 'fred', 'fred-Pass-123', {}, { jar: planted.copy() }));
    expect(victim.values.get('session')).not.toBe(planted.values.get('session'));
    expect(victim.csrf).not.toBe(planted.csrf);
    // The session the browser carried was replaced, not kept beside the new one.
    expect(await works(s, planted)).toBe(false);
    expect((await browse(s, victim, '/CMD_API_SHOW_USER_CONFIG')).pairs.username).toBe('fred');
  });

  it('binds the session to the client address', async () => {
    const s = await server({ trustedProxies: ['127.0.0.1'] });
    const home = { 'x-forwarded-for': '10.1.1.1' };
    const jar = await loggedIn(s, 'admin', ADMIN_PASSWORD, home);
    expect(await works(s, jar, home)).toBe(true);
    expect(await works(s, jar, { 'x-forwarded-for': '10.1.1.2' })).toBe(false);
    expect(await works(s, jar)).toBe(false);
    const page = await browse(s, jar, '/', { headers: { 'x-forwarded-for': '10.1.1.2' } });
    expect(page.status).toBe(401);
    // A replay from elsewhere does not end the session of the address it belongs to.
    expect(await works(s, jar, home)).toBe(true);
  });
});

describe('timeouts and revocation', () => {
  it('ends a session after the idle time, and at the absolute limit however active', async () => {
    const s = await server({}, true);
    const clock = manual(s);
    const idle = await loggedIn(s, 'admin', ADMIN_PASSWORD);
    clock.advance(59 * 60_000);
    expect(await works(s, idle)).toBe(true);
    clock.advance(59 * 60_000);
    expect(await works(s, idle)).toBe(true);
    clock.advance(60 * 60_000);
    expect(await works(s, idle)).toBe(false);

    const busy = await loggedIn(s, 'admin', ADMIN_PASSWORD);
    for (let i = 0; i < 14; i++) {
      clock.advance(50 * 60_000);
      expect(await works(s, busy), `after ${(i + 1) * 50} minutes`).toBe(true);
    }
    clock.advance(20 * 60_000); // 12 h since login
    expect(await works(s, busy)).toBe(false);
  });

  it('honours shorter timeouts from the settings', async () => {
    const s = await server({ sessionIdleSeconds: 120, sessionAbsoluteSeconds: 300 }, true);
    const clock = manual(s);
    const jar = await loggedIn(s, 'admin', ADMIN_PASSWORD);
    clock.advance(119_000);
    expect(await works(s, jar)).toBe(true);
    clock.advance(119_000);
    expect(await works(s, jar)).toBe(true);
    clock.advance(62_000);
    expect(await works(s, jar)).toBe(false);
  });

  it('ends every session of an account whose password changes, or that is suspended', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const own = await loggedIn(s, 'fred');
    const other = await loggedIn(s, 'fred');
    const asFred = await loggedIn(s, 'admin|fred', ADMIN_PASSWORD);
    const r = await s.admin('/CMD_API_USER_PASSWD', {
      username: 'fred',
      passwd: 'New-Pass-4567',
      passwd2: 'New-Pass-4567',
    });
    expect(r.pairs.error, r.body).toBe('0');
    expect(await works(s, own)).toBe(false);
    expect(await works(s, other)).toBe(false);
    // Login-as proved the admin's password, not fred's: it lives on.
    expect(await works(s, asFred)).toBe(true);

    const fresh = await loggedIn(s, 'fred', 'New-Pass-4567');
    expect(await works(s, fresh)).toBe(true);
    const susp = await s.admin('/CMD_API_SELECT_USERS', { select0: 'fred', dosuspend: 'yes' });
    expect(susp.pairs.error, susp.body).toBe('0');
    expect(await works(s, fresh)).toBe(false);
    expect(await works(s, asFred)).toBe(false);
    await s.admin('/CMD_API_SELECT_USERS', { select0: 'fred', dounsuspend: 'yes' });
    // Unsuspending does not bring the ended session back.
    expect(await works(s, fresh)).toBe(false);
    expect(await works(s, asFred)).toBe(true);
    // The admin's own password change ends the login-as session too.
    await s.services.db
      .updateTable('accounts')
      .set((eb) => ({ auth_version: eb('auth_version', '+', 1) }))
      .where('username', '=', 'admin')
      .execute();
    expect(await works(s, asFred)).toBe(false);
  });

  it('ends the sessions of a reseller’s users when the reseller is suspended', async () => {
    const s = await server();
    await createAccount(s, 'reseller', 'res1');
    await savePackage(s, authOf('res1'), 'user', 'res1pkg');
    await createAccount(s, 'user', 'ursula', { package: 'res1pkg' }, authOf('res1'));
    const jar = await loggedIn(s, 'ursula');
    expect(await works(s, jar)).toBe(true);
    await s.admin('/CMD_API_SELECT_USERS', { select0: 'res1', dosuspend: 'yes' });
    expect(await works(s, jar)).toBe(false);
  });
});

describe('CSRF', () => {
  /** A state-changing command (create a user) and how to tell that it ran. */
  const create = (name: string) => ({
    action: 'create',
    add: 'Submit',
    username: name,
    email: `${name}@example.com`,
    passwd: 'Some-Pass-123',
    passwd2: 'Some-Pass-123',
    domain: `${name}.example.com`,
    package: 'default',
    ip: 'shared',
    notify: 'no',
  });

  it('refuses every forged state-changing request with 403 and no side effect; the real one works', async () => {
    const s = await server();
    const jar = await loggedIn(s, 'admin', ADMIN_PASSWORD);
    await createAccount(s, 'user', 'barney');
    const other = await loggedIn(s, 'barney');
    const before = await snapshot(s.services);
    const noCsrfCookie = jar.copy();
    noCsrfCookie.values.delete('csrftoken');
    const own = `http://127.0.0.1:${s.port}`;
    const forged: [string, Jar, CallOptions & { query?: Record<string, string> }][] = [
      ['no token', jar, { method: 'POST', params: create('u1') }],
      [
        'token but no CSRF cookie',
        noCsrfCookie,
        { method: 'POST', params: { ...create('u2'), csrftoken: jar.csrf } },
      ],
      [
        'token in the header but no CSRF cookie',
        noCsrfCookie,
        { method: 'POST', params: create('u3'), headers: { 'x-csrftoken': jar.csrf } },
      ],
      [
        'mismatched token in the header',
        jar,
        { method: 'POST', params: create('u4'), headers: { 'x-csrftoken': newToken(s.services) } },
      ],
      [
        'mismatched token in the body',
        jar,
        { method: 'POST', params: { ...create('u5'), csrftoken: newToken(s.services) } },
      ],
      [
        'another session’s token',
        jar,
        { method: 'POST', params: { ...create('u6'), csrftoken: other.csrf } },
      ],
      [
        'another session’s token in the header',
        jar,
        { method: 'POST', params: create('u7'), headers: { 'x-csrftoken': other.csrf } },
      ],
      [
        'a cross-site Origin',
        jar,
        {
          method: 'POST',
          params: { ...create('u8'), csrftoken: jar.csrf },
          headers: { origin: 'https://evil.example' },
        },
      ],
      [
        'a null Origin',
        jar,
        { method: 'POST', params: { ...create('u9'), csrftoken: jar.csrf }, headers: { origin: 'null' } },
      ],
      [
        'Sec-Fetch-Site: cross-site',
        jar,
        {
          method: 'POST',
          params: { ...create('u10'), csrftoken: jar.csrf },
          headers: { 'sec-fetch-site': 'cross-site' },
        },
      ],
      [
        'Sec-Fetch-Site: same-site',
        jar,
        {
          method: 'POST',
          params: { ...create('u11'), csrftoken: jar.csrf },
          headers: { 'sec-fetch-site': 'same-site' },
        },
      ],
      ['the same command by GET', jar, { method: 'GET', params: create('u12') }],
      ['the same command by HEAD', jar, { method: 'HEAD', query: create('u13') }],
      [
        'a GET carrying a wrong token',
        jar,
        { method: 'GET', params: { ...create('u14'), csrftoken: other.csrf } },
      ],
    ];
    for (const [label, j, { query, ...opts }] of forged) {
      const path = `/CMD_API_ACCOUNT_USER${query ? `?${new URLSearchParams(query)}` : ''}`;
      const r = await browse(s, j, path, opts);
      expect(r.status, label).toBe(403);
      if (opts.method !== 'HEAD') expect(r.pairs.error, label).toBe('1');
    }
    // OPTIONS never runs a command at all.
    expect((await browse(s, jar, '/CMD_API_ACCOUNT_USER', { method: 'OPTIONS' })).status).toBe(405);
    expect(await snapshot(s.services)).toBe(before);

    // Logout is state-changing too.
    const out = await browse(s, jar, '/CMD_LOGOUT', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      params: { csrftoken: jar.csrf },
    });
    expect(out.status).toBe(403);
    expect((await browse(s, jar, '/CMD_LOGOUT')).status).toBe(403);
    expect(await works(s, jar)).toBe(true);

    const viaHeader = await browse(s, jar, '/CMD_API_ACCOUNT_USER', {
      method: 'POST',
      params: create('good1'),
      headers: { 'x-csrftoken': jar.csrf, origin: own, 'sec-fetch-site': 'same-origin' },
    });
    expect(viaHeader.pairs.error, viaHeader.body).toBe('0');
    const viaBody = await browse(s, jar, '/CMD_API_ACCOUNT_USER', {
      method: 'POST',
      params: { ...create('good2'), csrftoken: jar.csrf },
    });
    expect(viaBody.pairs.error, viaBody.body).toBe('0');
    // Reads by GET need no token.
    expect((await browse(s, jar, '/CMD_API_SHOW_ALL_USERS')).list).toContain('good2');
  });

  it('Basic auth: scripts (no browser headers) pass; a browser request from another site is refused', async () => {
    const s = await server();
    // What a browser that remembers Basic credentials from a prompt sends on another site's form.
    const before = await snapshot(s.services);
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
    ] as Record<string, string>[]) {
      const r = await s.call('/CMD_API_ACCOUNT_USER', {
        method: 'POST',
        auth: ADMIN,
        params: create('crosssite'),
        headers,
      });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.pairs.error).toBe('1');
    }
    expect(await snapshot(s.services)).toBe(before);
    // Scripts send neither header; the panel's own pages send same-origin.
    for (const [name, headers] of [
      ['basic0', {}],
      ['basic1', { 'sec-fetch-site': 'same-origin' }],
      ['basic2', { 'sec-fetch-site': 'none' }],
    ] as [string, Record<string, string>][]) {
      const r = await s.call('/CMD_API_ACCOUNT_USER', {
        method: 'POST',
        auth: ADMIN,
        params: create(name),
        headers,
      });
      expect(r.pairs.error, r.body).toBe('0');
    }
    const get = await s.call('/CMD_API_ACCOUNT_USER', {
      method: 'GET',
      auth: ADMIN,
      params: create('basic9'),
    });
    expect(get.pairs.error, get.body).toBe('0');
    // Reads are not refused: a cross-site GET of a listing cannot be read by the other site anyway.
    const read = await s.call('/CMD_API_SHOW_ALL_USERS', {
      auth: ADMIN,
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(read.list).toContain('basic9');
  });
});

describe('login keys in the browser', () => {
  it('refuses a key without allow_htm and accepts one with it; the session keeps the key’s commands and spends its uses', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const apiOnly = await createKey(s, 'fred', {
      keyname: 'apionly',
      key: 'Api-Only-Key-123',
      key2: 'Api-Only-Key-123',
    });
    const refused = await loginForm(s, 'fred', apiOnly);
    expect(refused.headers.location).toBe('/failed.html');
    expect(setCookies(refused)).toEqual([]);

    const value = await createKey(s, 'fred', {
      keyname: 'browser',
      allow_htm: 'yes',
      max_uses: '4',
      select_allow0: 'CMD_LOGIN',
      select_allow1: 'CMD_API_SHOW_USER_CONFIG',
    });
    const r = await loginForm(s, 'fred', value);
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/');
    const jar = new Jar().take(r);
    // Logging in was one use.
    expect((await keyRow(s, 'browser')).uses_left).toBe(3);
    const page = await browse(s, jar, '/');
    expect(page.body).toContain('<span id="key">browser</span>');
    expect((await keyRow(s, 'browser')).uses_left).toBe(3);

    expect(await works(s, jar)).toBe(true);
    expect((await keyRow(s, 'browser')).uses_left).toBe(2);
    // A command outside the key's list: refused like a bad login, nothing spent, the session lives on.
    const domains = await browse(s, jar, '/CMD_API_SHOW_DOMAINS');
    expect(domains.status).toBe(401);
    expect((await keyRow(s, 'browser')).uses_left).toBe(2);
    expect(await works(s, jar)).toBe(true);
    expect(await works(s, jar)).toBe(true);
    expect((await keyRow(s, 'browser')).uses_left).toBe(0);
    expect(await works(s, jar)).toBe(false);
    // The key's own lists hold for the password's sessions never: a password login does everything.
    const pw = await loggedIn(s, 'fred');
    expect((await browse(s, pw, '/CMD_API_SHOW_DOMAINS')).status).toBe(200);
  });

  it('a key whose lists leave out CMD_LOGIN, or deny it, cannot log in; a key with no lists can', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const narrow = await createKey(s, 'fred', {
      keyname: 'narrow',
      allow_htm: 'yes',
      select_allow0: 'CMD_API_SHOW_USER_CONFIG',
    });
    expect((await loginForm(s, 'fred', narrow)).headers.location).toBe('/failed.html');
    const denied = await createKey(s, 'fred', {
      keyname: 'denied',
      allow_htm: 'yes',
      select_deny0: 'CMD_LOGIN',
    });
    expect((await loginForm(s, 'fred', denied)).headers.location).toBe('/failed.html');
    const open = await createKey(s, 'fred', { keyname: 'open', allow_htm: 'yes' });
    const jar = new Jar().take(await loginForm(s, 'fred', open));
    expect(await works(s, jar)).toBe(true);
    // Deleting the key ends its sessions.
    await s.call('/CMD_API_LOGIN_KEYS', {
      method: 'POST',
      auth: authOf('fred'),
      params: { action: 'select', delete: 'yes', select0: 'open' },
    });
    expect(await works(s, jar)).toBe(false);
  });

  it('a key session cannot mint a broader key (it is the key, not the password)', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const value = await createKey(s, 'fred', {
      keyname: 'keymgr',
      allow_htm: 'yes',
      select_allow0: 'CMD_LOGIN',
      select_allow1: 'CMD_API_LOGIN_KEYS',
    });
    const jar = new Jar().take(await loginForm(s, 'fred', value));
    const r = await browse(s, jar, '/CMD_API_LOGIN_KEYS', {
      method: 'POST',
      params: {
        action: 'create',
        keyname: 'wider',
        never_expires: 'yes',
        passwd: 'fred-Pass-123',
        csrftoken: jar.csrf,
      },
    });
    expect(r.status).toBe(403);
    expect(r.pairs.error).toBe('1');
    const url = await browse(s, jar, '/CMD_API_LOGIN_KEYS', {
      method: 'POST',
      params: { action: 'create', type: 'one_time_url', csrftoken: jar.csrf },
    });
    expect(url.pairs.error).toBe('1');
  });
});

describe('brute force', () => {
  it('counts CMD_LOGIN failures: past the threshold even the right password is refused', async () => {
    const s = await server({ bfmIpThreshold: 3, bfmAccountThreshold: 1_000_000 });
    for (let i = 0; i < 3; i++)
      expect((await loginForm(s, 'admin', `wrong-${i}-password`)).headers.location).toBe('/failed.html');
    const entry = await s.services.db
      .selectFrom('bfm_entries')
      .selectAll()
      .where('kind', '=', 'ip')
      .executeTakeFirstOrThrow();
    expect(entry.failures).toBe(3);
    expect(entry.blocked_until).toBeGreaterThan(s.clock.now());
    const blocked = await loginForm(s, 'admin', ADMIN_PASSWORD);
    expect(blocked.headers.location).toBe('/failed.html');
    expect(setCookies(blocked)).toEqual([]);
  });

  it('counts unknown one-time URL hashes', async () => {
    const s = await server({ bfmIpThreshold: 2, bfmAccountThreshold: 1_000_000 });
    const { url } = await createLoginUrl(s.services, await actorOf(s, 'admin'), {});
    for (let i = 0; i < 2; i++)
      expect((await s.call(`/CMD_LOGIN_URL?hash=${newToken(s.services)}`)).status).toBe(401);
    expect((await s.call('/CMD_LOGIN_URL?hash=short')).status).toBe(401);
    // Blocked now: the real URL is refused too (and not spent).
    expect((await s.call(pathOf(url))).status).toBe(401);
    const row = await s.services.db
      .selectFrom('login_keys')
      .selectAll()
      .where('type', '=', 'one_time_url')
      .executeTakeFirstOrThrow();
    expect(row.uses_left).toBe(1);
  });
});

describe('one-time login URLs', () => {
  it('open a session once and never again, and send the browser to their path', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const { url } = await createLoginUrl(s.services, await actorOf(s, 'fred'), {
      redirect: 'CMD_SHOW_USER_CONFIG?json=yes',
    });
    expect(url).toMatch(/^https:\/\/panel\.example\.net:2222\/CMD_LOGIN_URL\?hash=[A-Za-z0-9_-]{43}$/);
    // A link checker's HEAD neither spends it nor tells anything.
    const head = await s.call(pathOf(url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(setCookies(head)).toEqual([]);
    expect((await s.call(`/CMD_LOGIN_URL?hash=${newToken(s.services)}`, { method: 'HEAD' })).status).toBe(
      200,
    );
    const first = await s.call(pathOf(url));
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/CMD_SHOW_USER_CONFIG?json=yes');
    const jar = new Jar().take(first);
    expect((await browse(s, jar, '/')).body).toContain('<strong id="account">fred</strong>');
    // A full session of the account: not limited like the link was.
    expect(await works(s, jar)).toBe(true);
    expect(await works(s, jar)).toBe(true);

    const second = await s.call(pathOf(url));
    expect(second.status).toBe(401);
    expect(second.body).toContain('<title>DirectAdmin Login</title>');
    expect(setCookies(second)).toEqual([]);
    // Spent and cleared: out of the key listing.
    const list = await s.call('/CMD_API_LOGIN_KEYS?json=yes', { auth: authOf('fred') });
    expect(Object.keys(list.json() as object)).toEqual([]);
  });

  it('of two concurrent uses exactly one logs in', async () => {
    const s = await server();
    for (let round = 0; round < 5; round++) {
      const { url } = await createLoginUrl(s.services, await actorOf(s, 'admin'), {});
      const answers = await Promise.all(Array.from({ length: 8 }, () => s.call(pathOf(url))));
      expect(answers.map((a) => a.status).sort()).toEqual([302, 401, 401, 401, 401, 401, 401, 401]);
    }
  });

  it('honour their IP rule and their expiry', async () => {
    const s = await server({ trustedProxies: ['127.0.0.1'] }, true);
    const admin = await actorOf(s, 'admin');
    const ipUrl = (await createLoginUrl(s.services, admin, { ips: ['10.9.9.0/24'] })).url;
    expect((await s.call(pathOf(ipUrl), { headers: { 'x-forwarded-for': '10.9.8.1' } })).status).toBe(401);
    expect((await s.call(pathOf(ipUrl))).status).toBe(401);
    const ok = await s.call(pathOf(ipUrl), { headers: { 'x-forwarded-for': '10.9.9.7' } });
    expect(ok.status).toBe(302);
    // The session is bound to the address that opened it.
    const jar = new Jar().take(ok);
    expect(await works(s, jar, { 'x-forwarded-for': '10.9.9.7' })).toBe(true);
    expect(await works(s, jar, { 'x-forwarded-for': '10.9.9.8' })).toBe(false);

    const short = (await createLoginUrl(s.services, admin, {})).url; // 5 minutes
    const long = (await createLoginUrl(s.services, admin, { expirySeconds: 3600 })).url;
    manual(s).advance(5 * 60_000);
    expect((await s.call(pathOf(short))).status).toBe(401);
    expect((await s.call(pathOf(long))).status).toBe(302);
  });

  it('are no password: the hash neither logs in through CMD_LOGIN nor authenticates API calls', async () => {
    const s = await server();
    const { url } = await createLoginUrl(s.services, await actorOf(s, 'admin'), {});
    const hash = new URL(url).searchParams.get('hash') ?? '';
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: `admin:${hash}` })).status).toBe(401);
    expect((await loginForm(s, 'admin', hash)).headers.location).toBe('/failed.html');
    expect((await s.call(pathOf(url))).status).toBe(302);
  });

  it('refuse bad redirects and keys as makers', async () => {
    const s = await server();
    const admin = await actorOf(s, 'admin');
    for (const redirect of ['https://evil.example/', '//evil.example', 'javascript:alert(1)'])
      await expect(createLoginUrl(s.services, admin, { redirect })).rejects.toMatchObject({
        code: 'INVALID_PARAMETER',
      });
    await expect(
      createLoginUrl(s.services, { ...admin, credential: { kind: 'loginkey', id: 'k' } }, {}),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });
});

describe('settings and the DA form of one-time URLs', () => {
  it('refuses loginRedirectOrigins entries that are not bare origins', () => {
    for (const bad of [
      'https://www.example.com/',
      'www.example.com',
      'ftp://x.example',
      'https://u@x.example',
    ])
      expect(() =>
        loadConfig({ env: {}, flags: { dataDir: '/nonexistent-hd', loginRedirectOrigins: [bad] } }),
      ).toThrow(/loginRedirectOrigins/);
    expect(
      loadConfig({
        env: {},
        flags: { dataDir: '/nonexistent-hd', loginRedirectOrigins: ['https://www.example.com:8443'] },
      }).loginRedirectOrigins,
    ).toEqual(['https://www.example.com:8443']);
  });

  it('reads expiry, ips and redirect-url as CMD_API_LOGIN_KEYS type=one_time_url sends them', async () => {
    const p = new Params([
      ['action', 'create'],
      ['type', 'one_time_url'],
      ['expiry', '2h'],
      ['ips', '10.0.0.1, 10.0.1.0/24\n127.0.0.1'],
      ['redirect-url', 'CMD_SHOW_USER_CONFIG'],
    ]);
    const input = loginUrlInput(p);
    expect(input).toEqual({
      expirySeconds: 7200,
      ips: ['10.0.0.1', '10.0.1.0/24', '127.0.0.1'],
      redirect: 'CMD_SHOW_USER_CONFIG',
    });
    expect(loginUrlInput(new Params())).toEqual({});
    expect(() => loginUrlInput(new Params([['expiry', '5']]))).toThrow(/expiry/);
    expect(() => loginUrlInput(new Params([['expiry', '5 m']]))).toThrow(/expiry/);
    const s = await server();
    const before = s.clock.now();
    const { url, expiresAt } = await createLoginUrl(s.services, await actorOf(s, 'admin'), input);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7_200_000);
    expect(expiresAt).toBeLessThanOrEqual(s.clock.now() + 7_200_000);
    const row = await s.services.db
      .selectFrom('login_keys')
      .selectAll()
      .where('type', '=', 'one_time_url')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      max_uses: 1,
      uses_left: 1,
      clear_key: 1,
      allow_htm: 1,
      redirect: '/CMD_SHOW_USER_CONFIG',
    });
    expect(row.ips.split('\n')).toEqual(['10.0.0.1', '10.0.1.0/24', '127.0.0.1']);
    const first = await s.call(pathOf(url));
    expect(first.headers.location).toBe('/CMD_SHOW_USER_CONFIG');
    // What CMD_API_LOGIN_KEYS answers (once login-keys.ts routes type=one_time_url here): the URL in details.
    const answer = await oneTimeUrlAnswer(
      s.services,
      await actorOf(s, 'admin'),
      new Params([['expiry', '5m']]),
    );
    expect(answer).toMatchObject({ kind: 'action', text: 'Login URL created' });
    const details = answer.kind === 'action' ? (answer.details ?? '') : '';
    expect((await s.call(pathOf(details))).status).toBe(302);
    // The hash never reaches a debug log through an answer's details.
    expect(hideUrlSecrets(`Login URL: ${url}`)).toBe(
      'Login URL: https://panel.example.net:2222/CMD_LOGIN_URL?hash=[redacted]',
    );
    expect(hideUrlSecrets('https://fred:hdk_abc@host:2222')).toBe('https://fred:[redacted]@host:2222');
  });
});
