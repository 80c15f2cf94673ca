import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { TEST_DB, TEST_PG_URL } from './services.js';

/** The repository root (this file is test/helpers/cli.ts). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin', 'hostdeck.js');
const DIST_ENTRY = join(ROOT, 'dist', 'cli', 'index.js');
const LOCK = join(ROOT, 'node_modules', '.cache', 'hostdeck-cli-build.lock');
const CHECKED = join(ROOT, 'node_modules', '.cache', 'hostdeck-cli-build.checked');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const m = e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isStale(): boolean {
  if (!existsSync(DIST_ENTRY)) return true;
  const built = statSync(DIST_ENTRY).mtimeMs;
  return (
    newestMtime(join(ROOT, 'src')) > built ||
    statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs > built ||
    statSync(join(ROOT, 'tsconfig.json')).mtimeMs > built
  );
}

/**
 * Builds dist/ (what `bin/hostdeck.js` runs) when it is missing or older than any source file. Several
 * test files may ask at once (vitest forks): a lock directory lets one build while the others wait, then
 * they find dist fresh. The check is made once per test run (the forks share vitest's process as their
 * parent): a rebuild while another file's CLI processes start could hand them half-written modules. A
 * type error elsewhere in the tree does not stop tsc from emitting, so it is reported as a warning; the
 * CLI tests then exercise what was emitted.
 */
