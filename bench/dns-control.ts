// Load benchmark of DNS record adds: requests per second of CMD_API_DNS_CONTROL `action=add` (a TXT
// record of a new name each request) with a login key, as a ratio to a bare Fastify route in the same
// run (target ≥ 0.25×). Every request is a real add: the record, the serial bump, the outbox row and
// the audit row commit in one transaction. The DNS applier is OFF (no zone files, no BIND): the number
// is the API and the database. The adds rotate over DOMAINS zones of one user (nothing an add does
// costs more in a bigger zone: the records at one name are found by index and the zone keeps its count).
// Runs are interleaved (bare, dns, bare, dns, …) and reported as medians, like bench/da-auth.ts; the
// server's CPU time per request is given too (it depends far less on the machine's other load). After
// the runs the records and audit rows in the database are counted against the 2xx answers.
// --calibrate adds a third variant each round: bare Fastify doing only the durable SQL of an add on a copy
// of the same database (see `raw` in bench/dns-target.ts), to show what ratio the database work alone
// allows on the machine at hand.
// Usage: npx tsx bench/dns-control.ts [--rounds 5 --seconds 3 --connections 50 --domains 50 --sync FULL|NORMAL --calibrate]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { createDomain } from '../src/modules/domains/domains.service.js';
import { initialize } from '../src/setup.js';
import {
  ADMIN_PASSWORD,
  benchConfig,
  benchServices,
  createLoginKey,
  makeUser,
  startBare,
  startDnsTarget,
  type Target,
} from './dns-lib.js';
import {
  basic,
  cpuTime,
  loadAverage,
  median,
  numberOption,
  startServer,
  stop,
  syncOption,
} from './harness.js';

const seconds = numberOption('seconds', 3);
const rounds = numberOption('rounds', 5);
const connections = numberOption('connections', 50);
const domainCount = numberOption('domains', 50);
const sync = syncOption();
const calibrate = process.argv.includes('--calibrate');
const TARGET = 0.25;
const USER = 'fred';
const PASSWORD = 'Fred-Bench-Pass-1';

interface Measured {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
  ok: number;
  cpuUs: number;
}

