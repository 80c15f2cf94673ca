/**
 * The declarative expectation table of the shared security suite (DESIGN.md rule 12; security.md §6
 * tests 21–23) for the DirectAdmin API: one entry per key of DA_COMMANDS with a valid sample request,
 * the levels that may run it and the names it takes that refer to other accounts' objects.
 * test/api/route-auth.test.ts fails when a command has no entry here, so a new command must be added.
 */
import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import selfsigned from 'selfsigned';
import { expect } from 'vitest';
import { looksLikeGeneratedKey } from '../../src/auth/key-format.js';
import type { ManualClock } from '../../src/core/clock.js';
import type { Level } from '../../src/db/database.js';
import { limitFieldsFor, type PackageKind, switchFieldsFor } from '../../src/modules/packages/limits.js';
import { daCatalog } from '../../src/protocols/directadmin/catalog.js';
import { type Answer, authOf, createAccount, rawCall, type TestServer } from './server.js';
import { ADMIN_PASSWORD } from './services.js';

export type Role = Level;

/** A caller of the matrix. `role` null: authentication itself must refuse it (401 + login page). */
export interface Principal {
  id: string;
  role: Role | null;
  /** Basic username as sent (`owner|target` for login-as); none for anonymous. */
  login?: string;
  /** The secret sent; by default the owner's real password. */
  secret?: string;
  /**
   * Authenticates with a login key instead of the password: a fixture of createKeyRing (by name), or a
   * key of the owner made per command: `lacking` allows every other command, `denying` denies it,
   * `only` allows just it.
   */
  key?: KeyFixture | 'lacking' | 'denying' | 'only';
  /**
   * For a key that authenticates: its owner's level. A command above it is outside anything the key can
   * hold, so it is refused like a bad login (401), not by level (403).
   */
  keyOwnerRole?: Role;
  /** The account the request acts as (the login-as target), also for refused callers. */
  self: string;
}

/** The password createAccount gives an account (and the fixture's admin password). */
export function passwordOf(name: string): string {
  return name === 'admin' ? ADMIN_PASSWORD : `${name}-Pass-123`;
}

/** The direct Basic credential of an account. */
export function credentialOf(name: string): string {
  return name === 'admin' ? `admin:${ADMIN_PASSWORD}` : authOf(name);
}

/** The account whose secret a principal presents (the owner of `owner|target`). */
export function ownerOf(p: Principal): string {
  return p.login === undefined ? p.self : (p.login.split('|')[0] ?? p.login);
}

/** The Basic credential a password principal sends, or undefined for anonymous (keys: KeyRing.auth). */
export function principalAuth(p: Principal): string | undefined {
  if (p.key !== undefined) throw new Error(`${p.id} authenticates with a key: use KeyRing.auth`);
  if (p.login === undefined) return undefined;
  return `${p.login}:${p.secret ?? passwordOf(ownerOf(p))}`;
}

/**
 * Callers that present a login key (createKeyRing makes the keys). A refused key must answer exactly like
 * a bad password; a key allowed the command behaves like its owner's password.
 */
export const KEY_PRINCIPALS: readonly Principal[] = [
  { id: 'key: wrong key', role: null, login: 'fred', key: 'wrong', self: 'fred' },
  { id: 'key: expired', role: null, login: 'fred', key: 'expired', self: 'fred' },
  { id: 'key: from a denied IP', role: null, login: 'fred', key: 'ip', self: 'fred' },
  {
    id: 'key: lacking the command (admin’s, every other allowed)',
    role: null,
    login: 'admin',
    key: 'lacking',
    self: 'admin',
  },
  { id: 'key: denying the command (admin’s)', role: null, login: 'admin', key: 'denying', self: 'admin' },
  {
    id: 'key: another account’s (fred’s as barney)',
    role: null,
    login: 'barney',
    key: 'fred',
    self: 'barney',
  },
  { id: 'key: of a suspended owner', role: null, login: 'sam', key: 'sam', self: 'sam' },
  {
    id: 'key: of a user of a suspended reseller',
    role: null,
    login: 'ursula',
    key: 'ursula',
    self: 'ursula',
  },
  { id: 'key: spent (max_uses=1, used)', role: null, login: 'fred', key: 'spent', self: 'fred' },
  { id: 'key: spent and cleared (clear_key)', role: null, login: 'fred', key: 'spentCleared', self: 'fred' },
  { id: 'key: not yet valid (not_before)', role: null, login: 'fred', key: 'notYet', self: 'fred' },
  { id: 'key: login-as admin|suspended user', role: null, login: 'admin|sam', key: 'admin', self: 'sam' },
  {
    id: 'key: login-as reseller|other reseller’s user',
    role: null,
    login: 'res2|fred',
    key: 'res2',
    self: 'fred',
  },
  {
    id: 'key: user, every command',
    role: 'user',
    keyOwnerRole: 'user',
    login: 'fred',
    key: 'fred',
    self: 'fred',
  },
  {
    id: 'key: reseller, every command',
    role: 'reseller',
    keyOwnerRole: 'reseller',
    login: 'res1',
    key: 'res1',
    self: 'res1',
  },
  {
    id: 'key: admin, every command',
    role: 'admin',
    keyOwnerRole: 'admin',
    login: 'admin',
    key: 'admin',
    self: 'admin',
  },
  {
    id: 'key: admin’s, allowing only the command',
    role: 'admin',
    keyOwnerRole: 'admin',
    login: 'admin',
    key: 'only',
    self: 'admin',
  },
  {
    id: 'key: login-as admin|user',
    role: 'user',
    keyOwnerRole: 'admin',
    login: 'admin|fred',
    key: 'admin',
    self: 'fred',
  },
  {
    id: 'key: login-as reseller|its user',
    role: 'user',
    keyOwnerRole: 'reseller',
    login: 'res1|fred',
    key: 'res1',
    self: 'fred',
  },
];

export const PRINCIPALS: readonly Principal[] = [
  { id: 'anonymous', role: null, self: 'fred' },
  { id: 'wrong password', role: null, login: 'fred', secret: 'Wrong-Pass-999', self: 'fred' },
  { id: 'admin, wrong password', role: null, login: 'admin', secret: 'Wrong-Pass-999', self: 'admin' },
  { id: 'user', role: 'user', login: 'fred', self: 'fred' },
  { id: 'another user', role: 'user', login: 'barney', self: 'barney' },
  { id: 'reseller', role: 'reseller', login: 'res1', self: 'res1' },
  { id: 'another reseller', role: 'reseller', login: 'res2', self: 'res2' },
  { id: 'admin', role: 'admin', login: 'admin', self: 'admin' },
  { id: 'second admin', role: 'admin', login: 'admin2', self: 'admin2' },
  { id: 'suspended user', role: null, login: 'sam', self: 'sam' },
  { id: 'suspended reseller', role: null, login: 'res3', self: 'res3' },
  { id: 'user of a suspended reseller', role: null, login: 'ursula', self: 'ursula' },
  { id: 'login-as admin|user', role: 'user', login: 'admin|fred', self: 'fred' },
  { id: 'login-as reseller|its user', role: 'user', login: 'res1|fred', self: 'fred' },
  { id: 'login-as admin|reseller', role: 'reseller', login: 'admin|res1', self: 'res1' },
  { id: 'login-as reseller|other reseller’s user', role: null, login: 'res2|fred', self: 'fred' },
  { id: 'login-as user|other user', role: null, login: 'fred|ginny', self: 'ginny' },
  { id: 'login-as admin|suspended user', role: null, login: 'admin|sam', self: 'sam' },
  { id: 'login-as, wrong password', role: null, login: 'admin|fred', secret: 'Wrong-Pass-999', self: 'fred' },
  ...KEY_PRINCIPALS,
];

