/**
 * Certificates (issue 6 "Certificates"): CMD_API_SSL as the ACME client's deploy hook sends it (JSON
 * body, key and chain joined in `certificate`), the cPanel UAPI / API 2 and WHM forms, every refusal
 * (key mismatch, a chain block that is no certificate, expired, wrong domain, another account's domain, a
 * scoped login key) leaving nothing stored, and installed certificates served by SNI on a TLS listener.
 */
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import type { ManualClock } from '../../src/core/clock.js';
import { CertificateCache } from '../../src/modules/ssl/sni.js';
import { type Answer, authOf, createAccount, rawCall, startTestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD } from '../helpers/services.js';
import { type CpanelServer, startCpanelServer } from './cpanel-server.js';
import {
  authority,
  closeCertWorkspace,
  fingerprintOf,
  type Issued,
  issued,
  newKey,
  openCertWorkspace,
  selfSigned,
} from './ssl-certs.js';

const ADMIN = `admin:${ADMIN_PASSWORD}`;
const SAVED = 'error=0&text=Certificate%20and%20Key%20Saved.&details=';

describe('certificates', () => {
  let s: CpanelServer;
  let whm: FastifyInstance;
  let whmPort = 0;
  let ca: Issued;
  let fred: Issued;

  const ssl = (auth: string, params: Record<string, string>, path = '/CMD_API_SSL'): Promise<Answer> =>
    rawCall(s.port, path, { method: 'POST', auth, params });
  const stored = () => s.services.db.selectFrom('certificates').selectAll().orderBy('id').execute();
  const installAudits = async () =>
    (
      await s.services.db
        .selectFrom('audit_events')
        .select('id')
        .where('command', '=', 'ssl.install')
        .execute()
    ).length;

  beforeAll(async () => {
    openCertWorkspace();
    s = await startCpanelServer({ manualClock: true });
    // The manual clock starts before the certificates made here; they only have to be unexpired.
    for (const u of ['fred', 'barney']) await createAccount(s, 'user', u);
    await createAccount(s, 'reseller', 'res1');
    const apps = buildApps(s.services, null);
    whm = apps.whm;
    await whm.listen({ host: '127.0.0.1', port: 0 });
    const a = whm.server.address();
    whmPort = typeof a === 'object' && a ? a.port : 0;
    ca = await authority('Hostdeck Test CA');
    fred = await issued(ca, ['fred.example.com', 'www.fred.example.com']);
  });
  afterAll(async () => {
    await whm?.close();
    await s?.close();
    closeCertWorkspace();
  });

  it("installs what the ACME client's deploy hook posts: JSON, key and chain joined in `certificate`", async () => {
    const body = JSON.stringify({
      domain: 'fred.example.com',
      action: 'save',
      type: 'paste',
      certificate: `${fred.key}\n${fred.cert}${ca.cert}\n`,
    });
    const a = await rawCall(s.port, '/CMD_API_SSL', {
      method: 'POST',
      auth: authOf('fred'),
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toMatch(/^text\/plain/);
    expect(a.body).toBe(SAVED);

    const rows = await stored();
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row?.fingerprint).toBe(fingerprintOf(fred.cert));
    expect(fingerprintOf(row?.certificate ?? '')).toBe(fingerprintOf(fred.cert));
    expect(fingerprintOf(row?.chain ?? '')).toBe(fingerprintOf(ca.cert));
    expect(JSON.parse(row?.names ?? '[]')).toEqual(['fred.example.com', 'www.fred.example.com']);
    expect(row?.subject).toBe('fred.example.com');
    expect(row?.issuer).toBe('CN=Hostdeck Test CA');
    expect(row?.private_key).toContain('PRIVATE KEY');

    // The audit row names the certificate, never the key.
    const audit = await s.services.db
      .selectFrom('audit_events')
      .selectAll()
      .where('command', '=', 'ssl.install')
      .executeTakeFirstOrThrow();
    expect(audit.target).toBe('fred.example.com');
    expect(audit.details).toContain(fingerprintOf(fred.cert));
    expect(audit.details).not.toMatch(/PRIVATE|BEGIN/);
  });

  it('shows and lists the installed certificate without its key', async () => {
    const view = await rawCall(s.port, '/CMD_API_SSL?domain=fred.example.com', { auth: authOf('fred') });
    expect(view.status).toBe(200);
    expect(view.body).not.toMatch(/PRIVATE/);
    expect(view.pairs).toMatchObject({
      domain: 'fred.example.com',
      subject: 'fred.example.com',
      names: 'fred.example.com,www.fred.example.com',
      issuer: 'CN=Hostdeck Test CA',
      fingerprint: fingerprintOf(fred.cert),
    });
    expect(fingerprintOf(view.pairs.certificate ?? '')).toBe(fingerprintOf(fred.cert));
    expect(fingerprintOf(view.pairs.cacert ?? '')).toBe(fingerprintOf(ca.cert));
    expect(Number(view.pairs.not_after)).toBe(
      Math.floor(Date.parse(new X509Certificate(fred.cert).validTo) / 1000),
    );

    const list = await rawCall(s.port, '/CMD_API_SSL?json=yes', { auth: authOf('fred') });
    expect(list.headers['content-type']).toMatch(/^application\/json/);
    expect(list.body).not.toMatch(/PRIVATE|BEGIN/);
    expect(list.json()).toEqual([
      expect.objectContaining({
        domain: 'fred.example.com',
        names: ['fred.example.com', 'www.fred.example.com'],
        fingerprint: fingerprintOf(fred.cert),
      }),
    ]);
    // Another account lists nothing of fred's.
    const other = await rawCall(s.port, '/CMD_API_SSL?json=yes', { auth: authOf('barney') });
    expect(other.json()).toEqual([]);
  });

  it('takes key, certificate and chain in any order, and in separate fields', async () => {
    const next = await issued(ca, ['fred.example.com']);
    const a = await ssl(authOf('fred'), {
      domain: 'fred.example.com',
      action: 'save',
      type: 'paste',
      certificate: `${ca.cert}\n${next.cert}\n${next.key}`,
    });
    expect(a.body).toBe(SAVED);
    let row = (await stored())[0];
    expect(row?.fingerprint).toBe(fingerprintOf(next.cert));
    expect(fingerprintOf(row?.chain ?? '')).toBe(fingerprintOf(ca.cert));

    const b = await ssl(authOf('fred'), {
      domain: 'fred.example.com',
      action: 'save',
      type: 'paste',
      key: fred.key,
      certificate: fred.cert,
      cacert: ca.cert,
    });
    expect(b.body).toBe(SAVED);
    const rows = await stored();
    expect(rows).toHaveLength(1);
    row = rows[0];
    expect(row?.fingerprint).toBe(fingerprintOf(fred.cert));
  });

  it('accepts a wildcard certificate for a domain one label below it', async () => {
    await createAccount(s, 'user', 'wilma', { domain: 'shop.wild.example.org' });
    const w = await selfSigned(['*.wild.example.org']);
    const a = await ssl(authOf('wilma'), {
      domain: 'shop.wild.example.org',
      action: 'save',
      type: 'paste',
      certificate: `${w.key}${w.cert}`,
    });
    expect(a.body).toBe(SAVED);
    // The same wildcard does not cover a name two labels below it.
    await createAccount(s, 'user', 'deep', { domain: 'a.b.deep.example.org' });
    const d = await selfSigned(['*.deep.example.org']);
    const refused = await ssl(authOf('deep'), {
      domain: 'a.b.deep.example.org',
      action: 'save',
      type: 'paste',
      certificate: `${d.key}${d.cert}`,
    });
    expect(refused.pairs.error).toBe('1');
    expect(refused.pairs.details).toBe(
      'The certificate is not valid for a.b.deep.example.org; it covers *.deep.example.org',
    );
  });

  describe('refuses, storing nothing', () => {
    const refusals: [string, () => Promise<Record<string, string>>, string][] = [
      [
        'a key that is not the certificate’s',
        async () => ({ certificate: `${(await newKey()).pem}${fred.cert}` }),
        'The private key does not match the certificate',
      ],
      [
        'a chain block that is no certificate',
        async () => ({
          certificate: `${fred.key}${fred.cert}-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n`,
        }),
        'Certificate 2 could not be read as an X.509 certificate',
      ],
      [
        'text that is not PEM',
        async () => ({ certificate: `${fred.key}${fred.cert}this is not a certificate\n` }),
        'certificate holds text that is not a PEM block: "this is not a certificate"',
      ],
      [
        'a certificate of another chain',
        async () => ({ certificate: `${fred.key}${fred.cert}${(await authority('Elsewhere CA')).cert}` }),
        "The certificate of Elsewhere CA does not belong to the certificate's chain",
      ],
      [
        'a certificate for another domain',
        async () => {
          const o = await selfSigned(['other.example.org', 'www.other.example.org']);
          return { certificate: `${o.key}${o.cert}` };
        },
        'The certificate is not valid for fred.example.com; it covers other.example.org, www.other.example.org',
      ],
      ['no key', async () => ({ certificate: fred.cert }), 'No private key was sent'],
      [
        'two keys',
        async () => ({ certificate: `${fred.key}${(await newKey()).pem}${fred.cert}` }),
        'More than one private key was sent',
      ],
      ['no certificate', async () => ({ certificate: fred.key }), 'No certificate was sent'],
      [
        'another type',
        async () => ({ certificate: `${fred.key}${fred.cert}`, type: 'create' }),
        'type must be paste',
      ],
    ];
    for (const [label, params, details] of refusals)
      it(label, async () => {
        const before = JSON.stringify(await stored());
        const audits = await installAudits();
        const a = await ssl(authOf('fred'), {
          domain: 'fred.example.com',
          action: 'save',
          type: 'paste',
          ...(await params()),
        });
        expect(a.pairs.error, a.body).toBe('1');
        expect(a.pairs.details).toBe(details);
        expect(a.body).not.toMatch(/BEGIN|PRIVATE/);
        expect(JSON.stringify(await stored())).toBe(before);
        expect(await installAudits()).toBe(audits);
      });

    it('an expired certificate', async () => {
      const short = await issued(ca, ['fred.example.com'], 1);
      const clock = s.clock as ManualClock;
      const was = clock.now();
      clock.set(Date.now() + 3 * 86_400_000);
      try {
        const before = JSON.stringify(await stored());
        const a = await ssl(authOf('fred'), {
          domain: 'fred.example.com',
          action: 'save',
          type: 'paste',
          certificate: `${short.key}${short.cert}${ca.cert}`,
        });
        expect(a.pairs.error).toBe('1');
        expect(a.pairs.details).toBe(`The certificate expired on ${new X509Certificate(short.cert).validTo}`);
        expect(JSON.stringify(await stored())).toBe(before);
      } finally {
        clock.set(was);
      }
    });

    it('an account whose package has SSL off, or a domain whose ssl switch is off', async () => {
      await createAccount(s, 'user', 'nossl');
      const c = await selfSigned(['nossl.example.com']);
      const save = () =>
        ssl(authOf('nossl'), {
          domain: 'nossl.example.com',
          action: 'save',
          certificate: `${c.key}${c.cert}`,
        });
      const before = JSON.stringify(await stored());
      const off = await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'nossl', ssl: 'OFF' });
      expect(off.pairs.error, off.body).toBe('0');
      const a = await save();
      expect(a.pairs).toMatchObject({
        error: '1',
        text: 'That feature is disabled for this account',
        details: 'SSL is not enabled for nossl',
      });
      await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'nossl', ssl: 'ON' });
      const dom = await ssl(
        authOf('nossl'),
        { action: 'modify', domain: 'nossl.example.com', ssl: 'OFF' },
        '/CMD_API_DOMAIN',
      );
      expect(dom.pairs.error, dom.body).toBe('0');
      expect((await save()).pairs.details).toBe(
        "SSL is off for nossl.example.com; turn it on with the domain's ssl setting first",
      );
      expect(JSON.stringify(await stored())).toBe(before);
      await ssl(
        authOf('nossl'),
        { action: 'modify', domain: 'nossl.example.com', ssl: 'ON' },
        '/CMD_API_DOMAIN',
      );
      expect((await save()).body).toBe(SAVED);
    });

    it("another account's domain, exactly like a missing one", async () => {
      const before = JSON.stringify(await stored());
      const save = (domain: string) =>
        ssl(authOf('barney'), {
          domain,
          action: 'save',
          type: 'paste',
          certificate: `${fred.key}${fred.cert}`,
        });
      const theirs = await save('fred.example.com');
      const missing = await save('nobody.example.com');
      expect(theirs.status).toBe(missing.status);
      expect(theirs.body).toBe(
        'error=1&text=Unable%20to%20find%20that%20domain&details=You%20have%20no%20domain%20named%20fred.example.com',
      );
      expect(missing.body).toBe(theirs.body.replace('fred.example.com', 'nobody.example.com'));
      const view = await rawCall(s.port, '/CMD_API_SSL?domain=fred.example.com', { auth: authOf('barney') });
      expect(view.pairs.error).toBe('1');
      expect(view.body).not.toMatch(/BEGIN/);
      const del = await ssl(authOf('barney'), { domain: 'fred.example.com', action: 'delete' });
      expect(del.pairs.text).toBe('Unable to find that domain');
      expect(JSON.stringify(await stored())).toBe(before);
    });
  });

  it('a login key scoped to one domain installs there and nowhere else, and lists only that one', async () => {
    const extra = 'fredextra.example.net';
    const made = await rawCall(s.port, '/CMD_API_DOMAIN', {
      method: 'POST',
      auth: authOf('fred'),
      params: { action: 'create', domain: extra },
    });
    expect(made.pairs.error, made.body).toBe('0');
    const k = await rawCall(s.port, '/CMD_API_LOGIN_KEYS', {
      method: 'POST',
      auth: authOf('fred'),
      params: {
        action: 'create',
        keyname: 'deploy',
        never_expires: 'yes',
        passwd: 'fred-Pass-123',
        domains: extra,
        max_uses: '5',
        select_allow0: 'CMD_API_SSL',
      },
    });
    expect(k.pairs.error, k.body).toBe('0');
    const key = `fred:${k.pairs.key}`;
    const usesLeft = async () =>
      (
        await s.services.db
          .selectFrom('login_keys')
          .select('uses_left')
          .where('name', '=', 'deploy')
          .executeTakeFirstOrThrow()
      ).uses_left;
    await s.services.keyUsage.flush();
    const before = JSON.stringify(await stored());
    const out = await ssl(key, {
      domain: 'fred.example.com',
      action: 'save',
      type: 'paste',
      certificate: `${fred.key}${fred.cert}`,
    });
    expect(out.pairs.error).toBe('1');
    expect(out.pairs.details).toBe("fred.example.com is outside this credential's scope");
    expect(JSON.stringify(await stored())).toBe(before);
    expect(await usesLeft()).toBe(5);

    const e = await selfSigned([extra]);
    const inScope = await ssl(key, {
      domain: extra,
      action: 'save',
      type: 'paste',
      certificate: `${e.key}${e.cert}`,
    });
    expect(inScope.body).toBe(SAVED);
    const list = await rawCall(s.port, '/CMD_API_SSL?json=yes', { auth: key });
    expect((list.json() as { domain: string }[]).map((c) => c.domain)).toEqual([extra]);
    // The account's password sees both.
    const all = await rawCall(s.port, '/CMD_API_SSL?json=yes', { auth: authOf('fred') });
    expect((all.json() as { domain: string }[]).map((c) => c.domain)).toEqual(['fred.example.com', extra]);

    // Deleting the domain deletes its certificate.
    const gone = await rawCall(s.port, '/CMD_API_DOMAIN', {
      method: 'POST',
      auth: authOf('fred'),
      params: { action: 'select', delete: 'yes', confirmed: 'yes', select0: extra },
    });
    expect(gone.pairs.error, gone.body).toBe('0');
    const left = await stored();
    expect(left.some((r) => r.fingerprint === fingerprintOf(e.cert))).toBe(false);
  });

  it('deletes a certificate; a second delete says there is none', async () => {
    const b = await selfSigned(['barney.example.com']);
    expect(
      (
        await ssl(authOf('barney'), {
          domain: 'barney.example.com',
          action: 'save',
          certificate: `${b.key}${b.cert}`,
        })
      ).body,
    ).toBe(SAVED);
    const del = await ssl(authOf('barney'), { domain: 'barney.example.com', action: 'delete' });
    expect(del.body).toBe('error=0&text=Certificate%20and%20Key%20Deleted.&details=');
    const again = await ssl(authOf('barney'), { domain: 'barney.example.com', action: 'delete' });
    expect(again.pairs.error).toBe('1');
    expect(again.pairs.details).toBe('No certificate is installed for barney.example.com');
    expect((await stored()).some((r) => r.fingerprint === fingerprintOf(b.cert))).toBe(false);
  });

  it("deleting an account deletes its domains' certificates", async () => {
    await createAccount(s, 'user', 'leaving');
    const c = await selfSigned(['leaving.example.com']);
    const saved = await ssl(authOf('leaving'), {
      domain: 'leaving.example.com',
      action: 'save',
      certificate: `${c.key}${c.cert}`,
    });
    expect(saved.body).toBe(SAVED);
    expect(await s.services.certificates.contextFor('leaving.example.com')).not.toBeNull();
    const del = await s.admin('/CMD_API_SELECT_USERS', {
      confirmed: 'Confirm',
      delete: 'yes',
      select0: 'leaving',
    });
    expect(del.pairs.error, del.body).toBe('0');
    expect((await stored()).some((r) => r.fingerprint === fingerprintOf(c.cert))).toBe(false);
    // SNI stops serving it at once, not when its cached answer ages out.
    expect(await s.services.certificates.contextFor('leaving.example.com')).toBeNull();
  });

  describe('cPanel', () => {
    it('UAPI SSL::install_ssl with url-encoded PEM, then list_certs and delete_ssl', async () => {
      await createAccount(s, 'user', 'cpuser');
      const c = await issued(ca, ['cpuser.example.com', 'www.cpuser.example.com']);
      const a = await s.cp('/execute/SSL/install_ssl', {
        auth: authOf('cpuser'),
        params: { domain: 'cpuser.example.com', cert: c.cert, key: c.key, cabundle: ca.cert },
      });
      const j = a.json() as { status: number; data: Record<string, unknown> };
      expect(j.status, a.body).toBe(1);
      expect(j.data).toMatchObject({
        action: 'install',
        domain: 'cpuser.example.com',
        user: 'cpuser',
        working_domains: ['cpuser.example.com', 'www.cpuser.example.com'],
        extra_certificate_domains: [],
        warning_domains: [],
      });
      expect(a.body).not.toMatch(/PRIVATE/);

      const list = await s.cp('/execute/SSL/list_certs', { auth: authOf('cpuser') });
      const l = list.json() as { status: number; data: Record<string, unknown>[] };
      expect(l.status).toBe(1);
      expect(l.data).toEqual([
        expect.objectContaining({
          domain: 'cpuser.example.com',
          domains: ['cpuser.example.com', 'www.cpuser.example.com'],
          'issuer.commonName': 'Hostdeck Test CA',
          'subject.commonName': 'cpuser.example.com',
          is_self_signed: 0,
        }),
      ]);
      expect(list.body).not.toMatch(/PRIVATE|BEGIN/);

      const del = await s.cp('/execute/SSL/delete_ssl', {
        auth: authOf('cpuser'),
        params: { domain: 'cpuser.example.com' },
      });
      expect((del.json() as { status: number }).status).toBe(1);
      const empty = await s.cp('/execute/SSL/list_certs', { auth: authOf('cpuser') });
      expect((empty.json() as { data: unknown }).data).toEqual([]);
    });

    it('UAPI refuses a certificate for another domain with status 0 and stores nothing', async () => {
      const before = JSON.stringify(await stored());
      const none = await s.cp('/execute/SSL/install_ssl', {
        auth: authOf('cpuser'),
        params: { cert: fred.cert, key: fred.key },
      });
      expect(none.json()).toMatchObject({ status: 0, errors: ['You must specify the “domain” parameter.'] });
      const a = await s.cp('/execute/SSL/install_ssl', {
        auth: authOf('cpuser'),
        params: { domain: 'cpuser.example.com', cert: fred.cert, key: fred.key },
      });
      expect(a.json()).toMatchObject({
        status: 0,
        errors: [
          'The certificate is not valid for cpuser.example.com; it covers fred.example.com, www.fred.example.com',
        ],
      });
      expect(JSON.stringify(await stored())).toBe(before);
    });

    it('API 2 SSL::installssl answers data[0].result, and data[0].output on failure', async () => {
      const c = await selfSigned(['cpuser.example.com']);
      const q = new URLSearchParams({
        cpanel_jsonapi_apiversion: '2',
        cpanel_jsonapi_module: 'SSL',
        cpanel_jsonapi_func: 'installssl',
        domain: 'cpuser.example.com',
        crt: c.cert,
        key: c.key,
      });
      const ok = await s.cp(`/json-api/cpanel?${q}`, { auth: authOf('cpuser') });
      const j = ok.json() as { cpanelresult: { data: { result: number; output: string }[] } };
      expect(j.cpanelresult.data[0]?.result, ok.body).toBe(1);
      expect((await stored()).some((r) => r.fingerprint === fingerprintOf(c.cert))).toBe(true);

      q.set('key', fred.key);
      const bad = await s.cp(`/json-api/cpanel?${q}`, { auth: authOf('cpuser') });
      const b = bad.json() as { cpanelresult: { data: { result: number; output: string }[] } };
      expect(b.cpanelresult.data[0]).toEqual({
        result: 0,
        output: 'The private key does not match the certificate',
      });
    });
  });

  describe('WHM installssl', () => {
    const whmCall = (auth: { basic?: string; header?: string }, params: Record<string, string>) =>
      rawCall(whmPort, '/json-api/installssl?api.version=1', {
        method: 'POST',
        params,
        ...(auth.basic ? { auth: auth.basic } : {}),
        ...(auth.header ? { headers: { authorization: auth.header } } : {}),
      });

    it("installs for a managed account's domain; a reseller cannot reach another's", async () => {
      await createAccount(s, 'user', 'whmuser');
      const c = await issued(ca, ['whmuser.example.com']);
      const params = { domain: 'whmuser.example.com', crt: c.cert, key: c.key, cabundle: ca.cert };
      const before = JSON.stringify(await stored());
      const res = await whmCall({ basic: authOf('res1') }, params);
      expect(res.json()).toMatchObject({
        metadata: {
          command: 'installssl',
          result: 0,
          reason: 'You have no domain named whmuser.example.com',
        },
      });
      expect(JSON.stringify(await stored())).toBe(before);

      const a = await whmCall({ basic: ADMIN }, params);
      const j = a.json() as { metadata: { result: number }; data: Record<string, unknown> };
      expect(j.metadata.result, a.body).toBe(1);
      expect(j.data).toMatchObject({ action: 'install', domain: 'whmuser.example.com', status: 1 });
      const row = (await stored()).find((r) => r.fingerprint === fingerprintOf(c.cert));
      expect(row?.account_id).toBe(
        (
          await s.services.db
            .selectFrom('accounts')
            .select('id')
            .where('username', '=', 'whmuser')
            .executeTakeFirstOrThrow()
        ).id,
      );
    });

    it('a token without the ssl privilege is refused', async () => {
      const t = await rawCall(whmPort, '/json-api/api_token_create?api.version=1', {
        method: 'POST',
        auth: ADMIN,
        params: { token_name: 'nossl', acl: 'list-accts' },
      });
      const token = (t.json() as { data: { token: string } }).data.token;
      const c = await selfSigned(['whmuser.example.com']);
      const before = JSON.stringify(await stored());
      const a = await whmCall(
        { header: `whm admin:${token}` },
        { domain: 'whmuser.example.com', crt: c.cert, key: c.key },
      );
      expect(a.status).toBe(403);
      expect(a.json()).toMatchObject({
        metadata: { result: 0, reason: 'installssl needs the ssl privilege' },
      });
      expect(JSON.stringify(await stored())).toBe(before);
    });
  });

  it('never writes key material to the debug log, installed or refused', async () => {
    const lines: string[] = [];
    const t = await startTestServer({ settings: { debug: 2000 } });
    const logger = t.services.logger;
    t.services.logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const apps = buildApps(t.services, null);
    try {
      await apps.da.listen({ host: '127.0.0.1', port: 0 });
      const addr = apps.da.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      await createAccount(t, 'user', 'logged');
      const c = await selfSigned(['logged.example.com']);
      const other = await newKey();
      const post = (body: string, type: string) =>
        rawCall(port, '/CMD_API_SSL', {
          method: 'POST',
          auth: authOf('logged'),
          headers: { 'content-type': type },
          body,
        });
      const json = (certificate: string) =>
        JSON.stringify({ domain: 'logged.example.com', action: 'save', type: 'paste', certificate });
      expect((await post(json(`${c.key}\n${c.cert}`), 'application/json')).body).toBe(SAVED);
      expect((await post(json(`${other.pem}${c.cert}`), 'application/json')).pairs.error).toBe('1');
      const form = new URLSearchParams({
        domain: 'logged.example.com',
        action: 'save',
        key: c.key,
        certificate: c.cert,
      }).toString();
      expect((await post(form, 'application/x-www-form-urlencoded')).body).toBe(SAVED);
      const log = lines.join('');
      expect(log).toContain('CMD_API_SSL');
      expect(log).toContain('parameters');
      for (const pem of [c.key, other.pem]) {
        const body = pem.split('\n').slice(1, -2);
        for (const line of body) expect(log).not.toContain(line);
      }
      expect(log).not.toMatch(/PRIVATE KEY-----/);
    } finally {
      await apps.da.close();
      t.services.logger = logger;
      await t.close();
    }
  });

  it('a node that did not make the change sees it once its cached answer is older than the cache age', async () => {
    await createAccount(s, 'user', 'nodes');
    const clock = s.clock as ManualClock;
    // Another API node on the same database: its own cache, not invalidated by this node's services.
    const other = new CertificateCache(s.services.db, clock, s.services.logger, 30_000);
    const install = async (c: Issued) =>
      expect(
        (
          await ssl(authOf('nodes'), {
            domain: 'nodes.example.com',
            action: 'save',
            certificate: `${c.key}${c.cert}`,
          })
        ).body,
      ).toBe(SAVED);
    expect(await other.contextFor('nodes.example.com')).toBeNull();
    await install(await selfSigned(['nodes.example.com']));
    expect(await other.contextFor('nodes.example.com')).toBeNull();
    clock.advance(30_001);
    const first = await other.contextFor('nodes.example.com');
    expect(first).not.toBeNull();
    await install(await selfSigned(['nodes.example.com']));
    expect(await other.contextFor('nodes.example.com')).toBe(first);
    clock.advance(30_001);
    const second = await other.contextFor('nodes.example.com');
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    // Unchanged: the context is reused, not rebuilt.
    clock.advance(30_001);
    expect(await other.contextFor('nodes.example.com')).toBe(second);
    await ssl(authOf('nodes'), { domain: 'nodes.example.com', action: 'delete' });
    clock.advance(30_001);
    expect(await other.contextFor('nodes.example.com')).toBeNull();
  });

  describe('SNI on a TLS listener', () => {
    it('serves the installed certificate for its names and the default certificate otherwise', async () => {
      const def = await selfSigned(['panel.example.net']);
      const apps = buildApps(s.services, { key: def.key, cert: def.cert });
      await apps.da.listen({ host: '127.0.0.1', port: 0 });
      const addr = apps.da.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const served = (servername: string) =>
        new Promise<string>((resolve, reject) => {
          const sock = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
            const fp = sock.getPeerCertificate().fingerprint256;
            sock.end();
            resolve(fp);
          });
          sock.on('error', reject);
        });
      try {
        const b = await selfSigned(['barney.example.com', 'www.barney.example.com']);
        expect(await served('barney.example.com')).toBe(fingerprintOf(def.cert));
        const saved = await ssl(authOf('barney'), {
          domain: 'barney.example.com',
          action: 'save',
          certificate: `${b.key}${b.cert}`,
        });
        expect(saved.body).toBe(SAVED);
        // A change is served at the next handshake, for the domain and the other names it covers.
        expect(await served('barney.example.com')).toBe(fingerprintOf(b.cert));
        expect(await served('www.barney.example.com')).toBe(fingerprintOf(b.cert));
        expect(await served('BARNEY.example.com.')).toBe(fingerprintOf(b.cert));
        expect(await served('mail.barney.example.com')).toBe(fingerprintOf(def.cert));
        expect(await served('unknown.example.org')).toBe(fingerprintOf(def.cert));
        // The chain is sent after the certificate.
        const withChain = await issued(ca, ['barney.example.com']);
        await ssl(authOf('barney'), {
          domain: 'barney.example.com',
          action: 'save',
          certificate: `${withChain.key}${withChain.cert}${ca.cert}`,
        });
        const chain = await new Promise<string[]>((resolve, reject) => {
          const sock = tlsConnect(
            { host: '127.0.0.1', port, servername: 'barney.example.com', rejectUnauthorized: false },
            () => {
              const leaf = sock.getPeerCertificate(true);
              sock.end();
              resolve([leaf.fingerprint256, leaf.issuerCertificate?.fingerprint256 ?? '']);
            },
          );
          sock.on('error', reject);
        });
        expect(chain).toEqual([fingerprintOf(withChain.cert), fingerprintOf(ca.cert)]);
        await ssl(authOf('barney'), { domain: 'barney.example.com', action: 'delete' });
        expect(await served('barney.example.com')).toBe(fingerprintOf(def.cert));
      } finally {
        await apps.da.close();
      }
    });
  });
});
