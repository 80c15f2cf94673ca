// DNS propagation benchmark: how long after the DirectAdmin API answers a record change does a real BIND
// serve it? Starts its own `named` on a loopback port, a hostdeck server (SQLite, plain HTTP, loopback)
// whose applier writes that named's zones, creates a user with a domain, then makes N changes through
// CMD_API_DNS_CONTROL one after another (adds a TXT record, or with --mode edit changes one record) and
// times each from the API answer until `dig` returns the new value. Prints p50/p95/max; target p95 ≤ 1 s.
// Usage: npx tsx bench/dns-propagation.ts [--changes 50]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startServer } from '../src/main.js';
import { createServices } from '../src/services.js';
import { startNamed } from '../test/helpers/named.js';

const run = promisify(execFile);
const args = process.argv.slice(2);
const changes = args.includes('--changes') ? Number(args[args.indexOf('--changes') + 1]) : 50;
const TARGET_P95_MS = 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function post(base: string, auth: string, cmd: string, body: Record<string, string>) {
  const res = await fetch(`${base}/${cmd}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(body).toString(),
  });
  const text = await res.text();
  const pairs = new URLSearchParams(text);
  if (pairs.get('error') !== '0') throw new Error(`${cmd} failed: ${res.status} ${text}`);
}

async function main(): Promise<void> {
  const named = await startNamed();
  const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-dns-bench-'));
  const rndc = named.rndc.join(' ');
  const config = loadConfig({
    env: {
      HOSTDECK_DATA_DIR: dataDir,
      HOSTDECK_TLS: 'off',
      HOSTDECK_DA_LISTEN: '127.0.0.1:0',
      HOSTDECK_CPANEL_LISTEN: '127.0.0.1:0',
      HOSTDECK_WEBMAIL_LISTEN: '127.0.0.1:0',
      HOSTDECK_WHM_LISTEN: '127.0.0.1:0',
      HOSTDECK_HOSTNAME: 'panel.example.net',
      HOSTDECK_DNS_APPLY: 'ON',
      HOSTDECK_BIND_ZONE_DIR: named.zoneDir,
      HOSTDECK_BIND_INCLUDE: named.includePath,
      HOSTDECK_BIND_RELOAD_COMMAND: `${rndc} reload {zone}`,
      HOSTDECK_BIND_RECONFIG_COMMAND: `${rndc} reconfig`,
      // The bench measures DNS, not password hashing.
      HOSTDECK_PASSWORD_HASH_MEMORY_KIB: '1024',
      HOSTDECK_PASSWORD_HASH_TIME_COST: '1',
    },
  });
  // Warnings only: the applier's per-pass lines would bury the result.
  const services = await createServices(config, { logger: pino({ level: 'warn' }) });
  const server = await startServer(config, services);
  const base = `http://${server.addresses.da}`;
  try {
    const admin = `admin:${server.setup.adminPassword}`;
    await post(base, admin, 'CMD_API_ACCOUNT_USER', {
      action: 'create',
      add: 'Submit',
      username: 'bench',
      email: 'bench@example.com',
      passwd: 'Bench-Pass-1234',
      passwd2: 'Bench-Pass-1234',
      domain: 'bench.example.com',
      package: 'default',
      ip: 'shared',
      notify: 'no',
    });
    const user = 'bench:Bench-Pass-1234';
    const dig = async (name: string) =>
      (
        await run('dig', [
          '@127.0.0.1',
          '-p',
          String(named.port),
          '+short',
          '+time=1',
          '+tries=1',
          name,
          'TXT',
        ])
      ).stdout.trim();
    // The zone itself must be live before changes are timed.
    const zoneStart = Date.now();
    while (
      (
        await run('dig', ['@127.0.0.1', '-p', String(named.port), '+short', 'bench.example.com', 'SOA'])
      ).stdout.trim() === ''
    ) {
      if (Date.now() - zoneStart > 10_000) throw new Error(`the new zone was not served:\n${named.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const times: number[] = [];
    for (let i = 0; i < changes; i++) {
      const name = `_p${i}`;
      const value = `v${i}-${Date.now()}`;
      await post(base, user, 'CMD_API_DNS_CONTROL', {
        domain: 'bench.example.com',
        action: 'add',
        type: 'TXT',
        name,
        value,
      });
      const answered = performance.now();
      for (;;) {
        if ((await dig(`${name}.bench.example.com`)) === `"${value}"`) break;
        if (performance.now() - answered > 10_000) throw new Error(`change ${i} not served after 10 s`);
      }
      times.push(performance.now() - answered);
    }
    times.sort((a, b) => a - b);
    const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
    const p95 = percentile(times, 95);
    console.log(
      `DNS propagation over ${changes} changes (API answer → dig answers, dig polled back to back):`,
    );
    console.log(
      `  p50 ${fmt(percentile(times, 50))}  p95 ${fmt(p95)}  max ${fmt(times[times.length - 1] ?? 0)}  min ${fmt(times[0] ?? 0)}`,
    );
    console.log(`  target p95 ≤ ${TARGET_P95_MS} ms: ${p95 <= TARGET_P95_MS ? 'met' : 'NOT met'}`);
    if (p95 > TARGET_P95_MS) process.exitCode = 1;
  } finally {
    await server.close();
    await services.close();
    await named.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`dns-propagation: ${(e as Error).message}`);
  process.exit(1);
});
