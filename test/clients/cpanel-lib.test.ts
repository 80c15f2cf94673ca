import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import { createWhmToken } from '../../src/modules/tokens/tokens.service.js';
import { ensureTls, readTls } from '../../src/setup.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
} from '../api/cpanel-server.js';
import { createAccount, startTestServer, type TestServer } from '../helpers/server.js';

// cpanel-lib 0.0.5 is CommonJS without types; what the tests use of it is typed here.
type Callback = (err: unknown, result?: Record<string, unknown>) => void;
interface CpanelClient {
  call(action: string, query: Record<string, unknown>, cb: Callback): void;
  callUapi(module: string, func: string, args: Record<string, unknown>, cb: Callback): void;
  callApi2(module: string, func: string, query: Record<string, unknown>, cb: Callback): void;
}
const cpanelLib = createRequire(import.meta.url)('cpanel-lib') as {
  createClient(o: Record<string, unknown>): CpanelClient;
};

function promised(fn: (cb: Callback) => void): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r ?? {}))));
}

/** The whole installation over TLS, as `hostdeck serve` runs it (self-signed certificate). */
interface TlsServer extends TestServer {
  cpanelPort: number;
  webmailPort: number;
  whmPort: number;
}

async function startTls(): Promise<TlsServer> {
  const s = await startTestServer();
  await ensureTls(s.config);
  const apps = buildApps(s.services, readTls(s.config));
  const ports: number[] = [];
  for (const a of [apps.cpanel, apps.webmail, apps.whm]) {
    await a.listen({ host: '127.0.0.1', port: 0 });
    const addr = a.server.address();
    ports.push(typeof addr === 'object' && addr ? addr.port : 0);
  }
  const closeBase = s.close;
  return {
    ...s,
    cpanelPort: ports[0] ?? 0,
    webmailPort: ports[1] ?? 0,
    whmPort: ports[2] ?? 0,
    async close() {
      for (const a of [apps.cpanel, apps.webmail, apps.whm, apps.da]) await a.close();
      await closeBase();
    },
  };
}

describe('cpanel-lib 0.0.5 against 2083 (TLS)', () => {
  let s: TlsServer;
  const client = (o: Record<string, unknown> = {}) =>
    cpanelLib.createClient({
      host: '127.0.0.1',
      port: s.cpanelPort,
      secure: true,
      ignoreCertError: true,
      username: 'fred',
      password: 'fred-Pass-123',
      ...o,
    });

  beforeAll(async () => {
    s = await startTls();
    await createAccount(s, 'user', 'fred');
  });
  afterAll(async () => s?.close());

  it('callUapi DomainInfo::list_domains with Basic auth', async () => {
    const r = await promised((cb) => client().callUapi('DomainInfo', 'list_domains', {}, cb));
    expect(r).toEqual({
      data: { addon_domains: [], main_domain: 'fred.example.com', parked_domains: [], sub_domains: [] },
      errors: null,
      messages: null,
      metadata: {},
      status: 1,
      warnings: null,
    });
  });

  it('callUapi with parameters (Variables::get_user_information name=…)', async () => {
    const r = await promised((cb) =>
      client().callUapi('Variables', 'get_user_information', { name: 'user' }, cb),
    );
    expect(r.data).toEqual({ user: 'fred' });
  });

  it('callUapi Email::add_pop (the captured shape): a well-formed failure until e-mail exists', async () => {
    const r = await promised((cb) =>
      client().callUapi(
        'Email',
        'add_pop',
        { email: 'info', domain: 'example.com', password: 'Secret123', quota: 0 },
        cb,
      ),
    );
    expect(r.status).toBe(0);
    expect((r.errors as string[])[0]).toMatch(/^Failed to load module “Email”/);
  });

  it('callApi2 CustInfo::displaycontactinfo (cpanel_jsonapi_user sent) with a fresh client', async () => {
    const r = await promised((cb) => client().callApi2('CustInfo', 'displaycontactinfo', {}, cb));
    expect(r).toMatchObject({
      cpanelresult: {
        apiversion: 2,
        module: 'CustInfo',
        func: 'displaycontactinfo',
        event: { result: 1 },
        data: [{ name: 'email', value: 'fred@example.com' }, { name: 'second_email' }],
      },
    });
  });

  it('a wrong password: the JSON refusal, which cpanel-lib parses', async () => {
    const r = await promised((cb) =>
      client({ password: 'wrong' }).callUapi('DomainInfo', 'list_domains', {}, cb),
    );
    expect(r).toMatchObject({ status: 0, errors: ['Access denied'] });
  });

  it('accessKey (`WHM user:key`) on 2083 is refused (401), even with a valid cPanel token', async () => {
    const t = await tokenOf(s, 'fred');
    const r = await promised((cb) =>
      client({ password: undefined, accessKey: t }).callUapi('DomainInfo', 'list_domains', {}, cb),
    );
    expect(r).toMatchObject({ status: 0, errors: ['Access denied'] });
  });
});