/** Each account's own user package, and the reseller packages of admins (made by createTenants). */
export const USER_PACKAGE: Readonly<Record<string, string>> = {
  admin: 'default',
  admin2: 'a2pkg',
  res1: 'res1pkg',
  res2: 'res2pkg',
  res3: 'res3pkg',
};
export const RESELLER_PACKAGE: Readonly<Record<string, string>> = { admin: 'default', admin2: 'a2rpkg' };

/**
 * Names another tenant owns, per acting account: none of these may be read or changed by it, and each
 * must answer exactly like a name that does not exist. Admins manage every account but the first admin.
 */
export const FOREIGN_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
  fred: ['ginny', 'sam', 'barney', 'ursula', 'res1', 'res2', 'admin', 'admin2'],
  barney: ['fred', 'ginny', 'res1', 'res2', 'admin'],
  res1: ['barney', 'ursula', 'res2', 'res3', 'admin', 'admin2'],
  res2: ['fred', 'ginny', 'sam', 'res1', 'admin', 'admin2'],
  admin2: ['admin'],
  admin: [],
};
export const FOREIGN_USER_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  fred: ['res1pkg', 'res2pkg', 'default'],
  barney: ['res1pkg', 'res2pkg', 'default'],
  res1: ['res2pkg', 'a2pkg', 'default'],
  res2: ['res1pkg', 'a2pkg', 'default'],
  admin2: ['res1pkg', 'default'],
  admin: ['res1pkg', 'a2pkg'],
};
export const FOREIGN_RESELLER_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  fred: ['default', 'a2rpkg'],
  barney: ['default', 'a2rpkg'],
  res1: ['default', 'a2rpkg'],
  res2: ['default', 'a2rpkg'],
  admin2: ['default'],
  admin: ['a2rpkg'],
};

/** A name no account or package has, of the same shape as the real ones. */
export const GHOST = 'zghost';

let counter = 0;
/** A new account name (lower-case letters and digits, ≤ 16). */
export function freshName(prefix = 'n'): string {
  counter += 1;
  return `${prefix}${process.pid.toString(36)}${counter.toString(36)}`.slice(0, 16);
}

/** Every limit and switch of a package of `kind`, as DA form fields. */
export function packageFields(kind: PackageKind, limit = '10', overrides: Record<string, string> = {}) {
  const out: Record<string, string> = {};
  for (const f of limitFieldsFor(kind)) out[f] = limit;
  for (const f of switchFieldsFor(kind)) out[f] = f === 'suspend_at_limit' || f === 'oversell' ? 'OFF' : 'ON';
  if (kind === 'reseller') out.dns = 'OFF';
  out.skin = 'evolution';
  out.language = 'en';
  return { ...out, ...overrides };
}

/** Saves a package through the API as `auth`; fails the test on error=1. */
export async function savePackage(
  s: TestServer,
  auth: string,
  kind: PackageKind,
  name: string,
  fields: Record<string, string> = packageFields(kind),
): Promise<void> {
  const cmd = kind === 'user' ? 'CMD_API_MANAGE_USER_PACKAGES' : 'CMD_API_MANAGE_RESELLER_PACKAGES';
  const r = await rawCall(s.port, `/${cmd}`, {
    method: 'POST',
    auth,
    params: { add: 'Save', packagename: name, ...fields },
  });
  if (r.pairs.error !== '0') throw new Error(`saving package ${name} failed: ${r.status} ${r.body}`);
}

/** Runs a DA command as `auth` and fails the test unless it answers error=0. */
export async function mustSucceed(
  s: TestServer,
  auth: string,
  cmd: string,
  params: Record<string, string>,
): Promise<Answer> {
  const r = await rawCall(s.port, `/${cmd}`, { method: 'POST', auth, params });
  if (r.status !== 200 || r.pairs.error !== '0') throw new Error(`${cmd} failed: ${r.status} ${r.body}`);
  return r;
}

/**
 * The accounts every principal of the matrix is built from:
 * admin ▸ admin2; admin ▸ res1 ▸ fred, ginny, sam (suspended); admin ▸ res2 ▸ barney;
 * admin ▸ res3 (suspended) ▸ ursula. Each reseller and admin2 get their own packages.
 */
