import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli/index.js';
import {
  ADMIN_PASSWORD_LINE,
  BIN,
  CliEnv,
  type CliResult,
  ensureBuilt,
  ROOT,
  runHostdeck,
  type ServeProcess,
} from '../helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

const envs: CliEnv[] = [];
async function fresh(): Promise<CliEnv> {
  const e = await CliEnv.create();
  envs.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.cleanup()));
});

function passwordsIn(text: string): string[] {
  return [...text.matchAll(ADMIN_PASSWORD_LINE)].map((m) => m[1] ?? '');
}

async function loginOk(s: ServeProcess, auth: string): Promise<boolean> {
  const r = await s.call('/CMD_API_LOGIN_TEST', { auth });
  return r.status === 200 && r.pairs.error === '0';
}

/** Tab-separated `user list` output as objects keyed by the header. */
function table(r: CliResult): Record<string, string>[] {
  const [head, ...rows] = r.stdout.trim().split('\n');
  const keys = (head ?? '').split('\t');
  return rows.map((row) => Object.fromEntries(row.split('\t').map((v, i) => [keys[i] ?? String(i), v])));
}

describe('hostdeck init', { timeout: 120_000 }, () => {
  it('creates the data directory, a TLS key (mode 600) and certificate and the admin, printing the password once; a second init changes nothing', async () => {
    const e = await fresh();
    expect(existsSync(e.dataDir)).toBe(false);
    const first = await e.ok(['init']);
    expect(first.stderr).toBe('');
    const passwords = passwordsIn(first.stdout);
    expect(passwords).toHaveLength(1);
    const password = passwords[0] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(16);

    const key = join(e.dataDir, 'tls', 'key.pem');
    const cert = join(e.dataDir, 'tls', 'cert.pem');
    expect(statSync(e.dataDir).isDirectory()).toBe(true);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(readFileSync(cert));
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.subjectAltName).toContain('DNS:localhost');
    if (!e.isPostgres) {
      expect(existsSync(join(e.dataDir, 'hostdeck.sqlite'))).toBe(true);
      // The database holds password hashes: owner only.
      expect(statSync(join(e.dataDir, 'hostdeck.sqlite')).mode & 0o077).toBe(0);
    }
    const before = {
      key: readFileSync(key, 'utf8'),
      cert: readFileSync(cert, 'utf8'),
      keyMtime: statSync(key).mtimeMs,
      users: (await e.ok(['user', 'list'])).stdout,
    };

    const second = await e.ok(['init']);
    expect(passwordsIn(second.stdout)).toEqual([]);
    expect(second.stdout).not.toContain(password);
    expect(second.stdout).not.toMatch(/created/);
    expect(second.stderr).toBe('');
    expect(readFileSync(key, 'utf8')).toBe(before.key);
    expect(readFileSync(cert, 'utf8')).toBe(before.cert);
    expect(statSync(key).mtimeMs).toBe(before.keyMtime);
    expect((await e.ok(['user', 'list'])).stdout).toBe(before.users);
    expect(table(await e.ok(['user', 'list']))).toEqual([
      { USERNAME: 'admin', LEVEL: 'admin', OWNER: '-', DOMAIN: '-', PACKAGE: '-', STATE: 'active' },
    ]);

    // Starting again reuses the data directory and prints no password; the first one still works, over
    // HTTPS with a client that trusts exactly the generated certificate.
    const s = await e.serve();
    expect(s.scheme).toBe('https');
    expect(passwordsIn(s.stdout)).toEqual([]);
    expect(await loginOk(s, `admin:${password}`)).toBe(true);
    expect(await loginOk(s, 'admin:wrong-password')).toBe(false);
    expect(readFileSync(key, 'utf8')).toBe(before.key);
  });

  it('--admin-password sets the admin password without printing it; a bad one is refused before anything is made', async () => {
    const e = await fresh();
    const bad = await e.run(['init', '--admin-password', 'short']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^hostdeck: Invalid password/);
    expect(existsSync(join(e.dataDir, 'tls'))).toBe(false);

    const r = await e.ok(['init', '--admin-password', 'Chosen-Pass-123']);
    expect(r.stdout).not.toContain('Chosen-Pass-123');
    expect(passwordsIn(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/created the admin account/);

    // On an existing installation the flag changes nothing, and says so.
    const again = await e.ok(['init', '--admin-password', 'Other-Pass-456']);
    expect(again.stdout).toMatch(/--admin-password was not applied/);

    const s = await e.serve(['--no-tls']);
    expect(await loginOk(s, 'admin:Chosen-Pass-123')).toBe(true);
    expect(await loginOk(s, 'admin:Other-Pass-456')).toBe(false);
  });

  it('npm start (init && serve) on a fresh directory prints the password once, and not on the next start', async () => {
    const e = await fresh();
    const listenEnv = {
      HOSTDECK_DATA_DIR: e.dataDir,
      HOSTDECK_DA_LISTEN: '127.0.0.1:0',
      HOSTDECK_CPANEL_LISTEN: '127.0.0.1:0',
      HOSTDECK_WEBMAIL_LISTEN: '127.0.0.1:0',
      HOSTDECK_WHM_LISTEN: '127.0.0.1:0',
    };
    // The start script without its build step; `exec` so the signal reaches the server itself.
    const command = [
      'sh',
      '-c',
      `"${process.execPath}" "${BIN}" init && exec "${process.execPath}" "${BIN}" serve`,
    ];
    const s1 = await e.serve([], { command, env: listenEnv });
    const passwords = passwordsIn(s1.stdout);
    expect(passwords).toHaveLength(1);
    expect(s1.scheme).toBe('https');
    expect(await loginOk(s1, `admin:${passwords[0]}`)).toBe(true);
    expect(await s1.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const s2 = await e.serve([], { command, env: listenEnv });
    expect(passwordsIn(s2.stdout)).toEqual([]);
    expect(await loginOk(s2, `admin:${passwords[0]}`)).toBe(true);
  });

  it('serve on a directory never initialised sets it up and prints the password once', async () => {
    const e = await fresh();
    const s = await e.serve();
    const passwords = passwordsIn(s.stdout);
    expect(passwords).toHaveLength(1);
    expect(existsSync(join(e.dataDir, 'tls', 'key.pem'))).toBe(true);
    expect(await loginOk(s, `admin:${passwords[0]}`)).toBe(true);
  });
});

describe('hostdeck serve', { timeout: 120_000 }, () => {
  it('answers on all four listeners over HTTPS', async () => {
    const e = await fresh();
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const s = await e.serve();
    for (const name of ['da', 'cpanel', 'webmail', 'whm'] as const) {
      expect(s.host(name)).toBe('127.0.0.1');
      expect(s.port(name)).toBeGreaterThan(0);
    }
    expect(new Set([s.port('da'), s.port('cpanel'), s.port('webmail'), s.port('whm')]).size).toBe(4);
    expect(await loginOk(s, 'admin:Admin-Pass-1234')).toBe(true);
  });

  it('--no-tls and HOSTDECK_TLS=off serve plain HTTP', async () => {
    const e = await fresh();
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const a = await e.serve(['--no-tls']);
    expect(a.scheme).toBe('http');
    expect(await loginOk(a, 'admin:Admin-Pass-1234')).toBe(true);
    const b = await e.serve([], { env: { HOSTDECK_TLS: 'off' } });
    expect(b.scheme).toBe('http');
    expect(await loginOk(b, 'admin:Admin-Pass-1234')).toBe(true);
  });

  it('takes each setting from the flag, else the environment, else hostdeck.json, else the default', async () => {
    const e = await fresh();
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    // Loopback has all of 127/8, so the host tells which source won while every port stays 0.
    writeFileSync(
      join(e.dataDir, 'hostdeck.json'),
      JSON.stringify({
        daListen: '127.0.0.3:0',
        cpanelListen: '127.0.0.3:0',
        webmailListen: '127.0.0.3:0',
        whmListen: '127.0.0.3:0',
        tls: false,
      }),
    );
    // hostdeck.json over the defaults (0.0.0.0:2222…, TLS on).
    const file = await e.serve([], { listen: false });
    expect(file.addresses).toMatchObject({
      da: expect.stringMatching(/^127\.0\.0\.3:/),
      whm: expect.stringMatching(/^127\.0\.0\.3:/),
    });
    expect(file.scheme).toBe('http');
    expect(await loginOk(file, 'admin:Admin-Pass-1234')).toBe(true);

    // The environment over hostdeck.json.
    const env = await e.serve([], {
      listen: false,
      env: { HOSTDECK_DA_LISTEN: '127.0.0.2:0', HOSTDECK_TLS: 'on' },
    });
    expect(env.host('da')).toBe('127.0.0.2');
    expect(env.host('cpanel')).toBe('127.0.0.3');
    expect(env.scheme).toBe('https');
    expect(await loginOk(env, 'admin:Admin-Pass-1234')).toBe(true);

    // A flag over the environment.
    const flag = await e.serve(['--da-listen', '127.0.0.1:0', '--no-tls'], {
      listen: false,
      env: { HOSTDECK_DA_LISTEN: '127.0.0.2:0', HOSTDECK_TLS: 'on', HOSTDECK_WHM_LISTEN: '127.0.0.2:0' },
    });
    expect(flag.host('da')).toBe('127.0.0.1');
    expect(flag.host('whm')).toBe('127.0.0.2');
    expect(flag.host('webmail')).toBe('127.0.0.3');
    expect(flag.scheme).toBe('http');
    expect(await loginOk(flag, 'admin:Admin-Pass-1234')).toBe(true);
  });

  it('HOSTDECK_DATA_DIR chooses the data directory, --data-dir wins over it, and databaseUrl in hostdeck.json is honoured below DATABASE_URL', async () => {
    const e = await fresh();
    // The variable alone.
    const viaEnv = await runHostdeck(['init', '--admin-password', 'Admin-Pass-1234'], {
      env: { ...e.env, HOSTDECK_DATA_DIR: e.dataDir },
    });
    expect(viaEnv.code).toBe(0);
    expect(existsSync(join(e.dataDir, 'tls', 'cert.pem'))).toBe(true);
    // The flag over a variable naming a path that cannot be a directory.
    const blocked = join(e.root, 'a-file');
    writeFileSync(blocked, '');
    const viaFlag = await e.run(['user', 'list'], { env: { HOSTDECK_DATA_DIR: join(blocked, 'data') } });
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toMatch(/^admin\tadmin/m);

    // databaseUrl in the file: used when DATABASE_URL is not set, overridden when it is.
    const other = join(e.root, 'other.sqlite');
    writeFileSync(join(e.dataDir, 'hostdeck.json'), JSON.stringify({ databaseUrl: `sqlite:${other}` }));
    if (e.isPostgres) {
      const r = await e.ok(['user', 'list']);
      expect(r.stdout).toMatch(/^admin\tadmin/m);
      expect(existsSync(other)).toBe(false);
    } else {
      // The CLI looks for the database the file names, and does not make an empty one there.
      const r = await e.run(['user', 'list']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `hostdeck: no hostdeck database at ${other}: run "hostdeck init" first, or check --data-dir\n`,
      );
      expect(existsSync(other)).toBe(false);
      await e.ok(['init']);
      expect(existsSync(other)).toBe(true);
    }
  });

  it('listens on IPv6 addresses and prints them in brackets', async () => {
    const e = await fresh();
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const s = await e.serve(['--da-listen', '[::1]:0']);
    expect(s.addresses.da).toMatch(/^\[::1\]:\d+$/);
    expect(s.host('da')).toBe('::1');
    expect(await loginOk(s, 'admin:Admin-Pass-1234')).toBe(true);
  });

  it('npx hostdeck runs the package bin', async () => {
    const r = await new Promise<CliResult>((res, rej) => {
      // --no-install: the local bin or nothing, never the registry.
      const child = spawn('npx', ['--no-install', 'hostdeck', 'user', '--help'], {
        cwd: ROOT,
        env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', rej);
      child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: hostdeck user');
  });

  it('--version prints the package version', async () => {
    const r = await runHostdeck(['--version']);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('--help', { timeout: 120_000 }, () => {
  /** Every command path of the program, found by walking commander's tree, so a new one is covered. */
  function commandPaths(cmd: Command, prefix: string[] = []): { path: string[]; cmd: Command }[] {
    return cmd.commands.flatMap((c) => {
      const path = [...prefix, c.name()];
      return [{ path, cmd: c }, ...commandPaths(c, path)];
    });
  }
  const all = commandPaths(buildCli());

  it('covers the documented subcommands', () => {
    const names = all.map((c) => c.path.join(' '));
    for (const n of [
      'init',
      'serve',
      'user create',
      'user passwd',
      'user suspend',
      'user unsuspend',
      'user delete',
      'user list',
      'package list',
      'package show',
      'package save',
      'package delete',
      'bfm list',
      'bfm unblock',
    ])
      expect(names).toContain(n);
  });

  it('every command that acts accepts --data-dir', () => {
    for (const { path, cmd } of all)
      if (cmd.commands.length === 0)
        expect(
          cmd.options.map((o) => o.long),
          path.join(' '),
        ).toContain('--data-dir');
  });

  it('exits 0 with usage on stdout for the program and every subcommand', async () => {
    // Four at a time: the machine running the suite has other test files to serve.
    const queue = [[], ...all.map((c) => c.path)];
    const results: { path: string[]; r: CliResult }[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let path = queue.shift(); path; path = queue.shift())
          results.push({ path, r: await runHostdeck([...path, '--help']) });
      }),
    );
    expect(results).toHaveLength(all.length + 1);
    for (const { path, r } of results) {
      const name = ['hostdeck', ...path].join(' ');
      expect(r.code, name).toBe(0);
      expect(r.stderr, name).toBe('');
      expect(r.stdout, name).toContain(`Usage: ${name}`);
    }
  });
});

describe('user, package and bfm commands against a running server', { timeout: 120_000 }, () => {
  let e: CliEnv;
  let s: ServeProcess;
  beforeAll(async () => {
    e = await CliEnv.create();
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    s = await e.serve([], {
      env: { HOSTDECK_BFM_IP_THRESHOLD: '1000', HOSTDECK_BFM_ACCOUNT_THRESHOLD: '1000' },
    });
  }, 60_000);
  afterAll(async () => e?.cleanup());
  const admin = 'admin:Admin-Pass-1234';

  it('user create, then the server logs the account in; an account made through the API shows in user list', async () => {
    const r = await e.ok([
      'user',
      'create',
      'carol',
      '--email',
      'carol@example.com',
      '--domain',
      'carol.example.com',
      '--password',
      'Carol-Pass-123',
    ]);
    expect(r.stdout).toBe('created user carol with domain carol.example.com\n');
    expect(await loginOk(s, 'carol:Carol-Pass-123')).toBe(true);

    // A generated password is printed once and works.
    const gen = await e.ok([
      'user',
      'create',
      'dave',
      '--email',
      'dave@example.com',
      '--domain',
      'dave.example.com',
    ]);
    const pw = /^password: (\S+)$/m.exec(gen.stdout)?.[1];
    expect(pw).toBeTruthy();
    expect(await loginOk(s, `dave:${pw}`)).toBe(true);

    // From standard input, and as a reseller.
    await e.ok(
      [
        'user',
        'create',
        'rita',
        '--level',
        'reseller',
        '--email',
        'rita@example.com',
        '--domain',
        'rita.example.com',
        '--password-stdin',
      ],
      { input: 'Rita-Pass-123\n' },
    );
    expect(await loginOk(s, 'rita:Rita-Pass-123')).toBe(true);

    const api = await s.call('/CMD_API_ACCOUNT_USER', {
      auth: admin,
      params: {
        action: 'create',
        add: 'Submit',
        username: 'erin',
        email: 'erin@example.com',
        passwd: 'Erin-Pass-123',
        passwd2: 'Erin-Pass-123',
        domain: 'erin.example.com',
        package: 'default',
        ip: 'shared',
        notify: 'no',
      },
    });
    expect(api.pairs.error, api.body).toBe('0');
    const list = table(await e.ok(['user', 'list']));
    expect(list.map((u) => u.USERNAME).sort()).toEqual(['admin', 'carol', 'dave', 'erin', 'rita']);
    expect(list.find((u) => u.USERNAME === 'carol')).toEqual({
      USERNAME: 'carol',
      LEVEL: 'user',
      OWNER: 'admin',
      DOMAIN: 'carol.example.com',
      PACKAGE: 'default',
      STATE: 'active',
    });
    expect(list.find((u) => u.USERNAME === 'rita')?.LEVEL).toBe('reseller');

    // A duplicate is one line and exit 1.
    const dup = await e.run([
      'user',
      'create',
      'carol',
      '--email',
      'c@example.com',
      '--domain',
      'c2.example.com',
    ]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^hostdeck: That username already exists on the system.*\n$/);
  });

  it('user passwd, suspend, unsuspend and delete take effect on the running server at once', async () => {
    await e.ok([
      'user',
      'create',
      'frank',
      '--email',
      'f@example.com',
      '--domain',
      'frank.example.com',
      '--password',
      'Frank-Pass-123',
    ]);
    // Log in first, so the server's credential cache holds the old password.
    expect(await loginOk(s, 'frank:Frank-Pass-123')).toBe(true);

    expect((await e.ok(['user', 'passwd', 'frank', '--password', 'Frank-New-456'])).stdout).toMatch(
      /password of frank changed/,
    );
    expect(await loginOk(s, 'frank:Frank-Pass-123')).toBe(false);
    expect(await loginOk(s, 'frank:Frank-New-456')).toBe(true);

    await e.ok(['user', 'passwd', 'frank', '--password-stdin'], { input: 'Frank-Stdin-789\n' });
    expect(await loginOk(s, 'frank:Frank-Stdin-789')).toBe(true);

    expect((await e.ok(['user', 'suspend', 'frank', '--reason', 'unpaid'])).stdout).toBe(
      'suspended: frank\n',
    );
    expect(table(await e.ok(['user', 'list'])).find((u) => u.USERNAME === 'frank')?.STATE).toBe('suspended');
    expect(await loginOk(s, 'frank:Frank-Stdin-789')).toBe(false);

    expect((await e.ok(['user', 'unsuspend', 'frank'])).stdout).toBe('unsuspended: frank\n');
    expect(await loginOk(s, 'frank:Frank-Stdin-789')).toBe(true);

    const missing = await e.run(['user', 'suspend', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^hostdeck: Unable to find that account.*\n$/);

    expect((await e.ok(['user', 'delete', 'frank'])).stdout).toBe('deleted: frank\n');
    expect(await loginOk(s, 'frank:Frank-Stdin-789')).toBe(false);
    expect(table(await e.ok(['user', 'list'])).map((u) => u.USERNAME)).not.toContain('frank');
  });

  it('package list, show, save and delete share the packages the API serves', async () => {
    expect((await e.ok(['package', 'list'])).stdout).toBe('default\n');
    const show = (await e.ok(['package', 'show', 'default'])).stdout;
    expect(show).toMatch(/^bandwidth=unlimited$/m);
    expect(show).toMatch(/^login_keys=ON$/m);

    // A new package needs every limit (as in the API); the error says which are missing.
    const partial = await e.run(['package', 'save', 'gold', 'bandwidth=1000']);
    expect(partial.code).toBe(1);
    expect(partial.stderr.trim().split('\n')).toHaveLength(1);
    expect(partial.stderr).toMatch(/Missing limits: quota/);

    const limits = show
      .trim()
      .split('\n')
      .filter((l) => /=(unlimited|\d+)$/.test(l))
      .map((l) => l.replace(/=unlimited$/, '=100'));
    const saved = await e.ok([
      'package',
      'save',
      'gold',
      ...limits.filter((l) => !l.startsWith('bandwidth=')),
      'bandwidth=1000',
      'login_keys=ON',
    ]);
    expect(saved.stdout).toMatch(/^package gold /);
    const viaApi = await s.call('/CMD_API_PACKAGES_USER', { auth: admin });
    expect(viaApi.list).toEqual(['default', 'gold']);
    const gold = await s.call('/CMD_API_PACKAGES_USER?package=gold', { auth: admin });
    expect(gold.pairs.bandwidth).toBe('1000');
    expect(gold.pairs.quota).toBe('100');
    expect(gold.pairs.login_keys).toBe('ON');
    expect(gold.pairs.cgi).toBe('OFF');

    // Changing one setting keeps the others.
    await e.ok(['package', 'save', 'gold', 'bandwidth=2000']);
    const changed = await s.call('/CMD_API_PACKAGES_USER?package=gold', { auth: admin });
    expect(changed.pairs.bandwidth).toBe('2000');
    expect(changed.pairs.quota).toBe('100');
    expect((await e.ok(['package', 'show', 'gold'])).stdout).toMatch(/^bandwidth=2000$/m);

    // A package made through the API is seen by the CLI.
    const made = await s.call('/CMD_API_MANAGE_USER_PACKAGES', {
      auth: admin,
      params: {
        add: 'Save',
        packagename: 'silver',
        ...Object.fromEntries(limits.map((l) => l.split('=') as [string, string])),
      },
    });
    expect(made.pairs.error, made.body).toBe('0');
    expect((await e.ok(['package', 'list'])).stdout).toBe('default\ngold\nsilver\n');

    expect((await e.ok(['package', 'delete', 'gold', 'silver'])).stdout).toBe('deleted: gold, silver\n');
    expect((await s.call('/CMD_API_PACKAGES_USER', { auth: admin })).list).toEqual(['default']);
    const gone = await e.run(['package', 'show', 'gold']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^hostdeck: Package not found.*\n$/);
  });

  it('bfm list shows failures the server recorded and bfm unblock lifts a block the server enforces', async () => {
    const b = await fresh();
    await b.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const srv = await b.serve([], {
      env: { HOSTDECK_BFM_IP_THRESHOLD: '2', HOSTDECK_BFM_ACCOUNT_THRESHOLD: '1000' },
    });
    expect((await b.ok(['bfm', 'list'])).stdout).toBe('KIND\tKEY\tFAILURES\tBLOCKED_UNTIL\tLAST_FAILURE\n');
    expect(await loginOk(srv, 'admin:wrong-1')).toBe(false);
    expect(await loginOk(srv, 'admin:wrong-2')).toBe(false);
    // Blocked: even the right password is refused now.
    expect(await loginOk(srv, 'admin:Admin-Pass-1234')).toBe(false);

    const rows = table(await b.ok(['bfm', 'list']));
    const ip = rows.find((r) => r.KIND === 'ip');
    expect(ip?.KEY).toBe('127.0.0.1');
    expect(Number(ip?.FAILURES)).toBeGreaterThanOrEqual(2);
    expect(ip?.BLOCKED_UNTIL).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(rows.find((r) => r.KIND === 'account')?.KEY).toBe('admin');

    expect((await b.ok(['bfm', 'unblock', '127.0.0.1'])).stdout).toBe('unblocked ip 127.0.0.1\n');
    expect(await loginOk(srv, 'admin:Admin-Pass-1234')).toBe(true);
    expect(table(await b.ok(['bfm', 'list'])).find((r) => r.KIND === 'ip')).toBeUndefined();

    await loginOk(srv, 'admin:wrong-3');
    expect((await b.ok(['bfm', 'unblock', '--account', 'admin'])).stdout).toBe('unblocked account admin\n');
    const none = await b.run(['bfm', 'unblock', '10.9.9.9']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('hostdeck: no failures or block recorded for ip 10.9.9.9\n');
  });
});
