/**
 * cPanel DNS over UAPI (DNS::parse_zone, DNS::mass_edit_zone) and API 2 (ZoneEdit), the domain
 * functions (DomainInfo::single_domain_data, SubDomain, Park, AddonDomain) and WHM's zone functions:
 * every cPanel DNS request sequence of spec/clients.md with the exact answer bytes its client parses,
 * the serial rule, bad and invalid input changing nothing, another account's zone answering as a
 * missing one, and a token scoped to `_acme-challenge.*` TXT records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZone } from '../../src/modules/dns/dns.repository.js';
import { DNS_API2_FUNCTIONS, DNS_UAPI_FUNCTIONS } from '../../src/protocols/cpanel/dns.js';
import { DOMAIN_API2_FUNCTIONS, DOMAIN_UAPI_FUNCTIONS } from '../../src/protocols/cpanel/domains.js';
import { WHM_DNS_FUNCTIONS } from '../../src/protocols/cpanel/whm/dns.js';
import { createAccount, rawCall } from '../helpers/server.js';
import { ADMIN_PASSWORD } from '../helpers/services.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
  uapi,
} from './cpanel-server.js';

const FRED = 'fred:fred-Pass-123';
const API2 =
  '/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=ZoneEdit&cpanel_jsonapi_func=';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** The exact UAPI success body cPanel sends for a non-list result. */
const uapiOk = (data: string) =>
  `{"data":${data},"errors":null,"messages":null,"metadata":{},"status":1,"warnings":null}`;
const uapiErr = (text: string) =>
  `{"data":null,"errors":[${JSON.stringify(text)}],"messages":null,"metadata":{},"status":0,"warnings":null}`;
const api2Ok = (func: string, data: string) =>
  `{"cpanelresult":{"apiversion":2,"data":${data},"event":{"result":1},"func":"${func}","module":"ZoneEdit"}}`;