export async function createTenants(s: TestServer): Promise<void> {
  await createAccount(s, 'admin', 'admin2');
  for (const r of ['res1', 'res2', 'res3']) await createAccount(s, 'reseller', r);
  await savePackage(s, credentialOf('admin2'), 'user', 'a2pkg');
  await savePackage(s, credentialOf('admin2'), 'reseller', 'a2rpkg', packageFields('reseller', 'unlimited'));
  for (const r of ['res1', 'res2', 'res3']) await savePackage(s, authOf(r), 'user', `${r}pkg`);
  for (const u of ['fred', 'ginny', 'sam'])
    await createAccount(s, 'user', u, { package: 'res1pkg' }, authOf('res1'));
  await createAccount(s, 'user', 'barney', { package: 'res2pkg' }, authOf('res2'));
  await createAccount(s, 'user', 'ursula', { package: 'res3pkg' }, authOf('res3'));
  await mustSucceed(s, authOf('res1'), 'CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'sam' });
  await mustSucceed(s, credentialOf('admin'), 'CMD_API_SELECT_USERS', {
    suspend: 'Suspend',
    select0: 'res3',
  });
}

/**
 * A DA call from another loopback source address (Linux routes all of 127.0.0.0/8 to lo), so the server
 * sees a different peer: how IP rules are tested without a proxy.
 */
export function callFrom(
  s: TestServer,
  localAddress: string,
  path: string,
  opts: { auth?: string; params?: Params; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const query = opts.params ? `?${new URLSearchParams(opts.params).toString()}` : '';
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: s.port,
        path: path + query,
        method: 'GET',
        localAddress,
        agent: false,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const pairs: Record<string, string> = {};
          const list: string[] = [];
          if (body.includes('=') && !body.startsWith('<'))
            for (const part of body.split('&')) {
              const eq = part.indexOf('=');
              if (eq < 0) continue;
              const k = decodeURIComponent(part.slice(0, eq));
              const v = decodeURIComponent(part.slice(eq + 1));
              if (k === 'list[]') list.push(v);
              else pairs[k] = v;
            }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            pairs,
            list,
            json: () => JSON.parse(body),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The fixture keys createKeyRing makes (see KEY_PRINCIPALS for what each is for). */
export type KeyFixture =
  | 'wrong'
  | 'expired'
  | 'ip'
  | 'fred'
  | 'sam'
  | 'ursula'
  | 'spent'
  | 'spentCleared'
  | 'notYet'
  | 'admin'
  | 'res1'
  | 'res2';

/** A value of the generated shape that is no key of anyone. */
export const WRONG_KEY = `hdk_${'Zq7'.repeat(12)}Zq`;

/** DA's expiry fields (UTC) for an instant. */
export function expiryParams(ms: number): Params {
  const d = new Date(ms);
  return {
    year: String(d.getUTCFullYear()),
    month: String(d.getUTCMonth() + 1),
    day: String(d.getUTCDate()),
    hour: String(d.getUTCHours()),
    minute: String(d.getUTCMinutes()),
  };
}

/**
 * Creates a login key of `owner` through CMD_API_LOGIN_KEYS with its password (never expiring unless
 * expiry fields are given) and returns the value shown once; fails the test on error=1.
 */
export async function makeKey(
  s: TestServer,
  owner: string,
  params: Params = {},
  auth = credentialOf(owner),
): Promise<string> {
  const r = await rawCall(s.port, '/CMD_API_LOGIN_KEYS', {
    method: 'POST',
    auth,
    params: {
      action: 'create',
      keyname: freshName('k'),
      ...(params.year ? {} : { never_expires: 'yes' }),
      passwd: passwordOf(auth.split(/[|:]/)[0] ?? owner),
      ...params,
    },
  });
  if (r.pairs.error !== '0' || !r.pairs.key) throw new Error(`creating a key of ${owner} failed: ${r.body}`);
  return r.pairs.key;
}

/** The keys of the key principals, and the Basic credential each principal sends. */
export interface KeyRing {
  auth(p: Principal, cmd: string): Promise<string | undefined>;
}

/**
 * Makes the key principals' keys on a server with createTenants' accounts and a manual clock (which it
 * moves two hours on, past the expired key's expiry): fred's keys that must be refused (expired, from a
 * denied IP, spent, spent and cleared, not yet valid), keys of every command for fred, res1, res2 and
 * admin, and keys of the suspended sam and ursula (made while they were active). Per-command keys of
 * the admin (`lacking`, `denying`, `only`) are made on first use.
 */
export async function createKeyRing(s: TestServer): Promise<KeyRing> {
  const clock = s.clock as ManualClock;
  if (typeof clock.advance !== 'function') throw new Error('createKeyRing needs manualClock: true');
  const keys = new Map<string, string>([['wrong', WRONG_KEY]]);
  for (const owner of ['fred', 'admin', 'res1', 'res2'] as const) keys.set(owner, await makeKey(s, owner));
  keys.set('ip', await makeKey(s, 'fred', { ips: '10.9.9.9' }));
  keys.set('expired', await makeKey(s, 'fred', expiryParams(clock.now() + 3_600_000)));
  keys.set('notYet', await makeKey(s, 'fred', { not_before: String(clock.now() / 1000 + 365 * 86_400) }));
  for (const [name, extra] of [
    ['spent', {}],
    ['spentCleared', { clear_key: 'yes' }],
  ] as const) {
    const key = await makeKey(s, 'fred', { max_uses: '1', ...extra });
    await mustSucceed(s, `fred:${key}`, 'CMD_API_LOGIN_TEST', {});
    keys.set(name, key);
  }
  // Keys of accounts that are suspended: made while they were not.
  await mustSucceed(s, authOf('res1'), 'CMD_API_SELECT_USERS', { suspend: 'Unsuspend', select0: 'sam' });
  keys.set('sam', await makeKey(s, 'sam'));
  await mustSucceed(s, authOf('res1'), 'CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'sam' });
  await mustSucceed(s, credentialOf('admin'), 'CMD_API_SELECT_USERS', {
    suspend: 'Unsuspend',
    select0: 'res3',
  });
  keys.set('ursula', await makeKey(s, 'ursula'));
  await mustSucceed(s, credentialOf('admin'), 'CMD_API_SELECT_USERS', {
    suspend: 'Suspend',
    select0: 'res3',
  });
  clock.advance(2 * 3_600_000);

  const catalog = daCatalog(s.services.registry);
  const perCommand = async (kind: 'lacking' | 'denying' | 'only', cmd: string): Promise<string> => {
    const id = `${kind}:${cmd}`;
    let key = keys.get(id);
    if (key === undefined) {
      const params: Params = {};
      if (kind === 'denying') params.select_deny0 = cmd;
      else if (kind === 'only') params.select_allow0 = cmd;
      else
        catalog
          .all()
          .filter((c) => c !== cmd)
          .forEach((c, i) => {
            params[`select_allow${i}`] = c;
          });
      key = await makeKey(s, 'admin', params);
      keys.set(id, key);
    }
    return key;
  };
  return {
    async auth(p, cmd) {
      if (p.key === undefined) return principalAuth(p);
      const apiCmd = cmd.replace(/^CMD_(?!API_)/, 'CMD_API_');
      const secret =
        p.key === 'lacking' || p.key === 'denying' || p.key === 'only'
          ? await perCommand(p.key, apiCmd)
          : keys.get(p.key);
      if (secret === undefined) throw new Error(`no key ${p.key}`);
      return `${p.login}:${secret}`;
    },
  };
}

/** What a sample request may use: who calls, and helpers that make objects it legitimately owns. */
export interface SampleContext {
  server: TestServer;
  principal: Principal;
  /** The account the request acts as. */
  self: string;
  /** Its password (CMD_API_PASSWD asks for the current one). */
  selfPassword: string;
  /** The password of the account that authenticated (the owner of login-as): key commands ask for it. */
  authPassword: string;
  /** An account the caller may read: itself for users, a user it owns for resellers and admins. */
  target: string;
  /** A reseller the caller may read: itself, or res1 for admins (users: itself, which is refused). */
  resellerTarget: string;
  userPackage: string;
  resellerPackage: string;
  /**
   * A new user owned by the caller, for commands that change or delete it; users (who may not manage
   * accounts) and refused callers get their own name, so nothing else could be harmed.
   */
  victim(level?: Role): Promise<string>;
  /** A new user package of the caller (resellers and admins; others get a name nobody has). */
  ownPackage(kind: PackageKind): Promise<string>;
  /**
   * A new login key of the acting account allowed CMD_API_LOGIN_KEYS only (refused callers get a name no
   * key has).
   */
  ownKey(): Promise<string>;
}

/** Builds the sample context of a principal on a server with createTenants' accounts. */
export function sampleContext(server: TestServer, principal: Principal): SampleContext {
  const self = principal.self;
  const manages = principal.role === 'admin' || principal.role === 'reseller';
  return {
    server,
    principal,
    self,
    selfPassword: passwordOf(self),
    authPassword: passwordOf(ownerOf(principal)),
    target:
      principal.role === 'admin' ? 'fred' : self === 'res1' ? 'fred' : self === 'res2' ? 'barney' : self,
    resellerTarget: principal.role === 'admin' ? 'res1' : self,
    userPackage: USER_PACKAGE[self] ?? 'res1pkg',
    resellerPackage: RESELLER_PACKAGE[self] ?? 'default',
    async victim(level: Role = 'user') {
      // Only admins create resellers and admins; anyone else gets a user (which the command must refuse).
      if (!manages) return self;
      const as = principal.role === 'admin' ? level : 'user';
      const name = freshName('v');
      const pkg =
        as === 'reseller' ? (RESELLER_PACKAGE[self] ?? 'default') : (USER_PACKAGE[self] ?? 'default');
      await createAccount(server, as, name, as === 'admin' ? {} : { package: pkg }, credentialOf(self));
      return name;
    },
    async ownPackage(kind) {
      const name = freshName('p');
      if (principal.role === 'admin' || (principal.role === 'reseller' && kind === 'user'))
        await savePackage(server, credentialOf(self), kind, name);
      return name;
    },
    async ownKey() {
      const name = freshName('k');
      if (principal.role !== null)
        await makeKey(server, self, { keyname: name, select_allow0: 'CMD_API_LOGIN_KEYS' });
      return name;
    },
  };
}

export type Params = Record<string, string>;

export interface SampleRequest {
  label: string;
  params(h: SampleContext): Params | Promise<Params>;
  /** Checks an allowed answer; the default wants HTTP 200 and error=0. */
  ok?(a: Answer, h: SampleContext, params: Params): void | Promise<void>;
  /**
   * Cells of this request that are known server bugs outside the suite's files, by principal id or role,
   * with what is wrong. They run as `it.fails`, so fixing the bug turns them red until the entry goes.
   */
  knownIssues?: Readonly<Record<string, string>>;
}

/** A parameter naming an object (account or package) that may belong to another tenant. */
export interface ObjectRef {
  label: string;
  kind: 'account' | 'user-package' | 'reseller-package';
  /** Whether the request would change the object; admins may read every account, so reads are skipped for them. */
  mutates: boolean;
  params(h: SampleContext, name: string): Params | Promise<Params>;
}

export interface Expectation {
  /** The levels that may run the command; a caller of any other level gets PERMISSION_DENIED. */
  allow: readonly Role[];
  /** Known server bugs of every request of the command, as SampleRequest.knownIssues. */
  knownIssues?: Readonly<Record<string, string>>;
  requests: readonly SampleRequest[];
  /** Parameters that name other tenants' objects (tenant isolation, test 22). */
  objects: readonly ObjectRef[];
  /** Why a command that takes names has no isolation check. */
  objectsExempt?: string;
}

const ALL: readonly Role[] = ['user', 'reseller', 'admin'];
const MANAGERS: readonly Role[] = ['reseller', 'admin'];
const ADMINS: readonly Role[] = ['admin'];

function newAccountParams(h: SampleContext, level: Role): Params {
  const username = freshName('c');
  return {
    action: 'create',
    add: 'Submit',
    username,
    email: `${username}@example.com`,
    passwd: `${username}-Pass-123`,
    passwd2: `${username}-Pass-123`,
    notify: 'no',
    ...(level === 'admin'
      ? {}
      : {
          domain: `${username}.example.com`,
          package: level === 'reseller' ? h.resellerPackage : h.userPackage,
          ip: 'shared',
        }),
  };
}

async function accountRow(h: SampleContext, username: string) {
  return h.server.services.db
    .selectFrom('accounts')
    .selectAll()
    .where('username', '=', username)
    .executeTakeFirst();
}

async function idOf(h: SampleContext, username: string): Promise<string | undefined> {
  return (await accountRow(h, username))?.id;
}

/** The created account exists, at the right level, owned by the caller's effective account. */
function createdBy(level: Role) {
  return async (a: Answer, h: SampleContext, p: Params) => {
    expect(a.pairs.error).toBe('0');
    const row = await accountRow(h, p.username ?? '');
    expect(row?.level).toBe(level);
    expect(row?.creator_id).toBe(await idOf(h, h.self));
  };
}

function isList(expected: (h: SampleContext) => string[] | Promise<string[]>) {
  return async (a: Answer, h: SampleContext) => {
    expect(a.status).toBe(200);
    expect(a.body).not.toContain('error=1');
    expect(a.list).toEqual(await expected(h));
  };
}

function namesWhere(h: SampleContext, level: Role | null, creator?: string) {
  return async () => {
    let q = h.server.services.db.selectFrom('accounts').select('username').orderBy('username');
    if (level) q = q.where('level', '=', level);
    if (creator) q = q.where('creator_id', '=', (await idOf(h, creator)) ?? '');
    return (await q.execute()).map((r) => r.username);
  };
}

function accountCreateEntry(level: Role): Expectation {
  const kind = level === 'reseller' ? 'reseller-package' : 'user-package';
  return {
    allow: level === 'user' ? MANAGERS : ADMINS,
    requests: [
      { label: 'create', params: (h) => newAccountParams(h, level), ok: createdBy(level) },
      {
        label: 'delete',
        params: async (h) => ({ action: 'delete', username: await h.victim(level) }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect(await accountRow(h, p.username ?? '')).toBeUndefined();
        },
      },
    ],
    objects: [
      {
        label: 'delete',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ action: 'delete', username: name }),
      },
      ...(level === 'admin'
        ? []
        : [
            {
              label: 'create with the package',
              kind,
              mutates: true,
              params: (h: SampleContext, name: string) => ({
                ...newAccountParams(h, level),
                username: 'isocreate',
                email: 'isocreate@example.com',
                domain: 'isocreate.example.com',
                package: name,
              }),
            } satisfies ObjectRef,
          ]),
    ],
  };
}

function listEntry(
  allow: readonly Role[],
  expected: (h: SampleContext) => () => Promise<string[]>,
): Expectation {
  return {
    allow,
    requests: [{ label: 'list', params: () => ({}), ok: isList((h) => expected(h)()) }],
    objects: [],
  };
}

function showAccountEntry(
  allow: readonly Role[],
  which: 'target' | 'resellerTarget',
  check: (a: Answer, h: SampleContext, name: string) => void,
  knownIssues?: Readonly<Record<string, string>>,
): Expectation {
  return {
    allow,
    requests: [
      {
        ...(knownIssues ? { knownIssues } : {}),
        label: 'show',
        params: (h) => ({ user: h[which] }),
        ok: (a, h) => {
          expect(a.status).toBe(200);
          expect(a.pairs.error).toBeUndefined();
          // A presenter lists its fields: no hash of any scheme may ever leave the server.
          expect(a.body).not.toMatch(/argon2|%24[0-9a-z]+%24|password/i);
          check(a, h, h[which]);
        },
      },
    ],
    objects: [{ label: 'show', kind: 'account', mutates: false, params: (_h, name) => ({ user: name }) }],
  };
}

function packagesListEntry(kind: PackageKind): Expectation {
  return {
    allow: kind === 'user' ? MANAGERS : ADMINS,
    requests: [
      {
        label: 'list',
        params: () => ({}),
        ok: (a, h) => {
          expect(a.status).toBe(200);
          expect(a.list).toContain(kind === 'user' ? h.userPackage : h.resellerPackage);
        },
      },
      {
        label: 'show one',
        params: (h) => ({ package: kind === 'user' ? h.userPackage : h.resellerPackage }),
        ok: (a) => {
          expect(a.status).toBe(200);
          expect(a.pairs.vdomains).toBeDefined();
        },
      },
    ],
    objects: [
      {
        label: 'show',
        kind: kind === 'user' ? 'user-package' : 'reseller-package',
        mutates: false,
        params: (_h, name) => ({ package: name }),
      },
    ],
  };
}

function packagesManageEntry(kind: PackageKind): Expectation {
  const ref = kind === 'user' ? 'user-package' : 'reseller-package';
  const rowOf = (h: SampleContext, name: string) =>
    h.server.services.db
      .selectFrom('packages')
      .select(['name', 'owner_id'])
      .where('name', '=', name)
      .where('kind', '=', kind)
      .execute();
  return {
    allow: kind === 'user' ? MANAGERS : ADMINS,
    requests: [
      {
        label: 'save',
        params: () => ({ add: 'Save', packagename: freshName('p'), ...packageFields(kind) }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect(await rowOf(h, p.packagename ?? '')).toEqual([
            { name: p.packagename, owner_id: await idOf(h, h.self) },
          ]);
        },
      },
      {
        label: 'rename',
        params: async (h) => ({
          action: 'rename',
          old_package: await h.ownPackage(kind),
          new_package: freshName('r'),
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect(await rowOf(h, p.old_package ?? '')).toEqual([]);
          expect(await rowOf(h, p.new_package ?? '')).toHaveLength(1);
        },
      },
      {
        label: 'delete',
        params: async (h) => ({ delete: 'yes', delete0: await h.ownPackage(kind) }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect(await rowOf(h, p.delete0 ?? '')).toEqual([]);
        },
      },
    ],
    objects: [
      {
        label: 'delete',
        kind: ref,
        mutates: true,
        params: (_h, name) => ({ delete: 'yes', delete0: name }),
      },
      {
        label: 'rename',
        kind: ref,
        mutates: true,
        params: (_h, name) => ({ action: 'rename', old_package: name, new_package: 'isorenamed' }),
      },
    ],
  };
}

/**
 * Commands whose level in the login-key catalog differs from the level the matrix expects (none now:
 * admin-only commands declare `level: 'admin'` in DA_COMMANDS). The route-auth test compares the two.
 */
export const CATALOG_LEVEL_ISSUES: Readonly<Record<string, Role>> = {};

async function activeKey(h: SampleContext, name: string) {
  return h.server.services.db
    .selectFrom('login_keys')
    .selectAll()
    .where('account_id', '=', (await idOf(h, h.self)) ?? '')
    .where('name', '=', name)
    .where('cleared_at', 'is', null)
    .executeTakeFirst();
}

/** The 401 a refused login gets (the same as a bad password). */
function isUnauthorized(a: Answer): void {
  expect(a.status, a.body).toBe(401);
  expect(a.headers['x-directadmin']).toBe('Unauthorized');
}

/** A new key works as the acting account for CMD_API_LOGIN_KEYS, its one command, and for nothing else. */
async function keyWorks(h: SampleContext, key: string, keyname: string): Promise<void> {
  const auth = `${h.self}:${key}`;
  const listed = await rawCall(h.server.port, '/CMD_API_LOGIN_KEYS', { auth });
  expect(listed.status, listed.body).toBe(200);
  expect(listed.pairs[keyname], listed.body).toBeDefined();
  // Shown once: the listing never carries it.
  expect(listed.body).not.toContain(key);
  isUnauthorized(await rawCall(h.server.port, '/CMD_API_LOGIN_TEST', { auth }));
}

/** The acting account's domains, sorted (what CMD_API_SHOW_DOMAINS lists). */
async function domainsOfSelf(h: SampleContext): Promise<string[]> {
  const rows = await h.server.services.db
    .selectFrom('domains')
    .select('name')
    .where('account_id', '=', (await idOf(h, h.self)) ?? '')
    .orderBy('name')
    .execute();
  return rows.map((r) => r.name);
}

/**
 * A domain of the acting account to work on: its main domain, or for accounts without one (admins) a new
 * domain. Refused callers get a name nobody has, so nothing of anyone's could be touched.
 */
async function domainOfSelf(h: SampleContext): Promise<string> {
  if (h.principal.role === null) return `${GHOST}.example.com`;
  const main = (await accountRow(h, h.self))?.domain;
  if (main) return main;
  return newDomainOf(h);
}

/** A new additional domain of the acting account (made with its password). */
async function newDomainOf(h: SampleContext): Promise<string> {
  const name = `${freshName('d')}.example.net`;
  if (h.principal.role === null) return name;
  await mustSucceed(h.server, credentialOf(h.self), 'CMD_API_DOMAIN', { action: 'create', domain: name });
  return name;
}

/** Removes a domain made by a sample request, with its zone, so the accounts' limits are not used up. */
async function dropDomain(h: SampleContext, name: string): Promise<void> {
  const db = h.server.services.db;
  const zone = await db.selectFrom('dns_zones').select('id').where('origin', '=', name).executeTakeFirst();
  if (zone) {
    await db.deleteFrom('dns_records').where('zone_id', '=', zone.id).execute();
    await db.deleteFrom('dns_zones').where('id', '=', zone.id).execute();
  }
  await db.deleteFrom('domain_pointers').where('name', '=', name).execute();
  await db.deleteFrom('domains').where('name', '=', name).execute();
}

async function domainRow(h: SampleContext, name: string) {
  return h.server.services.db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
}

async function zoneRecordsOf(h: SampleContext, origin: string) {
  const db = h.server.services.db;
  const zone = await db.selectFrom('dns_zones').select('id').where('origin', '=', origin).executeTakeFirst();
  if (!zone) return [];
  return db.selectFrom('dns_records').selectAll().where('zone_id', '=', zone.id).execute();
}

const DOMAIN_OBJECTS_EXEMPT =
  "domains are not among the suite's object kinds (accounts and packages); another account's domain, " +
  'zone or record answering exactly like a missing one is tested in test/api/domains.test.ts and ' +
  'test/api/dns-control.test.ts';

/** A self-signed certificate and its key for `domain`, joined as DirectAdmin's `certificate` takes them. */
async function certificateFor(domain: string): Promise<{ pem: string; fingerprint: string }> {
  const made = await selfsigned.generate([{ name: 'commonName', value: domain }], {
    keyType: 'ec',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: domain }] }],
  });
  return { pem: `${made.private}${made.cert}`, fingerprint: new X509Certificate(made.cert).fingerprint256 };
}

