import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOf, createAccount, rawCall, startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD, snapshot } from '../helpers/services.js';

/** What came back on a raw socket: the bytes, and whether the server closed the connection itself. */
interface RawAnswer {
  raw: string;
  closed: boolean;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How many HTTP status lines the bytes hold (one request must get exactly one answer). */
  answers: number;
}

/**
 * Writes bytes as they are to a TCP connection and reads until the server closes it or `waitMs` passes.
 * node:http would normalise what we send (header case, framing), and some of these requests are ones
 * node:http refuses to write at all.
 */
function rawSocket(port: number, request: string | Buffer, waitMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const sock = connect({ host: '127.0.0.1', port });
    const finish = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = split >= 0 ? raw.slice(0, split) : raw;
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      resolve({
        raw,
        closed,
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0),
        headers,
        body: split >= 0 ? raw.slice(split + 4) : '',
        // A body has no CRLF after it, so a status line may follow the previous answer's last byte.
        answers: (raw.match(/HTTP\/1\.[01] \d{3} [A-Z]/g) ?? []).length,
      });
      sock.destroy();
    };
    const timer = setTimeout(finish, waitMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => {
      closed = true;
      finish();
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(request);
  });
}

function basic(auth: string): string {
  return `Basic ${Buffer.from(auth).toString('base64')}`;
}

const ADMIN = `admin:${ADMIN_PASSWORD}`;

/** Parses a url-encoded answer strictly, as certbot-dns-directadmin does (a stray token fails). */
function strictPairs(body: string): [string, string][] {
  return body.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`not a k=v pair: ${JSON.stringify(part)} in ${body}`);
    return [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))];
  });
}