/** A cPanel token for `user`, made through UAPI over TLS. */
async function tokenOf(s: TlsServer, user: string): Promise<string> {
  const c = cpanelLib.createClient({
    host: '127.0.0.1',
    port: s.cpanelPort,
    secure: true,
    ignoreCertError: true,
    username: user,
    password: `${user}-Pass-123`,
  });
  const r = await promised((cb) =>
    c.callUapi('Tokens', 'create_full_access', { name: `t${Math.random().toString(36).slice(2, 10)}` }, cb),
  );
  return (r.data as { token: string }).token;
}

describe('cpanel-lib with a token through accessKey where it applies: WHM (2087, TLS)', () => {
  let s: TlsServer;
  beforeAll(async () => {
    s = await startTls();
    await createAccount(s, 'user', 'wilma');
  });
  afterAll(async () => s?.close());

  it('a WHM token as accessKey (`WHM root:TOKEN`) lists accounts; a revoked one is refused', async () => {
    const admin = await s.services.db
      .selectFrom('accounts')
      .selectAll()
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    const actor = {
      account: admin,
      authenticated: admin,
      credential: { kind: 'cli' as const, id: '' },
      ip: 'cli',
    };
    const made = await createWhmToken(s.services, actor, { name: 'lib' });
    const whm = cpanelLib.createClient({
      host: '127.0.0.1',
      port: s.whmPort,
      secure: true,
      ignoreCertError: true,
      username: 'admin',
      accessKey: made.token,
    });
    const r = await promised((cb) => whm.call('listaccts', { 'api.version': 1 }, cb));
    expect(r).toMatchObject({ metadata: { result: 1 } });
    expect(JSON.stringify(r)).toContain('"user":"wilma"');
    await s.services.db.updateTable('api_tokens').set({ cleared_at: Date.now() }).execute();
    const refused = await promised((cb) => whm.call('listaccts', { 'api.version': 1 }, cb));
    expect(JSON.stringify(refused)).toContain('Access denied');
  });
});

describe('request shapes real cPanel clients send (clients.md)', () => {
  let s: CpanelServer;
  beforeAll(async () => {
    s = await startCpanelServer();
    await makeUser(s, 'fred');
  });
  afterAll(async () => s?.close());

  /** Sends raw bytes and returns the raw answer (the socket is closed by the server or after 2 s). */
  function raw(port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let out = '';
      sock.on('data', (d) => {
        out += d.toString('utf8');
      });
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
      sock.setTimeout(2000, () => {
        sock.destroy();
        resolve(out);
      });
      sock.write(text);
    });
  }

  it('the ACME shell client: GET /execute/DomainInfo/list_domains with `cpanel user:TOKEN`', async () => {
    const t = await makeToken(s, 'fred', 'acme');
    const r = await s.cp('/execute/DomainInfo/list_domains', { headers: tokenAuth('fred', t) });
    expect(r.body).toContain('"status":1');
    expect(r.body).toMatch(/"main_domain":"fred\.example\.com"/);
  });

  it('a bogus header line (`127.0.0.1:2222`) is answered normally', async () => {
    const basic = Buffer.from('fred:fred-Pass-123').toString('base64');
    const out = await raw(
      s.cpanelPort,
      `GET /execute/DomainInfo/list_domains HTTP/1.1\r\nHost: 127.0.0.1\r\n127.0.0.1:2222\r\nAuthorization: Basic ${basic}\r\nConnection: close\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out).toContain('"status":1');
  });

  it('HTTP/1.0 POST with extra CRLFs after the counted body', async () => {
    const basic = Buffer.from('fred:fred-Pass-123').toString('base64');
    const body = 'name=user';
    const out = await raw(
      s.cpanelPort,
      `POST /execute/Variables/get_user_information HTTP/1.0\r\nAuthorization: Basic ${basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(out).toContain('{"data":{"user":"fred"},"errors":null');
  });

  it('a request Node cannot parse is answered in UAPI JSON', async () => {
    const out = await raw(s.cpanelPort, 'GARBAGE\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toContain('"status":0');
  });
});