/** The certificate command (issue 6, certificates). */
function sslEntries(): Record<string, Expectation> {
  return {
    CMD_API_SSL: {
      allow: ALL,
      requests: [
        {
          label: 'list (json)',
          params: () => ({ json: 'yes' }),
          ok: (a) => {
            expect(a.status, a.body).toBe(200);
            expect(Array.isArray(a.json())).toBe(true);
            expect(a.body).not.toContain('PRIVATE');
          },
        },
        {
          label: 'save (paste)',
          params: async (h) => {
            const domain = await domainOfSelf(h);
            const c = await certificateFor(domain);
            return { domain, action: 'save', type: 'paste', certificate: c.pem };
          },
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Certificate%20and%20Key%20Saved.&details=');
            const row = await h.server.services.db
              .selectFrom('certificates')
              .innerJoin('domains', 'domains.id', 'certificates.domain_id')
              .select('certificates.fingerprint')
              .where('domains.name', '=', p.domain ?? '')
              .executeTakeFirst();
            const sent = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(
              p.certificate ?? '',
            );
            expect(row?.fingerprint).toBe(new X509Certificate(sent?.[0] ?? '').fingerprint256);
          },
        },
      ],
      objects: [],
      objectsExempt:
        "a certificate names a domain, not among the suite's object kinds; another account's domain " +
        'answering exactly like a missing one is tested in test/api/ssl.test.ts',
    },
  };
}

