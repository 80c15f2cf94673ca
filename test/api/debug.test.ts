import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import { type Answer, type CallOptions, rawCall } from '../helpers/server.js';
import { ADMIN_PASSWORD, createTestEnv } from '../helpers/services.js';

/** A DA listener whose logger writes to memory, so a test can read exactly what debug mode printed. */
interface DebugServer {
  port: number;
  /** Every log line so far, as written (JSON text). */
  lines: string[];
  /** Parsed log lines carrying a `debug` field. */
  debugLines(): Record<string, unknown>[];
  call(path: string, opts?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

const ADMIN = `admin:${ADMIN_PASSWORD}`;

/** A DA listener on a fresh installation (createTestEnv) whose log lines are kept in memory. */
async function startDebugServer(settings: Record<string, unknown>): Promise<DebugServer> {
  const lines: string[] = [];
  const env = await createTestEnv({ settings, logLines: lines });
  const app = buildApps(env.services, null).da;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    lines,
    debugLines: () =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.debug !== undefined),
    call: (path, o) => rawCall(port, path, o),
    async close() {
      await app.close();
      await env.close();
    },
  };
}

function rawSocket(port: number, request: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: '127.0.0.1', port });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
    sock.write(request);
  });
}

function basic(auth: string): string {
  return `Basic ${Buffer.from(auth).toString('base64')}`;
}

// Every secret a request below carries. None may appear in any log line, whatever the level.
const SECRETS = {
  adminPassword: ADMIN_PASSWORD,
  adminAuthHeader: Buffer.from(ADMIN).toString('base64'),
  newPassword: 'Dbg-NewUser-Secret-7781',
  queryPassword: 'Dbg-Query-Secret-4410',
  wrongPassword: 'Dbg-Wrong-Guess-9902',
  unknownUserPassword: 'Dbg-Unknown-Guess-5531',
  loginKey: 'DbgLoginKeyValue0123456789abcdefABCDEF',
  token: 'dbg-token-6c1f0e9a77',
  nestedPassword: 'Dbg-Nested-Secret-3307',
  refusedAuthPassword: 'Dbg-Refused-Request-1180',
  bigBodyPassword: 'Dbg-BigBody-Secret-2290',
  privateKey: 'MIIEvDbgPrivateKeyMaterialQwErTy',
} as const;

/**
 * Sends requests that carry every kind of secret: Basic passwords (good, wrong, for an unknown user),
 * `passwd`/`passwd2` in a body and in a query, `key` and `token` parameters, a JSON body with a nested
 * password and a private key, a failing request that names them, and requests refused before any route
 * runs (bad method, unparseable request line, oversized body).
 */
