// Scale benchmark of DNS on SQLite: 10,000 domains with 1,000,000 records (100 per zone), then the
// latency of a record add through CMD_API_DNS_CONTROL and of a zone's `json=yes` listing, each on a
// random zone, and the server's peak RSS. Target: p99 ≤ 20 ms for both.
// The data set: ACCOUNTS users are made through the accounts service (each with its main domain, zone,
// template records, outbox and audit rows, as the API makes them); the other domains are inserted in
// bulk with better-sqlite3 in the shape the domains and DNS services write (domain row, zone row with the
// configured template's SOA and records), without outbox or audit rows (as if already applied); every
// zone is then filled up to RECORDS records with TXT and A records. The server runs in a child process
// (the DNS applier OFF, SQLite synchronous=FULL unless --sync NORMAL), so its peak RSS (VmHWM) is its
// own. Requests go one at a time (or --concurrency N at once) with a login key per account, allowed
// only CMD_API_DNS_CONTROL, adds and listings mixed in random order over random zones; each add is a
// new TXT name, committed and audited.
// Usage: npx tsx bench/dns-scale.ts [--domains 10000 --records 100 --requests 3000 --concurrency 1 --sync FULL|NORMAL]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Account } from '../src/db/database.js';
import { templateZone } from '../src/modules/dns/dns.service.js';
import { nextSerial, parseData } from '../src/modules/dns/records.js';
import { initialize } from '../src/setup.js';
import {
  ADMIN_PASSWORD,
  benchConfig,
  benchServices,
  createLoginKey,
  makeUser,
  startDnsTarget,
  type Target,
} from './dns-lib.js';
import { basic, cpuTime, loadAverage, numberOption, percentile, rssOf, stop, syncOption } from './harness.js';

const domainCount = numberOption('domains', 10_000);
const perZone = numberOption('records', 100);
const requests = numberOption('requests', 3000);
const concurrency = numberOption('concurrency', 1);
const sync = syncOption();
const ACCOUNTS = Math.min(100, domainCount);
const TARGET_P99_MS = 20;
const PASSWORD = 'Scale-Bench-Pass-1';