describe('cPanel DNS', () => {
  let s: CpanelServer;
  let token = '';

  /** Everything a DNS change could touch, for "nothing changed" checks. */
  const zoneState = async () => {
    const db = s.services.db;
    const zones = await db.selectFrom('dns_zones').selectAll().orderBy('origin').execute();
    const records = await db.selectFrom('dns_records').selectAll().orderBy('id').execute();
    const outbox = await db.selectFrom('outbox').selectAll().orderBy('id').execute();
    return JSON.stringify({ zones, records, outbox });
  };
  const serialOf = async (origin: string) => (await loadZone(s.services.db, origin))?.soa.serial ?? 0;
  const txt = async (origin: string, name: string) =>
    ((await loadZone(s.services.db, origin))?.records ?? [])
      .filter((r) => r.type === 'TXT' && r.name === name)
      .map((r) => r.data);
  const get = (path: string, headers?: Record<string, string>) =>
    s.cp(path, headers ? { headers } : { auth: FRED });

  beforeAll(async () => {
    // The WHM listener too (a TestServerOptions field startTestServer reads).
    const options = { manualClock: true, whm: true };
    s = await startCpanelServer(options);
    await makeUser(s, 'fred', { domain: 'example.com' });
    await makeUser(s, 'barney', { domain: 'barney.example.org' });
    token = await makeToken(s, 'fred', 'acme');
  });
  afterAll(async () => s?.close());

  it('every DNS and domain function names registry commands that exist', () => {
    const tables = [
      DNS_UAPI_FUNCTIONS,
      DNS_API2_FUNCTIONS,
      DOMAIN_UAPI_FUNCTIONS,
      DOMAIN_API2_FUNCTIONS,
      WHM_DNS_FUNCTIONS,
    ];
    for (const table of tables)
      for (const [name, fn] of Object.entries(table))
        for (const id of fn.uses) expect(s.services.registry.get(id), `${name} uses ${id}`).toBeDefined();
  });

  describe('UAPI: the ACME shell client (token, relative dname, lower-case %-escapes, remove by line)', () => {
    it('lists domains, reads the zone, adds the challenge and removes it by line index', async () => {
      const auth = tokenAuth('fred', token);
      const domains = await get('/execute/DomainInfo/list_domains', auth);
      expect(domains.body).toContain('"main_domain":"example.com"');

      const serial = await serialOf('example.com');
      const parsed = await get('/execute/DNS/parse_zone?zone=example.com', auth);
      // The client splits the compact JSON on `},{` and reads the SOA's third data_b64 field.
      const soa = parsed.body.split('},{').find((part) => part.includes('"record_type":"SOA"'));
      expect(soa).toBeDefined();
      const fields = /"data_b64":\[([^\]]*)\]/.exec(soa ?? '')?.[1]?.split(',') ?? [];
      expect(unb64(JSON.parse(fields[2] ?? '""'))).toBe(String(serial));
      expect(parsed.body).toMatch(/^\{"data":\[\{"line_index":0,"text_b64":"[^"]+","type":"comment"\},/);
      expect(parsed.body).toContain(
        `{"line_index":3,"type":"record","record_type":"SOA","dname_b64":"${b64('example.com.')}","ttl":14400,"data_b64":[`,
      );
      expect(
        parsed.body.endsWith(
          '],"errors":null,"messages":null,"metadata":{"transformed":1},"status":1,"warnings":null}',
        ),
      ).toBe(true);
      const firstLine = unb64(uapi(parsed).data[0].text_b64);
      expect(firstLine.startsWith('; cPanel first:')).toBe(true);

      const add =
        '%7b%22dname%22%3a%22_acme-challenge.www%22%2c%22ttl%22%3a120%2c%22record_type%22%3a%22TXT%22%2c%22data%22%3a%5b%22tok%22%5d%7d';
      const added = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${add}`,
        auth,
      );
      expect(added.body).toBe(uapiOk(`{"new_serial":"${serial + 1}"}`));
      expect(await txt('example.com', '_acme-challenge.www')).toEqual([['tok']]);
      const zone = await loadZone(s.services.db, 'example.com');
      expect(zone?.records.find((r) => r.name === '_acme-challenge.www')?.ttl).toBe(120);

      const items = uapi(await get('/execute/DNS/parse_zone?zone=example.com', auth)).data as {
        line_index: number;
        type: string;
        dname_b64?: string;
        data_b64?: string[];
      }[];
      const line = items.find(
        (i) => i.dname_b64 === b64('_acme-challenge.www.example.com.') && i.data_b64?.[0] === b64('tok'),
      );
      expect(line?.type).toBe('record');
      expect(items.map((i) => i.line_index)).toEqual(items.map((_i, n) => n));
      const removed = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial + 1}&remove=${line?.line_index}`,
        auth,
      );
      expect(removed.body).toBe(uapiOk(`{"new_serial":"${serial + 2}"}`));
      expect(await txt('example.com', '_acme-challenge.www')).toEqual([]);
    });

    it('takes upper-case %-escapes and a POST body alike', async () => {
      const serial = await serialOf('example.com');
      const add = encodeURIComponent(
        JSON.stringify({ dname: '_acme-challenge', ttl: 300, record_type: 'TXT', data: ['up'] }),
      );
      expect(add).toMatch(/%7B%22dname%22%3A/);
      const r = await s.cp('/execute/DNS/mass_edit_zone', {
        method: 'POST',
        auth: FRED,
        body: `zone=example.com&serial=${serial}&add=${add}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(r.body).toBe(uapiOk(`{"new_serial":"${serial + 1}"}`));
      expect(await txt('example.com', '_acme-challenge')).toEqual([['up']]);
    });
  });

  describe('UAPI: the Go ACME library (absolute dname, edit by line_index, several values)', () => {
    it('adds with an absolute name, edits the record in place and removes two lines at once', async () => {
      let serial = await serialOf('example.com');
      const abs = encodeURIComponent(
        JSON.stringify({
          dname: '_acme-challenge.lego.example.com.',
          ttl: 120,
          record_type: 'TXT',
          data: ['one'],
        }),
      );
      expect(
        (await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${abs}`)).body,
      ).toBe(uapiOk(`{"new_serial":"${++serial}"}`));
      const items = uapi(await get('/execute/DNS/parse_zone?zone=example.com')).data as {
        line_index: number;
        dname_b64?: string;
      }[];
      const at = items.find((i) => i.dname_b64 === b64('_acme-challenge.lego.example.com.'))?.line_index;
      const edit = encodeURIComponent(
        JSON.stringify({
          line_index: at,
          dname: '_acme-challenge.lego.example.com.',
          ttl: 120,
          record_type: 'TXT',
          data: ['one', 'two'],
        }),
      );
      expect(
        (await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&edit=${edit}`)).body,
      ).toBe(uapiOk(`{"new_serial":"${++serial}"}`));
      expect(await txt('example.com', '_acme-challenge.lego')).toEqual([['one', 'two']]);
      const after = uapi(await get('/execute/DNS/parse_zone?zone=example.com')).data as {
        line_index: number;
        dname_b64?: string;
        data_b64?: string[];
      }[];
      const edited = after.find((i) => i.dname_b64 === b64('_acme-challenge.lego.example.com.'));
      expect(edited?.data_b64).toEqual([b64('one'), b64('two')]);
      const up = after.find((i) => i.dname_b64 === b64('_acme-challenge.example.com.'));
      const r = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&remove=${edited?.line_index}&remove=${up?.line_index}`,
      );
      expect(r.body).toBe(uapiOk(`{"new_serial":"${++serial}"}`));
      expect(await txt('example.com', '_acme-challenge.lego')).toEqual([]);
      expect(await txt('example.com', '_acme-challenge')).toEqual([]);
    });
  });

  describe('UAPI: every record type, and text that must stay data', () => {
    it('adds each type, shows the fields back in data_b64 and removes them all in one request', async () => {
      let serial = await serialOf('example.com');
      const recs = [
        { dname: 'types', ttl: 60, record_type: 'AAAA', data: ['2001:db8::1'] },
        { dname: 'types', ttl: 60, record_type: 'MX', data: ['5', 'mx.example.net.'] },
        { dname: '_sip._tcp', ttl: 60, record_type: 'SRV', data: ['10', '5', '5060', 'sip.example.com.'] },
        { dname: 'types', ttl: 60, record_type: 'CAA', data: ['0', 'issue', 'letsencrypt.org'] },
        { dname: 'alias', ttl: 60, record_type: 'CNAME', data: ['www.example.com.'] },
        { dname: 'types', ttl: 60, record_type: 'TXT', data: ['say "hi"; \\ $ORIGIN evil.', 'second'] },
      ];
      const q = recs.map((r) => `add=${encodeURIComponent(JSON.stringify(r))}`).join('&');
      expect((await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&${q}`)).body).toBe(
        uapiOk(`{"new_serial":"${++serial}"}`),
      );
      const items = uapi(await get('/execute/DNS/parse_zone?zone=example.com')).data as {
        line_index: number;
        record_type?: string;
        dname_b64?: string;
        data_b64?: string[];
      }[];
      const lines: number[] = [];
      for (const r of recs) {
        const hit = items.find(
          (i) => i.record_type === r.record_type && i.dname_b64 === b64(`${r.dname}.example.com.`),
        );
        expect(hit?.data_b64?.map(unb64), r.record_type).toEqual(r.data);
        lines.push(hit?.line_index ?? -1);
      }
      // The zone-file lines keep the text quoted: nothing in it starts a directive or a comment.
      const zones = await get(`${API2}fetchzones`);
      const text = (zones.json() as { cpanelresult: { data: { zones: Record<string, string[]> }[] } })
        .cpanelresult.data[0]?.zones['example.com'];
      expect(text).toContain('types.example.com.\t60\tIN\tTXT\t"say \\"hi\\"; \\\\ $ORIGIN evil." "second"');
      const remove = lines.map((l, i) => `remove-${i}=${l}`).join('&');
      expect(
        (await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&${remove}`)).body,
      ).toBe(uapiOk(`{"new_serial":"${++serial}"}`));
      const left = (await loadZone(s.services.db, 'example.com'))?.records ?? [];
      expect(left.filter((r) => ['types', '_sip._tcp', 'alias'].includes(r.name))).toEqual([]);
    });

    it('a read-only token reads the zone but may not change it', async () => {
      const ro = tokenAuth('fred', await makeToken(s, 'fred', 'readonly', { readonly: '1' }));
      expect(uapi(await get('/execute/DNS/parse_zone?zone=example.com', ro)).status).toBe(1);
      const before = await zoneState();
      const r = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${await serialOf('example.com')}&remove=6`,
        ro,
      );
      expect(r.status).toBe(403);
      expect(await zoneState()).toBe(before);
    });
  });

  describe('UAPI refusals change nothing', () => {
    const addOf = (o: unknown) => encodeURIComponent(JSON.stringify(o));
    const good = addOf({ dname: 'ok', ttl: 60, record_type: 'TXT', data: ['fine'] });

    it('a serial that is not the current one', async () => {
      const serial = await serialOf('example.com');
      const before = await zoneState();
      const r = await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial - 1}&add=${good}`);
      expect(r.body).toBe(
        uapiErr(
          `The given serial number (${serial - 1}) does not match the DNS zone’s serial number (${serial}). Refresh your view of the DNS zone, then resubmit.`,
        ),
      );
      const byLine = await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial + 5}&remove=6`);
      expect(uapi(byLine).errors?.[0]).toMatch(/^The given serial number/);
      expect(await zoneState()).toBe(before);
    });

    it('concurrent edits based on one serial: exactly one applies', async () => {
      const serial = await serialOf('example.com');
      const answers = await Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          get(
            `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${addOf({ dname: 'race', ttl: 60, record_type: 'TXT', data: [`v${n}`] })}`,
          ),
        ),
      );
      const ok = answers.filter((a) => a.body === uapiOk(`{"new_serial":"${serial + 1}"}`));
      expect(ok).toHaveLength(1);
      for (const a of answers.filter((x) => !ok.includes(x)))
        expect(uapi(a).errors?.[0]).toMatch(/^The given serial number/);
      expect(await txt('example.com', 'race')).toHaveLength(1);
      expect(await serialOf('example.com')).toBe(serial + 1);
    });

    it('bad JSON in add, a missing field, a bad line, the SOA line', async () => {
      const serial = await serialOf('example.com');
      const before = await zoneState();
      const cases: [string, RegExp][] = [
        [`add=${encodeURIComponent('{"dname":"x",')}`, /^The “add” value is not valid JSON/],
        [`add=${addOf({ dname: 'x', record_type: 'TXT' })}`, /needs “data”, an array of strings/],
        [`add=${addOf(['x'])}`, /must be a JSON object/],
        [`add=${good}&remove=999`, /^The zone has no line 999\.$/],
        [`add=${good}&remove=3`, /SOA record, which the server maintains/],
        [`add=${good}&remove=0`, /^Line 0 is not a record\.$/],
        [`add=${good}&remove=6&remove=6`, /named more than once/],
        ['', /at least one “add”, “edit” or “remove”/],
      ];
      for (const [q, want] of cases) {
        const r = uapi(await get(`/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&${q}`));
        expect(r.status, q).toBe(0);
        expect(r.errors?.[0], q).toMatch(want);
      }
      expect(await zoneState()).toBe(before);
    });

    it('an invalid record beside valid ones: all or nothing', async () => {
      const serial = await serialOf('example.com');
      const before = await zoneState();
      const bad: [unknown, RegExp][] = [
        [{ dname: 'host', ttl: 60, record_type: 'A', data: ['300.1.1.1'] }, /is not an IPv4 address/],
        [
          { dname: 'www', ttl: 60, record_type: 'CNAME', data: ['elsewhere.example.net.'] },
          /must stand alone/,
        ],
        [{ dname: 'x', ttl: 60, record_type: 'MX', data: ['10'] }, /needs 2 data values/],
        [{ dname: 'a\nb', ttl: 60, record_type: 'TXT', data: ['x'] }, /control characters/],
        [{ dname: 'x', ttl: 60, record_type: 'TXT', data: ['$INCLUDE /etc/passwd\n'] }, /control characters/],
        [{ dname: 'out.example.net.', ttl: 60, record_type: 'TXT', data: ['x'] }, /not inside the zone/],
        [{ dname: 'x', ttl: -1, record_type: 'TXT', data: ['x'] }, /whole number of seconds/],
        [{ dname: 'x', ttl: 60, record_type: 'HINFO', data: ['x'] }, /type must be one of/],
      ];
      for (const [rec, want] of bad) {
        const r = uapi(
          await get(
            `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${good}&add=${addOf(rec)}`,
          ),
        );
        expect(r.status, JSON.stringify(rec)).toBe(0);
        expect(r.errors?.[0], JSON.stringify(rec)).toMatch(want);
      }
      expect(await zoneState()).toBe(before);
    });

    it("another account's zone answers exactly like a zone that does not exist", async () => {
      const before = await zoneState();
      const serial = await serialOf('barney.example.org');
      for (const zone of ['barney.example.org', 'nowhere.example.org']) {
        const text = `You do not control a DNS zone named ${zone}.`;
        expect((await get(`/execute/DNS/parse_zone?zone=${zone}`)).body).toBe(uapiErr(text));
        expect(
          (await get(`/execute/DNS/mass_edit_zone?zone=${zone}&serial=${serial}&add=${good}`)).body,
        ).toBe(uapiErr(text));
        expect((await get(`/execute/DNS/mass_edit_zone?zone=${zone}&serial=${serial}&remove=6`)).body).toBe(
          uapiErr(text),
        );
        const a2 = await get(`${API2}remove_zone_record&domain=${zone}&line=7`);
        expect(a2.body).toContain(`"error":"${text}"`);
      }
      expect(await zoneState()).toBe(before);
    });
  });

  describe('API 2 ZoneEdit: the shell client (token, no cpanel_jsonapi_user) and cpanel-lib', () => {
    it('fetchzones: the first zone is the tenth colon-separated field; lines start with "; cPanel first"', async () => {
      const r = await s.cp(
        '/json-api/cpanel?cpanel_jsonapi_user=fred&cpanel_jsonapi_module=ZoneEdit&cpanel_jsonapi_func=fetchzones&cpanel_jsonapi_apiversion=2',
        { auth: FRED },
      );
      // `cut -d ':' -f10 | sed 's/"//g' | sed 's/{//g'`
      expect((r.body.split(':')[9] ?? '').replace(/["{]/g, '')).toBe('example.com');
      const j = r.json() as { cpanelresult: { data: { zones: Record<string, string[]> }[] } };
      const lines = j.cpanelresult.data[0]?.zones['example.com'] ?? [];
      expect(lines[0]).toMatch(/^; cPanel first:/);
      expect(lines).toContain('www.example.com.\t14400\tIN\tA\t127.0.0.1');
      expect(Object.keys(j.cpanelresult.data[0]?.zones ?? {})).toEqual(['example.com']);
    });

    it('add_zone_record, fetchzone_records (line, absolute name, txtdata), remove_zone_record', async () => {
      const auth = tokenAuth('fred', token);
      const serial = await serialOf('example.com');
      const added = await get(
        `${API2}add_zone_record&domain=example.com&name=_acme-challenge.www&type=TXT&txtdata=tok&ttl=1`,
        auth,
      );
      expect(added.body).toBe(
        api2Ok(
          'add_zone_record',
          `[{"result":{"newserial":"${serial + 1}","status":1,"statusmsg":"Added the TXT record."}}]`,
        ),
      );
      const listed = await get(`${API2}fetchzone_records&domain=example.com`, auth);
      const data = (listed.json() as { cpanelresult: { data: Record<string, unknown>[] } }).cpanelresult.data;
      // jq '.cpanelresult.data[] | select(.name == "_acme-challenge.www.example.com.") | {Line} | .Line'
      const hit = data.filter((d) => d.name === '_acme-challenge.www.example.com.');
      expect(hit).toHaveLength(1);
      expect(hit[0]).toMatchObject({ class: 'IN', ttl: 1, txtdata: 'tok', type: 'TXT' });
      expect(hit[0]?.line).toBe(hit[0]?.Line);
      const line = Number(hit[0]?.line);
      expect(listed.body).toContain(
        `{"Line":${line},"line":${line},"class":"IN","name":"_acme-challenge.www.example.com.","ttl":1,"type":"TXT","record":"\\"tok\\"","txtdata":"tok"}`,
      );
      expect(data.find((d) => d.name === 'www.example.com.')).toMatchObject({
        type: 'A',
        address: '127.0.0.1',
      });
      expect(data.find((d) => d.type === 'MX')).toMatchObject({
        exchange: 'mail.example.com.',
        preference: 10,
      });
      // Filters: name (FQDN with the dot) and type, as the documentation's example URL sends them.
      const one = await get(
        `${API2}fetchzone_records&domain=example.com&name=_acme-challenge.www.example.com.&type=TXT`,
        auth,
      );
      expect((one.json() as { cpanelresult: { data: unknown[] } }).cpanelresult.data).toHaveLength(1);

      const removed = await get(`${API2}remove_zone_record&domain=example.com&line=${line}`, auth);
      expect(removed.body).toBe(
        api2Ok(
          'remove_zone_record',
          `[{"result":{"newserial":"${serial + 2}","status":1,"statusmsg":"Removed line ${line}."}}]`,
        ),
      );
      expect(await txt('example.com', '_acme-challenge.www')).toEqual([]);
    });

    it('edit_zone_record keeps what it is not given; a stale or foreign line is refused', async () => {
      let serial = await serialOf('example.com');
      await get(`${API2}add_zone_record&domain=example.com&name=edit-me&type=A&address=192.0.2.1&ttl=300`);
      serial++;
      const data = (
        (await get(`${API2}fetchzone_records&domain=example.com&name=edit-me.example.com.`)).json() as {
          cpanelresult: { data: { line: number }[] };
        }
      ).cpanelresult.data;
      const line = data[0]?.line;
      const r = await get(`${API2}edit_zone_record&domain=example.com&line=${line}&address=192.0.2.2`);
      expect(r.body).toBe(
        api2Ok(
          'edit_zone_record',
          `[{"result":{"newserial":"${serial + 1}","status":1,"statusmsg":"Edited line ${line}."}}]`,
        ),
      );
      const z = await loadZone(s.services.db, 'example.com');
      expect(z?.records.filter((x) => x.name === 'edit-me')).toEqual([
        { name: 'edit-me', type: 'A', ttl: 300, data: ['192.0.2.2'] },
      ]);
      const before = await zoneState();
      for (const [q, want] of [
        ['line=4', /SOA record/],
        ['line=0', /not a whole number/],
        ['line=9999', /no line 9998/],
        ['', /“line” parameter/],
      ] as const) {
        const bad = await get(`${API2}remove_zone_record&domain=example.com&${q}`);
        const j = bad.json() as { cpanelresult: { event: { result: number }; error: string } };
        expect(j.cpanelresult.event.result, q).toBe(0);
        expect(j.cpanelresult.error, q).toMatch(want);
        expect(bad.body).not.toContain('newserial');
      }
      const invalid = await get(`${API2}add_zone_record&domain=example.com&name=bad&type=A&address=nope`);
      expect((invalid.json() as { cpanelresult: { error: string } }).cpanelresult.error).toMatch(/IPv4/);
      expect(await zoneState()).toBe(before);
    });
  });

  describe('a token scoped to TXT _acme-challenge.* of example.com', () => {
    const usesLeft = async () =>
      (
        await s.services.db
          .selectFrom('api_tokens')
          .select('uses_left')
          .where('name', '=', 'scoped')
          .execute()
      )[0]?.uses_left;

    it('adds and removes challenges only; anything else is refused before a use is spent', async () => {
      const scoped = await makeToken(s, 'fred', 'scoped', { max_uses: '100' });
      await s.services.db
        .updateTable('api_tokens')
        .set({
          scope: JSON.stringify({
            domains: ['example.com'],
            dns: { names: ['_acme-challenge.*', '_acme-challenge'], types: ['TXT'] },
          }),
        })
        .where('name', '=', 'scoped')
        .execute();
      const auth = tokenAuth('fred', scoped);
      const add = (o: unknown) => encodeURIComponent(JSON.stringify(o));
      let serial = await serialOf('example.com');
      const ok = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${add({ dname: '_acme-challenge.www', ttl: 60, record_type: 'TXT', data: ['s'] })}`,
        auth,
      );
      expect(uapi(ok).status, ok.body).toBe(1);
      serial++;
      await s.services.keyUsage.flush();
      const before = await zoneState();
      const left = await usesLeft();
      const refusals = [
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${add({ dname: 'www', ttl: 60, record_type: 'TXT', data: ['x'] })}`,
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&add=${add({ dname: '_acme-challenge.www', ttl: 60, record_type: 'A', data: ['192.0.2.1'] })}`,
        // Line 7 is the A record of the apex: removing it by line is a change outside the scope.
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&remove=6`,
        `${API2}remove_zone_record&domain=example.com&line=7`,
        `${API2}add_zone_record&domain=example.com&name=www&type=TXT&txtdata=x`,
        `/execute/DNS/parse_zone?zone=barney.example.org`,
      ];
      for (const path of refusals) {
        const r = await get(path, auth);
        expect(r.status, path).toBe(200);
        expect(r.body, path).not.toContain('"status":1');
        expect(r.body, path).not.toContain('newserial');
        expect(r.body, path).toMatch(/outside this credential's scope/);
      }
      await s.services.keyUsage.flush();
      expect(await usesLeft()).toBe(left);
      expect(await zoneState()).toBe(before);
      const items = uapi(await get('/execute/DNS/parse_zone?zone=example.com', auth)).data as {
        line_index: number;
        dname_b64?: string;
      }[];
      const at = items.find((i) => i.dname_b64 === b64('_acme-challenge.www.example.com.'))?.line_index;
      const removed = await get(
        `/execute/DNS/mass_edit_zone?zone=example.com&serial=${serial}&remove=${at}`,
        auth,
      );
      expect(removed.body).toBe(uapiOk(`{"new_serial":"${serial + 1}"}`));
    });
  });

  describe('domains', () => {
    it('single_domain_data, subdomains, parked and addon domains', async () => {
      const one = uapi(await get('/execute/DomainInfo/single_domain_data?domain=example.com'));
      expect(one.data).toMatchObject({
        domain: 'example.com',
        documentroot: '/home/fred/public_html',
        type: 'main_domain',
        user: 'fred',
        servername: 'example.com',
      });
      expect(
        uapi(await get('/execute/DomainInfo/single_domain_data?domain=barney.example.org')).errors,
      ).toEqual(['The domain “barney.example.org” does not belong to “fred”.']);

      expect(
        uapi(await get('/execute/SubDomain/addsubdomain?domain=blog&rootdomain=example.com')).status,
      ).toBe(1);
      expect(
        uapi(await get('/execute/DomainInfo/single_domain_data?domain=blog.example.com')).data,
      ).toMatchObject({
        type: 'sub_domain',
        documentroot: '/home/fred/public_html/blog',
      });
      const sub = (f: string, q: string) =>
        get(
          `/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=SubDomain&cpanel_jsonapi_func=${f}&${q}`,
        );
      expect((await sub('addsubdomain', 'domain=shop&rootdomain=example.com')).body).toContain(
        '"data":[{"reason":"The subdomain “shop.example.com” has been added.","result":1}]',
      );
      expect((await sub('delsubdomain', 'domain=blog.example.com')).body).toContain('"result":1}]');
      expect((await sub('delsubdomain', 'domain=shop_example.com')).body).toContain('"result":1}]');
      const list = uapi(await get('/execute/DomainInfo/list_domains'));
      expect(list.data.sub_domains).toEqual([]);

      const park = (f: string, q = '') =>
        get(
          `/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Park&cpanel_jsonapi_func=${f}&${q}`,
        );
      expect((await park('park', 'domain=example.net')).body).toContain('"result":1}]');
      expect(await serialOf('example.net')).toBeGreaterThan(0);
      expect((await park('listparkeddomains')).body).toContain('"domain":"example.net"');
      expect(uapi(await get('/execute/DomainInfo/single_domain_data?domain=example.net')).data.type).toBe(
        'parked_domain',
      );
      expect((await park('unpark', 'domain=example.net')).body).toContain('"result":1}]');
      expect((await park('listparkeddomains')).json()).toMatchObject({ cpanelresult: { data: [] } });
      expect(await serialOf('example.net')).toBe(0);

      const addon = (f: string, q = '') =>
        get(
          `/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=AddonDomain&cpanel_jsonapi_func=${f}&${q}`,
        );
      expect(
        (await addon('addaddondomain', 'newdomain=addon.example&subdomain=addon&dir=addon.example')).body,
      ).toContain('"result":1}]');
      expect((await addon('listaddondomains')).body).toContain('"domain":"addon.example"');
      expect(await serialOf('addon.example')).toBeGreaterThan(0);
      expect(
        (await addon('deladdondomain', 'domain=addon.example&subdomain=addon_example.com')).body,
      ).toContain('"result":1}]');
      expect((await addon('deladdondomain', 'domain=example.com')).body).toContain('is the main domain');
      expect(await serialOf('addon.example')).toBe(0);
    });
  });

  describe('WHM zone functions', () => {
    const whm = (fn: string, q = '', auth = `admin:${ADMIN_PASSWORD}`) =>
      rawCall(s.whmPort, `/json-api/${fn}?api.version=1${q ? `&${q}` : ''}`, { auth });

    it('listzones, parse_dns_zone and mass_edit_dns_zone reach any zone as root', async () => {
      const zones = await whm('listzones');
      expect(zones.body).toContain('{"domain":"barney.example.org","zonefile":"barney.example.org.db"}');
      expect(zones.body).toMatch(/"metadata":\{"command":"listzones","reason":"OK","result":1,"version":1\}/);
      const parsed = await whm('parse_dns_zone', 'zone=barney.example.org');
      const payload = (
        parsed.json() as { data: { payload: { record_type?: string; data_b64?: string[] }[] } }
      ).data.payload;
      const soa = payload.find((p) => p.record_type === 'SOA');
      const serial = Number(unb64(soa?.data_b64?.[2] ?? ''));
      expect(serial).toBe(await serialOf('barney.example.org'));
      const add = encodeURIComponent(
        JSON.stringify({
          dname: '_acme-challenge.barney.example.org.',
          ttl: 60,
          record_type: 'TXT',
          data: ['w'],
        }),
      );
      const edited = await whm('mass_edit_dns_zone', `zone=barney.example.org&serial=${serial}&add=${add}`);
      expect(edited.body).toBe(
        `{"data":{"new_serial":"${serial + 1}"},"metadata":{"command":"mass_edit_dns_zone","reason":"OK","result":1,"version":1}}`,
      );
      expect(await txt('barney.example.org', '_acme-challenge')).toEqual([['w']]);
      const stale = await whm('mass_edit_dns_zone', `zone=barney.example.org&serial=${serial}&add=${add}`);
      expect((stale.json() as { metadata: { reason: string; result: number } }).metadata).toMatchObject({
        result: 0,
        reason: expect.stringMatching(/^The given serial number/),
      });
    });

    it("a reseller reaches its own and its users' zones; any other answers like a missing one", async () => {
      await createAccount(s, 'reseller', 'dnsres', { domain: 'dnsres.example.net' });
      const res = 'dnsres:dnsres-Pass-123';
      const made = await whm(
        'createacct',
        'username=resuser&domain=resuser.example.net&contactemail=r@example.com&password=Resuser-Pass-1&maxsub=1',
        res,
      );
      expect((made.json() as { metadata: { result: number } }).metadata.result, made.body).toBe(1);
      const zones = (await whm('listzones', '', res)).json() as { data: { zone: { domain: string }[] } };
      expect(zones.data.zone.map((z) => z.domain)).toEqual(['dnsres.example.net', 'resuser.example.net']);
      const parsed = await whm('parse_dns_zone', 'zone=resuser.example.net', res);
      expect((parsed.json() as { metadata: { result: number } }).metadata.result, parsed.body).toBe(1);
      const serial = await serialOf('resuser.example.net');
      const add = encodeURIComponent(
        JSON.stringify({ dname: 'r', ttl: 60, record_type: 'A', data: ['192.0.2.9'] }),
      );
      const edited = await whm(
        'mass_edit_dns_zone',
        `zone=resuser.example.net&serial=${serial}&add=${add}`,
        res,
      );
      expect(edited.body).toContain(`"new_serial":"${serial + 1}"`);
      const before = await zoneState();
      for (const zone of ['example.com', 'nowhere.example.net']) {
        for (const [fn, q] of [
          ['parse_dns_zone', `zone=${zone}`],
          ['mass_edit_dns_zone', `zone=${zone}&serial=${serial}&add=${add}`],
        ] as const) {
          const r = await whm(fn, q, res);
          expect(r.json(), `${fn} ${zone}`).toMatchObject({
            metadata: { result: 0, reason: `You do not control a DNS zone named ${zone}.` },
          });
        }
      }
      expect(await zoneState()).toBe(before);
    });
  });
});
