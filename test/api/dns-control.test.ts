/**
 * CMD_API_DNS_CONTROL and CMD_API_DNS_ADMIN through real HTTP: the exact answer bytes of every DA DNS
 * request sequence in spec/clients.md (lexicon's four GETs, the ACME shell client's POSTs with the
 * literal `&amp;`), every quirk of DA rule 5, serials, the outbox, scoped login keys and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZone } from '../../src/modules/dns/dns.repository.js';
import { credentialOf, makeKey, packageFields, savePackage } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { ADMIN_PASSWORD, snapshot } from '../helpers/services.js';

const FRED = authOf('fred');

/** The template's records of example.com for an account on the shared IP, as the JSON listing shows them. */
const TEMPLATE_JSON = [
  ['NS', 'example.com.', 'ns1.panel.example.net.'],
  ['NS', 'example.com.', 'ns2.panel.example.net.'],
  ['A', 'example.com.', '127.0.0.1'],
  ['A', 'www', '127.0.0.1'],
  ['A', 'mail', '127.0.0.1'],
  ['A', 'ftp', '127.0.0.1'],
  ['MX', 'example.com.', '10 mail'],
  ['TXT', 'example.com.', 'v=spf1 a mx ip4:127.0.0.1 ~all'],
];

function recordJson([type, name, value]: string[], ttl = '14400'): string {
  return `{"type":"${type}","name":"${name}","value":"${value}","combined":"name=${name}&value=${value}","ttl":"${ttl}"}`;
}

const ZONE_FLAGS =
  '"dnssec":"no","user_dnssec_control":"no","dns_ns":"1","dns_ptr":"0","dns_spf":"1","dns_ttl":"1",' +
  '"DNS_AFFECT_POINTERS_DEFAULT":"0","dns_tlsa":"0","dns_caa":"1","allow_dns_underscore":"1",' +
  '"full_mx_records":"1","default_ttl":"14400","allow_ttl_override":"yes","ttl_is_overridden":"no",' +
  '"ttl":"14400","ttl_value":"14400"';

function listingJson(records: string[][]): string {
  return `{"records":[${records.map((r) => recordJson(r)).join(',')}],${ZONE_FLAGS}}`;
}

async function serialOf(s: TestServer, origin = 'example.com'): Promise<number> {
  return (await loadZone(s.services.db, origin))?.soa.serial ?? -1;
}

async function records(s: TestServer, origin = 'example.com') {
  return (await loadZone(s.services.db, origin))?.records ?? [];
}

function get(s: TestServer, auth: string, query: string): Promise<Answer> {
  return rawCall(s.port, `/CMD_API_DNS_CONTROL?${query}`, { auth });
}

