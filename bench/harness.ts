// What the load benchmarks share. startServer starts a benchmark's server (bench/target.ts or bench/dns-target.ts) in a child process, so the load
// generator does not share its event loop. The server runs as the production build does: compiled by
// tsc (tsconfig.bench.json, into dist-bench/) and run by plain node, not through the tsx loader, whose
// on-the-fly output (esbuild's name-keeping helpers on every closure, among others) is not what
// `npm start` serves. BENCH_CPU_PROF=DIR writes a V8 CPU profile of the server there.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let built = false;

/** Compiles the benchmark servers (once per benchmark run). */
function build(): void {
  if (built) return;
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.bench.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  built = true;
}

/** The server child: its ready line (one JSON object, at least the port) and the process. */
export type ServerProcess<T> = T & { port: number; child: ChildProcess };

export async function startServer<T extends object = object>(
  script: 'target' | 'dns-target',
  args: string[],
): Promise<ServerProcess<T>> {
  build();
  const prof = process.env.BENCH_CPU_PROF;
  const child = spawn(
    process.execPath,
    [
      ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []),
      `${root}dist-bench/bench/${script}.js`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const what = `${script} ${args[0] ?? ''}`.trim();
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<T & { port: number }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start`)), 120_000);
    rl.once('line', (l) => {
      clearTimeout(t);
      resolve(JSON.parse(l) as T & { port: number });
    });
    child.once('exit', (c) => reject(new Error(`${what} exited with ${c}`)));
  });
  return { ...ready, child };
}

/** The median of a list of numbers (0 for none). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** The machine's load averages (1, 5, 15 minutes), for the report: a shared machine's load moves req/s. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/**
 * CPU time (user + system, µs) a process has used, from /proc (Linux; clock ticks of 10 ms). Unlike req/s
 * it hardly depends on what else the machine runs, so it tells where a ratio would be on a quiet one.
 */
export function cpuTime(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
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

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
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

/** Stops a child and waits for it to be gone. */
export async function stop(t: { child: ChildProcess }): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  const gone = new Promise((r) => t.child.once('exit', r));
  t.child.kill('SIGTERM');
  await gone;
}

/** The Basic authorization header for `user:secret`. */
export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}
