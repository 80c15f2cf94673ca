/**
 * Domains, subdomains and pointers through the DA API: package limits, one owner per name in the whole
 * installation, IDN names, zones made and removed with domains, aliases and accounts, the nested
 * CMD_API_ADDITIONAL_DOMAINS answer, the empty pointer listing, owners, audit rows and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listZoneOrigins, loadZone } from '../../src/modules/dns/dns.repository.js';
import { credentialOf, packageFields, savePackage } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { snapshot } from '../helpers/services.js';

function call(s: TestServer, auth: string, cmd: string, params: Record<string, string>): Promise<Answer> {
  return rawCall(s.port, `/${cmd}`, { method: 'POST', auth, params });
}

const ALICE = authOf('alice');
const BOB = authOf('bob');

describe('domains', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ manualClock: true });
    await savePackage(s, credentialOf('admin'), 'user', 'two', packageFields('user', '2'));
    await createAccount(s, 'user', 'alice', { domain: 'alice.test', package: 'two' });
    await createAccount(s, 'user', 'bob', { domain: 'bob.test', package: 'two' });
  });
  afterAll(async () => s?.close());

  it('the main domain made with the account has its zone from the template', async () => {
    const zone = await loadZone(s.services.db, 'alice.test');
    expect(zone?.soa.mname).toBe('ns1.panel.example.net.');
    expect(zone?.soa.rname).toBe('hostmaster.alice.test.');
    expect(zone?.records.map((r) => `${r.name} ${r.type} ${r.data.join(' ')}`)).toEqual([
      '@ NS ns1.panel.example.net.',
      '@ NS ns2.panel.example.net.',
      '@ A 127.0.0.1',
      'www A 127.0.0.1',
      'mail A 127.0.0.1',
      'ftp A 127.0.0.1',
      '@ MX 10 mail.alice.test.',
      '@ TXT v=spf1 a mx ip4:127.0.0.1 ~all',
    ]);
    const row = await s.services.db
      .selectFrom('domains')
      .selectAll()
      .where('name', '=', 'alice.test')
      .executeTakeFirst();
    expect(row?.kind).toBe('main');
  });

  it('create within vdomains, with an IDN name stored as punycode; then the limit', async () => {
    const r = await call(s, ALICE, 'CMD_API_DOMAIN', {
      action: 'create',
      domain: 'Bücher.test',
      bandwidth: '500',
      uquota: 'ON',
      php: 'ON',
      ssl: 'OFF',
      cgi: 'ON',
    });
    expect(r.body).toBe('error=0&text=Domain%20Created&details=xn--bcher-kva.test%20created');
    const row = await s.services.db
      .selectFrom('domains')
      .selectAll()
      .where('name', '=', 'xn--bcher-kva.test')
      .executeTakeFirstOrThrow();
    expect([row.kind, row.bandwidth, row.quota, row.php, row.ssl, row.cgi]).toEqual([
      'additional',
      '500',
      'unlimited',
      'ON',
      'OFF',
      'ON',
    ]);
    expect(await listZoneOrigins(s.services.db)).toContain('xn--bcher-kva.test');
    const audit = await s.services.db
      .selectFrom('audit_events')
      .selectAll()
      .where('command', '=', 'domain.create')
      .where('target', '=', 'xn--bcher-kva.test')
      .execute();
    expect(audit).toHaveLength(1);
    const outbox = await s.services.db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'dns.zone')
      .execute();
    expect(outbox.map((o) => o.payload)).toContain('{"origin":"xn--bcher-kva.test","action":"upsert"}');
    const before = await snapshot(s.services);
    const over = await call(s, ALICE, 'CMD_API_DOMAIN', { action: 'create', domain: 'third.test' });
    expect(over.pairs.error).toBe('1');
    expect(over.pairs.text).toBe('Limit reached');
    expect(await snapshot(s.services)).toBe(before);
    const shown = await rawCall(s.port, '/CMD_API_SHOW_DOMAINS', { auth: ALICE });
    expect(shown.body).toBe('list[]=alice.test&list[]=xn--bcher-kva.test');
  });

  it('one owner per name: taken names and names under another account are refused', async () => {
    const before = await snapshot(s.services);
    for (const domain of [
      'alice.test',
      'ALICE.test.',
      'shop.alice.test',
      'a.b.alice.test',
      'www.xn--bcher-kva.test',
    ]) {
      const r = await call(s, BOB, 'CMD_API_DOMAIN', { action: 'create', domain });
      expect(r.pairs.error, domain).toBe('1');
      expect(r.pairs.text, domain).toBe('That domain already exists on the system');
    }
    // A pointer may not take another account's name either.
    const p = await call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'bob.test',
      from: 'alice.test',
    });
    expect(p.pairs.error).toBe('1');
    expect(await snapshot(s.services)).toBe(before);
  });

  it("another account's domain answers exactly like a missing one everywhere", async () => {
    const before = await snapshot(s.services);
    const pairs: [string, Record<string, string>][] = [
      ['CMD_API_DOMAIN', { action: 'modify', domain: 'D', bandwidth: '1' }],
      ['CMD_API_DOMAIN', { action: 'select', delete: 'yes', select0: 'D' }],
      ['CMD_API_DOMAIN', { action: 'select', default: 'yes', select0: 'D' }],
      ['CMD_API_ADDITIONAL_DOMAINS', { domain: 'D' }],
      ['CMD_API_SUBDOMAINS', { domain: 'D' }],
      ['CMD_API_SUBDOMAINS', { action: 'create', domain: 'D', subdomain: 'x' }],
      ['CMD_API_DOMAIN_POINTER', { domain: 'D' }],
      ['CMD_API_DOMAIN_POINTER', { action: 'add', domain: 'D', from: 'ptr1.test' }],
      ['CMD_API_DNS_CONTROL', { domain: 'D', json: 'yes' }],
    ];
    for (const [cmd, params] of pairs) {
      const fill = (d: string) =>
        Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === 'D' ? d : v]));
      const foreign = await call(s, ALICE, cmd, fill('bob.test'));
      const missing = await call(s, ALICE, cmd, fill('nobody.test'));
      expect(foreign.status, cmd).toBe(missing.status);
      expect(foreign.pairs.error ?? 'json', cmd).not.toBe('0');
      expect(foreign.body, `${cmd} ${JSON.stringify(params)}`).toBe(
        missing.body.split('nobody.test').join('bob.test'),
      );
    }
    expect(await snapshot(s.services)).toBe(before);
  });

  it('modify, the nested ADDITIONAL_DOMAINS answer, default and delete', async () => {
    const m = await call(s, ALICE, 'CMD_API_DOMAIN', {
      action: 'modify',
      domain: 'xn--bcher-kva.test',
      ubandwidth: 'ON',
      php: 'OFF',
    });
    expect(m.body).toBe('error=0&text=The%20domain%20has%20been%20modified&details=');
    const list = await call(s, ALICE, 'CMD_API_ADDITIONAL_DOMAINS', {});
    const inner = (d: string, bw: string, php: string, ssl: string, def: string) =>
      encodeURIComponent(
        `active=yes&bandwidth=0 / ${bw}&cgi=ON&defaultdomain=${def}&domain=${d}&php=${php}&quota=0 / unlimited&ssl=${ssl}&suspended=no&username=alice&alias_pointers=&pointers=`
          .split('&')
          .map((kv) => {
            const [k, v] = kv.split('=') as [string, string];
            return `${k}=${encodeURIComponent(v)}`;
          })
          .join('&'),
      );
    expect(list.body).toBe(
      `alice.test=${inner('alice.test', 'unlimited', 'ON', 'ON', 'yes')}&xn--bcher-kva.test=${inner('xn--bcher-kva.test', 'unlimited', 'OFF', 'OFF', 'no')}`,
    );
    // What PHP object-model clients do: parse the outer pairs, then each value again.
    const config = new URLSearchParams(new URLSearchParams(list.body).get('alice.test') ?? '');
    expect(config.get('bandwidth')).toBe('0 / unlimited');
    const one = await call(s, ALICE, 'CMD_API_ADDITIONAL_DOMAINS', { domain: 'alice.test', json: 'yes' });
    expect((one.json() as Record<string, { username: string }>)['alice.test']?.username).toBe('alice');

    const refuse = await call(s, ALICE, 'CMD_API_DOMAIN', {
      action: 'select',
      delete: 'yes',
      confirmed: 'yes',
      select0: 'alice.test',
    });
    expect(refuse.pairs.error).toBe('1');
    const d = await call(s, ALICE, 'CMD_API_DOMAIN', {
      action: 'select',
      default: 'yes',
      select0: 'xn--bcher-kva.test',
    });
    expect(d.body).toBe('error=0&text=Your%20default%20domain%20has%20been%20set&details=');
    const acc = await s.services.db
      .selectFrom('accounts')
      .select('domain')
      .where('username', '=', 'alice')
      .executeTakeFirst();
    expect(acc?.domain).toBe('xn--bcher-kva.test');
    const del = await call(s, ALICE, 'CMD_API_DOMAIN', {
      action: 'select',
      delete: 'yes',
      confirmed: 'yes',
      delete_data_aware: 'yes',
      delete_data: 'no',
      select0: 'alice.test',
    });
    expect(del.body).toBe('error=0&text=Domain%20Deletion%20Results&details=alice.test%20deleted');
    expect(await loadZone(s.services.db, 'alice.test')).toBeNull();
    const outbox = await s.services.db
      .selectFrom('outbox')
      .selectAll()
      .orderBy('id', 'desc')
      .executeTakeFirst();
    expect(outbox?.payload).toBe('{"origin":"alice.test","action":"delete"}');
    // The name is free again, for anyone.
    const bobTakes = await call(s, BOB, 'CMD_API_DOMAIN', { action: 'create', domain: 'alice.test' });
    expect(bobTakes.pairs.error).toBe('0');
    await call(s, BOB, 'CMD_API_DOMAIN', { action: 'select', delete: 'yes', select0: 'alice.test' });
  });

  it('subdomains: create, list, limit nsubdomains, delete', async () => {
    const dom = 'bob.test';
    for (const sub of ['blog', 'shop']) {
      const r = await call(s, BOB, 'CMD_API_SUBDOMAINS', { action: 'create', domain: dom, subdomain: sub });
      expect(r.body).toBe('error=0&text=Subdomain%20created&details=Subdomain%20created');
    }
    const list = await rawCall(s.port, `/CMD_API_SUBDOMAINS?domain=${dom}`, { auth: BOB });
    expect(list.body).toBe('list[]=blog&list[]=shop');
    const json = await rawCall(s.port, `/CMD_API_SUBDOMAINS?domain=${dom}&json=yes`, { auth: BOB });
    expect(json.body).toBe('["blog","shop"]');
    const usage = await rawCall(s.port, '/CMD_API_SHOW_USER_USAGE', { auth: BOB });
    expect(usage.pairs.nsubdomains).toBe('2');
    const over = await call(s, BOB, 'CMD_API_SUBDOMAINS', {
      action: 'create',
      domain: dom,
      subdomain: 'third',
    });
    expect(over.pairs.text).toBe('Limit reached');
    // A subdomain's name is taken in the whole installation.
    const asDomain = await call(s, ALICE, 'CMD_API_DOMAIN', { action: 'create', domain: 'blog.bob.test' });
    expect(asDomain.pairs.error).toBe('1');
    for (const bad of ['', 'a b', 'a;b', '-a', 'a\nb', '$INCLUDE', 'x'.repeat(64), 'UPPER_']) {
      const r = await call(s, BOB, 'CMD_API_SUBDOMAINS', { action: 'create', domain: dom, subdomain: bad });
      expect(r.pairs.error, bad).toBe('1');
    }
    const del = await call(s, BOB, 'CMD_API_SUBDOMAINS', {
      action: 'delete',
      domain: dom,
      select0: 'blog',
      select1: 'shop',
      contents: 'no',
    });
    expect(del.body).toBe('error=0&text=Subdomains%20deleted&details=');
    expect((await rawCall(s.port, `/CMD_API_SUBDOMAINS?domain=${dom}`, { auth: BOB })).body).toBe('');
    const missing = await call(s, BOB, 'CMD_API_SUBDOMAINS', {
      action: 'delete',
      domain: dom,
      select0: 'nothere',
    });
    expect(missing.pairs.error).toBe('1');
  });

  it('pointers: empty body when none, alias with its zone, limit domainptr, delete', async () => {
    const empty = await rawCall(s.port, '/CMD_API_DOMAIN_POINTER?domain=bob.test', { auth: BOB });
    expect(empty.status).toBe(200);
    expect(empty.body).toBe('');
    expect(empty.headers['content-type']).toMatch(/^text\/plain/);
    const a = await call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'bob.test',
      from: 'bob-alias.test',
      alias: 'yes',
    });
    expect(a.pairs.error, a.body).toBe('0');
    const p = await call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'bob.test',
      from: 'bob-ptr.test',
      alias: 'no',
    });
    expect(p.pairs.error, p.body).toBe('0');
    expect(await loadZone(s.services.db, 'bob-alias.test')).not.toBeNull();
    expect(await loadZone(s.services.db, 'bob-ptr.test')).toBeNull();
    const list = await rawCall(s.port, '/CMD_API_DOMAIN_POINTER?domain=bob.test', { auth: BOB });
    expect(list.body).toBe('bob-alias.test=alias&bob-ptr.test=pointer');
    expect((await rawCall(s.port, '/CMD_API_SHOW_USER_USAGE', { auth: BOB })).pairs.domainptr).toBe('2');
    const over = await call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'bob.test',
      from: 'bob-3.test',
    });
    expect(over.pairs.text).toBe('Limit reached');
    const details = await call(s, BOB, 'CMD_API_ADDITIONAL_DOMAINS', { domain: 'bob.test' });
    const config = new URLSearchParams(new URLSearchParams(details.body).get('bob.test') ?? '');
    expect([config.get('alias_pointers'), config.get('pointers')]).toEqual([
      'bob-alias.test',
      'bob-ptr.test',
    ]);
    const del = await call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
      action: 'delete',
      domain: 'bob.test',
      select0: 'bob-alias.test',
    });
    expect(del.pairs.error).toBe('0');
    expect(await loadZone(s.services.db, 'bob-alias.test')).toBeNull();
  });

  it('DOMAIN_OWNERS for admins', async () => {
    const all = await s.admin('/CMD_API_DOMAIN_OWNERS');
    expect(all.body).toBe('bob.test=bob&xn--bcher-kva.test=alice');
    expect((await s.admin('/CMD_API_DOMAIN_OWNERS', { domain: 'bob.test' })).body).toBe('bob.test=bob');
    expect((await s.admin('/CMD_API_DOMAIN_OWNERS', { domain: 'none.test' })).pairs.error).toBe('1');
    expect((await call(s, BOB, 'CMD_API_DOMAIN_OWNERS', {})).status).toBe(403);
  });

  it('bad input in every parameter is refused and changes nothing', async () => {
    const before = await snapshot(s.services);
    const bad: [string, Record<string, string>][] = [
      ['CMD_API_DOMAIN', { action: 'create', domain: '' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'no_underscore.test' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'a\n.test' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'single' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'x.123' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: `${'a'.repeat(64)}.test` }],
      ['CMD_API_DOMAIN', { action: 'create', domain: `${'abcdefghi.'.repeat(26)}test` }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'ok.test', bandwidth: '-1' }],
      ['CMD_API_DOMAIN', { action: 'create', domain: 'ok.test', quota: 'lots' }],
      ['CMD_API_DOMAIN', { action: 'modify', domain: 'bob.test', bandwidth: '1;rm' }],
      ['CMD_API_DOMAIN', { action: 'modify', domain: 'bob.test' }],
      ['CMD_API_DOMAIN', { action: 'select', select0: 'bob.test' }],
      ['CMD_API_DOMAIN', { action: 'select', delete: 'yes' }],
      ['CMD_API_DOMAIN', { action: 'bogus' }],
      ['CMD_API_SUBDOMAINS', { action: 'create', domain: 'bob.test' }],
      ['CMD_API_SUBDOMAINS', { action: 'delete', domain: 'bob.test' }],
      ['CMD_API_DOMAIN_POINTER', { action: 'add', domain: 'bob.test', from: 'bad domain' }],
      ['CMD_API_DOMAIN_POINTER', { action: 'add', domain: 'bob.test' }],
      ['CMD_API_DOMAIN_POINTER', { action: 'delete', domain: 'bob.test', select0: 'nothere.test' }],
    ];
    for (const [cmd, params] of bad) {
      const r = await call(s, BOB, cmd, params);
      expect(r.status, `${cmd} ${JSON.stringify(params)}`).toBe(200);
      expect(r.pairs.error, `${cmd} ${JSON.stringify(params)}: ${r.body}`).toBe('1');
    }
    expect(await snapshot(s.services)).toBe(before);
  });

  it("a new account cannot take a name under another account's domain", async () => {
    const before = await snapshot(s.services);
    const r = await rawCall(s.port, '/CMD_API_ACCOUNT_USER', {
      method: 'POST',
      auth: credentialOf('admin'),
      params: {
        action: 'create',
        username: 'mallory',
        email: 'm@example.com',
        passwd: 'Mallory-Pass-123',
        passwd2: 'Mallory-Pass-123',
        domain: 'www.bob.test',
        package: 'two',
      },
    });
    expect(r.pairs.error).toBe('1');
    expect(r.pairs.text).toBe('That domain already exists on the system');
    expect(await snapshot(s.services)).toBe(before);
  });

  it('deleting an account deletes its domains, subdomains, pointers and zones', async () => {
    await createAccount(s, 'user', 'carol', { domain: 'carol.test', package: 'two' });
    const c = authOf('carol');
    await call(s, c, 'CMD_API_DOMAIN', { action: 'create', domain: 'carol2.test' });
    await call(s, c, 'CMD_API_SUBDOMAINS', { action: 'create', domain: 'carol.test', subdomain: 'x' });
    await call(s, c, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'carol.test',
      from: 'carol-alias.test',
    });
    expect(await loadZone(s.services.db, 'carol-alias.test')).not.toBeNull();
    const r = await s.admin('/CMD_API_SELECT_USERS', {
      confirmed: 'Confirm',
      delete: 'yes',
      select0: 'carol',
    });
    expect(r.pairs.error).toBe('0');
    const origins = await listZoneOrigins(s.services.db);
    for (const o of ['carol.test', 'carol2.test', 'carol-alias.test']) expect(origins).not.toContain(o);
    const db = s.services.db;
    expect(
      await db.selectFrom('subdomains').selectAll().where('fqdn', '=', 'x.carol.test').execute(),
    ).toEqual([]);
    expect(
      await db.selectFrom('domain_pointers').selectAll().where('name', '=', 'carol-alias.test').execute(),
    ).toEqual([]);
    const deletes = (
      await db.selectFrom('outbox').select('payload').where('topic', '=', 'dns.zone').execute()
    )
      .map((o) => JSON.parse(o.payload) as { origin: string; action: string })
      .filter((p) => p.action === 'delete')
      .map((p) => p.origin);
    expect(deletes).toEqual(expect.arrayContaining(['carol.test', 'carol2.test', 'carol-alias.test']));
  });
});

describe('domain commands with a login key limited to one domain', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ manualClock: true });
    await createAccount(s, 'user', 'alice', { domain: 'alice.test' });
  });
  afterAll(async () => s?.close());

  it('refuses other domains before a use is spent', async () => {
    const { makeKey } = await import('../helpers/da-expectations.js');
    const key = await makeKey(s, 'alice', { keyname: 'scoped', max_uses: '50', domains: 'alice.test' });
    const row = await s.services.db
      .selectFrom('login_keys')
      .selectAll()
      .where('name', '=', 'scoped')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.scope)).toEqual({ domains: ['alice.test'] });
    const auth = `alice:${key}`;
    const before = await snapshot(s.services);
    const r = await call(s, auth, 'CMD_API_DOMAIN', { action: 'create', domain: 'other.test' });
    expect(r.pairs.error).toBe('1');
    const p = await call(s, auth, 'CMD_API_DOMAIN_POINTER', {
      action: 'add',
      domain: 'alice.test',
      from: 'other.test',
    });
    expect(p.pairs.error).toBe('1');
    expect(await snapshot(s.services)).toBe(before);
    const after = await s.services.db
      .selectFrom('login_keys')
      .select('uses_left')
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    expect(after.uses_left).toBe(row.uses_left);
    const sub = await call(s, auth, 'CMD_API_SUBDOMAINS', {
      action: 'create',
      domain: 'alice.test',
      subdomain: 'ok',
    });
    expect(sub.pairs.error, sub.body).toBe('0');
  });
});

describe('races', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    await savePackage(s, credentialOf('admin'), 'user', 'three', packageFields('user', '3'));
    await createAccount(s, 'user', 'alice', { domain: 'alice.test', package: 'three' });
    await createAccount(s, 'user', 'bob', { domain: 'bob.test', package: 'three' });
  });
  afterAll(async () => s?.close());

  it('concurrent creations never pass vdomains, and a name goes to one account only', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(s, ALICE, 'CMD_API_DOMAIN', { action: 'create', domain: `r${i}.test` }),
      ),
    );
    expect(results.filter((r) => r.pairs.error === '0')).toHaveLength(2);
    // Three ways to claim one name, from two accounts, at once; a non-alias pointer has no zone whose
    // unique origin could stop the race, so only the claim lock does.
    for (let round = 0; round < 5; round++) {
      const name = `contested${round}.test`;
      const claims = await Promise.all([
        call(s, ALICE, 'CMD_API_DOMAIN_POINTER', {
          action: 'add',
          domain: 'alice.test',
          from: name,
          alias: 'no',
        }),
        call(s, BOB, 'CMD_API_DOMAIN', { action: 'create', domain: name }),
        call(s, BOB, 'CMD_API_DOMAIN_POINTER', {
          action: 'add',
          domain: 'bob.test',
          from: name,
          alias: 'no',
        }),
      ]);
      expect(claims.filter((r) => r.pairs.error === '0').length, name).toBeLessThanOrEqual(1);
      const db = s.services.db;
      const holders =
        (await db.selectFrom('domains').select('id').where('name', '=', name).execute()).length +
        (await db.selectFrom('domain_pointers').select('id').where('name', '=', name).execute()).length;
      expect(holders, name).toBe(1);
      // Free the slots for the next round.
      await db.deleteFrom('domain_pointers').where('name', '=', name).execute();
      if (await db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst())
        await call(s, BOB, 'CMD_API_DOMAIN', { action: 'select', delete: 'yes', select0: name });
    }
  });

  it('concurrent record changes of one zone keep the CNAME rule and one serial step each', async () => {
    const before = (await loadZone(s.services.db, 'bob.test'))?.soa.serial ?? 0;
    const results = await Promise.all([
      call(s, BOB, 'CMD_API_DNS_CONTROL', {
        domain: 'bob.test',
        action: 'add',
        type: 'CNAME',
        name: 'race',
        value: 'www',
      }),
      call(s, BOB, 'CMD_API_DNS_CONTROL', {
        domain: 'bob.test',
        action: 'add',
        type: 'A',
        name: 'race',
        value: '192.0.2.1',
      }),
      ...Array.from({ length: 6 }, (_, i) =>
        call(s, BOB, 'CMD_API_DNS_CONTROL', {
          domain: 'bob.test',
          action: 'add',
          type: 'TXT',
          name: `t${i}`,
          value: 'x',
        }),
      ),
    ]);
    const ok = results.filter((r) => r.pairs.error === '0').length;
    expect(ok).toBe(7);
    const zone = await loadZone(s.services.db, 'bob.test');
    expect(zone?.records.filter((r) => r.name === 'race')).toHaveLength(1);
    expect(zone?.soa.serial).toBe(before + 7);
  });
});