function post(s: TestServer, auth: string, body: string, path = '/CMD_API_DNS_CONTROL'): Promise<Answer> {
  return rawCall(s.port, path, {
    method: 'POST',
    auth,
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

describe('CMD_API_DNS_CONTROL', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ manualClock: true });
    await createAccount(s, 'user', 'fred', { domain: 'example.com' });
    await createAccount(s, 'user', 'barney', { domain: 'barney.example.org' });
  });
  afterAll(async () => s?.close());

  it("lexicon's four GETs answer the bytes lexicon parses", async () => {
    const show = await rawCall(s.port, '/CMD_API_SHOW_DOMAINS?domain=example.com', { auth: FRED });
    expect(show.body).toBe('list[]=example.com');
    const list = await get(s, FRED, 'json=yes&domain=example.com');
    expect(list.status).toBe(200);
    expect(list.headers['content-type']).toMatch(/^application\/json/);
    expect(list.body).toBe(listingJson(TEMPLATE_JSON));
    const add = await get(
      s,
      FRED,
      'action=add&json=yes&name=_acme-challenge.www.example.com.&type=TXT&value=tok123&ttl=3600&domain=example.com',
    );
    expect(add.body).toBe('{"success":"Record Added","result":""}');
    const after = await get(s, FRED, 'json=yes&domain=example.com');
    expect(after.body).toContain(
      ',{"type":"TXT","name":"_acme-challenge.www","value":"tok123","combined":"name=_acme-challenge.www&value=tok123","ttl":"3600"}]',
    );
    const del = await get(
      s,
      FRED,
      'action=select&json=yes&txtrecs1=name%3D_acme-challenge.www.example.com.%26value%3Dtok123&domain=example.com',
    );
    expect(del.body).toBe('{"success":"Records Deleted","result":""}');
    expect(await records(s)).toHaveLength(TEMPLATE_JSON.length);
  });

  it("the ACME shell client's POSTs, with the literal &amp; in the delete body", async () => {
    const show = await rawCall(s.port, '/CMD_API_SHOW_DOMAINS', { method: 'POST', auth: FRED });
    expect(show.body).toBe('list[]=example.com');
    const add = await post(
      s,
      FRED,
      'domain=example.com&action=add&type=TXT&name=_acme-challenge.www&value="tokenvalue"',
    );
    expect(add.body).toBe('error=0&text=Record%20Added&details=');
    expect(add.headers['content-type']).toMatch(/^text\/plain/);
    const rec = (await records(s)).find((r) => r.name === '_acme-challenge.www');
    expect(rec).toEqual({ name: '_acme-challenge.www', type: 'TXT', ttl: null, data: ['tokenvalue'] });
    const del = await post(
      s,
      FRED,
      'domain=example.com&action=select&txtrecs0=name=_acme-challenge.www&amp;value="tokenvalue"',
    );
    expect(del.body).toBe('error=0&text=Records%20Deleted&details=');
    expect((await records(s)).some((r) => r.name === '_acme-challenge.www')).toBe(false);
  });

  it('no domain: the error DA clients quote', async () => {
    const r = await get(s, FRED, 'action=add&type=A&name=x&value=1.2.3.4');
    expect(r.body).toBe('error=1&text=Cannot%20View%20Dns%20Record&details=No%20domain%20provided');
  });

  it('the raw listing is the zone file', async () => {
    const r = await get(s, FRED, 'domain=example.com');
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toContain('$ORIGIN example.com.\n');
    expect(r.body).toContain('www IN A 127.0.0.1\n');
    expect(r.body).toMatch(/@ IN MX 10 mail\.example\.com\.\n/);
  });

  it('every change moves the serial on, never back, and queues the zone for the applier', async () => {
    // A new zone starts at the clock's day, number 01.
    expect(await serialOf(s, 'barney.example.org')).toBe(2026112501);
    const s0 = await serialOf(s);
    expect(Math.floor(s0 / 100)).toBe(20261125);
    const outboxBefore = await s.services.db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'dns.zone')
      .execute();
    await post(s, FRED, 'domain=example.com&action=add&type=A&name=s1&value=10.0.0.1');
    expect(await serialOf(s)).toBe(s0 + 1);
    await post(s, FRED, 'domain=example.com&action=add&type=A&name=s2&value=10.0.0.2');
    expect(await serialOf(s)).toBe(s0 + 2);
    // A clock set back a day still moves forwards.
    (s.clock as unknown as { advance(ms: number): void }).advance(-86_400_000);
    await post(s, FRED, 'domain=example.com&action=delete&type=A&name=s2&value=10.0.0.2');
    expect(await serialOf(s)).toBe(s0 + 3);
    (s.clock as unknown as { advance(ms: number): void }).advance(2 * 86_400_000);
    await post(s, FRED, 'domain=example.com&action=delete&type=A&name=s1');
    expect(await serialOf(s)).toBe(2026112601);
    (s.clock as unknown as { advance(ms: number): void }).advance(-86_400_000);
    const outbox = await s.services.db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'dns.zone')
      .execute();
    expect(outbox.length - outboxBefore.length).toBe(4);
    expect(JSON.parse(outbox.at(-1)?.payload ?? '')).toEqual({ origin: 'example.com', action: 'upsert' });
  });

  it('names relative, absolute or apex; values with or without quotes; MX with mx_value', async () => {
    const ok = async (body: string) => {
      const r = await post(s, FRED, `domain=example.com&${body}`);
      expect(r.body, body).toBe('error=0&text=Record%20Added&details=');
    };
    await ok('action=add&type=A&name=abs.example.com.&value=10.1.1.1');
    await ok('action=add&type=AAAA&name=v6&value=2001:DB8::1');
    await ok('action=add&type=MX&name=example.com.&value=20&mx_value=mx2.example.net.');
    await ok('action=add&type=CNAME&name=blog&value=www');
    await ok('action=add&type=SRV&name=_sip._tcp&value=10 5 5060 sip.example.com.');
    await ok('action=add&type=CAA&name=@&value=0 issue "letsencrypt.org"');
    await ok(`action=add&type=TXT&name=long&value=${'x'.repeat(600)}`);
    await ok('action=add&type=TXT&name=dkim._domainkey&value="v=DKIM1; k=rsa; p=abc"');
    const all = await records(s);
    const pick = (name: string, type: string) => all.find((r) => r.name === name && r.type === type)?.data;
    expect(pick('abs', 'A')).toEqual(['10.1.1.1']);
    expect(pick('v6', 'AAAA')).toEqual(['2001:db8::1']);
    expect(all.filter((r) => r.type === 'MX').map((r) => r.data)).toContainEqual(['20', 'mx2.example.net.']);
    expect(pick('blog', 'CNAME')).toEqual(['www.example.com.']);
    expect(pick('_sip._tcp', 'SRV')).toEqual(['10', '5', '5060', 'sip.example.com.']);
    expect(pick('@', 'CAA')).toEqual(['0', 'issue', 'letsencrypt.org']);
    expect(pick('long', 'TXT')).toEqual(['x'.repeat(600)]);
    expect(pick('dkim._domainkey', 'TXT')).toEqual(['v=DKIM1; k=rsa; p=abc']);
    // Deleting by content works with the value as listed, with or without quotes.
    const del = await post(
      s,
      FRED,
      'domain=example.com&action=select&mxrecs3=name%3Dexample.com.%26value%3D20%20mx2.example.net.&caarecs0=name%3D%40%26value%3D0%20issue%20%22letsencrypt.org%22&txtrecs9=name%3Ddkim._domainkey%26value%3D%22v%3DDKIM1%3B%20k%3Drsa%3B%20p%3Dabc%22',
    );
    expect(del.body).toBe('error=0&text=Records%20Deleted&details=');
    const left = await records(s);
    expect(left.some((r) => r.type === 'CAA' || r.name === 'dkim._domainkey')).toBe(false);
    expect(left.filter((r) => r.type === 'MX')).toHaveLength(1);
  });

  it('edit replaces one record; action=ttl sets the zone TTL; ignored flags are ignored', async () => {
    await post(s, FRED, 'domain=example.com&action=add&type=A&name=ed&value=10.9.9.9');
    const r = await post(
      s,
      FRED,
      'domain=example.com&action=edit&arecs0=name%3Ded%26value%3D10.9.9.9&type=A&name=ed&value=10.9.9.10&ttl=300&affect_pointers=yes&json=yes',
    );
    expect(r.body).toBe('{"success":"Record Edited","result":""}');
    expect((await records(s)).filter((x) => x.name === 'ed')).toEqual([
      { name: 'ed', type: 'A', ttl: 300, data: ['10.9.9.10'] },
    ]);
    const t = await post(s, FRED, 'domain=example.com&action=ttl&ttl_select=custom&ttl=600');
    expect(t.body).toBe('error=0&text=TTL%20Saved&details=');
    expect((await loadZone(s.services.db, 'example.com'))?.ttl).toBe(600);
    await post(s, FRED, 'domain=example.com&action=ttl&ttl_select=default');
    expect((await loadZone(s.services.db, 'example.com'))?.ttl).toBe(14400);
    const l = await get(
      s,
      FRED,
      'domain=example.com&json=yes&full_mx_records=yes&allow_dns_underscore=yes&ttl=yes&responsetype=json&affect_pointers=no',
    );
    expect(l.status).toBe(200);
    expect((l.json() as { records: unknown[] }).records.length).toBeGreaterThan(5);
  });

  it('a CNAME never stands beside other data', async () => {
    const a = await post(s, FRED, 'domain=example.com&action=add&type=CNAME&name=www&value=example.com.');
    expect(a.pairs.error).toBe('1');
    expect(a.pairs.text).toBe('That record conflicts with the zone');
    await post(s, FRED, 'domain=example.com&action=add&type=CNAME&name=cn&value=www');
    const b = await post(s, FRED, 'domain=example.com&action=add&type=TXT&name=cn&value=x');
    expect(b.pairs.error).toBe('1');
    const c = await post(s, FRED, 'domain=example.com&action=add&type=CNAME&name=@&value=www');
    expect(c.pairs.error).toBe('1');
  });

  it("another account's zone answers exactly like a missing one, and is not touched", async () => {
    const before = await snapshot(s.services);
    const foreign = await post(s, FRED, 'domain=barney.example.org&action=add&type=A&name=x&value=1.2.3.4');
    const missing = await post(s, FRED, 'domain=nothere.example.org&action=add&type=A&name=x&value=1.2.3.4');
    expect(foreign.pairs.error).toBe('1');
    expect(foreign.body).toBe(missing.body.split('nothere.example.org').join('barney.example.org'));
    const fl = await get(s, FRED, 'domain=barney.example.org&json=yes');
    const ml = await get(s, FRED, 'domain=nothere.example.org&json=yes');
    expect(fl.status).toBe(ml.status);
    expect(fl.body).toBe(ml.body.split('nothere.example.org').join('barney.example.org'));
    expect(await snapshot(s.services)).toBe(before);
  });

  it('bad input in every parameter is refused and changes nothing', async () => {
    const zoneBefore = JSON.stringify(await loadZone(s.services.db, 'example.com'));
    const outboxBefore = (await s.services.db.selectFrom('outbox').selectAll().execute()).length;
    const bad = [
      'action=add&type=A&name=x&value=1.2.3.999',
      'action=add&type=A&name=x&value=1.2.3.4%0a@ IN NS evil.',
      'action=add&type=AAAA&name=x&value=1.2.3.4',
      'action=add&type=BOGUS&name=x&value=1',
      'action=add&type=A&name=$INCLUDE&value=1.2.3.4',
      'action=add&type=A&name=$ORIGIN&value=1.2.3.4',
      'action=add&type=A&name=a%0ab&value=1.2.3.4',
      'action=add&type=A&name=a b&value=1.2.3.4',
      'action=add&type=A&name=a;b&value=1.2.3.4',
      'action=add&type=A&name=x.other.org.&value=1.2.3.4',
      `action=add&type=A&name=${'a'.repeat(64)}&value=1.2.3.4`,
      'action=add&type=A&name=x&value=1.2.3.4&ttl=-1',
      'action=add&type=A&name=x&value=1.2.3.4&ttl=abc',
      'action=add&type=A&name=x&value=1.2.3.4&ttl=99999999999',
      'action=add&type=TXT&name=x&value=a%0d%0a$INCLUDE /etc/passwd',
      'action=add&type=TXT&name=x&value=a%00b',
      `action=add&type=TXT&name=x&value=${'y'.repeat(9000)}`,
      'action=add&type=TXT&name=x&value=',
      'action=add&type=CNAME&name=x&value=evil";rm',
      'action=add&type=CNAME&name=x&value=a\\b',
      'action=add&type=MX&name=x&value=10',
      'action=add&type=MX&name=x&value=99999 mail',
      'action=add&type=MX&name=x&value=10&mx_value=mail;x',
      'action=add&type=SRV&name=_s._tcp&value=1 2 3',
      'action=add&type=SRV&name=_s._tcp&value=1 2 70000 t.',
      'action=add&type=CAA&name=@&value=0 issue "a"b"',
      'action=add&type=CAA&name=@&value=0 issue "x%0ay"',
      'action=add&type=NS&name=sub&value=(ns)',
      'action=add&type=PTR&name=x&value=',
      'action=add&type=A&value=1.2.3.4',
      'action=select&arecs0=name%3Dwww',
      'action=select&arecs0=garbage',
      'action=select&arecs0=name%3Dwww%26value%3D9.9.9.9',
      'action=select',
      'action=delete&type=A&name=nothing',
      'action=delete&type=A',
      'action=edit&type=A&name=x&value=1.2.3.4',
      'action=edit&arecs0=name%3Dwww%26value%3D127.0.0.1&type=A&name=www&value=bad',
      'action=ttl&ttl_select=custom&ttl=x',
      'action=ttl&ttl_select=weird&ttl=5',
      'action=bogus',
    ];
    for (const b of bad) {
      const r = await post(s, FRED, `domain=example.com&${b}`);
      expect(r.status, b).toBe(200);
      expect(r.pairs.error, `${b}: ${r.body}`).toBe('1');
      expect(r.pairs.details, b).not.toBe('');
    }
    for (const d of ['', '..', 'exa mple.com', 'exa%0ample.com', '-x.com', `${'a'.repeat(64)}.com`]) {
      const r = await post(s, FRED, `domain=${d}&action=add&type=A&name=x&value=1.2.3.4`);
      expect(r.pairs.error, d).toBe('1');
    }
    expect(JSON.stringify(await loadZone(s.services.db, 'example.com'))).toBe(zoneBefore);
    expect((await s.services.db.selectFrom('outbox').selectAll().execute()).length).toBe(outboxBefore);
  });
});