async function sendSecretTraffic(s: DebugServer): Promise<void> {
  const ok = await s.call('/CMD_API_ACCOUNT_USER', {
    method: 'POST',
    auth: ADMIN,
    params: {
      action: 'create',
      username: 'dbguser',
      email: 'dbguser@example.com',
      passwd: SECRETS.newPassword,
      passwd2: SECRETS.newPassword,
      domain: 'dbguser.example.com',
      package: 'default',
      ip: 'shared',
      notify: 'no',
    },
  });
  expect(ok.pairs.error).toBe('0');
  const differ = await s.call(`/CMD_API_USER_PASSWD?passwd=${SECRETS.queryPassword}`, {
    method: 'POST',
    auth: ADMIN,
    params: { username: 'dbguser', passwd2: `${SECRETS.queryPassword}x` },
  });
  expect(differ.pairs.error).toBe('1');
  await s.call(`/CMD_API_LOGIN_TEST?key=${SECRETS.loginKey}&token=${SECRETS.token}`, { auth: ADMIN });
  await s.call('/CMD_API_SHOW_USER_CONFIG', {
    method: 'POST',
    auth: ADMIN,
    body: JSON.stringify({
      user: 'dbguser',
      json: 'yes',
      options: { passwd: SECRETS.nestedPassword },
      certificate: `-----BEGIN PRIVATE KEY-----\n${SECRETS.privateKey}\n-----END PRIVATE KEY-----\n`,
    }),
    headers: { 'content-type': 'application/json' },
  });
  expect((await s.call('/CMD_API_LOGIN_TEST', { auth: `dbguser:${SECRETS.wrongPassword}` })).status).toBe(
    401,
  );
  expect(
    (await s.call('/CMD_API_LOGIN_TEST', { auth: `nobody:${SECRETS.unknownUserPassword}` })).status,
  ).toBe(401);
  expect((await s.call('/CMD_API_LOGIN_TEST', { auth: `dbguser:${SECRETS.newPassword}` })).pairs.error).toBe(
    '0',
  );
  await s.call(`/CMD_API_LOGIN_TEST?passwd=${SECRETS.queryPassword}`, { method: 'PUT', auth: ADMIN });
  await rawSocket(
    s.port,
    Buffer.concat([
      Buffer.from(`GET /CMD_API_LOGIN_TEST?passwd=${SECRETS.queryPassword}&x=`),
      Buffer.from([0xff]),
      Buffer.from(
        ` HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(`admin:${SECRETS.refusedAuthPassword}`)}\r\nConnection: close\r\n\r\n`,
      ),
    ]),
  );
  const big = await s.call(`/CMD_API_LOGIN_TEST?passwd=${SECRETS.bigBodyPassword}`, {
    method: 'POST',
    auth: ADMIN,
    body: `passwd=${SECRETS.bigBodyPassword}&pad=${'a'.repeat((1 << 20) + 1)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(big.status).toBe(413);
}

function expectNoSecrets(lines: string[]): void {
  const text = lines.join('');
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(text.includes(value), `${name} appears in the log`).toBe(false);
    expect(text.includes(encodeURIComponent(value)), `${name} (url-encoded) appears in the log`).toBe(false);
  }
  for (const pw of [SECRETS.refusedAuthPassword, SECRETS.wrongPassword])
    expect(text.includes(Buffer.from(`admin:${pw}`).toString('base64'))).toBe(false);
  expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  expect(text.toLowerCase()).not.toContain('"authorization"');
}

describe('DA debug mode', () => {
  let s: DebugServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('is silent at level 0', async () => {
    s = await startDebugServer({});
    await s.call('/CMD_API_LOGIN_TEST', { auth: ADMIN });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-one' });
    expect(s.debugLines()).toEqual([]);
  });

  it('188 logs request lines only: no parameters, no answers, no login reasons', async () => {
    s = await startDebugServer({ debug: 188 });
    await s.call('/CMD_API_SHOW_USER_CONFIG?user=admin&marker=visible-only-above-188', { auth: ADMIN });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-one' });
    // Requests refused before a command runs still get their line, with the status they got.
    await s.call('/CMD_API_LOGIN_TEST?marker=visible-only-above-188', { method: 'PUT', auth: ADMIN });
    await s.call('/CMD_API_LOGIN_TEST', {
      method: 'POST',
      auth: ADMIN,
      body: `marker=visible-only-above-188&pad=${'a'.repeat(1 << 20)}`,
    });
    const d = s.debugLines();
    expect(d.map((l) => l.debug)).toEqual(['request', 'request', 'request', 'request']);
    expect(d[0]).toMatchObject({ method: 'GET', cmd: 'CMD_API_SHOW_USER_CONFIG', ip: '127.0.0.1' });
    expect(d[0]?.status).toBeUndefined();
    expect(d[1]).toMatchObject({ method: 'GET', cmd: 'CMD_API_LOGIN_TEST' });
    expect(d[2]).toMatchObject({ method: 'PUT', cmd: 'CMD_API_LOGIN_TEST', status: 405 });
    expect(d[3]).toMatchObject({ method: 'POST', cmd: 'CMD_API_LOGIN_TEST', status: 413 });
    const text = s.lines.join('');
    expect(text).not.toContain('visible-only-above-188');
    expect(text).not.toContain('usertype');
    expect(text).not.toContain('Login OK');
    expect(text).not.toContain('bad_password');
  });

  it('1000 adds parsed parameters and answers, but not why a login was refused', async () => {
    s = await startDebugServer({ debug: 1000 });
    await s.call('/CMD_API_SHOW_USER_CONFIG?user=admin&marker=m1000', {
      method: 'POST',
      auth: ADMIN,
      body: 'tag=from-body&tag=again',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await s.call('/CMD_API_NOT_A_THING', { auth: ADMIN });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-one' });
    const d = s.debugLines();
    expect(d.map((l) => l.debug)).toEqual([
      'request',
      'params',
      'answer',
      'request',
      'params',
      'answer',
      'request',
    ]);
    expect(d[1]).toMatchObject({
      cmd: 'CMD_API_SHOW_USER_CONFIG',
      params: { user: 'admin', marker: 'm1000', tag: ['from-body', 'again'] },
    });
    expect(String(d[2]?.body)).toContain('usertype=admin');
    expect(d[5]).toMatchObject({ error: 'UNKNOWN_COMMAND' });
    expect(s.lines.join('')).not.toContain('bad_password');
  });

  it('2000 adds why a login was refused', async () => {
    s = await startDebugServer({ debug: 2000, bfmAccountThreshold: 2, bfmIpThreshold: 1000 });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'nobody:whatever1' });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-one' });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-two' });
    await s.call('/CMD_API_LOGIN_TEST', { auth: ADMIN }); // the account is blocked by now
    await s.call('/CMD_API_LOGIN_TEST', { headers: { authorization: 'Basic %%%' } });
    await s.call('/CMD_API_LOGIN_TEST');
    const reasons = s.debugLines().filter((l) => l.debug === 'auth');
    expect(reasons.map((l) => l.reason)).toEqual([
      'unknown_user',
      'bad_password',
      'bad_password',
      'blocked',
      'malformed',
      'no_credentials',
    ]);
    expect(reasons[0]).toMatchObject({ user: 'nobody', cmd: 'CMD_API_LOGIN_TEST', ip: '127.0.0.1' });
    expect(reasons[1]).toMatchObject({ user: 'admin' });
  });

  it('debugOnlyCmd limits the output to one command, under either of its names', async () => {
    s = await startDebugServer({ debug: 2000, debugOnlyCmd: 'CMD_API_SHOW_USER_CONFIG' });
    await s.call('/CMD_API_LOGIN_TEST', { auth: ADMIN });
    await s.call('/CMD_API_LOGIN_TEST', { auth: 'admin:wrong-one' });
    await s.call('/CMD_API_SHOW_ALL_USERS', { auth: ADMIN });
    await s.call('/CMD_API_SHOW_USER_CONFIG?user=admin', { auth: ADMIN });
    await s.call('/CMD_SHOW_USER_CONFIG?user=admin', { auth: ADMIN });
    await s.call('/CMD_API_SHOW_USER_CONFIG', { auth: 'admin:wrong-two' });
    const d = s.debugLines();
    expect(new Set(d.map((l) => l.cmd))).toEqual(
      new Set(['CMD_API_SHOW_USER_CONFIG', 'CMD_SHOW_USER_CONFIG']),
    );
    expect(d.map((l) => l.debug)).toEqual([
      'request',
      'params',
      'answer',
      'request',
      'params',
      'answer',
      'request',
      'auth',
    ]);
  });

  for (const level of [188, 1000, 2000, 100000])
    it(`never logs a password, key, token or the Authorization header (level ${level})`, async () => {
      s = await startDebugServer({ debug: level, bfmIpThreshold: 1000, bfmAccountThreshold: 1000 });
      await sendSecretTraffic(s);
      const d = s.debugLines();
      expect(d.length).toBeGreaterThan(5);
      if (level >= 1000) {
        // The parameters are there, with the secret ones hidden rather than dropped.
        const created = d.find((l) => l.debug === 'params' && l.cmd === 'CMD_API_ACCOUNT_USER');
        expect(created?.params).toMatchObject({
          username: 'dbguser',
          passwd: '[redacted]',
          passwd2: '[redacted]',
        });
      }
      expectNoSecrets(s.lines);
    });
});
