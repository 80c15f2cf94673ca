import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, ensureBuilt, type HttpAnswer, parseAnswer, type ServeProcess } from '../helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

const envs: CliEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.cleanup()));
});

/** Resolves true when a TCP connection to the port is refused, false when it is accepted. */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      res(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => res(err.code === 'ECONNREFUSED'));
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/**
 * Starts a request whose headers and first half of the body are sent now; the server has taken it in
 * (it is in flight) but cannot answer until `finish()` sends the rest.
 */
function halfSentRequest(s: ServeProcess, path: string, auth: string, params: Record<string, string>) {
  const body = Buffer.from(new URLSearchParams(params).toString());
  const half = Math.floor(body.length / 2);
  const request = s.scheme === 'https' ? httpsRequest : httpRequest;
  let finish!: () => void;
  const answer = new Promise<HttpAnswer>((res, rej) => {
    const req = request(
      {
        ...s.requestOptions(),
        method: 'POST',
        path,
        headers: {
          authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(body.length),
        },
      },
      (r) => {
        let text = '';
        r.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        r.on('end', () => res(parseAnswer(r.statusCode ?? 0, r.headers, text)));
      },
    );
    req.on('error', rej);
    req.write(body.subarray(0, half));
    finish = () => req.end(body.subarray(half));
  });
  return { answer, finish: () => finish() };
}

async function shutdownWhileInFlight(signal: 'SIGTERM' | 'SIGINT', tls: boolean): Promise<void> {
  const e = await CliEnv.create();
  envs.push(e);
  await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
  const s = await e.serve(tls ? [] : ['--no-tls']);
  expect(s.scheme).toBe(tls ? 'https' : 'http');
  const admin = 'admin:Admin-Pass-1234';

  // An idle keep-alive connection must not hold the shutdown up.
  const agent = tls
    ? new HttpsAgent({ keepAlive: true, ca: s.requestOptions().ca })
    : new HttpAgent({ keepAlive: true });
  const warm = await new Promise<number>((res, rej) => {
    const request = tls ? httpsRequest : httpRequest;
    const req = request(
      {
        host: s.host(),
        port: s.port(),
        agent,
        path: '/CMD_API_LOGIN_TEST',
        headers: { authorization: `Basic ${Buffer.from(admin).toString('base64')}` },
      },
      (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode ?? 0));
      },
    );
    req.on('error', rej);
    req.end();
  });
  expect(warm).toBe(200);

  // A user creation whose body is half sent when the signal arrives.
  const inflight = halfSentRequest(s, '/CMD_API_ACCOUNT_USER', admin, {
    action: 'create',
    add: 'Submit',
    username: 'late',
    email: 'late@example.com',
    passwd: 'Late-Pass-123',
    passwd2: 'Late-Pass-123',
    domain: 'late.example.com',
    package: 'default',
    ip: 'shared',
    notify: 'no',
  });
  // Let the server read the headers: from then on the request is in flight.
  await new Promise((r) => setTimeout(r, 300));

  s.child.kill(signal);
  await s.waitFor(new RegExp(`${signal} received`));

  // New connections are refused on every listener while the request is still open…
  for (const name of ['da', 'cpanel', 'webmail', 'whm'] as const)
    expect(await eventually(() => refused(s.host(name), s.port(name))), name).toBe(true);
  expect(s.running).toBe(true);

  // …and the request in flight is answered in full, then the process ends cleanly.
  inflight.finish();
  const answer = await inflight.answer;
  expect(answer.status).toBe(200);
  expect(answer.pairs.error, answer.body).toBe('0');
  const started = Date.now();
  expect(await s.exited).toEqual({ code: 0, signal: null });
  // Well inside the grace period (10 s): the idle keep-alive connection was closed, not waited for.
  expect(Date.now() - started).toBeLessThan(5000);
  expect(s.stdout).toMatch(/hostdeck: stopped\n/);
  expect(s.stderr).not.toMatch(/^\s+at /m);
  agent.destroy();

  // The write was committed before the database was closed.
  const list = await e.ok(['user', 'list']);
  expect(list.stdout).toMatch(/^late\tuser\tadmin\tlate\.example\.com\t/m);
}

describe('graceful shutdown', { timeout: 60_000 }, () => {
  it('SIGTERM: stops accepting, finishes the request in flight, closes the database, exits 0', async () => {
    await shutdownWhileInFlight('SIGTERM', true);
  });

  it('SIGINT: the same', async () => {
    await shutdownWhileInFlight('SIGINT', false);
  });

  it('a server with nothing in flight stops at once', async () => {
    const e = await CliEnv.create();
    envs.push(e);
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const s = await e.serve();
    const t = Date.now();
    expect(await s.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - t).toBeLessThan(3000);
    expect(s.stdout).toMatch(/SIGTERM received, finishing in-flight requests\n/);
    expect(s.stdout).toMatch(/hostdeck: stopped\n/);
  });

  it('a request still unfinished when the grace period ends does not keep the process alive', async () => {
    const e = await CliEnv.create();
    envs.push(e);
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const s = await e.serve(['--no-tls'], { env: { HOSTDECK_SHUTDOWN_GRACE_SECONDS: '1' } });
    const stuck = halfSentRequest(s, '/CMD_API_LOGIN_TEST', 'admin:Admin-Pass-1234', { a: 'b'.repeat(100) });
    stuck.answer.catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect(exit.code).toBe(1);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(s.stderr).toMatch(/^hostdeck: shutdown grace period over, exiting\n$/m);
  });

  it('a second signal while waiting exits at once', async () => {
    const e = await CliEnv.create();
    envs.push(e);
    await e.ok(['init', '--admin-password', 'Admin-Pass-1234']);
    const s = await e.serve(['--no-tls']);
    const stuck = halfSentRequest(s, '/CMD_API_LOGIN_TEST', 'admin:Admin-Pass-1234', { a: 'b'.repeat(100) });
    stuck.answer.catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    await s.waitFor(/SIGTERM received/);
    const t = Date.now();
    s.child.kill('SIGINT');
    expect((await s.exited).code).toBe(1);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(s.stderr).toBe('hostdeck: second SIGINT, exiting without waiting\n');
  });
});
