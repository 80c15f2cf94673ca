import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import type { Actor } from '../../src/auth/actor.js';
import type { ManualClock } from '../../src/core/clock.js';
import { isAppError } from '../../src/core/errors.js';
import {
  createWhmToken,
  listTokens,
  normalizeWhitelist,
  revokeTokens,
  updateWhmToken,
  whmTokenDetails,
} from '../../src/modules/tokens/tokens.service.js';
import { createAccount, rawCall, startTestServer, type TestServer } from '../helpers/server.js';

async function actorOf(
  s: TestServer,
  username: string,
  credential: Actor['credential'] = { kind: 'cli', id: '' },
) {
  const a = await s.services.db
    .selectFrom('accounts')
    .selectAll()
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return { account: a, authenticated: a, credential, ip: '127.0.0.1' } satisfies Actor;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isAppError(e)) return e.details;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('WHM API tokens (service)', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ manualClock: true });
    await createAccount(s, 'reseller', 'res1');
    await createAccount(s, 'user', 'fred');
  });
  afterEach(async () => s?.close());

  it('create answers the value once with name, times, ACLs and whitelist; list, update, details, revoke', async () => {
    const admin = await actorOf(s, 'admin');
    const now = s.clock.now();
    const made = await createWhmToken(s.services, admin, {
      name: 'billing',
      acls: ['create-acct', 'list-accts'],
      expiresAt: Math.floor(now / 1000) + 3600,
      whitelistIps: ['192.0.2.10/32', '2001:db8::1', '10.0.0.0/8'],
    });
    expect(made.token).toMatch(/^[0-9A-Z]{32}$/);
    expect(JSON.parse(made.row.acls)).toEqual(['create-acct', 'list-accts']);
    expect(JSON.parse(made.row.whitelist_ips)).toEqual([
      '192.0.2.10',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '10.0.0.0/8',
    ]);
    const all = await createWhmToken(s.services, admin, { name: 'root-all' });
    expect(JSON.parse(all.row.acls)).toEqual(['all']);
    expect((await listTokens(s.services, admin, 'whm')).map((t) => t.name)).toEqual(['billing', 'root-all']);
    expect(await listTokens(s.services, admin, 'cpanel')).toEqual([]);
    const details = await whmTokenDetails(s.services, admin, made.token);
    expect(details?.name).toBe('billing');
    expect(await whmTokenDetails(s.services, admin, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345')).toBeNull();
    const up = await updateWhmToken(s.services, admin, {
      name: 'billing',
      newName: 'billing2',
      acls: ['suspend-acct'],
      whitelistIps: ['any'],
    });
    expect(up.name).toBe('billing2');
    expect(JSON.parse(up.acls)).toEqual(['suspend-acct']);
    expect(JSON.parse(up.whitelist_ips)).toEqual([]);
    (s.clock as ManualClock).advance(3601_000);
    // Expired: details answer nothing, exactly as for an unknown value.
    expect(await whmTokenDetails(s.services, admin, made.token)).toBeNull();
    expect(await revokeTokens(s.services, admin, 'whm', ['billing2', 'root-all'], true)).toEqual([
      'billing2',
      'root-all',
    ]);
    expect(await listTokens(s.services, admin, 'whm')).toEqual([]);
  });

  it('ACLs: known names only, never beyond the owner (a reseller has no `all`), nor beyond the calling token', async () => {
    const admin = await actorOf(s, 'admin');
    const res = await actorOf(s, 'res1');
    expect(await failure(createWhmToken(s.services, admin, { name: 'x', acls: ['root-powers'] }))).toContain(
      'Invalid ACL names',
    );
    expect(await failure(createWhmToken(s.services, res, { name: 'x', acls: ['all'] }))).toContain('all');
    const resDefault = await createWhmToken(s.services, res, { name: 'r' });
    expect(JSON.parse(resDefault.row.acls)).not.toContain('all');
    expect(JSON.parse(resDefault.row.acls)).toContain('create-acct');
    const narrow = await createWhmToken(s.services, admin, {
      name: 'narrow',
      acls: ['manage-api-tokens', 'list-accts'],
    });
    const viaToken = await actorOf(s, 'admin', { kind: 'token', id: narrow.row.id, name: 'narrow' });
    expect(
      await failure(createWhmToken(s.services, viaToken, { name: 'wide', acls: ['kill-acct'] })),
    ).toContain('kill-acct');
    const child = await createWhmToken(s.services, viaToken, { name: 'child' });
    expect(JSON.parse(child.row.acls)).toEqual(['manage-api-tokens', 'list-accts']);
    expect(await failure(updateWhmToken(s.services, viaToken, { name: 'child', acls: ['all'] }))).toContain(
      'all',
    );
  });

  it('names, unknown tokens, users, whitelist rules; refused input changes nothing', async () => {
    const admin = await actorOf(s, 'admin');
    const fred = await actorOf(s, 'fred');
    await createWhmToken(s.services, admin, { name: 'a' });
    const before = JSON.stringify(await s.services.db.selectFrom('api_tokens').selectAll().execute());
    expect(await failure(createWhmToken(s.services, admin, { name: 'a' }))).toBe(
      'An API token with the name “a” already exists.',
    );
    expect(await failure(createWhmToken(s.services, admin, { name: 'bad name' }))).toContain('token_name');
    expect(await failure(createWhmToken(s.services, fred, { name: 'u' }))).toContain(
      'administrators and resellers',
    );
    expect(await failure(updateWhmToken(s.services, admin, { name: 'nope', newName: 'x' }))).toBe(
      'The API token “nope” does not exist.',
    );
    expect(await failure(revokeTokens(s.services, admin, 'whm', ['a', 'nope'], true))).toBe(
      'The API token “nope” does not exist.',
    );
    expect(
      await failure(createWhmToken(s.services, admin, { name: 'w', whitelistIps: ['300.1.1.1'] })),
    ).toContain('not a valid IP');
    expect(
      await failure(
        createWhmToken(s.services, admin, { name: 'w', whitelistIps: Array(101).fill('192.0.2.1') }),
      ),
    ).toContain('At most 100');
    expect(JSON.stringify(await s.services.db.selectFrom('api_tokens').selectAll().execute())).toBe(before);
    expect(normalizeWhitelist(['fc00:abcd::f/128', '192.0.2.0/24', ' '])).toEqual([
      'fc00:abcd:0000:0000:0000:0000:0000:000f',
      '192.0.2.0/24',
    ]);
  });
});

