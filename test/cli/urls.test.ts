import { execFile, spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, CliEnv, ensureBuilt, errorShape, type ServeProcess } from '../helpers/cli.js';

/*
 * `hostdeck api-url` and `hostdeck login-url` against a running `hostdeck serve` (TLS, as installed):
 * the printed URLs are used exactly as printed, the way the seed's curl line uses `da api-url`.
 */

beforeAll(() => ensureBuilt(), 180_000);

const envs: CliEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.cleanup()));
});

const HAS_CURL = spawnSync('curl', ['--version']).status === 0;

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Installed {
  e: CliEnv;
  s: ServeProcess;
  /** The environment under which CLI commands print URLs for this server. */
  env: Record<string, string>;
}

let shared: Installed | undefined;

/** An installation with an admin and a user `fred`, served over TLS on a known port. */
async function installed(cleanAfterEach = true): Promise<Installed> {
  const e = await CliEnv.create();
  if (cleanAfterEach) envs.push(e);
  const port = await freePort();
  const env = { HOSTDECK_DA_LISTEN: `127.0.0.1:${port}`, HOSTDECK_HOSTNAME: '127.0.0.1' };
  await e.ok(['init'], { env });
  await e.ok(
    [
      'user',
      'create',
      'fred',
      '--email',
      'fred@example.com',
      '--domain',
      'fred.example.com',
      '--password',
      'fred-Pass-123',
    ],
    { env },
  );
  const s = await e.serve(
    ['--cpanel-listen', '127.0.0.1:0', '--webmail-listen', '127.0.0.1:0', '--whm-listen', '127.0.0.1:0'],
    { env, listen: false },
  );
  expect(s.scheme).toBe('https');
  expect(s.port()).toBe(port);
  return { e, s, env };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * GET of a printed URL, as curl takes it: `user:password@` becomes Basic auth. HTTPS trusts exactly the
 * server's generated certificate.
 */
function get(s: ServeProcess, url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  const h: Record<string, string> = { ...headers };
  if (u.username)
    h.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...s.requestOptions(),
        host: u.hostname,
        port: Number(u.port),
        path: `${u.pathname}${u.search}`,
        headers: h,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Runs a shell line with the installation's environment (and none of the caller's HOSTDECK_ settings). */
function shell(i: Installed, line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('HOSTDECK_') && k !== 'DATABASE_URL' && k !== 'NODE_OPTIONS')
      env[k] = v;
  Object.assign(env, i.e.env, i.env, {
    HOSTDECK_DATA_DIR: i.e.dataDir,
    HOSTDECK: `${process.execPath} ${BIN}`,
  });
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('hostdeck api-url', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    shared = await installed(false);
  }, 120_000);
  afterAll(async () => {
    await shared?.e.cleanup();
  });

  it('prints https://USER:KEY@HOST:PORT, one line, that works for that account', async () => {
    const i = shared as Installed;
    const r = await i.e.ok(['api-url', '--user=fred'], { env: i.env });
    expect(r.stderr).toBe('');
    const port = i.s.port();
    expect(r.stdout).toMatch(new RegExp(`^https://fred:hdk_[0-9A-Za-z]{38}@127\\.0\\.0\\.1:${port}\\n$`));
    const url = r.stdout.trim();
    const cfg = await get(i.s, `${url}/CMD_API_SHOW_USER_CONFIG?json=yes`);
    expect(cfg.status, cfg.body).toBe(200);
    expect(JSON.parse(cfg.body)).toMatchObject({ username: 'fred', usertype: 'user' });

    // Without --user: the first admin.
    const admin = (await i.e.ok(['api-url'], { env: i.env })).stdout.trim();
    expect(admin).toMatch(/^https:\/\/admin:hdk_/);
    const users = await get(i.s, `${admin}/CMD_API_SHOW_ALL_USERS?json=yes`);
    expect(users.status).toBe(200);
    expect(JSON.parse(users.body)).toContain('fred');
    // Each call makes a new key.
    expect((await i.e.ok(['api-url'], { env: i.env })).stdout.trim()).not.toBe(admin);
  });

  it.runIf(HAS_CURL)('works in the seed’s curl line', async () => {
    const i = shared as Installed;
    const r = await shell(
      i,
      'curl -sk "$($HOSTDECK api-url --user=fred --data-dir "$HOSTDECK_DATA_DIR")/CMD_API_SHOW_USER_CONFIG?json=yes"',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'fred' });
  });

  it('makes a key with a use budget that clears itself, refused from other addresses with --ip', async () => {
    const i = shared as Installed;
    const url = (await i.e.ok(['api-url', '--user=fred', '--uses', '2'], { env: i.env })).stdout.trim();
    expect((await get(i.s, `${url}/CMD_API_LOGIN_TEST`)).status).toBe(200);
    expect((await get(i.s, `${url}/CMD_API_LOGIN_TEST`)).status).toBe(200);
    const spent = await get(i.s, `${url}/CMD_API_LOGIN_TEST`);
    expect(spent.status).toBe(401);
    expect(spent.headers['x-directadmin']).toBe('Unauthorized');

    const elsewhere = (await i.e.ok(['api-url', '--ip', '10.0.0.1'], { env: i.env })).stdout.trim();
    expect((await get(i.s, `${elsewhere}/CMD_API_LOGIN_TEST`)).status).toBe(401);
    const here = (await i.e.ok(['api-url', '--ip', '10.0.0.1,127.0.0.1'], { env: i.env })).stdout.trim();
    expect((await get(i.s, `${here}/CMD_API_LOGIN_TEST`)).status).toBe(200);
  });

  it('expires', async () => {
    const i = shared as Installed;
    const started = Date.now();
    const url = (await i.e.ok(['api-url', '--expiry', '3s'], { env: i.env })).stdout.trim();
    const returned = Date.now();
    // The key was made after `started`, so it works until at least started + 3 s.
    if (Date.now() - started < 2500) expect((await get(i.s, `${url}/CMD_API_LOGIN_TEST`)).status).toBe(200);
    // The key expires 3 s after it was made, which is before the CLI returned: wait past that, however
    // slowly the CLI started on a loaded machine.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, started + 5000 - Date.now(), returned + 3500 - Date.now())),
    );
    expect((await get(i.s, `${url}/CMD_API_LOGIN_TEST`)).status).toBe(401);
  });

  it('refuses bad options with one line', async () => {
    const i = shared as Installed;
    for (const args of [
      ['api-url', '--user=nobody'],
      ['api-url', '--expiry', '5'],
      ['api-url', '--expiry', '2000d'],
      ['api-url', '--ip', '10.0.0.300'],
      ['api-url', '--uses', 'many'],
      ['login-url', '--redirect', 'https://evil.example/'],
      ['login-url', '--expiry', '0s'],
    ]) {
      const r = await i.e.run(args, { env: i.env });
      const shape = errorShape(r);
      expect(shape.code, args.join(' ')).toBe(1);
      expect(shape.lines, args.join(' ')).toHaveLength(1);
      expect(shape.stack).toBe(false);
      expect(r.stdout).toBe('');
    }
  });
});

