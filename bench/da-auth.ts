// Load benchmark: requests per second of a bare Fastify route and of CMD_API_SHOW_USER_CONFIG on the
// DirectAdmin API, measured in the same run, with each rate's ratio to bare Fastify:
//   - Basic auth with the account password (verified once, then the credential cache): target ≥ 0.5×
//   - a login key with unlimited uses (no write per request; history batched):          target ≥ 0.5×
//   - a login key with max_uses=10,000,000 (one guarded UPDATE per request):            target ≥ 0.35×
// Bare Fastify is measured before and after the hostdeck runs and averaged, so a change in background
// load during the run moves the baseline with it. After the runs the limited key's uses_left must equal
// 10,000,000 minus the 2xx answers it got (every admitted request spent exactly one use).
// Usage: npm run bench [-- --seconds 10 --connections 50 --sync FULL|NORMAL]
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = opt('seconds', 8);
// SQLite durability of the hostdeck target: FULL (production default: every commit, so every use of a
// limited key, is an fsync) or NORMAL (--sync NORMAL).
const sync = args.includes('--sync') && args[args.indexOf('--sync') + 1] === 'NORMAL' ? 'NORMAL' : 'FULL';
const connections = opt('connections', 50);
const LIMITED_MAX_USES = 10_000_000;

interface Ready {
  port: number;
  keys?: { unlimited: string; limited: string };
}

async function startTarget(kind: string, ...extra: string[]): Promise<Ready & { child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./target.ts', import.meta.url).pathname, kind, ...extra],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind} did not start`)), 60_000);
    rl.once('line', (l) => {
      clearTimeout(t);
      resolve(JSON.parse(l) as Ready);
    });
    child.once('exit', (c) => reject(new Error(`${kind} exited with ${c}`)));
  });
  return { ...ready, child };
}

interface Measured {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** 2xx answers over the warm-up and the measured run. */
  ok: number;
}

async function measure(url: string, headers: Record<string, string>): Promise<Measured> {
  // A short warm-up fills caches (JIT, the verified-credential cache) before the measured run.
  const w = await autocannon({ url, connections: 10, duration: 2, headers });
  const r = await autocannon({ url, connections, duration: seconds, headers });
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    ok: w['2xx'] + r['2xx'],
  };
}

const basic = (user: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`,
});

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();

const bare = await startTarget('bare');
const hd = await startTarget('hostdeck', sync);
if (!hd.keys) throw new Error('the hostdeck target made no keys');
const bareUrl = `http://127.0.0.1:${bare.port}/hello`;
const daUrl = `http://127.0.0.1:${hd.port}/CMD_API_SHOW_USER_CONFIG`;

const base1 = await measure(bareUrl, {});
const password = await measure(daUrl, basic('fred', 'Fred-Bench-Pass-1'));
const unlimited = await measure(daUrl, basic('fred', hd.keys.unlimited));
const limited = await measure(daUrl, basic('fred', hd.keys.limited));
const base2 = await measure(bareUrl, {});

// The limited key's stored uses, read through the API as its owner would.
const listing = await fetch(`http://127.0.0.1:${hd.port}/CMD_API_LOGIN_KEYS?json=yes`, {
  headers: basic('fred', 'Fred-Bench-Pass-1'),
});
const keys = (await listing.json()) as Record<string, Record<string, string>>;
const usesLeft = Number(keys.benchlimited?.uses_left);
bare.child.kill();
hd.child.kill();

const baseRps = (base1.rps + base2.rps) / 2;
const rows: [string, Measured, number | null][] = [
  ['bare Fastify GET /hello (before)', base1, null],
  ['bare Fastify GET /hello (after)', base2, null],
  ['CMD_API_SHOW_USER_CONFIG, password', password, 0.5],
  ['CMD_API_SHOW_USER_CONFIG, key (unlimited)', unlimited, 0.5],
  [`CMD_API_SHOW_USER_CONFIG, key (max_uses=${LIMITED_MAX_USES.toLocaleString('en')})`, limited, 0.35],
];
console.log(
  `load average before: ${loadBefore}; after: ${load()} (${seconds} s runs, ${connections} connections)`,
);
let failed = false;
for (const [name, m, target] of rows) {
  const ratio = m.rps / baseRps;
  const verdict =
    target === null
      ? ''
      : `ratio ${ratio.toFixed(2)}x (target >= ${target.toFixed(2)}x) ${ratio >= target ? 'MET' : 'NOT MET'}`;
  console.log(
    `${name.padEnd(58)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${String(m.p99).padStart(3)} ms  errors ${m.errors}  non-2xx ${m.non2xx}  ${verdict}`,
  );
  if (m.errors > 0 || m.non2xx > 0) failed = true;
}
console.log(`bare Fastify baseline (mean): ${baseRps.toFixed(0)} req/s`);
// autocannon stops counting at the end of each run (warm-up, measured) while up to one request per
// connection is still in flight, and the server spends a use for each of those too.
const spent = LIMITED_MAX_USES - usesLeft;
const consistent = spent >= limited.ok && spent <= limited.ok + 10 + connections;
console.log(
  `limited key: ${limited.ok} 2xx counted, ${spent} uses spent (allowed: ${limited.ok} to ${limited.ok + 10 + connections}, the excess being requests in flight when a run stopped) ${consistent ? 'OK' : 'MISMATCH'}`,
);
if (failed || !consistent) process.exitCode = 1;