describe('WHM tokens through authenticateCpanel on the WHM listener', () => {
  let s: TestServer;
  let whmPort = 0;
  let close: () => Promise<void>;
  beforeEach(async () => {
    s = await startTestServer();
    const apps = buildApps(s.services, null);
    await apps.whm.listen({ host: '127.0.0.1', port: 0 });
    const addr = apps.whm.server.address();
    whmPort = typeof addr === 'object' && addr ? addr.port : 0;
    close = async () => {
      await apps.whm.close();
      await s.close();
    };
    await createAccount(s, 'user', 'fred');
  });
  afterEach(async () => close());

  const listaccts = (authorization: string) =>
    rawCall(whmPort, '/json-api/listaccts?api.version=1', { headers: { authorization } });

  it('whitelist_ip: loopback allowed works, elsewhere refused with WHM Access denied (403)', async () => {
    const admin = await actorOf(s, 'admin');
    const here = await createWhmToken(s.services, admin, { name: 'here', whitelistIps: ['127.0.0.0/8'] });
    const there = await createWhmToken(s.services, admin, { name: 'there', whitelistIps: ['198.51.100.7'] });
    expect((await listaccts(`whm admin:${here.token}`)).status).toBe(200);
    const refused = await listaccts(`whm admin:${there.token}`);
    expect(refused.status).toBe(403);
    expect(refused.body).toBe(
      '{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}',
    );
  });

  it('a cPanel token or scheme is no WHM credential; a WHM token only on /json-api/', async () => {
    const admin = await actorOf(s, 'admin');
    const t = await createWhmToken(s.services, admin, { name: 'w' });
    expect((await listaccts(`cpanel admin:${t.token}`)).status).toBe(403);
    const off = await rawCall(whmPort, '/cgi/something', {
      headers: { authorization: `whm admin:${t.token}` },
    });
    expect(off.status).toBe(403);
    expect(off.body).toContain('Token authentication allows access to UAPI or API 2 calls only.');
  });
});