describe('hostdeck login-url', { timeout: 120_000 }, () => {
  it('prints a one-time URL that opens a browser session once and never again', async () => {
    const i = await installed();
    const r = await i.e.ok(['login-url', '--user=fred', '--redirect', '/CMD_SHOW_USER_CONFIG'], {
      env: i.env,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(`^https://127\\.0\\.0\\.1:${i.s.port()}/CMD_LOGIN_URL\\?hash=[A-Za-z0-9_-]{43}\\n$`),
    );
    const url = r.stdout.trim();
    const first = await get(i.s, url);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/CMD_SHOW_USER_CONFIG');
    const cookies = (first.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    for (const c of first.headers['set-cookie'] ?? []) expect(c).toMatch(/; Secure$/);
    const origin = url.slice(0, url.indexOf('/CMD_'));
    const page = await get(i.s, `${origin}/`, { cookie: cookies });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<strong id="account">fred</strong>');
    const cfg = await get(i.s, `${origin}/CMD_SHOW_USER_CONFIG`, { cookie: cookies });
    expect(cfg.body).toContain('username=fred');

    const second = await get(i.s, url);
    expect(second.status).toBe(401);
    expect(second.body).toContain('<title>DirectAdmin Login</title>');

    // An IP rule: refused from here, and still unspent.
    const other = (await i.e.ok(['login-url', '--ip', '10.0.0.1'], { env: i.env })).stdout.trim();
    expect((await get(i.s, other)).status).toBe(401);
    const mine = (
      await i.e.ok(['login-url', '--ip', '127.0.0.1', '--expiry', '1h'], { env: i.env })
    ).stdout.trim();
    const admin = await get(i.s, mine);
    expect(admin.status).toBe(302);
    expect(admin.headers.location).toBe('/');
  });
});