const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-dns-scale-'));
let server: Target | undefined;
try {
  const loadBefore = loadAverage();
  const started = performance.now();
  const config = benchConfig(dataDir, sync, true);
  const users: { account: Account; zones: string[] }[] = [];
  // Bulk rows, computed while the services (and their configuration) are open.
  const bulkDomains: { id: string; account: string; name: string }[] = [];
  const bulkZones: {
    id: string;
    origin: string;
    account: string;
    domain: string;
    t: ReturnType<typeof templateZone>;
  }[] = [];
  {
    const services = await benchServices(config);
    try {
      await initialize(services, ADMIN_PASSWORD);
      for (let i = 0; i < ACCOUNTS; i++) {
        const account = await makeUser(services, `user${i}`, PASSWORD, `d0-u${i}.scale.example`);
        users.push({ account, zones: [`d0-u${i}.scale.example`] });
      }
      for (let n = ACCOUNTS; n < domainCount; n++) {
        const u = users[n % ACCOUNTS] as (typeof users)[number];
        const name = `d${Math.floor(n / ACCOUNTS)}-u${n % ACCOUNTS}.scale.example`;
        const id = randomBytes(16).toString('hex');
        bulkDomains.push({ id, account: u.account.id, name });
        bulkZones.push({
          id: randomBytes(16).toString('hex'),
          origin: name,
          account: u.account.id,
          domain: id,
          t: templateZone(services, name, u.account),
        });
        u.zones.push(name);
      }
    } finally {
      await services.close();
    }
  }
  const serviceSeconds = (performance.now() - started) / 1000;

  const dbPath = join(dataDir, 'hostdeck.sqlite');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const insDomain = db.prepare(
    `insert into domains (id, account_id, name, created_at, kind, bandwidth, quota, php, ssl, cgi, updated_at)
     values (?, ?, ?, ?, 'additional', 'unlimited', 'unlimited', 'ON', 'ON', 'ON', ?)`,
  );
  const insZone = db.prepare(
    `insert into dns_zones (id, origin, account_id, domain_id, ttl, mname, rname, serial, refresh, retry, expire, minimum, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insRecord = db.prepare(
    'insert into dns_records (zone_id, name, type, ttl, data) values (?, ?, ?, ?, ?)',
  );
  // Filler records alternate TXT and A at names of their own; their data does not depend on the zone.
  const filler = Array.from({ length: perZone }, (_, k) =>
    k % 2 === 0
      ? {
          name: `_txt${k}`,
          type: 'TXT',
          data: JSON.stringify(parseData('TXT', `scale-filler-${k}`, 'x.example')),
        }
      : {
          name: `h${k}`,
          type: 'A',
          data: JSON.stringify(parseData('A', `192.0.2.${(k % 250) + 1}`, 'x.example')),
        },
  );
  const serial = nextSerial(0, now);
  const fill = (zoneId: string, have: number) => {
    for (let k = have; k < perZone; k++) {
      const f = filler[k] as (typeof filler)[number];
      insRecord.run(zoneId, f.name, f.type, null, f.data);
    }
  };
  const bulk = db.transaction((part: typeof bulkZones) => {
    for (const z of part) {
      insDomain.run(z.domain, z.account, z.origin, now, now);
      const [refresh, retry, expire, minimum] = z.t.soa.timers as [number, number, number, number];
      insZone.run(
        z.id,
        z.origin,
        z.account,
        z.domain,
        config.dnsDefaultTtl,
        z.t.soa.mname,
        z.t.soa.rname,
        serial,
        refresh,
        retry,
        expire,
        minimum,
        now,
        now,
      );
      for (const r of z.t.records) insRecord.run(z.id, r.name, r.type, r.ttl, JSON.stringify(r.data));
      fill(z.id, z.t.records.length);
    }
  });
  for (let i = 0; i < bulkZones.length; i += 500) bulk(bulkZones.slice(i, i + 500));
  // The zones the accounts service made get the same filler.
  db.transaction(() => {
    const made = db
      .prepare(
        'select z.id, count(r.id) as n from dns_zones z left join dns_records r on r.zone_id = z.id group by z.id having count(r.id) < ?',
      )
      .all(perZone) as { id: string; n: number }[];
    for (const z of made) fill(z.id, z.n);
    // Each zone's record count, as the DNS service keeps it.
    db.exec(
      'update dns_zones set record_count = (select count(*) from dns_records r where r.zone_id = dns_zones.id)',
    );
  })();
  const count = (sqlText: string) => Number((db.prepare(sqlText).get() as { n: number }).n);
  const zones = count('select count(*) as n from dns_zones');
  const records = count('select count(*) as n from dns_records');
  const domainRows = count('select count(*) as n from domains');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const seedSeconds = (performance.now() - started) / 1000;
  if (zones !== domainCount || domainRows !== domainCount || records < domainCount * perZone)
    throw new Error(`seeding made ${domainRows} domains, ${zones} zones and ${records} records`);

  server = await startDnsTarget(dataDir, sync);
  const base = `http://127.0.0.1:${server.port}`;
  const rssStarted = rssOf(server.child.pid);
  const auths: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++)
    auths.push(
      basic(
        `user${i}`,
        await createLoginKey(server.port, `user${i}`, PASSWORD, 'scale', ['CMD_API_DNS_CONTROL']),
      ),
    );

  let counter = 0;
  const pick = () => {
    const u = Math.floor(Math.random() * ACCOUNTS);
    const zs = users[u]?.zones ?? [];
    return { auth: auths[u] as string, zone: zs[Math.floor(Math.random() * zs.length)] as string };
  };
  const add = async (): Promise<number> => {
    const { auth, zone } = pick();
    const n = counter++;
    const t = performance.now();
    const r = await fetch(`${base}/CMD_API_DNS_CONTROL`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        domain: zone,
        action: 'add',
        type: 'TXT',
        name: `_s${n}`,
        value: `scale-${n}`,
      }).toString(),
    });
    const text = await r.text();
    const ms = performance.now() - t;
    if (r.status !== 200 || new URLSearchParams(text).get('error') !== '0')
      throw new Error(`add to ${zone} failed: ${r.status} ${text}`);
    return ms;
  };
  const list = async (): Promise<number> => {
    const { auth, zone } = pick();
    const t = performance.now();
    const r = await fetch(`${base}/CMD_API_DNS_CONTROL?domain=${zone}&json=yes`, {
      headers: { authorization: auth },
    });
    const text = await r.text();
    const ms = performance.now() - t;
    if (r.status !== 200) throw new Error(`listing ${zone} failed: ${r.status} ${text}`);
    const body = JSON.parse(text) as { records?: unknown[] };
    if (!Array.isArray(body.records) || body.records.length < perZone - 5)
      throw new Error(
        `listing ${zone} gave ${Array.isArray(body.records) ? body.records.length : 'no'} records`,
      );
    return ms;
  };
  const addMs: number[] = [];
  const listMs: number[] = [];
  let issued = 0;
  const worker = async (total: number, keep: boolean) => {
    while (issued < total) {
      issued++;
      if (Math.random() < 0.5) {
        const ms = await add();
        if (keep) addMs.push(ms);
      } else {
        const ms = await list();
        if (keep) listMs.push(ms);
      }
    }
  };
  // Warm-up: JIT, the login keys' verified-credential cache, SQLite's page cache for the hot pages.
  await Promise.all(Array.from({ length: concurrency }, () => worker(Math.min(300, requests), false)));
  issued = 0;
  const measureStart = performance.now();
  const cpuStart = cpuTime(server.child.pid);
  await Promise.all(Array.from({ length: concurrency }, () => worker(requests, true)));
  const measureSeconds = (performance.now() - measureStart) / 1000;
  const cpuPerRequest = (cpuTime(server.child.pid) - cpuStart) / requests;
  const rss = rssOf(server.child.pid);
  await stop(server);
  const dbBytes = statSync(dbPath).size;

  addMs.sort((a, b) => a - b);
  listMs.sort((a, b) => a - b);
  const line = (what: string, xs: number[]) => {
    const p99 = percentile(xs, 99);
    console.log(
      `${what.padEnd(44)} n ${String(xs.length).padStart(5)}  p50 ${percentile(xs, 50).toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  max ${(xs[xs.length - 1] ?? Number.NaN).toFixed(2)} ms  (target p99 <= ${TARGET_P99_MS} ms) ${p99 <= TARGET_P99_MS ? 'MET' : 'NOT MET'}`,
    );
    return p99 <= TARGET_P99_MS;
  };
  console.log(
    `load average before: ${loadBefore}; after: ${loadAverage()} (SQLite synchronous=${sync}, DNS applier OFF, concurrency ${concurrency})`,
  );
  console.log(
    `data: ${domainRows} domains/zones, ${records} records (${ACCOUNTS} accounts through the services, the rest in bulk), ${(dbBytes / 2 ** 20).toFixed(0)} MiB; built in ${seedSeconds.toFixed(1)} s (services part ${serviceSeconds.toFixed(1)} s)`,
  );
  const okAdd = line('CMD_API_DNS_CONTROL add TXT (login key)', addMs);
  const okList = line('CMD_API_DNS_CONTROL json=yes listing', listMs);
  console.log(
    `${requests} requests in ${measureSeconds.toFixed(1)} s, server CPU ${cpuPerRequest.toFixed(0)} µs per request (adds and listings together); server RSS after start ${rssStarted.now.toFixed(0)} MiB, now ${rss.now.toFixed(0)} MiB, peak (VmHWM) ${rss.peak.toFixed(0)} MiB`,
  );
  if (!okAdd || !okList) process.exitCode = 1;
} finally {
  if (server) await stop(server);
  rmSync(dataDir, { recursive: true, force: true });
}
