/**
 * The declarative expectation table of the shared security suite (DESIGN.md rule 12; security.md §6
 * tests 21–23) for the DirectAdmin API: one entry per key of DA_COMMANDS with a valid sample request,
 * the levels that may run it and the names it takes that refer to other accounts' objects.
 * test/api/route-auth.test.ts fails when a command has no entry here, so a new command must be added.
 */
import { expect } from 'vitest';
import type { Level } from '../../src/db/database.js';
import { limitFieldsFor, type PackageKind, switchFieldsFor } from '../../src/modules/packages/limits.js';
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

/** The Basic credential a principal sends, or undefined for anonymous. */
export function principalAuth(p: Principal): string | undefined {
  if (p.login === undefined) return undefined;
  const owner = p.login.split('|')[0] ?? p.login;
  return `${p.login}:${p.secret ?? passwordOf(owner)}`;
}

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

/** What a sample request may use: who calls, and helpers that make objects it legitimately owns. */
export interface SampleContext {
  server: TestServer;
  principal: Principal;
  /** The account the request acts as. */
  self: string;
  /** Its password (CMD_API_PASSWD asks for the current one). */
  selfPassword: string;
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
  CMD_API_SHOW_DOMAINS: {
    allow: ALL,
    requests: [
      {
        label: 'list',
        params: () => ({}),
        ok: isList(async (h) => (h.principal.role === 'admin' ? [] : [`${h.self}.example.com`])),
      },
    ],
    objects: [],
  },
};
