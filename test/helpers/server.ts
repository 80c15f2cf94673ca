import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildApps } from '../../src/app.js';
import { ADMIN_PASSWORD, createTestEnv, type TestEnv, type TestEnvOptions } from './services.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as url-encoded pairs (last value per key). */
  pairs: Record<string, string>;
  /** Every `list[]` value of a url-encoded body. */
  list: string[];
  json(): unknown;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | string;
  /** `user:secret` for Basic auth; omit for none. */
  auth?: string;
  /** Parameters for the query (GET) or a url-encoded body (POST). */
  params?: Record<string, string>;
  /** A raw body (sent as is). */
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestServer extends TestEnv {
  url: string;
  port: number;
  app: FastifyInstance;
  /** Calls the DA API over real HTTP on loopback. */
  call(path: string, opts?: CallOptions): Promise<Answer>;
  /** Shortcut: a DA command as the admin with url-encoded POST parameters. */
  admin(path: string, params?: Record<string, string>): Promise<Answer>;
  /** The WHM API 1 listener's loopback port (0 unless started with `whm: true`). */
  whmPort: number;
}

export interface TestServerOptions extends TestEnvOptions {
  /** Also start the WHM API 1 listener (its port in `whmPort`). */
  whm?: boolean;
}

function parsePairs(body: string): { pairs: Record<string, string>; list: string[] } {
  const pairs: Record<string, string> = {};
  const list: string[] = [];
  if (!body.includes('=')) return { pairs, list };
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

/** Sends one HTTP request with node:http (no client-side normalisation of what we send). */
export function rawCall(port: number, path: string, opts: CallOptions = {}): Promise<Answer> {
  const method = opts.method ?? (opts.params || opts.body ? 'POST' : 'GET');
  let body: string | Buffer | undefined = opts.body;
  let fullPath = path;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.params) {
    const enc = new URLSearchParams(opts.params).toString();
    if (method === 'GET') fullPath += (path.includes('?') ? '&' : '?') + enc;
    else {
      body = enc;
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
  }
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: fullPath, method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const { pairs, list } = parsePairs(text);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            pairs,
            list,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** A test installation with the DA API listening on a loopback port (plain HTTP). */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const env = await createTestEnv(opts);
  const apps = buildApps(env.services, null);
  const app = apps.da;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let whmPort = 0;
  if (opts.whm) {
    await apps.whm.listen({ host: '127.0.0.1', port: 0 });
    const a = apps.whm.server.address();
    whmPort = typeof a === 'object' && a ? a.port : 0;
  }
  return {
    ...env,
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    call: (path, o) => rawCall(port, path, o),
    admin: (path, params) =>
      rawCall(port, path, { method: 'POST', auth: `admin:${ADMIN_PASSWORD}`, params: params ?? {} }),
    whmPort,
    async close() {
      await app.close();
      if (opts.whm) await apps.whm.close();
      await env.close();
    },
  };
}

/** Creates an account through the API as `creatorAuth` and fails the test on error=1. */
export async function createAccount(
  s: TestServer,
  level: 'user' | 'reseller' | 'admin',
  username: string,
  extra: Record<string, string> = {},
  creatorAuth = `admin:${ADMIN_PASSWORD}`,
): Promise<Answer> {
  const cmd =
    level === 'user'
      ? 'CMD_API_ACCOUNT_USER'
      : level === 'reseller'
        ? 'CMD_API_ACCOUNT_RESELLER'
        : 'CMD_API_ACCOUNT_ADMIN';
  const params: Record<string, string> = {
    action: 'create',
    add: 'Submit',
    username,
    email: `${username}@example.com`,
    passwd: `${username}-Pass-123`,
    passwd2: `${username}-Pass-123`,
    notify: 'no',
    ...(level === 'admin' ? {} : { domain: `${username}.example.com`, package: 'default', ip: 'shared' }),
    ...extra,
  };
  const r = await rawCall(s.port, `/${cmd}`, { method: 'POST', auth: creatorAuth, params });
  if (r.pairs.error !== '0') throw new Error(`creating ${username} failed: ${r.status} ${r.body}`);
  return r;
}

/** The Basic credential createAccount gives an account. */
export function authOf(username: string): string {
  return `${username}:${username}-Pass-123`;
}