/** The domain and DNS commands (issue 6). */
function domainEntries(): Record<string, Expectation> {
  return {
    CMD_API_DOMAIN: {
      allow: ALL,
      requests: [
        {
          label: 'create',
          params: () => ({
            action: 'create',
            domain: `${freshName('d')}.example.net`,
            ubandwidth: 'ON',
            uquota: 'ON',
            php: 'ON',
          }),
          ok: async (a, h, p) => {
            expect(a.body).toMatch(/^error=0&text=Domain%20Created/);
            const row = await domainRow(h, p.domain ?? '');
            expect(row?.account_id).toBe(await idOf(h, h.self));
            expect((await zoneRecordsOf(h, p.domain ?? '')).length).toBeGreaterThan(0);
            await dropDomain(h, p.domain ?? '');
          },
        },
        {
          label: 'modify',
          params: async (h) => ({ action: 'modify', domain: await newDomainOf(h), bandwidth: '100' }),
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=The%20domain%20has%20been%20modified&details=');
            expect((await domainRow(h, p.domain ?? ''))?.bandwidth).toBe('100');
            await dropDomain(h, p.domain ?? '');
          },
        },
        {
          label: 'select-delete',
          params: async (h) => ({
            action: 'select',
            delete: 'yes',
            confirmed: 'yes',
            select0: await newDomainOf(h),
          }),
          ok: async (a, h, p) => {
            expect(a.body).toMatch(/^error=0&text=Domain%20Deletion%20Results/);
            expect(await domainRow(h, p.select0 ?? '')).toBeUndefined();
            expect(await zoneRecordsOf(h, p.select0 ?? '')).toEqual([]);
          },
        },
        {
          label: 'default',
          params: async (h) => ({ action: 'select', default: 'yes', select0: await newDomainOf(h) }),
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Your%20default%20domain%20has%20been%20set&details=');
            const row = await accountRow(h, h.self);
            expect(row?.domain).toBe(p.select0);
            // Put the account back as it was: its main domain is what the other samples use.
            const main = h.self.startsWith('admin') ? '' : `${h.self}.example.com`;
            const db = h.server.services.db;
            await db.updateTable('accounts').set({ domain: main }).where('username', '=', h.self).execute();
            await db.updateTable('domains').set({ kind: 'main' }).where('name', '=', main).execute();
            await dropDomain(h, p.select0 ?? '');
          },
        },
      ],
      objects: [],
      objectsExempt: DOMAIN_OBJECTS_EXEMPT,
    },
    CMD_API_ADDITIONAL_DOMAINS: {
      allow: ALL,
      requests: [
        {
          label: 'list',
          params: () => ({}),
          ok: async (a, h) => {
            expect(a.status).toBe(200);
            const own = await domainsOfSelf(h);
            expect(Object.keys(a.pairs).sort()).toEqual(own);
            for (const d of own) {
              const config = new URLSearchParams(a.pairs[d] ?? '');
              expect(config.get('domain')).toBe(d);
              expect(config.get('username')).toBe(h.self);
            }
          },
        },
      ],
      objects: [],
      objectsExempt: DOMAIN_OBJECTS_EXEMPT,
    },
    CMD_API_SUBDOMAINS: {
      allow: ALL,
      requests: [
        {
          label: 'list',
          params: async (h) => ({ domain: await domainOfSelf(h) }),
          ok: (a) => {
            expect(a.status).toBe(200);
            expect(a.body).not.toContain('error=1');
          },
        },
        {
          label: 'create',
          params: async (h) => ({
            action: 'create',
            domain: await domainOfSelf(h),
            subdomain: freshName('s'),
          }),
          ok: async (a, h, p) => {
            expect(a.pairs.error, a.body).toBe('0');
            const fqdn = `${p.subdomain}.${p.domain}`;
            const db = h.server.services.db;
            expect(
              await db.selectFrom('subdomains').select('id').where('fqdn', '=', fqdn).executeTakeFirst(),
            ).toBeDefined();
            await db.deleteFrom('subdomains').where('fqdn', '=', fqdn).execute();
          },
        },
        {
          label: 'delete',
          params: async (h) => {
            const domain = await domainOfSelf(h);
            const label = freshName('s');
            if (h.principal.role !== null)
              await mustSucceed(h.server, credentialOf(h.self), 'CMD_API_SUBDOMAINS', {
                action: 'create',
                domain,
                subdomain: label,
              });
            return { action: 'delete', domain, select0: label, contents: 'no' };
          },
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Subdomains%20deleted&details=');
            const fqdn = `${p.select0}.${p.domain}`;
            const db = h.server.services.db;
            expect(
              await db.selectFrom('subdomains').select('id').where('fqdn', '=', fqdn).executeTakeFirst(),
            ).toBeUndefined();
          },
        },
      ],
      objects: [],
      objectsExempt: DOMAIN_OBJECTS_EXEMPT,
    },
    CMD_API_DOMAIN_POINTER: {
      allow: ALL,
      requests: [
        {
          label: 'list (none: an empty body)',
          params: async (h) => ({ domain: await domainOfSelf(h) }),
          ok: (a) => {
            expect(a.status).toBe(200);
            expect(a.body).toBe('');
          },
        },
        {
          label: 'add',
          params: async (h) => ({
            action: 'add',
            domain: await domainOfSelf(h),
            from: `${freshName('p')}.example.org`,
            alias: 'yes',
          }),
          ok: async (a, h, p) => {
            expect(a.pairs.error, a.body).toBe('0');
            const db = h.server.services.db;
            const row = await db
              .selectFrom('domain_pointers')
              .selectAll()
              .where('name', '=', p.from ?? '')
              .executeTakeFirst();
            expect(row?.alias).toBe(1);
            expect((await zoneRecordsOf(h, p.from ?? '')).length).toBeGreaterThan(0);
            await dropDomain(h, p.from ?? '');
          },
        },
        {
          label: 'delete',
          params: async (h) => {
            const domain = await domainOfSelf(h);
            const from = `${freshName('p')}.example.org`;
            if (h.principal.role !== null)
              await mustSucceed(h.server, credentialOf(h.self), 'CMD_API_DOMAIN_POINTER', {
                action: 'add',
                domain,
                from,
                alias: 'yes',
              });
            return { action: 'delete', domain, select0: from };
          },
          ok: async (a, h, p) => {
            expect(a.pairs.error, a.body).toBe('0');
            const db = h.server.services.db;
            expect(
              await db
                .selectFrom('domain_pointers')
                .select('id')
                .where('name', '=', p.select0 ?? '')
                .executeTakeFirst(),
            ).toBeUndefined();
            expect(await zoneRecordsOf(h, p.select0 ?? '')).toEqual([]);
          },
        },
      ],
      objects: [],
      objectsExempt: DOMAIN_OBJECTS_EXEMPT,
    },
    CMD_API_DOMAIN_OWNERS: {
      allow: ADMINS,
      requests: [
        {
          label: 'one domain',
          params: () => ({ domain: 'fred.example.com' }),
          ok: (a) => expect(a.body).toBe('fred.example.com=fred'),
        },
      ],
      objects: [],
      objectsExempt: 'admins see every domain; the command is refused below admin level',
    },
    CMD_API_DNS_CONTROL: {
      allow: ALL,
      requests: [
        {
          label: 'json listing',
          params: async (h) => ({ domain: await domainOfSelf(h), json: 'yes' }),
          ok: (a) => {
            expect(a.status, a.body).toBe(200);
            const body = a.json() as { records: { ttl: unknown }[] };
            expect(body.records.length).toBeGreaterThan(0);
            for (const r of body.records) expect(typeof r.ttl).toBe('string');
          },
        },
        {
          label: 'add',
          params: async (h) => ({
            domain: await domainOfSelf(h),
            action: 'add',
            type: 'TXT',
            name: freshName('_t'),
            value: '"sample"',
          }),
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Record%20Added&details=');
            const recs = await zoneRecordsOf(h, p.domain ?? '');
            expect(recs.some((r) => r.name === p.name && r.data === '["sample"]')).toBe(true);
          },
        },
        {
          label: 'select-delete',
          params: async (h) => {
            const domain = await domainOfSelf(h);
            const name = freshName('_t');
            if (h.principal.role !== null)
              await mustSucceed(h.server, credentialOf(h.self), 'CMD_API_DNS_CONTROL', {
                domain,
                action: 'add',
                type: 'TXT',
                name,
                value: 'gone',
              });
            return { domain, action: 'select', txtrecs0: `name=${name}&value=gone` };
          },
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Records%20Deleted&details=');
            const name = (p.txtrecs0 ?? '').slice(5, (p.txtrecs0 ?? '').indexOf('&'));
            expect((await zoneRecordsOf(h, p.domain ?? '')).some((r) => r.name === name)).toBe(false);
          },
        },
      ],
      objects: [],
      objectsExempt: DOMAIN_OBJECTS_EXEMPT,
    },
    CMD_API_DNS_ADMIN: {
      allow: ADMINS,
      requests: [
        {
          label: 'connectivity check',
          params: () => ({}),
          ok: (a) => expect(a.body).toBe('error=0&text=OK'),
        },
        {
          label: 'exists',
          params: () => ({ action: 'exists', domain: 'fred.example.com' }),
          ok: (a) => expect(a.body).toBe('error=0&exists=1'),
        },
        {
          label: "add to a user's zone",
          params: () => ({
            domain: 'fred.example.com',
            action: 'add',
            type: 'TXT',
            name: freshName('_a'),
            value: 'admin',
          }),
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Record%20Added&details=');
            expect((await zoneRecordsOf(h, 'fred.example.com')).some((r) => r.name === p.name)).toBe(true);
          },
        },
      ],
      objects: [],
      objectsExempt: 'admins may change every zone; the command is refused below admin level',
    },
    CMD_API_MULTI_SERVER: {
      allow: ADMINS,
      requests: [
        {
          label: 'add a remote server',
          params: () => ({
            action: 'add',
            ip: `${freshName('r')}.example.net`,
            port: '2222',
            user: 'admin',
            passwd: 'Remote-Key-123',
            ssl: 'no',
          }),
          ok: async (a, h, p) => {
            expect(a.body).toBe('error=0&text=Server%20Added&details=');
            const row = await h.server.services.db
              .selectFrom('cluster_remotes')
              .selectAll()
              .where('host', '=', p.ip ?? '')
              .executeTakeFirstOrThrow();
            expect(row.secret_enc).not.toContain('Remote-Key-123');
          },
        },
        {
          label: 'list',
          params: () => ({}),
          ok: (a) => {
            expect(a.status, a.body).toBe(200);
            expect(a.pairs.error).toBeUndefined();
            expect(a.body).not.toContain('Remote-Key');
          },
        },
      ],
      objects: [],
      objectsExempt: 'remote servers belong to the installation, not to an account; admins only',
    },
  };
}

