import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CliEnv,
  type CliResult,
  EPHEMERAL_LISTEN_FLAGS,
  ensureBuilt,
  errorShape,
  runHostdeck,
} from '../helpers/cli.js';

/**
 * Every failure an operator can cause at the shell ends with exactly one line on stderr, starting
 * `hostdeck: `, and a non-zero exit; never a stack trace, never a hanging process.
 */
function expectOneLine(r: CliResult, pattern: RegExp): void {
  const shape = errorShape(r);
  expect(shape.code, r.stderr).not.toBe(0);
  expect(shape.code, r.stderr).not.toBeNull();
  expect(shape.stack, r.stderr).toBe(false);
  expect(shape.lines, r.stderr).toHaveLength(1);
  expect(shape.lines[0]).toMatch(/^hostdeck: /);
  expect(shape.lines[0]).toMatch(pattern);
}

let e: CliEnv;
beforeAll(async () => {
  ensureBuilt();
  e = await CliEnv.create();
  const r = await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
  expect(r.code).toBe(0);
}, 180_000);
afterAll(async () => e?.cleanup());

const serve = (args: string[], env: Record<string, string> = {}) =>
  e.run(['serve', ...EPHEMERAL_LISTEN_FLAGS, ...args], { env, timeoutMs: 15_000 });

describe('usage errors (commander) are one line', { timeout: 120_000 }, () => {
  it.concurrent.each([
    [['init', '--bogus'], /unknown option '--bogus'.*hostdeck init --help/],
    [['serve', '--tls-off'], /unknown option '--tls-off'/],
    [['user', 'list', '--data-di', 'x'], /unknown option '--data-di' \(Did you mean --data-dir\?\)/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['user', 'passwd'], /missing required argument 'username'/],
    [['user', 'create', 'x'], /required option '--email <email>' not specified/],
    [['user', 'create', 'x', '--email', 'x@example.com', '--level', 'god'], /'god' is invalid/],
    [['serve', '--da-listen'], /option '--da-listen <host:port>' argument missing/],
    [['bfm', 'unblock', '1.2.3.4', 'extra'], /too many arguments/],
  ])('hostdeck %j', async (args, pattern) => {
    expectOneLine(await runHostdeck(args), pattern);
  });
});

describe('configuration errors are one line', { timeout: 120_000 }, () => {
  it.concurrent.each([
    [['--da-listen', 'nope'], /daListen \(--da-listen\) must be HOST:PORT, got "nope"/],
    [['--da-listen', '127.0.0.1:70000'], /must be HOST:PORT, got "127\.0\.0\.1:70000"/],
    [['--whm-listen', '[zz]:1'], /whmListen \(--whm-listen\) must be HOST:PORT/],
    [['--debug', 'loud'], /debug \(--debug\) must be a whole number/],
  ])('serve %j', async (args, pattern) => {
    expectOneLine(await serve(args), pattern);
  });

  it('a bad environment variable names it', async () => {
    expectOneLine(
      await serve([], { HOSTDECK_TLS: 'maybe' }),
      /tls \(HOSTDECK_TLS\) must be on or off, got "maybe"/,
    );
    expectOneLine(
      await e.run(['serve'], { env: { HOSTDECK_DA_LISTEN: '2222' }, timeoutMs: 10_000 }),
      /daListen \(HOSTDECK_DA_LISTEN\) must be HOST:PORT, got "2222"/,
    );
    // Every problem at once, still on one line.
    const many = await e.run(['user', 'list'], {
      env: { HOSTDECK_BFM_IP_THRESHOLD: '0', HOSTDECK_SQLITE_SYNCHRONOUS: 'sometimes' },
    });
    expectOneLine(many, /bfmIpThreshold \(HOSTDECK_BFM_IP_THRESHOLD\) must be between 1 and 1000000, got 0/);
    expect(many.stderr).toMatch(
      /sqliteSynchronous \(HOSTDECK_SQLITE_SYNCHRONOUS\) must be one of FULL, NORMAL/,
    );
  });

  it('an invalid hostdeck.json, for every command', async () => {
    const d = await CliEnv.create();
    try {
      mkdirSync(d.dataDir, { recursive: true });
      const file = join(d.dataDir, 'hostdeck.json');
      writeFileSync(file, '{"daListen": "127.0.0.1:0",\n  oops\n}');
      for (const args of [['init'], ['serve'], ['user', 'list'], ['bfm', 'list']])
        expectOneLine(await d.run(args), /hostdeck\.json is not valid JSON/);
      writeFileSync(file, '[1, 2]');
      expectOneLine(await d.run(['init']), /must hold a JSON object/);
      writeFileSync(file, JSON.stringify({ daListen: 5, nonsense: true, dataDir: '/elsewhere' }));
      const r = await d.run(['serve']);
      // Every problem is named, on the one line.
      expectOneLine(r, /unknown setting "nonsense"/);
      expect(r.stderr).toMatch(/daListen \(hostdeck\.json\) must be HOST:PORT, got "5"/);
      expect(r.stderr).toMatch(/dataDir cannot be set/);
      rmSync(file);
      mkdirSync(file);
      expectOneLine(await d.run(['init']), /cannot read .*hostdeck\.json: EISDIR/);
    } finally {
      await d.cleanup();
    }
  });
});

