import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsApplier } from '../../src/apply/dns-applier.js';
import { type NamedServer, startNamed } from '../helpers/named.js';
import { authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';

/** Polls `dig` until the answer is `want`; returns the milliseconds it took from `since`. */
async function servedAfter(named: NamedServer, name: string, type: string, want: string[], since: number) {
  const end = since + 5000;
  for (;;) {
    const got = await named.dig(name, type);
    if (JSON.stringify(got) === JSON.stringify(want)) return Date.now() - since;
    if (Date.now() > end)
      throw new Error(`${type} ${name}: ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DNS changes through the DA API are served by BIND', () => {
  let named: NamedServer;
  let s: TestServer;

  beforeAll(async () => {
    named = await startNamed();
    const rndc = named.rndc.join(' ');
    s = await startTestServer({
      settings: {
        dnsApply: 'ON',
        bindZoneDir: named.zoneDir,
        bindInclude: named.includePath,
        bindReloadCommand: `${rndc} reload {zone}`,
        bindReconfigCommand: `${rndc} reconfig`,
      },
    });
    expect(await startDnsApplier(s.config, s.services.applier, s.services.logger)).toBe(true);
  });
  afterAll(async () => {
    await s?.close();
    await named?.stop();
  });

  it("a new account's zone is served, an added TXT is answered within 1 s, a deleted one is gone", async () => {
    const t0 = Date.now();
    await createAccount(s, 'user', 'alice');
    await servedAfter(named, 'www.alice.example.com', 'A', ['127.0.0.1'], t0);

    const add = await s.call('/CMD_API_DNS_CONTROL', {
      method: 'POST',
      auth: authOf('alice'),
      body: 'domain=alice.example.com&action=add&type=TXT&name=_acme-challenge&value="tok;en\\"1"',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const answered = Date.now();
    expect(add.pairs).toMatchObject({ error: '0' });
    const ms = await servedAfter(
      named,
      '_acme-challenge.alice.example.com',
      'TXT',
      ['"tok;en\\"1"'],
      answered,
    );
    expect(ms).toBeLessThanOrEqual(1000);

    const del = await s.call('/CMD_API_DNS_CONTROL', {
      method: 'POST',
      auth: authOf('alice'),
      body: 'domain=alice.example.com&action=select&txtrecs0=name=_acme-challenge&amp;value="tok;en\\"1"',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(del.pairs).toMatchObject({ error: '0' });
    expect(
      await servedAfter(named, '_acme-challenge.alice.example.com', 'TXT', [], Date.now()),
    ).toBeLessThanOrEqual(1000);
    expect(await named.status('_acme-challenge.alice.example.com', 'TXT')).toBe('NXDOMAIN');
  });

  it('a deleted account takes its zone out of BIND', async () => {
    await createAccount(s, 'user', 'bob');
    await servedAfter(named, 'bob.example.com', 'A', ['127.0.0.1'], Date.now());
    const r = await s.admin('/CMD_API_SELECT_USERS', { confirmed: 'Confirm', delete: 'yes', select0: 'bob' });
    expect(r.pairs).toMatchObject({ error: '0' });
    const t = Date.now();
    for (;;) {
      if ((await named.status('bob.example.com', 'A')) === 'REFUSED') break;
      if (Date.now() - t > 1000) throw new Error('bob.example.com is still served');
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(await named.dig('www.alice.example.com', 'A')).toEqual(['127.0.0.1']);
  });
});
