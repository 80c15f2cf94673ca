import { afterEach, describe, expect, it } from 'vitest';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import type { Config } from '../../src/config/config.js';
import type { ManualClock } from '../../src/core/clock.js';
import { type Answer, authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';

const started: TestServer[] = [];
async function server(settings: Partial<Record<keyof Config, unknown>> = {}): Promise<TestServer> {
  const s = await startTestServer({ settings, manualClock: true });
  started.push(s);
  return s;
}

afterEach(async () => {
  while (started.length) await started.pop()?.close();
});

function login(s: TestServer, auth: string): Promise<Answer> {
  return s.call('/CMD_API_LOGIN_TEST', { auth });
}

function isOk(a: Answer): boolean {
  return a.status === 200 && a.body.startsWith('error=0');
}

async function hashesDuring(s: TestServer, work: () => Promise<unknown>): Promise<number> {
  const before = s.services.hasher.verifications;
  await work();
  return s.services.hasher.verifications - before;
}

/** Copies the admin's `default` user package to a reseller, so it can create users. */
async function givePackage(s: TestServer, owner: string): Promise<void> {
  const db = s.services.db;
  const pkg = await db
    .selectFrom('packages')
    .selectAll()
    .where('kind', '=', 'user')
    .where('name', '=', 'default')
    .executeTakeFirstOrThrow();
  const acc = await db
    .selectFrom('accounts')
    .select('id')
    .where('username', '=', owner)
    .executeTakeFirstOrThrow();
  await db
    .insertInto('packages')
    .values({ ...pkg, id: `${pkg.id}-${owner}`, owner_id: acc.id })
    .execute();
}

function cacheMap(cache: CredentialCache): Map<unknown, unknown> {
  return (cache as unknown as { map: Map<unknown, unknown> }).map;
}

/** Every run of `n` characters of `secret`: none may appear anywhere in what the cache holds. */
function fragments(secret: string, n = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= secret.length; i++) out.push(secret.slice(i, i + n));
  return out;
}

describe('credential cache over the DA API', () => {
  it('a repeated good Basic login is hashed once', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const hashes = await hashesDuring(s, async () => {
      for (let i = 0; i < 10; i++) expect(isOk(await login(s, authOf('fred')))).toBe(true);
    });
    expect(hashes).toBe(1);
  });

  it('a wrong password is never answered from the cache', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    expect((await login(s, 'fred:fred-Pass-12')).status).toBe(401);
    expect((await login(s, 'fred:fred-Pass-1234')).status).toBe(401);
    expect((await login(s, 'freddy:fred-Pass-123')).status).toBe(401);
  });

  it('an entry lives credentialCacheSeconds from its verification, however often it is used', async () => {
    const s = await server({ credentialCacheSeconds: 300 });
    await createAccount(s, 'user', 'fred');
    const clock = s.clock as ManualClock;
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(1);
    clock.advance(150_000);
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(0);
    clock.advance(149_999);
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(0);
    // Use does not extend the entry: a password remembered once is re-checked on schedule.
    clock.advance(1);
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(1);
  });

  it('credentialCacheSeconds=0 hashes every time', async () => {
    const s = await server({ credentialCacheSeconds: 0 });
    await createAccount(s, 'user', 'fred');
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(1);
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(1);
    expect(cacheMap(s.services.credentialCache).size).toBe(0);
  });

  it('after an admin sets a new password the old one is refused at once and the new one works', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    const r = await s.admin('/CMD_API_USER_PASSWD', {
      username: 'fred',
      passwd: 'Brand-New-Pass-9',
      passwd2: 'Brand-New-Pass-9',
    });
    expect(r.pairs.error).toBe('0');
    expect((await login(s, authOf('fred'))).status).toBe(401);
    expect(isOk(await login(s, 'fred:Brand-New-Pass-9'))).toBe(true);
    expect((await login(s, authOf('fred'))).status).toBe(401);
  });

  it('a suspended account is refused with its cached password, and works again when unsuspended', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    const r = await s.admin('/CMD_API_SELECT_USERS', { select0: 'fred', suspend: 'Suspend' });
    expect(r.pairs.error).toBe('0');
    expect((await login(s, authOf('fred'))).status).toBe(401);
    const u = await s.admin('/CMD_API_SELECT_USERS', { select0: 'fred', suspend: 'Unsuspend' });
    expect(u.pairs.error).toBe('0');
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
  });

  it('a suspended reseller takes its users cached logins down with it', async () => {
    const s = await server();
    await createAccount(s, 'reseller', 'rex');
    await givePackage(s, 'rex');
    await createAccount(s, 'user', 'fred', {}, authOf('rex'));
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    const r = await s.admin('/CMD_API_SELECT_USERS', { select0: 'rex', suspend: 'Suspend' });
    expect(r.pairs.error).toBe('0');
    expect((await login(s, authOf('fred'))).status).toBe(401);
  });

  it('a deleted account is refused with its cached password, and a namesake does not inherit it', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    expect(isOk(await login(s, authOf('fred')))).toBe(true);
    const r = await s.admin('/CMD_API_SELECT_USERS', {
      select0: 'fred',
      delete: 'yes',
      confirmed: 'Confirm',
    });
    expect(r.pairs.error).toBe('0');
    expect((await login(s, authOf('fred'))).status).toBe(401);
    await createAccount(s, 'user', 'fred');
    // Same name, same password, new account: verified afresh.
    expect(await hashesDuring(s, () => login(s, authOf('fred')))).toBe(1);
  });

  it('never holds the password: keys and values share no fragment of it', async () => {
    const s = await server();
    await createAccount(s, 'user', 'fred');
    const secret = 'fred-Pass-123';
    expect(isOk(await login(s, `fred:${secret}`))).toBe(true);
    expect(isOk(await login(s, `admin|fred:Admin-Pass-1234`))).toBe(true);
    const map = cacheMap(s.services.credentialCache);
    expect(map.size).toBe(2);
    const held = JSON.stringify([...map.entries()]);
    for (const f of [...fragments(secret), ...fragments('Admin-Pass-1234')]) expect(held).not.toContain(f);
    for (const f of fragments(Buffer.from(secret).toString('base64'), 6)) expect(held).not.toContain(f);
  });
});