describe('environment errors are one line', { timeout: 120_000 }, () => {
  it('an unwritable data directory (a path under a regular file)', async () => {
    const file = join(e.root, 'plain-file');
    writeFileSync(file, '');
    const dir = join(file, 'data');
    for (const args of [['init'], ['serve', ...EPHEMERAL_LISTEN_FLAGS]])
      expectOneLine(
        await runHostdeck([...args, '--data-dir', dir], { env: e.env }),
        /data directory .*plain-file\/data is not writable: a part of the path is a file, not a directory \(ENOTDIR\)/,
      );
    expectOneLine(
      await runHostdeck(['user', 'list', '--data-dir', dir], { env: e.env }),
      e.isPostgres ? /not writable/ : /no hostdeck database at .*: run "hostdeck init" first/,
    );
  });

  it('a port already taken, whichever listener it is; nothing keeps running', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const addr = taken.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      const da = await serve(['--da-listen', `127.0.0.1:${port}`]);
      expectOneLine(
        da,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(da\\): the address is already in use`),
      );
      // The last listener fails after the first three were bound: they are closed and the process ends.
      const whm = await serve(['--whm-listen', `127.0.0.1:${port}`], {});
      expectOneLine(whm, /\(whm\): the address is already in use/);
      expect(whm.stdout).not.toMatch(/DirectAdmin API on/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('an address that is not local', async () => {
    expectOneLine(
      await serve(['--da-listen', '192.0.2.1:0']),
      /cannot listen on 192\.0\.2\.1:0 \(da\): no such local address/,
    );
  });

  it('an unreachable database, for every command', async () => {
    const env = { DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:1/x' };
    for (const args of [
      ['init'],
      ['serve', ...EPHEMERAL_LISTEN_FLAGS],
      ['user', 'list'],
      ['package', 'list'],
      ['bfm', 'list'],
    ]) {
      const r = await e.run(args, { env });
      expectOneLine(
        r,
        /cannot open the database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/,
      );
      // The password in the URL is never printed.
      expect(r.stderr).not.toContain('s3cret');
    }
    expectOneLine(
      await e.run(['init'], { env: { DATABASE_URL: 'mysql://x' } }),
      /DATABASE_URL must start with sqlite: or postgres:\/\//,
    );
  });

  it('a TLS key or certificate that is missing, unreadable or not a pair stops serve before it listens', async () => {
    const d = await CliEnv.create();
    try {
      await d.ok(['init', '--admin-password', 'Admin-Pass-1234']);
      const cert = join(d.dataDir, 'tls', 'cert.pem');
      const key = join(d.dataDir, 'tls', 'key.pem');
      const serveD = (env: Record<string, string> = {}) =>
        d.run(['serve', ...EPHEMERAL_LISTEN_FLAGS], { env });

      writeFileSync(cert, 'not a certificate\n');
      const garbage = await serveD();
      expectOneLine(
        garbage,
        /TLS key and certificate in .*tls are not usable: .*remove both and run "hostdeck init"/,
      );
      expect(garbage.stdout).not.toMatch(/DirectAdmin API on/);

      rmSync(cert);
      const lone = await serveD();
      expectOneLine(lone, /cert\.pem is missing beside .*key\.pem/);
      // init refuses the same way instead of overwriting the key.
      expectOneLine(await d.run(['init']), /cert\.pem is missing beside/);

      mkdirSync(cert);
      expectOneLine(
        await serveD(),
        /cannot read the TLS certificate .*cert\.pem: it is a directory \(EISDIR\)/,
      );

      // Without TLS the certificate does not matter.
      rmSync(cert, { recursive: true });
      rmSync(key);
      writeFileSync(key, 'half');
      const plain = await d.serve(['--no-tls']);
      expect(plain.scheme).toBe('http');
      expect((await plain.call('/CMD_API_LOGIN_TEST', { auth: 'admin:Admin-Pass-1234' })).pairs.error).toBe(
        '0',
      );
    } finally {
      await d.cleanup();
    }
  });

  it('commands other than init refuse a directory that was never set up, and create nothing there', async () => {
    const dir = join(e.root, 'typo');
    for (const args of [
      ['user', 'list'],
      ['package', 'list'],
      ['bfm', 'list'],
    ]) {
      const r = await runHostdeck([...args, '--data-dir', dir], { env: e.isPostgres ? {} : e.env });
      expectOneLine(r, /no hostdeck database at .*typo\/hostdeck\.sqlite: run "hostdeck init" first/);
    }
  });

  it('an application error is one line too', async () => {
    expectOneLine(await e.run(['user', 'delete', 'nobody']), /Unable to find that account/);
    expectOneLine(
      await e.run(['package', 'save', 'x', 'bandwidth=lots']),
      /bandwidth must be a non-negative number or "unlimited"/,
    );
    expectOneLine(await e.run(['package', 'save', 'x', 'bandwidth']), /"bandwidth" is not key=value/);
    expectOneLine(
      await e.run(['user', 'create', 'x', '--email', 'x@example.com', '--owner', 'nobody']),
      /there is no reseller or admin named nobody/,
    );
  });
});
