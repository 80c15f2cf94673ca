/**
 * Concurrency tests against real servers: an HTTP client that really puts N requests in flight at once
 * (one keep-alive socket each, opened beforehand), and a multi-node installation: one fresh PostgreSQL
 * database shared by several `hostdeck serve` processes, as nodes behind a load balancer would share it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { BIN, EPHEMERAL_LISTEN_FLAGS, ensureBuilt, ROOT, runHostdeck, ServeProcess } from './cli.js';
import { TEST_PG_URL } from './services.js';

/** One request as the load client sends it. */
export interface Shot {
  method?: 'GET' | 'POST';
  path: string;
  /** `user:secret` for Basic auth. */
  auth?: string;
  /** Query (GET) or url-encoded body (POST). */
  params?: Record<string, string>;
  headers?: Record<string, string>;
}

/** One answer, with when (performance.now(), this process) the request was started and answered. */
export interface Hit {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values in the order the server sent them. */
  rawHeaders: string[];
  body: string;
  started: number;
  answered: number;
  port: number;
}

/**
 * A keep-alive agent that never queues: every request in flight has a socket of its own, and up to
 * `sockets` idle sockets are kept for the next burst.
 */
export function loadAgent(sockets = 2_000): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' });
}

/** Sends one request through `agent` to 127.0.0.1:`port`. Transport errors reject (never retried). */
export function send(agent: Agent | false, port: number, shot: Shot): Promise<Hit> {
  const method = shot.method ?? 'GET';
  const headers: Record<string, string> = { ...shot.headers };
  let path = shot.path;
  let body: string | undefined;
  if (shot.params) {
    const enc = new URLSearchParams(shot.params).toString();
    if (method === 'GET') path += (path.includes('?') ? '&' : '?') + enc;
    else {
      body = enc;
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
  }
  if (shot.auth) headers.authorization = `Basic ${Buffer.from(shot.auth).toString('base64')}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
          started,
          answered: performance.now(),
          port,
        }),
      );
    });
    req.on('error', (e) => reject(new Error(`request to port ${port} ${shot.path} failed: ${e.message}`)));
    req.end(body);
  });
}

/**
 * Opens (or re-validates) `n` keep-alive sockets to each port with as many concurrent `GET /` (the
 * login page: no authentication, no database), so that a burst that follows finds a socket per
 * request and its requests reach the server together rather than one TCP handshake at a time.
 */
export async function warm(agent: Agent, ports: number[], n: number): Promise<void> {
  // Only opens sockets: a connection the loaded machine reset while a thousand were being opened at
  // once is opened again (once); the burst itself never retries.
  const open = (port: number) =>
    send(agent, port, { path: '/' }).catch(() => send(agent, port, { path: '/' }));
  await Promise.all(ports.flatMap((port) => Array.from({ length: n }, () => open(port))));
}

/**
 * Fires `n` copies of `shot` at once, spread round-robin over `ports`, and waits for every answer. The
 * sockets are warmed first (n per port is more than needed, so none has to be opened mid-burst).
 */
export async function burst(agent: Agent, ports: number[], n: number, shot: Shot): Promise<Hit[]> {
  await warm(agent, ports, Math.ceil(n / ports.length));
  return Promise.all(
    Array.from({ length: n }, (_, i) => send(agent, ports[i % ports.length] as number, shot)),
  );
}

/** How many answers had each status, e.g. { 200: 100, 401: 900 }. */
export function tally(hits: Hit[]): Record<number, number> {
  const t: Record<number, number> = {};
  for (const h of hits) t[h.status] = (t[h.status] ?? 0) + 1;
  return t;
}

/** Parses a DA url-encoded answer (last value per key; `list[]` values collected). */
export function pairsOf(body: string): { pairs: Record<string, string>; list: string[] } {
  const pairs: Record<string, string> = {};
  const list: string[] = [];
  if (!body.includes('=') || body.trimStart().startsWith('<')) return { pairs, list };
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = decodeURIComponent(part.slice(0, eq));
    const v = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    if (k === 'list[]') list.push(v);
    else pairs[k] = v;
  }
  return { pairs, list };
}

/** Runs one statement on a PostgreSQL database named by `url`, with a connection of its own. */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

export interface MultiServer {
  store: 'postgres' | 'sqlite';
  /** DATABASE_URL of the shared database. */
  databaseUrl: string;
  /** The admin password given to `hostdeck init`. */
  adminPassword: string;
  /** The running `hostdeck serve` processes. */
  nodes: ServeProcess[];
  /** DA API port of every node. */
  ports: number[];
  /** Reads the shared database directly (`?` placeholders, on either store). */
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** Stops every node, drops the database and removes the data directories. */
  close(): Promise<void>;
}

export interface MultiServerOptions {
  nodes?: number;
  /**
   * `postgres` (default): a database of its own on the test server. `sqlite`: one SQLite file outside
   * every node's data directory, as several processes on one machine would share it.
   */
  store?: 'postgres' | 'sqlite';
  /** Extra environment for init and every node (HOSTDECK_* settings). */
  env?: Record<string, string>;
}

/**
 * A fresh database shared by `nodes` server processes: on PostgreSQL a new database (CREATE DATABASE
 * through `pg`, dropped by close). `hostdeck init` is run once against it, then `nodes` × `node
 * bin/hostdeck.js serve --no-tls` listen on 127.0.0.1 port 0 with DATABASE_URL pointing at it. Each node
 * has a data directory of its own, as separate machines would; they share the installation secret
 * through HOSTDECK_SECRET (the documented way), since stored key digests are keyed with it. The built
 * CLI is used, rebuilt first when dist/ is missing or stale (ensureBuilt, as the CLI tests do).
 */
export async function startMultiServer(opts: MultiServerOptions = {}): Promise<MultiServer> {
  ensureBuilt();
  const count = opts.nodes ?? 2;
  const store = opts.store ?? 'postgres';
  const root = mkdtempSync(join(tmpdir(), 'hostdeck-multi-'));
  const dbName = `hd_multi_${process.pid}_${randomBytes(4).toString('hex')}`;
  let databaseUrl: string;
  if (store === 'postgres') {
    await pgQuery(TEST_PG_URL, `create database ${dbName}`);
    const u = new URL(TEST_PG_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  } else databaseUrl = `sqlite:${join(root, 'shared', 'hostdeck.sqlite')}`;
  const adminPassword = `Multi-Admin-${randomBytes(6).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    HOSTDECK_SECRET: randomBytes(32).toString('hex'),
    HOSTDECK_HOSTNAME: 'multi.example.net',
    ...opts.env,
  };
  const nodes: ServeProcess[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    if (store === 'postgres') await pgQuery(TEST_PG_URL, `drop database if exists ${dbName} with (force)`);
    rmSync(root, { recursive: true, force: true });
  };
  const query = async <R>(text: string, values: unknown[] = []): Promise<R[]> => {
    if (store === 'postgres') {
      let n = 0;
      return (await pgQuery(
        databaseUrl,
        text.replace(/\?/g, () => `$${++n}`),
        values,
      )) as R[];
    }
    const db = new SQLite(databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      db.pragma('busy_timeout = 5000');
      return db.prepare(text).all(...values) as R[];
    } finally {
      db.close();
    }
  };
  try {
    const init = await runHostdeck(
      ['init', '--data-dir', join(root, 'node0'), '--admin-password', adminPassword],
      { env: { ...env, HOSTDECK_TLS: 'off' }, timeoutMs: 60_000 },
    );
    if (init.code !== 0) throw new Error(`hostdeck init exited ${init.code}\n${init.stdout}${init.stderr}`);
    for (let i = 0; i < count; i++) {
      const child = spawn(
        process.execPath,
        [BIN, 'serve', '--no-tls', ...EPHEMERAL_LISTEN_FLAGS, '--data-dir', join(root, `node${i}`)],
        { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      nodes.push(
        new ServeProcess(child, () => {
          throw new Error('the nodes serve plain HTTP');
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.ready()));
  } catch (e) {
    await close();
    throw e;
  }
  return { store, databaseUrl, adminPassword, nodes, ports: nodes.map((n) => n.port()), query, close };
}

/** The test process's environment without anything that would choose a node's settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('HOSTDECK_') && k !== 'DATABASE_URL' && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}