describe('CredentialCache', () => {
  it('is bounded and evicts the entry verified longest ago', () => {
    const c = new CredentialCache(60_000, 3);
    c.remember('a', 'pa', 1, 'h', 0);
    c.remember('b', 'pb', 1, 'h', 0);
    c.remember('c', 'pc', 1, 'h', 0);
    // Re-verifying `a` makes it the newest, so `b` is the one to go.
    c.remember('a', 'pa', 1, 'h', 10);
    c.remember('d', 'pd', 1, 'h', 10);
    expect(cacheMap(c).size).toBe(3);
    expect(c.has('a', 'pa', 1, 'h', 20)).toBe(true);
    expect(c.has('b', 'pb', 1, 'h', 20)).toBe(false);
    expect(c.has('c', 'pc', 1, 'h', 20)).toBe(true);
    expect(c.has('d', 'pd', 1, 'h', 20)).toBe(true);
  });

  it('refreshing an entry at capacity evicts nothing', () => {
    const c = new CredentialCache(60_000, 2);
    c.remember('a', 'pa', 1, 'h', 0);
    c.remember('b', 'pb', 1, 'h', 0);
    c.remember('b', 'pb', 1, 'h', 5);
    expect(c.has('a', 'pa', 1, 'h', 6)).toBe(true);
    expect(c.has('b', 'pb', 1, 'h', 6)).toBe(true);
  });

  it('honours an entry only for the same account state and secret', () => {
    const c = new CredentialCache(60_000);
    c.remember('a', 'secret', 1, 'h1', 0);
    expect(c.has('a', 'secret', 1, 'h1', 59_999)).toBe(true);
    expect(c.has('a', 'Secret', 1, 'h1', 1)).toBe(false);
    expect(c.has('b', 'secret', 1, 'h1', 1)).toBe(false);
    expect(c.has('a', 'secret', 2, 'h1', 1)).toBe(false);
    // A mismatch drops the entry, so the old state cannot come back.
    expect(c.has('a', 'secret', 1, 'h1', 1)).toBe(false);
    c.remember('a', 'secret', 1, 'h1', 0);
    expect(c.has('a', 'secret', 1, 'h2', 1)).toBe(false);
    c.remember('a', 'secret', 1, 'h1', 0);
    expect(c.has('a', 'secret', 1, 'h1', 60_000)).toBe(false);
  });

  it('does not confuse (id, secret) pairs that concatenate alike', () => {
    const c = new CredentialCache(60_000);
    c.remember('ab', 'c', 1, 'h', 0);
    expect(c.has('a', 'bc', 1, 'h', 1)).toBe(false);
  });
});
