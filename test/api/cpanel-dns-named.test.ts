/**
 * End to end: a TXT record added with UAPI DNS::mass_edit_zone (a cPanel token, as an ACME client sends
 * it) is served by a real named, and removing it by line index takes it away again; API 2's
 * add_zone_record reaches named the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsApplier } from '../../src/apply/dns-applier.js';
import { type NamedServer, startNamed } from '../helpers/named.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
  uapi,
} from './cpanel-server.js';

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
    v = await fn();
  }
  return v;
}

describe('cPanel DNS changes served by BIND', () => {
  let named: NamedServer;
  let s: CpanelServer;
  let auth: Record<string, string>;

  beforeAll(async () => {
    named = await startNamed();
    const rndc = named.rndc.join(' ');
    s = await startCpanelServer({
      settings: {
        dnsApply: 'ON',
        bindZoneDir: named.zoneDir,
        bindInclude: named.includePath,
        bindReloadCommand: `${rndc} reload {zone}`,
        bindReconfigCommand: `${rndc} reconfig`,
      },
    });
    expect(await startDnsApplier(s.config, s.services.applier, s.services.logger)).toBe(true);
    await makeUser(s, 'dora', { domain: 'dora-dns.com' });
    auth = tokenAuth('dora', await makeToken(s, 'dora', 'acme'));
  });
  afterAll(async () => {
    await s?.close();
    await named?.stop();
  });

  const serial = async () => {
    const items = uapi(await s.cp('/execute/DNS/parse_zone?zone=dora-dns.com', { headers: auth })).data as {
      record_type?: string;
      data_b64?: string[];
    }[];
    const soa = items.find((i) => i.record_type === 'SOA');
    return Buffer.from(soa?.data_b64?.[2] ?? '', 'base64').toString();
  };

  it('mass_edit_zone add is answered by dig, remove by line takes it away', async () => {
    await until(
      'zone served',
      () => named.dig('www.dora-dns.com', 'A'),
      (v) => v.length > 0,
      10_000,
    );
    const add = encodeURIComponent(
      JSON.stringify({ dname: '_acme-challenge.www', ttl: 120, record_type: 'TXT', data: ['cp-token-1'] }),
    );
    const added = await s.cp(
      `/execute/DNS/mass_edit_zone?zone=dora-dns.com&serial=${await serial()}&add=${add}`,
      {
        headers: auth,
      },
    );
    expect(uapi(added).status, added.body).toBe(1);
    expect(
      await until(
        'TXT served',
        () => named.dig('_acme-challenge.www.dora-dns.com', 'TXT'),
        (v) => v.length > 0,
        10_000,
      ),
    ).toEqual(['"cp-token-1"']);

    const items = uapi(await s.cp('/execute/DNS/parse_zone?zone=dora-dns.com', { headers: auth })).data as {
      line_index: number;
      dname_b64?: string;
    }[];
    const line = items.find(
      (i) => i.dname_b64 === Buffer.from('_acme-challenge.www.dora-dns.com.').toString('base64'),
    )?.line_index;
    const removed = await s.cp(
      `/execute/DNS/mass_edit_zone?zone=dora-dns.com&serial=${await serial()}&remove=${line}`,
      { headers: auth },
    );
    expect(uapi(removed).status, removed.body).toBe(1);
    await until(
      'TXT gone',
      () => named.status('_acme-challenge.www.dora-dns.com', 'TXT'),
      (v) => v === 'NXDOMAIN',
      10_000,
    );
  });

  it('API 2 add_zone_record is served too', async () => {
    const r = await s.cp(
      '/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=ZoneEdit&cpanel_jsonapi_func=add_zone_record&domain=dora-dns.com&name=_acme-challenge&type=TXT&txtdata=api2tok&ttl=1',
      { headers: auth },
    );
    expect(r.body).toContain('"status":1');
    expect(
      await until(
        'TXT served',
        () => named.dig('_acme-challenge.dora-dns.com', 'TXT'),
        (v) => v.length > 0,
        10_000,
      ),
    ).toEqual(['"api2tok"']);
  });
});
