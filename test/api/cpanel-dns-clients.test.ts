/**
 * cpanel-lib 0.0.5 (the npm client of spec/clients.md) driving the cPanel DNS functions: API 2
 * ZoneEdit::fetchzones with `cpanel_jsonapi_user` as it captures it, and UAPI DNS::parse_zone and
 * DNS::mass_edit_zone by GET with Basic auth.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZone } from '../../src/modules/dns/dns.repository.js';
import { type CpanelServer, makeUser, startCpanelServer } from './cpanel-server.js';

// cpanel-lib is CommonJS without types; what this test uses of it is typed here.
type Callback = (err: unknown, result?: Record<string, unknown>) => void;
interface CpanelClient {
  callUapi(module: string, func: string, args: Record<string, unknown>, cb: Callback): void;
  callApi2(module: string, func: string, query: Record<string, unknown>, cb: Callback): void;
}
const cpanelLib = createRequire(import.meta.url)('cpanel-lib') as {
  createClient(o: Record<string, unknown>): CpanelClient;
};

function promised(fn: (cb: Callback) => void): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r ?? {}))));
}

describe('cpanel-lib drives the cPanel DNS functions', () => {
  let s: CpanelServer;
  // callUapi switches a client to /execute/ for good, so each call gets a fresh client.
  const client = () =>
    cpanelLib.createClient({
      host: '127.0.0.1',
      port: s.cpanelPort,
      secure: false,
      username: 'gina',
      password: 'gina-Pass-123',
    });

  beforeAll(async () => {
    s = await startCpanelServer({ manualClock: true });
    await makeUser(s, 'gina', { domain: 'gina.example' });
  });
  afterAll(async () => s?.close());

  it('fetchzones, parse_zone, then mass_edit_zone add and remove', async () => {
    const zones = await promised((cb) => client().callApi2('ZoneEdit', 'fetchzones', {}, cb));
    const data = (zones.cpanelresult as { data: { zones: Record<string, string[]> }[] }).data;
    expect(data[0]?.zones['gina.example']?.[0]).toMatch(/^; cPanel first:/);

    const parsed = await promised((cb) =>
      client().callUapi('DNS', 'parse_zone', { zone: 'gina.example' }, cb),
    );
    expect(parsed.status).toBe(1);
    const soa = (parsed.data as { record_type?: string; data_b64?: string[] }[]).find(
      (i) => i.record_type === 'SOA',
    );
    const serial = Buffer.from(soa?.data_b64?.[2] ?? '', 'base64').toString();
    expect(serial).toBe('2026112501');

    const add = JSON.stringify({ dname: '_acme-challenge', ttl: 120, record_type: 'TXT', data: ['lib'] });
    const added = await promised((cb) =>
      client().callUapi('DNS', 'mass_edit_zone', { zone: 'gina.example', serial, add }, cb),
    );
    expect(added).toEqual({
      data: { new_serial: '2026112502' },
      errors: null,
      messages: null,
      metadata: {},
      status: 1,
      warnings: null,
    });
    const items = (
      await promised((cb) => client().callUapi('DNS', 'parse_zone', { zone: 'gina.example' }, cb))
    ).data as { line_index: number; dname_b64?: string }[];
    const line = items.find(
      (i) => i.dname_b64 === Buffer.from('_acme-challenge.gina.example.').toString('base64'),
    );
    const removed = await promised((cb) =>
      client().callUapi(
        'DNS',
        'mass_edit_zone',
        { zone: 'gina.example', serial: '2026112502', remove: line?.line_index },
        cb,
      ),
    );
    expect(removed.data).toEqual({ new_serial: '2026112503' });
    const zone = await loadZone(s.services.db, 'gina.example');
    expect(zone?.records.filter((r) => r.name === '_acme-challenge')).toEqual([]);
  });
});