const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-dns-control-'));
const rawDir = `${dataDir}-raw`;
const domains = Array.from({ length: domainCount }, (_, i) => `d${i}.dnsbench.example`);
let bare: Target | undefined;
let hd: Target | undefined;
let raw: Target | undefined;
try {
  const loadBefore = loadAverage();
  // The user and its domains are made through the services, as the API would make them.
  {
    const config = benchConfig(dataDir, sync);
    const services = await benchServices(config);
    try {
      await initialize(services, ADMIN_PASSWORD);
      const fred = await makeUser(services, USER, PASSWORD, domains[0] as string);
      const actor = {
        account: fred,
        authenticated: fred,
        credential: { kind: 'cli' as const, id: '' },
        ip: 'cli',
      };
      for (const d of domains.slice(1)) await createDomain(services, actor, d, {});
    } finally {
      await services.close();
    }
  }
  // The calibration writes to a copy of the same database, so the checks below see hostdeck's adds only.
  if (calibrate) {
    cpSync(dataDir, rawDir, { recursive: true });
    raw = await startServer('dns-target', [rawDir, sync, 'raw']);
  }
  bare = await startBare();
  hd = await startDnsTarget(dataDir, sync);
  const key = await createLoginKey(hd.port, USER, PASSWORD, 'benchdns', ['CMD_API_DNS_CONTROL']);
  const auth = basic(USER, key);
  const bareUrl = `http://127.0.0.1:${bare.port}/hello`;
  const dnsUrl = `http://127.0.0.1:${hd.port}/CMD_API_DNS_CONTROL`;

  // Each request body names a record no earlier request used, on the next domain in turn.
  let counter = 0;
  const runTag = Date.now().toString(36);
  const dnsRequest = {
    method: 'POST' as const,
    path: '/CMD_API_DNS_CONTROL',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    setupRequest: (req: { body?: string | Buffer }) => {
      const n = counter++;
      req.body = new URLSearchParams({
        domain: domains[n % domains.length] as string,
        action: 'add',
        type: 'TXT',
        name: `_b${n}`,
        value: `bench-${runTag}-${n}`,
      }).toString();
      return req;
    },
  };

  const measure = async (which: 'bare' | 'dns' | 'raw', duration = seconds): Promise<Measured> => {
    const server = which === 'bare' ? bare : which === 'dns' ? hd : raw;
    const before = cpuTime(server?.child.pid);
    const r =
      which === 'bare'
        ? await autocannon({ url: bareUrl, connections, duration })
        : await autocannon({
            url: which === 'dns' ? dnsUrl : `http://127.0.0.1:${raw?.port}/CMD_API_DNS_CONTROL`,
            connections,
            duration,
            requests: [dnsRequest],
          });
    return {
      rps: r.requests.average,
      p99: r.latency.p99,
      errors: r.errors,
      non2xx: r.non2xx,
      ok: r['2xx'],
      cpuUs: (cpuTime(server?.child.pid) - before) / Math.max(1, r.requests.total),
    };
  };

  // Warm-up (JIT, the login key's verified-credential cache); its adds count in the totals below.
  let okTotal = 0;
  await measure('bare', 2);
  okTotal += (await measure('dns', 2)).ok;
  const bareRuns: Measured[] = [];
  const dnsRuns: Measured[] = [];
  const rawRuns: Measured[] = [];
  if (raw) await measure('raw', 2);
  for (let round = 0; round < rounds; round++) {
    bareRuns.push(await measure('bare'));
    const m = await measure('dns');
    dnsRuns.push(m);
    okTotal += m.ok;
    if (raw) rawRuns.push(await measure('raw'));
  }
  await stop(hd);
  await stop(bare);
  if (raw) await stop(raw);

  // What the server committed: the bench's records, and an audit row for each change.
  const db = new Database(join(dataDir, 'hostdeck.sqlite'), { readonly: true });
  const records = Number(
    (
      db
        .prepare(`select count(*) as n from dns_records where type = 'TXT' and name like '\\_b%' escape '\\'`)
        .get() as { n: number }
    ).n,
  );
  const audits = Number(
    (
      db.prepare(`select count(*) as n from audit_events where command = 'dns.records.change'`).get() as {
        n: number;
      }
    ).n,
  );
  const biggest = Number(
    (
      db
        .prepare('select max(n) as n from (select count(*) as n from dns_records group by zone_id)')
        .get() as { n: number }
    ).n,
  );
  db.close();

  const rate = (ms: Measured[]) =>
    median(ms.map((m) => m.rps))
      .toFixed(0)
      .padStart(6);
  const cpu = (ms: Measured[]) => median(ms.map((m) => m.cpuUs)).toFixed(0);
  const ratios = dnsRuns.map((m, i) => m.rps / (bareRuns[i]?.rps ?? Number.NaN));
  const ratio = median(ratios);
  const errors = dnsRuns.reduce((n, m) => n + m.errors, 0);
  const non2xx = dnsRuns.reduce((n, m) => n + m.non2xx, 0);
  console.log(
    `load average before: ${loadBefore}; after: ${loadAverage()} (${rounds} rounds of ${seconds} s runs, ${connections} connections, SQLite synchronous=${sync}, DNS applier OFF, adds over ${domains.length} zones)`,
  );
  console.log(
    `${'bare Fastify GET /hello'.padEnd(44)} median ${rate(bareRuns)} req/s  (min ${Math.min(...bareRuns.map((m) => m.rps)).toFixed(0)}, max ${Math.max(...bareRuns.map((m) => m.rps)).toFixed(0)})  server CPU ${cpu(bareRuns)} µs/req`,
  );
  console.log(
    `${'CMD_API_DNS_CONTROL add TXT, login key'.padEnd(44)} median ${rate(dnsRuns)} req/s  server CPU ${cpu(dnsRuns)} µs/req  p99 ${median(dnsRuns.map((m) => m.p99))} ms  errors ${errors}  non-2xx ${non2xx}`,
  );
  console.log(
    `${''.padEnd(44)} ratio ${ratio.toFixed(2)}x (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}; target >= ${TARGET.toFixed(2)}x) ${ratio >= TARGET ? 'MET' : 'NOT MET'}`,
  );
  if (raw) {
    const rawRatios = rawRuns.map((m, i) => m.rps / (bareRuns[i]?.rps ?? Number.NaN));
    console.log(
      `${"calibration: bare + an add's SQL only".padEnd(44)} median ${rate(rawRuns)} req/s  server CPU ${cpu(rawRuns)} µs/req  p99 ${median(rawRuns.map((m) => m.p99))} ms`,
    );
    console.log(
      `${''.padEnd(44)} ratio ${median(rawRatios).toFixed(2)}x (rounds: ${rawRatios.map((r) => r.toFixed(2)).join(' ')})`,
    );
  }
  // autocannon stops counting while up to one request per connection is still in flight; the server
  // commits those too.
  const slack = (rounds + 1) * connections;
  const consistent =
    records >= okTotal && records <= okTotal + slack && audits >= okTotal && audits <= okTotal + slack;
  console.log(
    `committed: ${records} bench records and ${audits} audit rows for ${okTotal} 2xx answers (allowed up to ${okTotal + slack}); largest zone ${biggest} records ${consistent ? 'OK' : 'MISMATCH'}`,
  );
  if (errors > 0 || non2xx > 0 || !consistent) process.exitCode = 1;
} finally {
  if (hd) await stop(hd);
  if (bare) await stop(bare);
  if (raw) await stop(raw);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(rawDir, { recursive: true, force: true });
}
