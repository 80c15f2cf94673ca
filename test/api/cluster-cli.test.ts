/**
 * `hostdeck multi-server` and the pusher of `hostdeck serve`: a master installed and run as processes
 * (the built CLI) registers a slave (an in-process installation on loopback) from the shell; the served
 * master pushes zone changes to it, and `multi-server push` re-queues every zone for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, ensureBuilt, type ServeProcess } from '../helpers/cli.js';
import { rawCall, startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD, TEST_DB } from '../helpers/services.js';

const ADMIN = `admin:${ADMIN_PASSWORD}`;
const KEY = 'Cli-Cluster-Key-5d1e0b77';

async function eventually(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe(`hostdeck multi-server (${TEST_DB})`, () => {
  let slave: TestServer;
  let e: CliEnv;
  const serveEnv = { HOSTDECK_DNS_APPLY: 'OFF' };

  const slaveHas = async (domain: string) =>
    (await slave.admin('/CMD_API_DNS_ADMIN', { action: 'exists', domain })).pairs.exists === '1';

  beforeAll(async () => {
    ensureBuilt();
    slave = await startTestServer({ settings: { dnsApply: 'OFF' } });
    const k = await slave.admin('/CMD_API_LOGIN_KEYS', {
      action: 'create',
      keyname: 'master',
      key: KEY,
      key2: KEY,
      never_expires: 'yes',
      select_allow0: 'CMD_API_LOGIN_TEST',
      select_allow1: 'CMD_API_DNS_ADMIN',
      select_allow2: 'CMD_API_USER_EXISTS',
      ips: '127.0.0.1',
      passwd: ADMIN_PASSWORD,
    });
    expect(k.pairs.error, k.body).toBe('0');
    e = await CliEnv.create();
    await e.ok(['init', '--admin-password', ADMIN_PASSWORD], { env: { HOSTDECK_TLS: 'off' } });
  }, 180_000);

  afterAll(async () => {
    await e?.cleanup();
    await slave?.close();
  });

  it('add, list and modify from the shell; the key is read from stdin and never printed', async () => {
    const added = await e.ok(
      [
        'multi-server',
        'add',
        '127.0.0.1',
        '--user',
        'admin',
        '--port',
        String(slave.port),
        '--key-stdin',
        '--dns',
      ],
      { input: `${KEY}\n` },
    );
    const line = `127.0.0.1 port=${slave.port} user=admin ssl=no verify_tls=no dns=yes domain_check=no user_check=no email=no show_all_users=no pending=0`;
    expect(added.stdout).toBe(`added ${line}\n`);
    const listed = await e.ok(['multi-server', 'list']);
    expect(listed.stdout).toBe(`${line}\n`);
    const mod = await e.ok([
      'multi-server',
      'modify',
      '127.0.0.1',
      '--domain-check',
      '--user-check',
      '--no-dns',
    ]);
    expect(mod.stdout).toBe(
      `modified 127.0.0.1 port=${slave.port} user=admin ssl=no verify_tls=no dns=no domain_check=yes user_check=yes email=no show_all_users=no pending=0\n`,
    );
    await e.ok(['multi-server', 'modify', '127.0.0.1', '--dns']);
    for (const r of [added, listed, mod]) expect(r.stdout + r.stderr).not.toContain(KEY);

    const missing = await e.run(['multi-server', 'modify', '10.9.9.9', '--dns']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('hostdeck: Invalid parameter: There is no remote server 10.9.9.9\n');
    const noKey = await e.run(['multi-server', 'add', '10.9.9.9', '--user', 'admin']);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toBe('hostdeck: give the login key with --key-stdin or --key\n');
  });

  it('the served master pushes a new account’s zone; push re-queues every zone after the slave lost one', async () => {
    let master: ServeProcess = await e.serve(['--no-tls'], { env: serveEnv });
    const made = await master.call('/CMD_API_ACCOUNT_USER', {
      auth: ADMIN,
      params: {
        action: 'create',
        username: 'clia',
        email: 'clia@example.com',
        passwd: 'Clia-Pass-12345',
        passwd2: 'Clia-Pass-12345',
        domain: 'clia.example.com',
        package: 'default',
        ip: 'shared',
      },
    });
    expect(made.pairs.error, made.body).toBe('0');
    await eventually('clia.example.com on the slave', () => slaveHas('clia.example.com'));
    // User Check asks the slave too: a name the slave has is refused by the served master.
    await slave.admin('/CMD_API_ACCOUNT_USER', {
      action: 'create',
      username: 'onslave',
      email: 'o@example.com',
      passwd: 'Onslave-Pass-123',
      passwd2: 'Onslave-Pass-123',
      domain: 'onslave.example.com',
      package: 'default',
      ip: 'shared',
    });
    const refused = await master.call('/CMD_API_ACCOUNT_USER', {
      auth: ADMIN,
      params: {
        action: 'create',
        username: 'onslave',
        email: 'o@example.com',
        passwd: 'Onslave-Pass-123',
        passwd2: 'Onslave-Pass-123',
        domain: 'other.example.com',
        package: 'default',
        ip: 'shared',
      },
    });
    expect(refused.pairs.error).toBe('1');
    expect(refused.pairs.text).toBe('That username already exists on the system');
    await master.stop();

    // The slave loses the zone; the shell queues every zone again and the next serve sends them.
    const gone = await slave.admin('/CMD_API_DNS_ADMIN', { action: 'delete', domain: 'clia.example.com' });
    expect(gone.pairs.error, gone.body).toBe('0');
    const pushed = await e.ok(['multi-server', 'push', '127.0.0.1']);
    expect(pushed.stdout).toBe('queued 1 zone for 127.0.0.1\n');
    expect((await e.ok(['multi-server', 'list'])).stdout).toContain(' pending=1');
    master = await e.serve(['--no-tls'], { env: serveEnv });
    await eventually('clia.example.com back on the slave', () => slaveHas('clia.example.com'));
    const records = await rawCall(slave.port, '/CMD_API_DNS_ADMIN?domain=clia.example.com&json=yes', {
      auth: ADMIN,
    });
    expect(records.body).toContain('"name":"www"');
    await master.stop();

    expect((await e.ok(['multi-server', 'delete', '127.0.0.1'])).stdout).toBe('deleted: 127.0.0.1\n');
    expect((await e.ok(['multi-server', 'list'])).stdout).toBe('');
  }, 120_000);
});