export function ensureBuilt(): void {
  const run = String(process.ppid);
  const checkedThisRun = (): boolean => {
    try {
      return readFileSync(CHECKED, 'utf8') === run;
    } catch {
      return false;
    }
  };
  if (checkedThisRun()) return;
  mkdirSync(dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than three minutes belongs to a run that died.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${LOCK}`);
      sleepSync(200);
    }
  }
  try {
    if (!checkedThisRun() && isStale()) {
      const started = Date.now();
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      if (!existsSync(DIST_ENTRY) || statSync(DIST_ENTRY).mtimeMs < started - 2000)
        throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
      if (r.status !== 0)
        console.warn(`tsc reported errors (dist was emitted anyway):\n${r.stdout}${r.stderr}`);
    }
    writeFileSync(CHECKED, run);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** The environment every spawned CLI starts from: the caller's, minus anything that would choose its settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('HOSTDECK_') && k !== 'DATABASE_URL' && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `node bin/hostdeck.js ARGS` to completion. */
export function runHostdeck(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...baseEnv(), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`hostdeck ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The four listeners on loopback port 0: serve prints the ports it got. */
export const EPHEMERAL_LISTEN_FLAGS = [
  '--da-listen',
  '127.0.0.1:0',
  '--cpanel-listen',
  '127.0.0.1:0',
  '--webmail-listen',
  '127.0.0.1:0',
  '--whm-listen',
  '127.0.0.1:0',
];

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The url-encoded body as pairs (last value per key). */
  pairs: Record<string, string>;
  /** Every `list[]` value. */
  list: string[];
}

export function parseAnswer(status: number, headers: IncomingHttpHeaders, body: string): HttpAnswer {
  const pairs: Record<string, string> = {};
  const list: string[] = [];
  if (body.includes('=') && !body.trimStart().startsWith('{'))
    for (const part of body.split('&')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const k = decodeURIComponent(part.slice(0, eq));
      const v = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      if (k === 'list[]') list.push(v);
      else pairs[k] = v;
    }
  return { status, headers, body, pairs, list };
}

export interface ApiCall {
  method?: string;
  /** `user:password` for Basic auth. */
  auth?: string;
  /** url-encoded POST body (or query for GET). */
  params?: Record<string, string>;
}

/** A running `hostdeck serve`. */
export class ServeProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `host:port` of each listener, as printed by serve. */
  addresses: Record<'da' | 'cpanel' | 'webmail' | 'whm', string> = {
    da: '',
    cpanel: '',
    webmail: '',
    whm: '',
  };
  scheme: 'http' | 'https' = 'https';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly child: ChildProcess,
    private readonly ca: () => string,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((res) => {
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        res({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Waits until stdout matches (or the process ends, or time runs out). */
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (!this.running)
        throw new Error(
          `serve exited (${JSON.stringify(this.exitInfo)}) before printing ${re}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      if (Date.now() > deadline)
        throw new Error(`serve did not print ${re} in time\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits for the "listening" lines and records the real addresses. */
  async ready(): Promise<this> {
    const da = await this.waitFor(/DirectAdmin API on (https?):\/\/(\S+)\n/);
    const others = await this.waitFor(/cPanel (\S+), webmail (\S+), WHM (\S+)\n/);
    this.scheme = da[1] as 'http' | 'https';
    this.addresses = {
      da: da[2] ?? '',
      cpanel: others[1] ?? '',
      webmail: others[2] ?? '',
      whm: others[3] ?? '',
    };
    return this;
  }

  port(name: keyof ServeProcess['addresses'] = 'da'): number {
    return Number(this.addresses[name].split(':').pop());
  }

  host(name: keyof ServeProcess['addresses'] = 'da'): string {
    return this.addresses[name].replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  }

  /** Options for node:http(s).request against a listener; HTTPS trusts exactly the generated certificate. */
  requestOptions(name: keyof ServeProcess['addresses'] = 'da') {
    return {
      host: this.host(name),
      port: this.port(name),
      agent: false as const,
      // The generated certificate names 127.0.0.1, ::1 and localhost: other loopback addresses are
      // checked against the name instead.
      ...(this.scheme === 'https'
        ? {
            ca: this.ca(),
            ...(['127.0.0.1', '::1'].includes(this.host(name)) ? {} : { servername: 'localhost' }),
          }
        : {}),
    };
  }

  /** One DA API request over a fresh connection. */
  call(path: string, opts: ApiCall = {}): Promise<HttpAnswer> {
    const method = opts.method ?? (opts.params ? 'POST' : 'GET');
    const enc = opts.params ? new URLSearchParams(opts.params).toString() : '';
    const headers: Record<string, string> = {};
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    let fullPath = path;
    if (enc && method === 'GET') fullPath += `?${enc}`;
    else if (enc) headers['content-type'] = 'application/x-www-form-urlencoded';
    const request = this.scheme === 'https' ? httpsRequest : httpRequest;
    return new Promise((res, rej) => {
      const req = request({ ...this.requestOptions(), path: fullPath, method, headers }, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        r.on('end', () => res(parseAnswer(r.statusCode ?? 0, r.headers, body)));
      });
      req.on('error', rej);
      req.end(method === 'GET' ? undefined : enc);
    });
  }

  /** Sends a signal and waits for the exit. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 20_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A fresh installation for CLI tests: a temporary data directory and, with HOSTDECK_TEST_DB=postgres, a
 * PostgreSQL database of its own (created here, dropped by cleanup) named by DATABASE_URL for every
 * command, exactly as an operator would point the CLI and the server at one.
 */
export class CliEnv {
  /** The temporary directory holding the data directory (and anything else a test wants to put there). */
  readonly root: string;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  private readonly pgDatabase: string | undefined;
  private readonly serves: ServeProcess[] = [];

  private constructor(root: string, pgDatabase: string | undefined) {
    this.root = root;
    this.dataDir = join(root, 'data');
    this.pgDatabase = pgDatabase;
    this.env = {};
    if (pgDatabase) {
      const u = new URL(TEST_PG_URL);
      u.pathname = `/${pgDatabase}`;
      this.env.DATABASE_URL = u.toString();
    }
  }

  static async create(): Promise<CliEnv> {
    const root = mkdtempSync(join(tmpdir(), 'hostdeck-cli-'));
    let db: string | undefined;
    if (TEST_DB === 'postgres') {
      db = `hd_cli_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        await c.query(`create database ${db}`);
      } finally {
        await c.end();
      }
    }
    return new CliEnv(root, db);
  }

  get isPostgres(): boolean {
    return this.pgDatabase !== undefined;
  }

  /** `hostdeck ARGS --data-dir <dataDir>` with this installation's environment. */
  run(args: string[], opts: RunOptions = {}): Promise<CliResult> {
    return runHostdeck([...args, '--data-dir', this.dataDir], { ...opts, env: { ...this.env, ...opts.env } });
  }

  /** Like run, but failing the test unless the command exits 0. */
  async ok(args: string[], opts: RunOptions = {}): Promise<CliResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0)
      throw new Error(
        `hostdeck ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
      );
    return r;
  }

  /** Starts `hostdeck serve` (with --data-dir unless `dataDirFlag` is false) and waits until it listens. */
  async serve(
    args: string[] = [],
    opts: {
      env?: Record<string, string | undefined>;
      dataDirFlag?: boolean;
      listen?: boolean;
      wait?: boolean;
      /** Run this command line instead of `node bin/hostdeck.js serve …` (args are then ignored). */
      command?: string[];
    } = {},
  ): Promise<ServeProcess> {
    const argv = opts.command ?? [
      process.execPath,
      BIN,
      'serve',
      ...(opts.listen === false ? [] : EPHEMERAL_LISTEN_FLAGS),
      ...args,
      ...(opts.dataDirFlag === false ? [] : ['--data-dir', this.dataDir]),
    ];
    const child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
      cwd: ROOT,
      env: { ...baseEnv(), ...this.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = new ServeProcess(child, () => readFileSync(join(this.dataDir, 'tls', 'cert.pem'), 'utf8'));
    this.serves.push(s);
    if (opts.wait === false) return s;
    return s.ready();
  }

  /** Stops every server still running, drops the PostgreSQL database and removes the directory. */
  async cleanup(): Promise<void> {
    await Promise.all(this.serves.map((s) => s.stop('SIGKILL')));
    if (this.pgDatabase) {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${this.pgDatabase} with (force)`);
      } finally {
        await c.end();
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The admin password line that init (or a first serve) prints once. */
export const ADMIN_PASSWORD_LINE = /admin password \(shown once, store it now\): (\S+)/g;

/** Asserts-friendly view of a one-line failure: the lines of stderr and whether any looks like a stack frame. */
export function errorShape(r: CliResult): { code: number | null; lines: string[]; stack: boolean } {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  return { code: r.code, lines, stack: /^\s+at /m.test(r.stderr) || /^\s+at /m.test(r.stdout) };
}
