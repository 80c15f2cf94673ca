// Load benchmark: requests per second of a bare Fastify route and of CMD_API_SHOW_USER_CONFIG on the
// DirectAdmin API, with each rate's ratio to bare Fastify:
//   - Basic auth with the account password (verified once, then the credential cache): target ≥ 0.5×
//   - a login key with unlimited uses (no write per request; history batched):          target ≥ 0.5×
//   - a login key with max_uses=10,000,000 (a use spent per request, group-committed):   target ≥ 0.35×
// The machine may be shared, so the runs are interleaved: every round measures bare Fastify and then each
// variant right after its own bare run (bare, password, bare, key, bare, limited key, …), and the report
// gives per variant the median req/s of both sides and the median of the rounds' ratios. A change in
// background load then moves both sides of a ratio together. It also gives the server's CPU time per
// request, which depends far less on the machine's other load than req/s does. After the runs the
// limited key's uses_left must equal 10,000,000 minus the 2xx answers it got (every admitted request
// spent exactly one use).
// Usage: npm run bench [-- --rounds 5 --seconds 3 --connections 50 --sync FULL|NORMAL --calibrate US]
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { basic, cpuTime, loadAverage, median, numberOption, startServer, syncOption } from './harness.js';

const seconds = numberOption('seconds', 3);
const rounds = numberOption('rounds', 5);
// SQLite durability of the hostdeck target: FULL (production default: every commit, so every use of a
// limited key, is an fsync) or NORMAL (--sync NORMAL).
const sync = syncOption();
const connections = numberOption('connections', 50);
const calibrate = process.argv.includes('--calibrate') ? numberOption('calibrate', 25) : 0;
const LIMITED_MAX_USES = 10_000_000;

interface Ready {
  keys?: { unlimited: string; limited: string };
}

interface Measured {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** 2xx answers of the run. */
  ok: number;
  /** CPU time the server process spent per request (µs), or NaN where /proc is not there. */
  cpuUs: number;
}

async function measure(
  url: string,
  headers: Record<string, string>,
  server: ChildProcess,
  duration = seconds,
): Promise<Measured> {
  const before = cpuTime(server.pid);
  const r = await autocannon({ url, connections, duration, headers });
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    ok: r['2xx'],
    cpuUs: (cpuTime(server.pid) - before) / Math.max(1, r.requests.total),
  };
}

const authorization = (user: string, secret: string) => ({ authorization: basic(user, secret) });
const loadBefore = loadAverage();

const bare = await startServer('target', ['bare']);
const hd = await startServer<Ready>('target', ['hostdeck', sync]);
if (!hd.keys) throw new Error('the hostdeck target made no keys');
const bareUrl = `http://127.0.0.1:${bare.port}/hello`;
const daUrl = `http://127.0.0.1:${hd.port}/CMD_API_SHOW_USER_CONFIG`;

interface Variant {
  name: string;
  url: string;
  server: ChildProcess;
  headers: Record<string, string>;
  /** The ratio to reach; none for the calibration route. */
  target?: number;
  bare: Measured[];
  runs: Measured[];
}
const da = (name: string, headers: Record<string, string>, target: number): Variant => ({
  name: `CMD_API_SHOW_USER_CONFIG, ${name}`,
  url: daUrl,
  server: hd.child,
  headers,
  target,
  bare: [],
  runs: [],
});
const variants: Variant[] = [
  da('password', authorization('fred', 'Fred-Bench-Pass-1'), 0.5),
  da('key (unlimited)', authorization('fred', hd.keys.unlimited), 0.5),
  da(`key (max_uses=${LIMITED_MAX_USES.toLocaleString('en')})`, authorization('fred', hd.keys.limited), 0.35),
];
const limitedVariant = variants[2] as Variant;
// --calibrate US adds bare Fastify spending US µs of CPU per request: what ratio a route costing that much
// more than bare reaches on this machine (the load generator shares its cores).
const busy = calibrate > 0 ? await startServer('target', ['busy', String(calibrate)]) : undefined;
if (busy)
  variants.push({
    name: `calibration: bare + ${calibrate} µs of CPU`,
    url: `http://127.0.0.1:${busy.port}/hello`,
    server: busy.child,
    headers: {},
    bare: [],
    runs: [],
  });

