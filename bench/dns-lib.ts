// Shared parts of the DNS benchmarks: the configuration both the preparing process and the server child
// use (so the zone template and hostname agree), starting the server child on a prepared data
// directory, making accounts and login keys, and the statistics.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { type Config, loadConfig } from '../src/config/config.js';
import type { Account } from '../src/db/database.js';
import { findByUsername } from '../src/modules/accounts/accounts.repository.js';
import { createAccount } from '../src/modules/accounts/accounts.service.js';
import { unlimitedSettings } from '../src/modules/packages/limits.js';
import { createServices, type Services } from '../src/services.js';

export const ADMIN_PASSWORD = 'Bench-Admin-Pass-1';

/**
 * The configuration of a benchmark server on `dataDir`. The DNS applier is OFF: the numbers measure the
 * API and the database, not BIND. `cheapHash` lowers argon2's cost for data sets with many accounts.
 */
export function benchConfig(dataDir: string, sync: 'FULL' | 'NORMAL', cheapHash = false): Config {
  return loadConfig({
    env: {
      HOSTDECK_DATA_DIR: dataDir,
      HOSTDECK_HOSTNAME: 'bench.example.net',
      HOSTDECK_SQLITE_SYNCHRONOUS: sync,
      HOSTDECK_DNS_APPLY: 'OFF',
      ...(cheapHash
        ? { HOSTDECK_PASSWORD_HASH_MEMORY_KIB: '1024', HOSTDECK_PASSWORD_HASH_TIME_COST: '1' }
        : {}),
    },
  });
}

/** Services on a benchmark data directory, logging warnings only. */
export function benchServices(config: Config): Promise<Services> {
  return createServices(config, { logger: pino({ level: 'warn' }) });
}

/** The admin account, as the actor that creates accounts from the command line. */
export async function cliActor(services: Services) {
  const admin = await findByUsername(services.db, 'admin');
  if (!admin) throw new Error('no admin account: initialize the data directory first');
  return { account: admin, authenticated: admin, credential: { kind: 'cli' as const, id: '' }, ip: 'cli' };
}

/** Creates a user with unlimited limits and `domain` as main domain, through the accounts service. */
export async function makeUser(
  services: Services,
  username: string,
  password: string,
  domain: string,
): Promise<Account> {
  await createAccount(services, await cliActor(services), {
    level: 'user',
    username,
    email: `${username}@example.com`,
    domain,
    settings: unlimitedSettings('user'),
    password: { plain: password },
  });
  const a = await findByUsername(services.db, username);
  if (!a) throw new Error(`${username} was not created`);
  return a;
}

export interface Target {
  port: number;
  child: ChildProcess;
}

/** Starts the DA API on a prepared data directory in a child process (its RSS and CPU are its own). */
export async function startDnsTarget(dataDir: string, sync: 'FULL' | 'NORMAL'): Promise<Target> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=DIR writes a V8 CPU profile of the server there, to find where a request's time goes.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
      '--import',
      'tsx',
      new URL('./dns-target.ts', import.meta.url).pathname,
      dataDir,
      sync,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return { port: await readyPort(child, 'dns-target'), child };
}

/** Starts bench/target.ts's bare Fastify hello server in a child process. */
export async function startBare(): Promise<Target> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./target.ts', import.meta.url).pathname, 'bare'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return { port: await readyPort(child, 'bare'), child };
}

async function readyPort(child: ChildProcess, what: string): Promise<number> {
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start`)), 120_000);
    rl.once('line', (l) => {
      clearTimeout(t);
      resolve((JSON.parse(l) as { port: number }).port);
    });
    child.once('exit', (c) => reject(new Error(`${what} exited with ${c}`)));
  });
}

/** Stops a child and waits for it to be gone. */
export async function stop(t: Target): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  const gone = new Promise((r) => t.child.once('exit', r));
  t.child.kill('SIGTERM');
  await gone;
}

/** The Basic authorization header for `user:secret`. */
export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/** Makes a login key of `user` through CMD_API_LOGIN_KEYS, unlimited uses, allowed only `commands`. */
export async function createLoginKey(
  port: number,
  user: string,
  password: string,
  keyname: string,
  commands: string[],
): Promise<string> {
  const body = new URLSearchParams({
    action: 'create',
    keyname,
    never_expires: 'yes',
    max_uses: '0',
    passwd: password,
  });
  for (const [i, c] of commands.entries()) body.set(`select_allow${i}`, c);
  const r = await fetch(`http://127.0.0.1:${port}/CMD_API_LOGIN_KEYS`, {
    method: 'POST',
    headers: { authorization: basic(user, password), 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const answer = new URLSearchParams(await r.text());
  const key = answer.get('key');
  if (r.status !== 200 || answer.get('error') !== '0' || !key)
    throw new Error(`creating key ${keyname} failed: ${r.status} ${answer.toString()}`);
  return key;
}

/** Peak and current resident set size of a process in MiB, from /proc (NaN where there is none). */
export function rssOf(pid: number | undefined): { peak: number; now: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { peak: kib('VmHWM') / 1024, now: kib('VmRSS') / 1024 };
  } catch {
    return { peak: Number.NaN, now: Number.NaN };
  }
}

/** CPU time (user + system, µs) a process has used, from /proc (clock ticks of 10 ms). */
export function cpuTime(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

/** The 1, 5 and 15 minute load averages. */
export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** A numeric command-line option `--name N`, or `def`. */
export function numberOption(name: string, def: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** `--sync NORMAL` or the production default FULL. */
export function syncOption(): 'FULL' | 'NORMAL' {
  const args = process.argv.slice(2);
  return args.includes('--sync') && args[args.indexOf('--sync') + 1] === 'NORMAL' ? 'NORMAL' : 'FULL';
}
