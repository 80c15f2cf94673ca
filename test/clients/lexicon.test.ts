/**
 * lexicon (the Debian package, `directadmin` provider) against hostdeck over plain HTTP on loopback,
 * with a login key allowed only SHOW_DOMAINS and DNS_CONTROL: it creates, lists and deletes a TXT
 * record, and the records are checked through the API. Skipped when lexicon is not installed
 * (`apt-get install -y lexicon`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZone } from '../../src/modules/dns/dns.repository.js';
import { makeKey } from '../helpers/da-expectations.js';
import { createAccount, startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const LEXICON = ['/usr/bin/lexicon', '/usr/local/bin/lexicon'].find((p) => existsSync(p));

describe.skipIf(!LEXICON)('lexicon directadmin provider', () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer();
    await createAccount(s, 'user', 'fred', { domain: 'example.com' });
    key = await makeKey(s, 'fred', {
      keyname: 'lexicon',
      select_allow0: 'CMD_API_SHOW_DOMAINS',
      select_allow1: 'CMD_API_DNS_CONTROL',
    });
  });
  afterAll(async () => s?.close());

  /** Runs lexicon (asynchronously: the server answers from this same process). */
  async function lexicon(...args: string[]): Promise<string> {
    const { stdout } = await run(
      LEXICON as string,
      [
        'directadmin',
        '--auth-username',
        'fred',
        '--auth-password',
        key,
        '--endpoint',
        `http://127.0.0.1:${s.port}`,
        ...args,
      ],
      // tldextract must not go to the network for the public suffix list.
      { timeout: 60_000, env: { ...process.env, TLDEXTRACT_CACHE: `${s.dataDir}/tldextract` } },
    );
    return stdout.trim();
  }

  async function txt(name: string): Promise<string[][]> {
    const zone = await loadZone(s.services.db, 'example.com');
    return (zone?.records ?? []).filter((r) => r.type === 'TXT' && r.name === name).map((r) => r.data);
  }

  it('creates, lists and deletes a TXT record', async () => {
    const created = await lexicon(
      'create',
      'example.com',
      'TXT',
      '--name',
      '_acme-challenge.www',
      '--content',
      'tok123',
    );
    expect(created).toContain('True');
    expect(await txt('_acme-challenge.www')).toEqual([['tok123']]);

    const listed = await lexicon('list', 'example.com', 'TXT', '--output', 'JSON');
    const records = JSON.parse(listed) as { name: string; content: string; type: string }[];
    expect(records).toContainEqual(
      expect.objectContaining({ type: 'TXT', name: '_acme-challenge.www.example.com', content: 'tok123' }),
    );

    // Creating the same record again is a no-op for lexicon (it lists first) and for the server.
    expect(
      await lexicon('create', 'example.com', 'TXT', '--name', '_acme-challenge.www', '--content', 'tok123'),
    ).toContain('True');
    expect(await txt('_acme-challenge.www')).toEqual([['tok123']]);

    const deleted = await lexicon(
      'delete',
      'example.com',
      'TXT',
      '--name',
      '_acme-challenge.www',
      '--content',
      'tok123',
    );
    expect(deleted).toContain('True');
    expect(await txt('_acme-challenge.www')).toEqual([]);
    // The template's SPF record is still there.
    expect(await txt('@')).toEqual([['v=spf1 a mx ip4:127.0.0.1 ~all']]);
  }, 120_000);
});