function loginKeysEntry(): Expectation {
  const allowOnly = { select_allow0: 'CMD_API_LOGIN_KEYS' };
  return {
    allow: ALL,
    requests: [
      {
        label: 'create with a generated value',
        params: (h) => ({
          action: 'create',
          keyname: freshName('k'),
          never_expires: 'yes',
          max_uses: '0',
          ...allowOnly,
          passwd: h.authPassword,
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error, a.body).toBe('0');
          const key = a.pairs.key ?? '';
          expect(looksLikeGeneratedKey(key), key).toBe(true);
          expect(await activeKey(h, p.keyname ?? '')).toBeDefined();
          await keyWorks(h, key, p.keyname ?? '');
        },
      },
      {
        label: 'create with a chosen value',
        params: (h) => {
          const value = `Chosen-${freshName('v')}-Value`;
          return {
            action: 'create',
            keyname: freshName('k'),
            key: value,
            key2: value,
            never_expires: 'yes',
            ...allowOnly,
            passwd: h.authPassword,
          };
        },
        ok: async (a, h, p) => {
          expect(a.pairs.error, a.body).toBe('0');
          expect(a.pairs.key).toBe(p.key);
          await keyWorks(h, p.key ?? '', p.keyname ?? '');
        },
      },
      {
        label: 'list',
        params: () => ({}),
        ok: async (a, h) => {
          expect(a.status, a.body).toBe(200);
          const rows = await h.server.services.db
            .selectFrom('login_keys')
            .select('name')
            .where('account_id', '=', (await idOf(h, h.self)) ?? '')
            .where('cleared_at', 'is', null)
            .execute();
          expect(Object.keys(a.pairs).sort()).toEqual(rows.map((r) => r.name).sort());
        },
      },
      {
        label: 'show_modify',
        params: async (h) => ({ action: 'show_modify', keyname: await h.ownKey() }),
        ok: (a, _h, p) => {
          expect(a.status, a.body).toBe(200);
          expect(a.pairs.keyname).toBe(p.keyname);
          expect(a.pairs.allow).toBe('CMD_API_LOGIN_KEYS');
        },
      },
      {
        label: 'modify',
        params: async (h) => ({
          action: 'modify',
          keyname: await h.ownKey(),
          max_uses: '5',
          passwd: h.authPassword,
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error, a.body).toBe('0');
          expect((await activeKey(h, p.keyname ?? ''))?.max_uses).toBe(5);
        },
      },
      {
        label: 'history',
        params: async (h) => ({ action: 'history', keyname: await h.ownKey() }),
        ok: (a) => {
          expect(a.status, a.body).toBe(200);
          expect(a.pairs.error).toBeUndefined();
        },
      },
      {
        label: 'rotate',
        params: async (h) => ({
          action: 'rotate',
          keyname: await h.ownKey(),
          grace: '0',
          passwd: h.authPassword,
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error, a.body).toBe('0');
          expect(looksLikeGeneratedKey(a.pairs.key ?? '')).toBe(true);
          await keyWorks(h, a.pairs.key ?? '', p.keyname ?? '');
        },
      },
      {
        label: 'delete',
        params: async (h) => ({ action: 'select', delete: 'Delete', select0: await h.ownKey() }),
        ok: async (a, h, p) => {
          expect(a.pairs.error, a.body).toBe('0');
          expect(await activeKey(h, p.select0 ?? '')).toBeUndefined();
        },
      },
    ],
    objects: [],
    objectsExempt:
      'key names belong to an account: every action looks a name up among the acting account’s own keys ' +
      'only (test/api/login-keys.test.ts checks that another account’s key name answers like a missing one)',
  };
}

