import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsApplier } from '../../src/apply/dns-applier.js';
import { type NamedServer, startNamed } from '../helpers/named.js';
import { authOf, createAccount, rawCall, startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * lexicon 3.11's DirectAdmin provider, as an ACME client runs it, with a login key that may only use
 * the DNS commands, against hostdeck; the records it manages are checked with dig on a real named.
 */
describe('lexicon manages TXT records served by BIND', () => {
  let named: NamedServer;
  let s: TestServer;
  let key: string;

  const lexicon = (...args: string[]) =>
    run(
      'lexicon',
      [
        'directadmin',
        '--auth-username',
        'carol',
        '--auth-password',
        key,
        '--endpoint',
        `http://127.0.0.1:${s.port}`,
        ...args,
      ],
      { timeout: 60_000 },
    );

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
    await createAccount(s, 'user', 'carol', { domain: 'carol-dns.com' });
    const c = await rawCall(s.port, '/CMD_API_LOGIN_KEYS', {
      method: 'POST',
      auth: authOf('carol'),
      params: {
        action: 'create',
        keyname: 'acme',
        never_expires: 'yes',
        max_uses: '0',
        select_allow0: 'CMD_API_SHOW_DOMAINS',
        select_allow1: 'CMD_API_DNS_CONTROL',
        ips: '127.0.0.1',
        passwd: 'carol-Pass-123',
      },
    });
    expect(c.pairs.error, c.body).toBe('0');
    key = c.pairs.key ?? '';
    expect(key).toMatch(/^hdk_/);
  });
  afterAll(async () => {
    await s?.close();
    await named?.stop();
  });

  it('create, list and delete a TXT record; dig sees each step', async () => {
    const name = '_acme-challenge.www.carol-dns.com';
    const created = await lexicon(
      'create',
      'carol-dns.com',
      'TXT',
      '--name',
      '_acme-challenge.www',
      '--content',
      'tok123',
    );
    expect(created.stdout.trim().split('\n').pop()).toBe('True');
    await until('TXT served', async () => eq(await named.dig(name, 'TXT'), ['"tok123"']), 1000);

    const listed = await lexicon('list', 'carol-dns.com', 'TXT', '--output', 'JSON');
    const records = JSON.parse(listed.stdout) as { name: string; content: string }[];
    expect(records.map((r) => [r.name, r.content])).toContainEqual([name, 'tok123']);

    const deleted = await lexicon(
      'delete',
      'carol-dns.com',
      'TXT',
      '--name',
      '_acme-challenge.www',
      '--content',
      'tok123',
    );
    expect(deleted.stdout.trim().split('\n').pop()).toBe('True');
    await until('TXT gone', async () => (await named.status(name, 'TXT')) === 'NXDOMAIN', 1000);
    expect(await named.dig('www.carol-dns.com', 'A')).toEqual(['127.0.0.1']);
  });
});

const eq = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
