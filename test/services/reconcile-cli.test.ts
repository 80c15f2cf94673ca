import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, ensureBuilt } from '../helpers/cli.js';
import { type NamedServer, startNamed } from '../helpers/named.js';

async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('hostdeck reconcile and the applier in hostdeck serve', () => {
  let named: NamedServer;
  let cli: CliEnv;
  let bind: Record<string, string>;

  // The CLI runs from dist/, rebuilt when a source is newer: slow on a busy machine (hence the timeout).
  beforeAll(async () => {
    await ensureBuilt();
    named = await startNamed();
    cli = await CliEnv.create();
    const rndc = named.rndc.join(' ');
    bind = {
      HOSTDECK_DNS_APPLY: 'ON',
      HOSTDECK_BIND_ZONE_DIR: named.zoneDir,
      HOSTDECK_BIND_INCLUDE: named.includePath,
      HOSTDECK_BIND_RELOAD_COMMAND: `${rndc} reload {zone}`,
      HOSTDECK_BIND_RECONFIG_COMMAND: `${rndc} reconfig`,
    };
    await cli.ok(['init', '--admin-password', 'Admin-Pass-1234']);
  }, 240_000);
  afterAll(async () => {
    await cli?.cleanup();
    await named?.stop();
  });

  it('rebuilds the zones from the database, removes zone files of deleted zones, and says what it did', async () => {
    await cli.ok([
      'user',
      'create',
      'alice',
      '--email',
      'a@example.com',
      '--domain',
      'alice.example.com',
      '--password',
      'Alice-Pass-123',
    ]);
    expect(await named.status('alice.example.com', 'SOA')).toBe('REFUSED');

    let r = await cli.ok(['reconcile'], { env: bind });
    expect(r.stdout).toBe('reconciled 1 zone: 1 written, 0 unchanged, 0 removed\n');
    expect(await named.dig('www.alice.example.com', 'A')).toEqual(['127.0.0.1']);

    // A stale zone hostdeck wrote earlier, and a lost live file.
    const stale = readFileSync(join(named.zoneDir, 'alice.example.com.db'), 'utf8').replaceAll(
      'alice.example.com',
      'old.example.com',
    );
    writeFileSync(join(named.zoneDir, 'old.example.com.db'), stale);
    rmSync(join(named.zoneDir, 'alice.example.com.db'));
    r = await cli.ok(['reconcile'], { env: bind });
    expect(r.stdout).toBe('reconciled 1 zone: 1 written, 0 unchanged, 1 removed\n');
    expect(existsSync(join(named.zoneDir, 'old.example.com.db'))).toBe(false);
    expect((await cli.ok(['reconcile'], { env: bind })).stdout).toBe(
      'reconciled 1 zone: 0 written, 1 unchanged, 0 removed\n',
    );
  });

  it('fails with one clear line per problem', async () => {
    let r = await cli.run(['reconcile'], { env: { ...bind, HOSTDECK_DNS_APPLY: 'OFF' } });
    expect([r.code, r.stderr]).toEqual([
      1,
      'hostdeck: DNS applying is off (dnsApply=OFF): there is nothing to reconcile\n',
    ]);

    r = await cli.run(['reconcile'], {
      env: { ...bind, HOSTDECK_BIND_CHECKZONE: '/nonexistent/named-checkzone' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('reconciled 0 zones: 0 written, 0 unchanged, 0 removed, 1 failed\n');
    expect(r.stderr).toBe(
      'hostdeck: alice.example.com: named-checkzone: /nonexistent/named-checkzone not found\n',
    );
    // The last good file stays and is still served.
    expect(await named.dig('www.alice.example.com', 'A')).toEqual(['127.0.0.1']);

    r = await cli.run(['reconcile'], {
      env: { ...bind, HOSTDECK_BIND_RECONFIG_COMMAND: `${named.rndc.join(' ')} -p 1 reconfig` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hostdeck: \(reconfig\): rndc: .*127\.0\.0\.1#1.*\n$/);
  });

  it('hostdeck serve on a machine without BIND tools keeps serving and says applying is off', async () => {
    const server = await cli.serve(['--no-tls'], {
      env: { HOSTDECK_BIND_CHECKZONE: '/nonexistent/named-checkzone', HOSTDECK_BIND_ZONE_DIR: named.zoneDir },
    });
    try {
      await until('the log line', async () => server.stdout.includes('DNS applying is off'), 5000);
      expect(server.stdout).toContain('/nonexistent/named-checkzone not found');
      expect(server.running).toBe(true);
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('hostdeck serve applies pending changes at start and changes made by the CLI while it runs', async () => {
    const server = await cli.serve(['--no-tls'], { env: bind });
    try {
      await cli.ok([
        'user',
        'create',
        'bob',
        '--email',
        'b@example.com',
        '--domain',
        'bob.example.com',
        '--password',
        'Bob-Pass-1234',
      ]);
      // The CLI cannot kick the server; the server's periodic look at the outbox finds the change.
      await until(
        'bob.example.com served',
        async () => (await named.dig('www.bob.example.com', 'A')).length > 0,
        15_000,
      );
      await cli.ok(['user', 'delete', 'bob']);
      await until(
        'bob.example.com gone',
        async () => (await named.status('bob.example.com', 'SOA')) === 'REFUSED',
        15_000,
      );
      expect(await named.dig('www.alice.example.com', 'A')).toEqual(['127.0.0.1']);
    } finally {
      await server.stop('SIGTERM');
    }
    expect(server.stdout).toContain('DNS applying is on');
  });
});