/**
 * One entry per DirectAdmin command served (keys of DA_COMMANDS). Samples are valid for an allowed
 * caller; a refused caller sends the same request shape.
 */
export const DA_EXPECTATIONS: Readonly<Record<string, Expectation>> = {
  CMD_API_LOGIN_TEST: {
    allow: ALL,
    requests: [
      {
        label: 'test',
        params: () => ({}),
        ok: (a) => expect(a.body).toBe('error=0&text=Login%20OK&details='),
      },
    ],
    objects: [],
  },
  CMD_API_ACCOUNT_USER: accountCreateEntry('user'),
  CMD_API_ACCOUNT_RESELLER: accountCreateEntry('reseller'),
  CMD_API_ACCOUNT_ADMIN: accountCreateEntry('admin'),
  CMD_API_SHOW_ALL_USERS: listEntry(ADMINS, (h) => namesWhere(h, null)),
  CMD_API_SHOW_USERS: {
    ...listEntry(MANAGERS, (h) => namesWhere(h, 'user', h.self)),
    objects: [
      {
        label: "a reseller's users",
        kind: 'account',
        mutates: false,
        params: (_h, name) => ({ reseller: name }),
      },
    ],
  },
  CMD_API_SHOW_RESELLERS: listEntry(ADMINS, (h) => namesWhere(h, 'reseller')),
  CMD_API_SHOW_ADMINS: listEntry(ADMINS, (h) => namesWhere(h, 'admin')),
  CMD_API_SHOW_USER_CONFIG: showAccountEntry(ALL, 'target', (a, _h, name) => {
    expect(a.pairs.username).toBe(name);
    expect(a.pairs.usertype).toBe('user');
  }),
  CMD_API_SHOW_RESELLER_CONFIG: showAccountEntry(MANAGERS, 'resellerTarget', (a, _h, name) => {
    expect(a.pairs.username).toBe(name);
    expect(a.pairs.usertype).toBe('reseller');
  }),
  CMD_API_SHOW_USER_USAGE: showAccountEntry(ALL, 'target', (a) => {
    expect(a.pairs.vdomains).toBe('1');
  }),
  CMD_API_MODIFY_USER: {
    allow: MANAGERS,
    requests: [
      {
        label: 'customize',
        params: async (h) => ({ action: 'customize', user: await h.victim(), nemails: '7' }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          const row = await accountRow(h, p.user ?? '');
          expect(JSON.parse(row?.settings ?? '{}').nemails).toBe('7');
          expect(row?.package).toBe('');
        },
      },
      {
        label: 'package',
        params: async (h) => ({ action: 'package', user: await h.victim(), package: h.userPackage }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect((await accountRow(h, p.user ?? ''))?.package).toBe(h.userPackage);
        },
      },
      {
        label: 'single',
        params: async (h) => ({
          action: 'single',
          user: await h.victim(),
          email: 'Save',
          evalue: 'changed@example.org',
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect((await accountRow(h, p.user ?? ''))?.email).toBe('changed@example.org');
        },
      },
    ],
    objects: [
      {
        label: 'customize',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ action: 'customize', user: name, nemails: '3' }),
      },
      {
        label: 'package',
        kind: 'account',
        mutates: true,
        params: (h, name) => ({ action: 'package', user: name, package: h.userPackage }),
      },
      {
        label: 'single',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ action: 'single', user: name, email: 'Save', evalue: 'x@example.org' }),
      },
      {
        label: 'package of another tenant',
        kind: 'user-package',
        mutates: true,
        params: (h, name) => ({ action: 'package', user: h.target, package: name }),
      },
    ],
  },
  CMD_API_SELECT_USERS: {
    allow: MANAGERS,
    requests: [
      {
        label: 'delete',
        params: async (h) => ({ confirmed: 'Confirm', delete: 'yes', select0: await h.victim() }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect(await accountRow(h, p.select0 ?? '')).toBeUndefined();
        },
      },
      {
        label: 'suspend',
        params: async (h) => ({
          location: 'CMD_SELECT_USERS',
          suspend: 'Suspend',
          select0: await h.victim(),
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect((await accountRow(h, p.select0 ?? ''))?.suspended).toBe(1);
        },
      },
      {
        label: 'unsuspend',
        params: async (h) => ({ dounsuspend: 'yes', select0: await h.victim() }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          expect((await accountRow(h, p.select0 ?? ''))?.suspended).toBe(0);
        },
      },
    ],
    objects: [
      {
        label: 'delete',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ confirmed: 'Confirm', delete: 'yes', select0: name }),
      },
      {
        label: 'suspend',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ suspend: 'Suspend', select0: name }),
      },
      {
        label: 'unsuspend',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ suspend: 'Unsuspend', select0: name }),
      },
    ],
  },
  CMD_API_USER_EXISTS: {
    allow: MANAGERS,
    requests: [
      {
        label: 'exists',
        params: () => ({ user: 'fred' }),
        ok: (a) => expect(a.body).toBe('error=0&exists=1'),
      },
    ],
    objects: [],
    objectsExempt:
      'account names are one global namespace (a taken name is refused at creation anyway), and saying ' +
      'whether a name is taken is what the command is for, as in DirectAdmin',
  },
  CMD_API_USER_PASSWD: {
    allow: MANAGERS,
    requests: [
      {
        label: 'set',
        params: async (h) => ({
          username: await h.victim(),
          passwd: 'Brand-New-Pass-1',
          passwd2: 'Brand-New-Pass-1',
        }),
        ok: async (a, h, p) => {
          expect(a.pairs.error).toBe('0');
          const t = await rawCall(h.server.port, '/CMD_API_LOGIN_TEST', {
            auth: `${p.username}:Brand-New-Pass-1`,
          });
          expect(t.pairs.error).toBe('0');
        },
      },
    ],
    objects: [
      {
        label: 'set',
        kind: 'account',
        mutates: true,
        params: (_h, name) => ({ username: name, passwd: 'Taken-Over-Pass-1', passwd2: 'Taken-Over-Pass-1' }),
      },
    ],
  },
  CMD_API_PASSWD: {
    allow: ALL,
    requests: [
      {
        // The same password again: the caller keeps working for the rest of the matrix.
        label: 'change own',
        params: (h) => ({ oldpass: h.selfPassword, passwd: h.selfPassword, passwd2: h.selfPassword }),
      },
    ],
    objects: [],
  },
  CMD_API_PACKAGES_USER: packagesListEntry('user'),
  CMD_API_PACKAGES_RESELLER: packagesListEntry('reseller'),
  CMD_API_MANAGE_USER_PACKAGES: packagesManageEntry('user'),
  CMD_API_MANAGE_RESELLER_PACKAGES: packagesManageEntry('reseller'),
  CMD_API_LOGIN_KEYS: loginKeysEntry(),
  CMD_API_SHOW_MESSAGES: {
    allow: ALL,
    requests: [
      {
        label: 'list',
        params: () => ({}),
        ok: async (a, h) => {
          expect(a.status, a.body).toBe(200);
          expect(a.pairs.error).toBeUndefined();
          const own = await h.server.services.db
            .selectFrom('messages')
            .select('id')
            .where('account_id', '=', (await idOf(h, h.self)) ?? '')
            .execute();
          const ids = new Set(own.map((m) => `message${m.id}`));
          const shown = Object.keys(a.pairs);
          // Only the acting account's messages, the newest 200 of them.
          expect(shown.length).toBe(Math.min(200, own.length));
          for (const m of shown) expect(ids.has(m), m).toBe(true);
        },
      },
    ],
    objects: [],
  },
  CMD_API_SHOW_DOMAINS: {
    allow: ALL,
    requests: [{ label: 'list', params: () => ({}), ok: isList((h) => domainsOfSelf(h)) }],
    objects: [],
  },
  ...domainEntries(),
  ...sslEntries(),
};