describe('CMD_API_DNS_CONTROL with a login key scoped to TXT _acme-challenge.* of one domain', () => {
  let s: TestServer;
  let key: string;
  let keyId: string;
  beforeAll(async () => {
    s = await startTestServer({ manualClock: true });
    await createAccount(s, 'user', 'fred', { domain: 'example.com' });
    await rawCall(s.port, '/CMD_API_DOMAIN', {
      method: 'POST',
      auth: FRED,
      params: { action: 'create', domain: 'other.com', ubandwidth: 'ON', uquota: 'ON' },
    });
    key = await makeKey(s, 'fred', {
      keyname: 'acme',
      max_uses: '100',
      select_allow0: 'CMD_API_DNS_CONTROL',
      select_allow1: 'CMD_API_SHOW_DOMAINS',
      select_allow2: 'CMD_API_DOMAIN',
    });
    const row = await s.services.db
      .selectFrom('login_keys')
      .selectAll()
      .where('name', '=', 'acme')
      .executeTakeFirstOrThrow();
    keyId = row.id;
    // The scope is stored with the key; DA's form has no DNS fields, so it is set as the key service stores it.
    await s.services.db
      .updateTable('login_keys')
      .set({
        scope: JSON.stringify({
          domains: ['example.com'],
          dns: { names: ['_acme-challenge.*', '_acme-challenge'], types: ['TXT'] },
        }),
      })
      .where('id', '=', keyId)
      .execute();
    s.services.credentialCache.clear?.();
  });
  afterAll(async () => s?.close());

  async function usesLeft(): Promise<number> {
    const r = await s.services.db
      .selectFrom('login_keys')
      .select('uses_left')
      .where('id', '=', keyId)
      .executeTakeFirstOrThrow();
    return r.uses_left;
  }

  it('in scope: adds and deletes the challenge, one use each', async () => {
    const auth = `fred:${key}`;
    const before = await usesLeft();
    const add = await post(
      s,
      auth,
      'domain=example.com&action=add&type=TXT&name=_acme-challenge.www&value="t1"',
    );
    expect(add.body).toBe('error=0&text=Record%20Added&details=');
    const del = await post(
      s,
      auth,
      'domain=example.com&action=select&txtrecs0=name=_acme-challenge.www&amp;value="t1"',
    );
    expect(del.body).toBe('error=0&text=Records%20Deleted&details=');
    expect(await usesLeft()).toBe(before - 2);
  });

  it('out of scope: refused, nothing changed, no use spent', async () => {
    const auth = `fred:${key}`;
    const before = await usesLeft();
    const snap = await snapshot(s.services);
    const cases = [
      'domain=example.com&action=add&type=A&name=_acme-challenge.www&value=1.2.3.4',
      'domain=example.com&action=add&type=TXT&name=www&value=x',
      'domain=example.com&action=add&type=TXT&name=@&value=x',
      'domain=other.com&action=add&type=TXT&name=_acme-challenge&value=x',
      'domain=example.com&action=select&arecs0=name%3Dwww%26value%3D127.0.0.1',
      'domain=example.com&action=delete&type=TXT&name=example.com.',
      'domain=example.com&action=edit&txtrecs0=name%3D_acme-challenge%26value%3Dx&type=A&name=www&value=1.1.1.1',
      'domain=example.com&action=ttl&ttl_select=custom&ttl=60',
      'domain=other.com&json=yes',
    ];
    for (const c of cases) {
      const r = await post(s, auth, c);
      expect(r.pairs.error ?? (r.json() as { error?: string }).error, c).toBeTruthy();
      expect(r.body, c).not.toMatch(/error=0|success/);
    }
    const dom = await rawCall(s.port, '/CMD_API_DOMAIN', {
      method: 'POST',
      auth,
      params: { action: 'create', domain: 'third.com' },
    });
    expect(dom.pairs.error).toBe('1');
    expect(await usesLeft()).toBe(before);
    expect(await snapshot(s.services)).toBe(snap);
    const shown = await rawCall(s.port, '/CMD_API_SHOW_DOMAINS', { auth });
    expect(shown.body).toBe('list[]=example.com');
  });
});