function multipart(fields: [string, string | Buffer][]): { body: Buffer; type: string } {
  const boundary = '----hostdeckBoundary7MA4YWxkTrZu0gW';
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`));
    parts.push(typeof value === 'string' ? Buffer.from(value) : value);
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

describe('DA transport', () => {
  let s: TestServer;
  beforeAll(async () => {
    // Many refused logins come from 127.0.0.1 here; the brute-force monitor is tested elsewhere.
    s = await startTestServer({ settings: { bfmIpThreshold: 100_000, bfmAccountThreshold: 100_000 } });
    await createAccount(s, 'user', 'fred');
    await createAccount(s, 'user', 'barney');
  });
  afterAll(async () => s.close());

  async function configOf(user: string): Promise<Record<string, string>> {
    const r = await s.call('/CMD_API_SHOW_USER_CONFIG', { auth: ADMIN, params: { user } });
    expect(r.pairs.username).toBe(user);
    return r.pairs;
  }

  describe('where parameters come from', () => {
    it('reads the query string', async () => {
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG?user=fred', { auth: ADMIN });
      expect(r.status).toBe(200);
      expect(r.pairs.username).toBe('fred');
    });

    it('reads a url-encoded body', async () => {
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG', {
        method: 'POST',
        auth: ADMIN,
        body: 'user=fred',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.pairs.username).toBe('fred');
    });

    it('reads a JSON body declared as application/json', async () => {
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG', {
        method: 'POST',
        auth: ADMIN,
        body: JSON.stringify({ user: 'fred' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(r.pairs.username).toBe('fred');
    });

    it('reads a JSON body sent with no Content-Type', async () => {
      const body = JSON.stringify({ user: 'fred', json: 'yes' });
      const r = await rawSocket(
        s.port,
        `POST /CMD_API_SHOW_USER_CONFIG HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic(ADMIN)}\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(r.body)).toMatchObject({ username: 'fred' });
    });

    it('reads a url-encoded body labelled application/json (the Go SDK does this)', async () => {
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG', {
        method: 'POST',
        auth: ADMIN,
        body: 'user=fred&json=yes',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({ username: 'fred' });
    });

    it('refuses a broken JSON body labelled application/json, and changes nothing', async () => {
      const before = await snapshot(s.services);
      const r = await s.call('/CMD_API_SELECT_USERS', {
        method: 'POST',
        auth: ADMIN,
        body: '{"select0":"fred","dosuspend":',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      expect(r.pairs.error).toBe('1');
      expect(r.pairs.details).toMatch(/JSON/);
      expect(await snapshot(s.services)).toBe(before);
    });

    it('reads a multipart/form-data body', async () => {
      const m = multipart([
        ['user', 'fred'],
        ['json', 'yes'],
      ]);
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG', {
        method: 'POST',
        auth: ADMIN,
        body: m.body,
        headers: { 'content-type': m.type },
      });
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({ username: 'fred' });
    });

    it('merges the query with the body; the body wins on the same key', async () => {
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG?user=barney&json=yes', {
        method: 'POST',
        auth: ADMIN,
        body: 'user=fred',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json()).toMatchObject({ username: 'fred' });
    });

    it('keeps repeated keys: the last value of a single field, every value of a select list', async () => {
      const last = await s.call('/CMD_API_SHOW_USER_CONFIG?user=barney&user=fred', { auth: ADMIN });
      expect(last.pairs.username).toBe('fred');
      await createAccount(s, 'user', 'rep1');
      await createAccount(s, 'user', 'rep2');
      const r = await s.admin('/CMD_API_SELECT_USERS', { dosuspend: 'Suspend' });
      expect(r.pairs.error).toBe('1'); // nothing selected
      const both = await s.call('/CMD_API_SELECT_USERS?select0=rep1&select0=rep2&dosuspend=Suspend', {
        method: 'POST',
        auth: ADMIN,
      });
      expect(both.pairs.error).toBe('0');
      expect((await configOf('rep1')).suspended).toBe('yes');
      expect((await configOf('rep2')).suspended).toBe('yes');
    });

    it('takes select0/select5 lists with gaps (CMD_API_SELECT_USERS suspends both)', async () => {
      await createAccount(s, 'user', 'gap1');
      await createAccount(s, 'user', 'gap2');
      const r = await s.admin('/CMD_API_SELECT_USERS', {
        select0: 'gap1',
        select5: 'gap2',
        dosuspend: 'Suspend',
        reason: 'none',
      });
      expect(r.body).toMatch(/^error=0&/);
      expect((await configOf('gap1')).suspended).toBe('yes');
      expect((await configOf('gap2')).suspended).toBe('yes');
      expect((await configOf('fred')).suspended).toBe('no');
    });
  });

  describe('framing real clients send', () => {
    it('answers a POST with no body, no Content-Type and no Content-Length', async () => {
      const r = await rawSocket(
        s.port,
        `POST /CMD_API_SHOW_DOMAINS HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nAuthorization: ${basic(authOf('fred'))}\r\n` +
          'Connection: close\r\n\r\n',
      );
      expect(r.status).toBe(200);
      expect(r.body).toBe('list[]=fred.example.com');
    });

    it("answers an HTTP/1.0 request without keep-alive (DA's HTTPSocket) and closes the connection", async () => {
      const body = 'json=no';
      const r = await rawSocket(
        s.port,
        `POST /CMD_API_LOGIN_TEST HTTP/1.0\r\nHost: 127.0.0.1:${s.port}\r\nUser-Agent: HTTPSocket/2.7.2\r\n` +
          `Authorization: ${basic(ADMIN)}\r\nContent-type: application/x-www-form-urlencoded\r\n` +
          `Content-length: ${body.length}\r\n\r\n${body}`,
      );
      expect(r.status).toBe(200);
      expect(r.body).toBe('error=0&text=Login%20OK&details=');
      expect(r.closed).toBe(true);
      expect(r.answers).toBe(1);
    });

    it('answers an HTTP/1.0 body followed by CRLFs not counted in Content-Length', async () => {
      const body = 'user=fred';
      const r = await rawSocket(
        s.port,
        `POST /CMD_API_SHOW_USER_CONFIG HTTP/1.0\r\nAuthorization: ${basic(ADMIN)}\r\n` +
          `Content-type: application/x-www-form-urlencoded\r\nContent-length: ${body.length}\r\n\r\n${body}\r\n\r\n`,
      );
      expect(r.status).toBe(200);
      expect(r.answers).toBe(1);
      expect(r.body).toMatch(/^[^\r\n]*username=fred/);
      expect(r.closed).toBe(true);
    });

    it('answers an HTTP/1.0 body whose CRLFs are counted in Content-Length', async () => {
      const body = 'user=fred\r\n\r\n';
      const r = await rawSocket(
        s.port,
        `POST /CMD_API_SHOW_USER_CONFIG HTTP/1.0\r\nAuthorization: ${basic(ADMIN)}\r\n` +
          `Content-type: application/x-www-form-urlencoded\r\nContent-length: ${body.length}\r\n\r\n${body}`,
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/username=fred/);
    });

    it('answers normally despite a bogus header line such as 127.0.0.1:2222', async () => {
      const r = await rawSocket(
        s.port,
        `GET /CMD_API_SHOW_DOMAINS HTTP/1.1\r\nHost: 127.0.0.1\r\n127.0.0.1:2222\r\n` +
          `Authorization: ${basic(authOf('fred'))}\r\nConnection: close\r\n\r\n`,
      );
      expect(r.status).toBe(200);
      expect(r.body).toBe('list[]=fred.example.com');
    });
  });

  describe('answers', () => {
    it('legacy: starts with error=0, text/plain (never exactly text/html), strict pairs, no X-Use-Https', async () => {
      const r = await s.admin('/CMD_API_LOGIN_TEST');
      expect(r.status).toBe(200);
      expect(r.body.startsWith('error=0')).toBe(true);
      expect(r.headers['content-type']).toMatch(/^text\/plain(;|$)/);
      expect(r.headers['x-use-https']).toBeUndefined();
      expect(strictPairs(r.body)).toEqual([
        ['error', '0'],
        ['text', 'Login OK'],
        ['details', ''],
      ]);
    });

    it('legacy lists are list[]=a&list[]=b', async () => {
      const r = await s.admin('/CMD_API_SHOW_ALL_USERS');
      expect(r.body).toMatch(/^list\[\]=admin&list\[\]=/);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.list).toContain('fred');
      expect(r.list).toContain('barney');
    });

    it('legacy errors are error=1&text=…&details=… with HTTP 200', async () => {
      const r = await s.admin('/CMD_API_SELECT_USERS', { select0: 'fred' });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      const pairs = strictPairs(r.body);
      expect(pairs.map(([k]) => k)).toEqual(['error', 'text', 'details']);
      expect(r.pairs.error).toBe('1');
      expect(r.pairs.text).toBe('Missing parameter');
      expect(r.pairs.details).not.toBe('');
      expect(r.headers['x-use-https']).toBeUndefined();
    });

    it("a command's refusal is HTTP 200 in legacy form and keeps its status in JSON", async () => {
      const missing = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'nosuchuser' });
      expect(missing.status).toBe(200);
      expect(missing.pairs).toMatchObject({ error: '1', text: 'Unable to find that account' });
      const self = await s.admin('/CMD_API_SELECT_USERS', { select0: 'admin', dosuspend: 'Suspend' });
      expect(self.status).toBe(200);
      expect(self.pairs).toMatchObject({ error: '1', text: 'You cannot do that to your own account' });
      const missingJson = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'nosuchuser', json: 'yes' });
      expect(missingJson.status).toBe(404);
      expect(missingJson.json()).toMatchObject({ error: 'Unable to find that account' });
      const selfJson = await s.admin('/CMD_API_SELECT_USERS', {
        select0: 'admin',
        dosuspend: 'x',
        json: 'yes',
      });
      expect(selfJson.status).toBe(403);
    });

    it("a command above the caller's level is refused with 403 in both forms", async () => {
      const legacy = await s.call('/CMD_API_SHOW_ALL_USERS', { auth: authOf('fred') });
      expect(legacy.status).toBe(403);
      expect(legacy.pairs).toMatchObject({
        error: '1',
        text: 'You do not have permission to run that command',
      });
      const json = await s.call('/CMD_API_SHOW_ALL_USERS?json=yes', { auth: authOf('fred') });
      expect(json.status).toBe(403);
      expect(Object.keys(json.json() as object)).toEqual(['error', 'result']);
    });

    it('json=yes in the query gives compact JSON for an action', async () => {
      const r = await s.call('/CMD_API_LOGIN_TEST?json=yes', { auth: ADMIN });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.body).toBe('{"success":"Login OK","result":""}');
    });

    it('json=yes in the body gives compact JSON lists and records', async () => {
      const list = await s.admin('/CMD_API_SHOW_ALL_USERS', { json: 'yes' });
      expect(list.headers['content-type']).toMatch(/^application\/json/);
      expect(list.json()).toEqual(expect.arrayContaining(['admin', 'fred', 'barney']));
      const rec = await s.admin('/CMD_API_SHOW_USER_CONFIG', { json: 'yes', user: 'fred' });
      expect(rec.json()).toMatchObject({ username: 'fred', usertype: 'user' });
      for (const b of [list.body, rec.body]) {
        expect(b).not.toContain('": "');
        expect(b).not.toContain('", "');
        expect(b).not.toContain(', "');
        expect(b).not.toContain('\n');
      }
    });

    it('json=yes errors are {"error","result"} with a non-2xx status', async () => {
      const r = await s.admin('/CMD_API_SELECT_USERS', { json: 'yes', select0: 'fred' });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(r.json() as object)).toEqual(['error', 'result']);
      expect(r.json()).toMatchObject({ error: 'Missing parameter' });
      expect(r.body).not.toContain('": "');
    });

    it('json=yes unknown-command and wrong-method errors are JSON too', async () => {
      const unknown = await s.call('/CMD_API_NO_SUCH_THING?json=yes', { auth: ADMIN });
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ error: 'Unknown command' });
      const put = await s.call('/CMD_API_LOGIN_TEST?json=yes', { method: 'PUT', auth: ADMIN });
      expect(put.status).toBe(405);
      expect(put.json()).toMatchObject({ error: 'Method not allowed' });
    });
  });

  describe('refused logins', () => {
    const cases: [string, Record<string, string>][] = [
      ['no Authorization', {}],
      ['a malformed Basic value', { authorization: 'Basic !!!not-base64!!!' }],
      ['Basic without a colon', { authorization: `Basic ${Buffer.from('adminonly').toString('base64')}` }],
      ['another scheme', { authorization: 'Bearer abc.def' }],
      ['a wrong password', { authorization: basic('admin:wrong-password') }],
      ['an unknown user', { authorization: basic('nosuchuser:wrong-password') }],
      ['an empty password', { authorization: basic('admin:') }],
    ];
    for (const [name, headers] of cases)
      it(`answers 401 with the login page for ${name}`, async () => {
        const r = await s.call('/CMD_API_SHOW_ALL_USERS', { headers });
        expect(r.status).toBe(401);
        expect(r.headers['x-directadmin']).toBe('Unauthorized');
        expect(r.headers['content-type']).toMatch(/^text\/html/);
        expect(r.body).toContain('<title>DirectAdmin Login</title>');
        expect(r.headers['x-use-https']).toBeUndefined();
      });

    it('a 401 with json=yes is still the login page (clients look for the header and title)', async () => {
      const r = await s.call('/CMD_API_SHOW_ALL_USERS?json=yes', {
        headers: { authorization: basic('admin:x') },
      });
      expect(r.status).toBe(401);
      expect(r.headers['x-directadmin']).toBe('Unauthorized');
      expect(r.body).toContain('<title>DirectAdmin Login</title>');
    });

    it('wrong password and unknown user answer byte for byte the same', async () => {
      const strip = (h: Record<string, unknown>) => {
        const { date: _d, ...rest } = h;
        return rest;
      };
      const a = await s.call('/CMD_API_SHOW_ALL_USERS', { auth: 'fred:not-his-password' });
      const b = await s.call('/CMD_API_SHOW_ALL_USERS', { auth: 'wilma:not-her-password' });
      expect(a.status).toBe(401);
      expect(b.status).toBe(a.status);
      expect(b.body).toBe(a.body);
      expect(strip(b.headers)).toEqual(strip(a.headers));
      // Same for a POST with a body that does not parse: an anonymous caller learns nothing from it.
      const c = await s.call('/CMD_API_SHOW_ALL_USERS', {
        method: 'POST',
        auth: 'wilma:x',
        body: '%FF{',
        headers: { 'content-type': 'application/json' },
      });
      expect(c.status).toBe(401);
      expect(c.body).toBe(a.body);
    });
  });

  describe('methods and paths', () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'])
      it(`${method} on a command path answers 405 and runs nothing`, async () => {
        await createAccount(s, 'user', `m${method.toLowerCase()}`);
        const user = `m${method.toLowerCase()}`;
        const before = await snapshot(s.services);
        const r = await rawCall(
          s.port,
          `/CMD_API_SELECT_USERS?select0=${user}&delete=yes&confirmed=Confirm`,
          {
            method,
            auth: ADMIN,
          },
        );
        expect(r.status).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD, POST');
        expect(r.pairs.error).toBe('1');
        expect(await snapshot(s.services)).toBe(before);
        // TRACE must not echo the request (and its Authorization) back.
        expect(r.body).not.toContain('Basic');
      });

    it('HEAD works like GET without a body', async () => {
      const get = await s.call('/CMD_API_SHOW_DOMAINS', { auth: authOf('fred') });
      const head = await s.call('/CMD_API_SHOW_DOMAINS', { method: 'HEAD', auth: authOf('fred') });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers['content-length']).toBe(get.headers['content-length']);
    });

    it('an unknown command answers 404 error=1 when authenticated, 401 when not', async () => {
      const r = await s.call('/CMD_API_NO_SUCH_THING', { auth: ADMIN });
      expect(r.status).toBe(404);
      expect(r.pairs.error).toBe('1');
      expect(r.pairs.text).toBe('Unknown command');
      const anon = await s.call('/CMD_API_NO_SUCH_THING');
      expect(anon.status).toBe(401);
      expect(anon.headers['x-directadmin']).toBe('Unauthorized');
      const wrong = await s.call('/CMD_API_NO_SUCH_THING', { auth: 'admin:bad' });
      expect(wrong.status).toBe(401);
    });

    it('an unknown deeper path answers 401 to an anonymous caller too', async () => {
      const anon = await s.call('/CMD_API_SHOW_DOMAINS/extra/path');
      expect(anon.status).toBe(401);
      expect(anon.headers['x-directadmin']).toBe('Unauthorized');
      const authed = await s.call('/CMD_API_SHOW_DOMAINS/extra/path', { auth: ADMIN });
      expect(authed.status).toBe(404);
      expect(authed.pairs.error).toBe('1');
    });

    it('a method Fastify has no route for (PROPFIND) answers 405 too', async () => {
      const r = await rawCall(s.port, '/CMD_API_LOGIN_TEST', { method: 'PROPFIND', auth: ADMIN });
      expect(r.status).toBe(405);
      expect(r.pairs.error).toBe('1');
    });

    it('a path too long to be a command answers 401 anonymously and 404 authenticated', async () => {
      const long = `/CMD_API_${'X'.repeat(300)}`;
      expect((await s.call(long)).status).toBe(401);
      const authed = await s.call(long, { auth: ADMIN });
      expect(authed.status).toBe(404);
      expect(authed.pairs.text).toBe('Unknown command');
    });

    it('a trailing slash names the same command', async () => {
      const r = await s.admin('/CMD_API_LOGIN_TEST/');
      expect(r.body).toBe('error=0&text=Login%20OK&details=');
    });

    it('answers two requests on one kept-alive HTTP/1.1 connection', async () => {
      const one = `GET /CMD_API_SHOW_DOMAINS HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(authOf('fred'))}\r\n\r\n`;
      const two = `GET /CMD_API_LOGIN_TEST HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(ADMIN)}\r\nConnection: close\r\n\r\n`;
      const r = await rawSocket(s.port, one + two);
      expect(r.answers).toBe(2);
      expect(r.raw).toContain('list[]=fred.example.com');
      expect(r.raw).toContain('error=0&text=Login%20OK');
      expect(r.closed).toBe(true);
    });

    it('the CMD_X browser name reaches the same handler as CMD_API_X', async () => {
      await createAccount(s, 'user', 'alias1');
      const r = await s.call('/CMD_SELECT_USERS', {
        method: 'POST',
        auth: ADMIN,
        params: { select0: 'alias1', dosuspend: 'Suspend' },
      });
      expect(r.status).toBe(200);
      expect(r.pairs.error).toBe('0');
      expect((await configOf('alias1')).suspended).toBe('yes');
    });
  });

  describe('hostile input', () => {
    it('refuses a body over 1 MiB with 413 and a DA error, and keeps serving', async () => {
      const big = `user=fred&pad=${'a'.repeat((1 << 20) + 10)}`;
      const r = await s.call('/CMD_API_SHOW_USER_CONFIG', {
        method: 'POST',
        auth: ADMIN,
        body: big,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.status).toBe(413);
      expect(r.pairs.error).toBe('1');
      expect(r.pairs.text).toBe('Request too large');
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      const ok = await s.admin('/CMD_API_LOGIN_TEST');
      expect(ok.pairs.error).toBe('0');
    });

    it('refuses a chunked body over 1 MiB (no Content-Length) with 413, and keeps serving', async () => {
      const chunk = 'a'.repeat(64 * 1024);
      let req = `POST /CMD_API_LOGIN_TEST HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(ADMIN)}\r\n`;
      req += 'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n';
      for (let i = 0; i < 17; i++) req += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      req += '0\r\n\r\n';
      const r = await rawSocket(s.port, req);
      expect(r.status).toBe(413);
      expect(r.body).toMatch(/error=1&text=Request%20too%20large/);
      const ok = await s.admin('/CMD_API_LOGIN_TEST');
      expect(ok.pairs.error).toBe('0');
    });

    it('refuses a JSON 413 in JSON when json=yes is in the query', async () => {
      const r = await s.call('/CMD_API_LOGIN_TEST?json=yes', {
        method: 'POST',
        auth: ADMIN,
        body: 'x'.repeat((1 << 20) + 1),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.status).toBe(413);
      expect(r.json()).toMatchObject({ error: 'Request too large' });
    });

    const rename = 'action=single&name=Save&nvalue=';
    // Node's HTTP parser itself refuses a raw byte above 0x7F in the request line, before any route runs,
    // so that one answer is a 400 (the connection is closed after it); every other one is DA's HTTP 200.
    const bad: [string, () => Promise<{ status: number; body: string }>, number?][] = [
      ['%FF in the query', () => s.call(`/CMD_API_MODIFY_USER?user=fred&${rename}Caf%FF`, { auth: ADMIN })],
      [
        'a raw 0xFF byte in the query',
        () =>
          rawSocket(
            s.port,
            Buffer.concat([
              Buffer.from(`GET /CMD_API_MODIFY_USER?user=fred&${rename}Caf`),
              Buffer.from([0xff]),
              Buffer.from(
                ` HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(ADMIN)}\r\nConnection: close\r\n\r\n`,
              ),
            ]),
          ),
        400,
      ],
      [
        '%FF in the path',
        () => s.call('/CMD_API_MODIFY%FF_USER', { auth: ADMIN, params: { user: 'fred' } }),
        400,
      ],
      [
        '%FF in a url-encoded body',
        () =>
          s.call('/CMD_API_MODIFY_USER', {
            method: 'POST',
            auth: ADMIN,
            body: `user=fred&${rename}Caf%FF`,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
      ],
      [
        'a raw 0xFF byte in a url-encoded body',
        () =>
          s.call('/CMD_API_MODIFY_USER', {
            method: 'POST',
            auth: ADMIN,
            body: Buffer.concat([Buffer.from(`user=fred&${rename}Caf`), Buffer.from([0xff])]),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
      ],
      [
        'a raw 0xFF byte in a JSON body',
        () =>
          s.call('/CMD_API_MODIFY_USER', {
            method: 'POST',
            auth: ADMIN,
            body: Buffer.concat([
              Buffer.from('{"user":"fred","action":"single","name":"Save","nvalue":"Caf'),
              Buffer.from([0xff]),
              Buffer.from('"}'),
            ]),
            headers: { 'content-type': 'application/json' },
          }),
      ],
      [
        'a raw 0xFF byte in a multipart field',
        () => {
          const m = multipart([
            ['user', 'fred'],
            ['action', 'single'],
            ['name', 'Save'],
            ['nvalue', Buffer.concat([Buffer.from('Caf'), Buffer.from([0xff])])],
          ]);
          return s.call('/CMD_API_MODIFY_USER', {
            method: 'POST',
            auth: ADMIN,
            body: m.body,
            headers: { 'content-type': m.type },
          });
        },
      ],
    ];
    for (const [name, send, status = 200] of bad)
      it(`refuses ${name} with error=1 and a clear text, changing nothing`, async () => {
        const before = await snapshot(s.services);
        const r = await send();
        expect(r.status).toBe(status);
        expect(r.body).toMatch(/^error=1&text=Invalid%20request&details=/);
        const details = decodeURIComponent(/details=([^&]*)/.exec(r.body)?.[1] ?? '');
        expect(details).toMatch(/UTF-8/);
        expect(await snapshot(s.services)).toBe(before);
      });

    it('accepts percent-encoded UTF-8 in the query and raw UTF-8 in a body', async () => {
      const enc = await s.call(`/CMD_API_MODIFY_USER?user=fred&${rename}Caf%C3%A9`, { auth: ADMIN });
      expect(enc.pairs.error).toBe('0');
      expect((await configOf('fred')).name).toBe('Café');
      const body = await s.call('/CMD_API_MODIFY_USER', {
        method: 'POST',
        auth: ADMIN,
        body: Buffer.from(`user=fred&${rename}Crème`, 'utf8'),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(body.pairs.error).toBe('0');
      expect((await configOf('fred')).name).toBe('Crème');
    });

    it('refuses raw UTF-8 in the query with a DA error that says to percent-encode it', async () => {
      // Node's parser allows no byte above 0x7F in a request line; the answer at least says what to do.
      const raw = await rawSocket(
        s.port,
        Buffer.concat([
          Buffer.from(`GET /CMD_API_MODIFY_USER?user=fred&${rename}Cr`),
          Buffer.from('ème', 'utf8'),
          Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(ADMIN)}\r\nConnection: close\r\n\r\n`),
        ]),
      );
      expect(raw.status).toBe(400);
      expect(raw.headers['content-type']).toMatch(/^text\/plain/);
      expect(raw.body).toMatch(/^error=1&text=Invalid%20request&details=.*percent-encode/);
      expect(raw.closed).toBe(true);
      expect((await configOf('fred')).name).toBe('Crème');
    });
  });
});
