import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    // The template's records as BIND serves them (the SPF text once quoted, not twice).
    expect(await named.dig('alice.example.com', 'TXT')).toEqual(['"v=spf1 a mx ip4:127.0.0.1 ~all"']);
    expect(await named.dig('alice.example.com', 'MX')).toEqual(['10 mail.alice.example.com.']);

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

  it('hostile names and values sent through the API never add a line to the zone file', async () => {
    const hostile: [string, string, string][] = [
      ['TXT', '_x', 'a\n$INCLUDE /etc/passwd'],
      ['TXT', 'a\n$ORIGIN evil.', 'v'],
      ['A', '$INCLUDE', '192.0.2.1'],
      ['CNAME', 'c', 'x.example.net.\n@ IN A 6.6.6.6'],
      ['CAA', '@', '0 issue "ca.example\n$INCLUDE x"'],
      // Printable but meaningful in a zone file: stored as data, escaped when rendered.
      ['TXT', '_q', 'q\\" ; $INCLUDE /etc/passwd ( ) @ IN A 6.6.6.6'],
      ['TXT', '_r', '$ORIGIN evil. ; "'],
    ];
    const errors: string[] = [];
    for (const [type, name, value] of hostile) {
      const r = await s.call('/CMD_API_DNS_CONTROL', {
        method: 'POST',
        auth: authOf('alice'),
        params: { domain: 'alice.example.com', action: 'add', type, name, value },
      });
      errors.push(r.pairs.error ?? '');
    }
    // Control characters and bad names are refused; the printable TXT values are accepted as data.
    expect(errors).toEqual(['1', '1', '1', '1', '1', '0', '0']);
    await s.services.applier?.applyPending();
    const file = readFileSync(join(named.zoneDir, 'alice.example.com.db'), 'utf8');
    const lines = file.split('\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('$'))).toEqual(['$ORIGIN alice.example.com.', '$TTL 14400']);
    expect(/^[\x20-\x7e\n]*$/.test(file)).toBe(true);
    const zone = await s.services.db
      .selectFrom('dns_records')
      .innerJoin('dns_zones', 'dns_zones.id', 'dns_records.zone_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dns_zones.origin', '=', 'alice.example.com')
      .executeTakeFirstOrThrow();
    // One line per stored record, plus the comment, $ORIGIN, $TTL and SOA.
    expect(lines).toHaveLength(Number(zone.n) + 4);
    // named serves the values as text and nothing they tried to smuggle in.
    expect(await named.dig('_q.alice.example.com', 'TXT')).toEqual([
      '"q\\\\\\" ; $INCLUDE /etc/passwd ( ) @ IN A 6.6.6.6"',
    ]);
    expect(await named.dig('_r.alice.example.com', 'TXT')).toEqual(['"$ORIGIN evil. ; \\""']);
    expect(await named.status('evil', 'A')).toBe('REFUSED');
    expect(await named.dig('alice.example.com', 'A')).toEqual(['127.0.0.1']);
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