describe('CMD_API_DNS_ADMIN', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ manualClock: true });
    await createAccount(s, 'user', 'fred', { domain: 'example.com' });
  });
  afterAll(async () => s?.close());

  it('connectivity check, exists, and record changes on any zone', async () => {
    expect((await s.admin('/CMD_API_DNS_ADMIN')).body).toBe('error=0&text=OK');
    expect((await s.admin('/CMD_API_DNS_ADMIN', { action: 'exists', domain: 'example.com' })).body).toBe(
      'error=0&exists=1',
    );
    expect((await s.admin('/CMD_API_DNS_ADMIN', { action: 'exists', domain: 'shop.example.com' })).body).toBe(
      'error=0&exists=2',
    );
    expect((await s.admin('/CMD_API_DNS_ADMIN', { action: 'exists', domain: 'nothing.org' })).body).toBe(
      'error=0&exists=0',
    );
    const add = await s.admin('/CMD_API_DNS_ADMIN', {
      domain: 'example.com',
      action: 'add',
      type: 'TXT',
      name: 'adm',
      value: 'by admin',
    });
    expect(add.body).toBe('error=0&text=Record%20Added&details=');
    expect((await records(s)).find((r) => r.name === 'adm')?.data).toEqual(['by admin']);
    const ctl = await s.admin('/CMD_API_DNS_CONTROL', { domain: 'example.com', json: 'yes' });
    expect(ctl.status).toBe(404);
    const user = await post(s, FRED, 'action=exists&domain=example.com', '/CMD_API_DNS_ADMIN');
    expect(user.status).toBe(403);
  });
  it('rawsave stores a pushed zone owned by the cluster account; delete removes it; local domains are refused', async () => {
    const zone = (serial: number, extra = '') =>
      `$TTL 3600\nslave.test.\tIN\tSOA\tns1.master.example.net. hostmaster.slave.test. (\n\t${serial} 14400 3600 1209600 86400 )\n` +
      `slave.test.\t14400\tIN\tNS\tns1.master.example.net.\nwww\tIN\tA\t192.0.2.7\n` +
      `slave.test.\tIN\tTXT\t"100% & more=yes"\n${extra}`;
    const push = (domain: string, body: string, auth = `admin:${ADMIN_PASSWORD}`) =>
      rawCall(
        s.port,
        `/CMD_API_DNS_ADMIN?domain=${domain}&action=rawsave&hostname=master.example.net&username=bob`,
        {
          method: 'POST',
          auth,
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
      );
    const r = await push('slave.test', zone(2026112007));
    expect(r.body).toBe('error=0&text=Zone%20saved&details=');
    const z = await loadZone(s.services.db, 'slave.test');
    expect(z?.soa.serial).toBe(2026112007);
    expect(z?.ttl).toBe(3600);
    expect(z?.records.map((x) => `${x.name} ${x.type} ${x.data.join('|')}`)).toEqual([
      '@ NS ns1.master.example.net.',
      'www A 192.0.2.7',
      '@ TXT 100% & more=yes',
    ]);
    const owner = await s.services.db
      .selectFrom('dns_zones')
      .innerJoin('accounts', 'accounts.id', 'dns_zones.account_id')
      .select('accounts.username')
      .where('origin', '=', 'slave.test')
      .executeTakeFirst();
    expect(owner?.username).toBe('admin');
    expect((await s.admin('/CMD_API_DNS_ADMIN', { action: 'exists', domain: 'slave.test' })).body).toBe(
      'error=0&exists=1',
    );
    // A second push replaces the records; an older serial from the master never moves ours back.
    expect((await push('slave.test', zone(2026110101, 'mail\tIN\tA\t192.0.2.8\n'))).pairs.error).toBe('0');
    const z2 = await loadZone(s.services.db, 'slave.test');
    expect(z2?.soa.serial).toBe(2026112008);
    expect(z2?.records.map((x) => x.name)).toEqual(['@', 'www', '@', 'mail']);

    const before = await snapshot(s.services);
    const zonesBefore = JSON.stringify(await loadZone(s.services.db, 'slave.test'));
    for (const [domain, body] of [
      ['slave.test', zone(2026112009, '$INCLUDE /etc/passwd\n')],
      ['slave.test', zone(2026112009, 'evil.other.org. IN A 192.0.2.1\n')],
      ['slave.test', 'not a zone'],
      ['slave.test', ''],
      ['example.com', zone(2026112009).replaceAll('slave.test', 'example.com')],
    ] as const) {
      const bad = await push(domain, body);
      expect(bad.pairs.error, body).toBe('1');
    }
    expect(JSON.stringify(await loadZone(s.services.db, 'slave.test'))).toBe(zonesBefore);
    expect(await snapshot(s.services)).toBe(before);
    expect((await push('slave.test', zone(2026112010), FRED)).status).toBe(403);
    // A local domain's zone cannot be deleted by a master either.
    expect(
      (await s.admin('/CMD_API_DNS_ADMIN', { action: 'delete', domain: 'example.com' })).pairs.error,
    ).toBe('1');

    const del = await s.admin('/CMD_API_DNS_ADMIN', {
      action: 'delete',
      domain: 'slave.test',
      hostname: 'master.example.net',
    });
    expect(del.body).toBe('error=0&text=Zone%20deleted&details=');
    expect(await loadZone(s.services.db, 'slave.test')).toBeNull();
    const last = await s.services.db
      .selectFrom('outbox')
      .select('payload')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    expect(last?.payload).toBe('{"origin":"slave.test","action":"delete"}');
  });
});

describe('CMD_API_DNS_CONTROL for an account without DNS control', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    await savePackage(
      s,
      credentialOf('admin'),
      'user',
      'nodns',
      packageFields('user', '5', { dnscontrol: 'OFF' }),
    );
    await createAccount(s, 'user', 'fred', { domain: 'example.com', package: 'nodns' });
  });
  afterAll(async () => s?.close());

  it('is refused, and the zone is unchanged', async () => {
    const before = JSON.stringify(await loadZone(s.services.db, 'example.com'));
    const add = await post(s, FRED, 'domain=example.com&action=add&type=TXT&name=x&value=y');
    expect(add.pairs.error).toBe('1');
    expect(add.pairs.text).toBe('That feature is disabled for this account');
    expect((await get(s, FRED, 'domain=example.com&json=yes')).status).toBe(403);
    expect(JSON.stringify(await loadZone(s.services.db, 'example.com'))).toBe(before);
    // The admin may still change it.
    const adm = await s.admin('/CMD_API_DNS_ADMIN', {
      domain: 'example.com',
      action: 'add',
      type: 'TXT',
      name: 'x',
      value: 'y',
    });
    expect(adm.pairs.error).toBe('0');
  });
});