// A warm-up of each side fills the caches (JIT, the verified-credential cache) before any measured run;
// the limited key's warm-up answers count towards the uses it must have spent.
let limitedOk = 0;
await measure(bareUrl, {}, bare.child, 2);
for (const v of variants) {
  const w = await measure(v.url, v.headers, v.server, 2);
  if (v === limitedVariant) limitedOk += w.ok;
}
for (let round = 0; round < rounds; round++)
  for (const v of variants) {
    v.bare.push(await measure(bareUrl, {}, bare.child));
    const m = await measure(v.url, v.headers, v.server);
    v.runs.push(m);
    if (v === limitedVariant) limitedOk += m.ok;
  }

// The limited key's stored uses, read through the API as its owner would.
const listing = await fetch(`http://127.0.0.1:${hd.port}/CMD_API_LOGIN_KEYS?json=yes`, {
  headers: authorization('fred', 'Fred-Bench-Pass-1'),
});
const keys = (await listing.json()) as Record<string, Record<string, string>>;
const usesLeft = Number(keys.benchlimited?.uses_left);
bare.child.kill();
hd.child.kill();
busy?.child.kill();

console.log(
  `load average before: ${loadBefore}; after: ${loadAverage()} (${rounds} rounds of ${seconds} s runs, ${connections} connections, SQLite synchronous=${sync})`,
);
let failed = false;
const allBare = variants.flatMap((v) => v.bare);
const rate = (ms: Measured[]) =>
  median(ms.map((m) => m.rps))
    .toFixed(0)
    .padStart(6);
const cpu = (ms: Measured[]) => median(ms.map((m) => m.cpuUs)).toFixed(0);
console.log(
  `${'bare Fastify GET /hello (every round)'.padEnd(50)} median ${rate(allBare)} req/s  (min ${Math.min(...allBare.map((m) => m.rps)).toFixed(0)}, max ${Math.max(...allBare.map((m) => m.rps)).toFixed(0)})  server CPU ${cpu(allBare)} µs/req`,
);
for (const v of variants) {
  const ratios = v.runs.map((m, i) => m.rps / (v.bare[i]?.rps ?? Number.NaN));
  const ratio = median(ratios);
  const errors = v.runs.reduce((n, m) => n + m.errors, 0);
  const non2xx = v.runs.reduce((n, m) => n + m.non2xx, 0);
  console.log(
    `${v.name.padEnd(50)} median ${rate(v.runs)} req/s  (bare beside it: ${rate(v.bare).trim()})  server CPU ${cpu(v.runs)} µs/req  p99 ${median(v.runs.map((m) => m.p99))} ms  errors ${errors}  non-2xx ${non2xx}`,
  );
  console.log(
    `${''.padEnd(50)} ratio ${ratio.toFixed(2)}x (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}${v.target === undefined ? ')' : `; target >= ${v.target.toFixed(2)}x) ${ratio >= v.target ? 'MET' : 'NOT MET'}`}`,
  );
  if (errors > 0 || non2xx > 0) failed = true;
}
// autocannon stops counting at the end of each run while up to one request per connection is still in
// flight, and the server spends a use for each of those too.
const spent = LIMITED_MAX_USES - usesLeft;
const slack = (rounds + 1) * connections;
const consistent = spent >= limitedOk && spent <= limitedOk + slack;
console.log(
  `limited key: ${limitedOk} 2xx counted, ${spent} uses spent (allowed: ${limitedOk} to ${limitedOk + slack}, the excess being requests in flight when a run stopped) ${consistent ? 'OK' : 'MISMATCH'}`,
);
if (failed || !consistent) process.exitCode = 1;
