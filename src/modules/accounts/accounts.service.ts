import { isIP } from 'node:net';
import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { validateImportedHash } from '../../auth/passwords.js';
import { filterDomains } from '../../auth/scope.js';
import { checkCurrentPassword } from '../../auth/verify.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import {
  isPlausibleUsername,
  normalizeUsername,
  printable,
  validateDomain,
  validateEmail,
  validateNewPassword,
  validateNewUsername,
  validateText,
} from '../../core/validation.js';
import type { Account, Executor, Level } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { memoParse } from '../../db/text-memo.js';
import type { Services } from '../../services.js';
import { checkDomainOnRemotes, checkUserOnRemotes } from '../cluster/cluster.service.js';
import { kickApplier } from '../dns/dns.service.js';
import { countOf } from '../domains/domains.repository.js';
import { deleteAccountDomains, insertDomain } from '../domains/domains.service.js';
import {
  allocationProblem,
  limitFieldsFor,
  limitValue,
  type PackageKind,
  readSettings,
  type Settings,
  unlimitedSettings,
} from '../packages/limits.js';
import { findPackage } from '../packages/packages.service.js';
import * as repo from './accounts.repository.js';

/** The credential a new account gets: a plain password to hash, or an already-crypted one to import. */
export type PasswordInput = { plain: string } | { crypted: string };

export interface CreateAccountInput {
  level: Level;
  username: string;
  email: string;
  password: PasswordInput;
  domain?: string;
  /** A package of the creator (user packages for users, reseller packages for resellers). */
  package?: string;
  /** Custom limits instead of a package (already parsed). */
  settings?: Settings;
  ip?: string;
  name?: string;
}

/** True when `actor`'s account may manage `target` (reseller: its own users; admin: everyone but the first admin). */
export function canManage(actor: Account, target: Account): boolean {
  if (actor.id === target.id) return false;
  if (actor.level === 'admin') return target.creator_id !== null;
  if (actor.level === 'reseller') return target.creator_id === actor.id && target.level === 'user';
  return false;
}

/**
 * An account by a name as the caller typed it. A name no account could have is not looked up: PostgreSQL
 * refuses text with a NUL byte outright, which would surface as an internal error instead of "not found".
 */
function findNamed(db: Executor, raw: string): Promise<Account | undefined> {
  const name = normalizeUsername(raw);
  return isPlausibleUsername(name) ? repo.findByUsername(db, name) : Promise.resolve(undefined);
}

/**
 * Loads an account the actor may manage. An account the actor may not see answers exactly like a
 * missing one, so names of other tenants' accounts cannot be probed.
 */
export async function loadManaged(db: Executor, actor: Actor, username: string): Promise<Account> {
  const target = await findNamed(db, username);
  if (!target || !canManage(actor.account, target))
    fail('ACCOUNT_NOT_FOUND', `There is no account named ${printable(username)}`);
  return target;
}

/** Loads the actor's own account or one it manages (for read commands that take `user=`). */
export async function loadSelfOrManaged(
  db: Executor,
  actor: Actor,
  username: string | undefined,
): Promise<Account> {
  // The actor's own row was read by this request's authentication: reading it again would only cost.
  if (!username || username.trim().toLowerCase() === actor.account.username) return actor.account;
  return loadManaged(db, actor, username);
}

const IP_WORDS = new Set(['shared', 'server', 'assign', 'sharedreseller']);

function validateIp(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'shared';
  if (IP_WORDS.has(ip) || isIP(ip)) return ip;
  return fail('INVALID_PARAMETER', `ip must be an IP address or one of shared, server, assign`);
}

/** Which levels each level may create. */
function mayCreate(creator: Level, level: Level): boolean {
  if (creator === 'admin') return true;
  if (creator === 'reseller') return level === 'user';
  return false;
}

/**
 * A reseller's users together may not be given more than the reseller has (unless the reseller may
 * oversell), nor a feature the reseller lacks. Admins are not limited. Must run inside the transaction
 * that writes the change.
 */
async function checkAllocation(
  db: Executor,
  creator: Account,
  settings: Settings,
  replacingId?: string,
): Promise<void> {
  if (creator.level !== 'reseller') return;
  // Concurrent creations would each count the users committed before them and together oversell (seen on
  // PostgreSQL under READ COMMITTED). A no-op UPDATE of the reseller's row locks it until commit on
  // PostgreSQL (SQLite runs one write transaction at a time anyway), so allocations of one reseller queue
  // up and each counts the users the previous one added. Its own limits are read after the lock too.
  await db
    .updateTable('accounts')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', creator.id)
    .execute();
  const own = readSettings((await repo.findById(db, creator.id))?.settings ?? creator.settings);
  const users = (await repo.listCreatedBy(db, creator.id)).filter((u) => u.id !== replacingId);
  const problem = allocationProblem(
    own,
    users.map((u) => readSettings(u.settings)),
    [settings],
  );
  if (problem) fail('LIMIT_EXCEEDED', problem);
}

async function resolveSettings(
  db: Executor,
  creator: Account,
  input: CreateAccountInput,
): Promise<{ settings: Settings; pkg: string }> {
  if (input.level === 'admin') return { settings: unlimitedSettings('reseller'), pkg: '' };
  const kind: PackageKind = input.level === 'reseller' ? 'reseller' : 'user';
  if (input.package) {
    const pkg = await findPackage(db, creator.id, kind, input.package);
    if (!pkg) fail('PACKAGE_NOT_FOUND', `You have no ${kind} package named ${printable(input.package)}`);
    return { settings: readSettings(pkg.settings), pkg: pkg.name };
  }
  if (input.settings) return { settings: input.settings, pkg: '' };
  return fail('MISSING_PARAMETER', 'Choose a package or give custom limits');
}

/** Hashes or imports the password of a new account or a password change. */
async function passwordHash(services: Services, input: PasswordInput): Promise<string> {
  if ('crypted' in input) {
    const v = validateImportedHash(input.crypted);
    if (!v.ok) fail('INVALID_HASH', v.reason);
    return input.crypted;
  }
  return services.hasher.hash(validateNewPassword(input.plain));
}

/** Creates an admin, reseller or user account owned by the actor, with its main domain. */
export async function createAccount(
  services: Services,
  actor: Actor,
  input: CreateAccountInput,
): Promise<Account> {
  const creator = actor.account;
  if (!mayCreate(creator.level, input.level))
    fail('PERMISSION_DENIED', `A ${creator.level} cannot create ${input.level} accounts`);
  const username = validateNewUsername(input.username, services.config.usernameMaxLength);
  const email = validateEmail(input.email);
  const name = input.name === undefined ? '' : validateText('name', input.name, 128);
  const ip = validateIp(input.ip);
  let domain = '';
  if (input.level !== 'admin') {
    if (!input.domain) fail('MISSING_PARAMETER', 'A domain is required');
    domain = validateDomain(input.domain);
  } else if (input.domain) domain = validateDomain(input.domain);
  const { settings, pkg } = await resolveSettings(services.db, creator, input);
  if (domain && limitValue(settings, 'vdomains') < 1)
    fail('LIMIT_EXCEEDED', 'vdomains is 0, so the account cannot have its main domain');
  const hash = await passwordHash(services, input.password);
  // User Check and Domain Check on the cluster's remote servers, before the transaction: no lock is
  // held open while they answer.
  await checkUserOnRemotes(services, username);
  if (domain) await checkDomainOnRemotes(services, domain);
  const now = services.clock.now();
  const account: Account = {
    id: newId(services.random),
    username,
    level: input.level,
    creator_id: creator.id,
    email,
    name,
    password_hash: hash,
    auth_version: 1,
    suspended: 0,
    suspended_reason: '',
    package: pkg,
    domain,
    ip,
    ns1: `ns1.${services.config.hostname}`,
    ns2: `ns2.${services.config.hostname}`,
    settings: JSON.stringify(settings),
    created_at: now,
    updated_at: now,
  };
  try {
    await services.db.transaction().execute(async (trx) => {
      if (await repo.findByUsername(trx, username)) fail('USERNAME_TAKEN', `${username} already exists`);
      await checkAllocation(trx, creator, settings);
      if (domain && (await repo.findDomain(trx, domain))) fail('DOMAIN_TAKEN', `${domain} already exists`);
      await repo.insert(trx, account);
      // The main domain gets its zone, and the name checks, like any domain added later.
      if (domain) await insertDomain(trx, services, account, domain, 'main', {}, now);
      await record(
        trx,
        actor,
        {
          command: `account.${input.level}.create`,
          target: username,
          details: { domain, package: pkg, crypted: 'crypted' in input.password },
        },
        now,
      );
      await trx
        .insertInto('outbox')
        .values({
          topic: 'account.created',
          payload: JSON.stringify({ username }),
          created_at: now,
          attempts: 0,
          last_error: '',
        })
        .execute();
    });
  } catch (e) {
    if (isUniqueViolation(e)) fail('USERNAME_TAKEN', `${username} or ${domain} already exists`);
    throw e;
  }
  if (domain) kickApplier(services);
  return account;
}

/** Every account below `root` (users of a reseller), deepest first, then `root` itself. */
async function subtree(db: Executor, root: Account): Promise<Account[]> {
  const out: Account[] = [];
  for (const child of await repo.listCreatedBy(db, root.id)) out.push(...(await subtree(db, child)));
  out.push(root);
  return out;
}

/**
 * Deletes accounts (a reseller with all its users). All names are checked first and the whole deletion is
 * one transaction: either every selected account goes, or none does.
 */
export async function deleteAccounts(
  services: Services,
  actor: Actor,
  usernames: string[],
  /** Only accounts of this level (a command named for one level deletes only that level). */
  onlyLevel?: Level,
): Promise<string[]> {
  if (usernames.length === 0) fail('MISSING_PARAMETER', 'Select at least one account');
  const deleted: string[] = [];
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const targets: Account[] = [];
    for (const u of new Set(usernames)) {
      if (u.trim().toLowerCase() === actor.account.username)
        fail('CANNOT_MODIFY_SELF', 'You cannot delete your own account');
      const target = await loadManaged(trx, actor, u);
      // Another level answers like a missing account: the command names the kind of account it deletes.
      if (onlyLevel && target.level !== onlyLevel)
        fail('ACCOUNT_NOT_FOUND', `There is no ${onlyLevel} account named ${printable(u)}`);
      targets.push(target);
    }
    for (const t of targets) {
      for (const acc of await subtree(trx, t)) {
        if (acc.id === actor.authenticated.id)
          fail('CANNOT_MODIFY_SELF', 'You cannot delete the account you are logged in with');
        await deleteAccountDomains(trx, acc.id, now);
        await repo.deleteAccountRows(trx, acc.id);
        deleted.push(acc.username);
        await record(trx, actor, { command: `account.${acc.level}.delete`, target: acc.username }, now);
        await trx
          .insertInto('outbox')
          .values({
            topic: 'account.deleted',
            payload: JSON.stringify({ username: acc.username }),
            created_at: now,
            attempts: 0,
            last_error: '',
          })
          .execute();
      }
    }
  });
  kickApplier(services);
  // The accounts' domains took their certificates with them: SNI must stop serving them now.
  services.certificates.invalidate();
  return deleted;
}

/** Suspends or unsuspends accounts; all-or-nothing like deletion. Suspension ends cached logins. */
export async function setSuspended(
  services: Services,
  actor: Actor,
  usernames: string[],
  suspended: boolean,
  reason = '',
): Promise<string[]> {
  if (usernames.length === 0) fail('MISSING_PARAMETER', 'Select at least one account');
  const why = validateText('reason', reason, 128);
  const now = services.clock.now();
  const done: string[] = [];
  await services.db.transaction().execute(async (trx) => {
    const targets: Account[] = [];
    for (const u of new Set(usernames)) {
      if (u.trim().toLowerCase() === actor.account.username)
        fail('CANNOT_MODIFY_SELF', 'You cannot suspend your own account');
      targets.push(await loadManaged(trx, actor, u));
    }
    for (const t of targets) {
      await trx
        .updateTable('accounts')
        .set((eb) => ({
          suspended: suspended ? 1 : 0,
          suspended_reason: suspended ? why : '',
          auth_version: eb('auth_version', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', t.id)
        .execute();
      done.push(t.username);
      await record(
        trx,
        actor,
        {
          command: suspended ? 'account.suspend' : 'account.unsuspend',
          target: t.username,
          details: why ? { reason: why } : undefined,
        },
        now,
      );
    }
  });
  return done;
}

async function storePassword(
  services: Services,
  actor: Actor,
  target: Account,
  hash: string,
  command: string,
): Promise<void> {
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('accounts')
      .set((eb) => ({ password_hash: hash, auth_version: eb('auth_version', '+', 1), updated_at: now }))
      .where('id', '=', target.id)
      .execute();
    await record(trx, actor, { command, target: target.username }, now);
    await trx
      .insertInto('outbox')
      .values({
        topic: 'account.password',
        payload: JSON.stringify({ username: target.username }),
        created_at: now,
        attempts: 0,
        last_error: '',
      })
      .execute();
  });
}

/** An admin or reseller sets the password of an account it manages. */
export async function setPassword(
  services: Services,
  actor: Actor,
  username: string,
  password: PasswordInput,
): Promise<void> {
  const target = await loadManaged(services.db, actor, username);
  await storePassword(
    services,
    actor,
    target,
    await passwordHash(services, password),
    'account.password.set',
  );
}

/** An account changes its own password; the current one must be given. */
export async function changeOwnPassword(
  services: Services,
  actor: Actor,
  current: string,
  next: string,
): Promise<void> {
  const self = await repo.findById(services.db, actor.account.id);
  if (!self) return fail('ACCOUNT_NOT_FOUND');
  validateNewPassword(next, 'new password');
  if (!(await checkCurrentPassword(services, self, current, actor.ip))) fail('WRONG_CURRENT_PASSWORD');
  await storePassword(services, actor, self, await services.hasher.hash(next), 'account.password.change');
}

export interface ModifyInput {
  username: string;
  /** Custom limits to merge into the account's settings (the account leaves its package). */
  settings?: Settings;
  /** Move the account to one of the actor's packages. */
  package?: string;
  email?: string;
  name?: string;
  ns1?: string;
  ns2?: string;
}

/** Changes an account's limits, package or contact details. */
export async function modifyAccount(services: Services, actor: Actor, input: ModifyInput): Promise<Account> {
  const now = services.clock.now();
  return services.db.transaction().execute(async (trx) => {
    const target = await loadManaged(trx, actor, input.username);
    const kind: PackageKind = target.level === 'reseller' ? 'reseller' : 'user';
    let settings = readSettings(target.settings);
    let pkg = target.package;
    if (input.package !== undefined) {
      const p = await findPackage(trx, actor.account.id, kind, input.package);
      if (!p) fail('PACKAGE_NOT_FOUND', `You have no ${kind} package named ${printable(input.package)}`);
      settings = readSettings(p.settings);
      pkg = p.name;
    }
    if (input.settings) {
      settings = { ...settings, ...input.settings };
      pkg = '';
    }
    if (target.level === 'admin' && (input.package !== undefined || input.settings))
      fail('INVALID_PARAMETER', 'Admin accounts have no limits');
    const domains = await repo.domainsOf(trx, target.id);
    if (limitValue(settings, 'vdomains') < domains.length)
      fail(
        'LIMIT_EXCEEDED',
        `vdomains ${limitValue(settings, 'vdomains')} is below the ${domains.length} domains the account has`,
      );
    await checkAllocation(trx, actor.account, settings, target.id);
    const patch = {
      settings: JSON.stringify(settings),
      package: pkg,
      email: input.email !== undefined ? validateEmail(input.email) : target.email,
      name: input.name !== undefined ? validateText('name', input.name, 128) : target.name,
      ns1: input.ns1 !== undefined ? validateDomain(input.ns1) : target.ns1,
      ns2: input.ns2 !== undefined ? validateDomain(input.ns2) : target.ns2,
      updated_at: now,
    };
    await repo.update(trx, target.id, patch);
    await record(
      trx,
      actor,
      {
        command: 'account.modify',
        target: target.username,
        details: { package: pkg, fields: Object.keys(input).filter((k) => k !== 'username') },
      },
      now,
    );
    return { ...target, ...patch };
  });
}

/** An account sets its own e-mail address. */
export async function changeOwnEmail(services: Services, actor: Actor, email: string): Promise<void> {
  const value = validateEmail(email);
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    await repo.update(trx, actor.account.id, { email: value, updated_at: now });
    await record(trx, actor, { command: 'account.email.change', target: actor.account.username }, now);
  });
}

/** Lists names the actor may see: `scope` all (admin), users of a creator, resellers, admins. */
export async function listAccounts(
  services: Services,
  actor: Actor,
  scope: 'all' | 'users' | 'resellers' | 'admins',
  reseller?: string,
): Promise<string[]> {
  const db = services.db;
  const me = actor.account;
  if (scope === 'users') {
    let creator = me;
    if (reseller && reseller !== me.username) {
      if (me.level !== 'admin') fail('PERMISSION_DENIED', "Only an admin may list another reseller's users");
      const r = await findNamed(db, reseller);
      if (!r || r.level === 'user')
        fail('ACCOUNT_NOT_FOUND', `There is no reseller named ${printable(reseller)}`);
      creator = r;
    }
    return (await repo.listByLevel(db, 'user', creator.id)).map((a) => a.username);
  }
  if (me.level !== 'admin') fail('PERMISSION_DENIED', 'Only an admin may list every account');
  const level = scope === 'all' ? null : scope === 'resellers' ? 'reseller' : 'admin';
  return (await repo.listByLevel(db, level)).map((a) => a.username);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** DirectAdmin's `date_created` format, `Tue Nov 24 10:11:12 2026` (UTC). */
export function daDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

// CMD_API_SHOW_USER_CONFIG reads the same settings on every request; the parsed form is shared (frozen).
const settingsOf = memoParse(readSettings);

/**
 * Configurations already built, by the row they were built from. A row object is never changed in place
 * (a change is a new read), and everything else in the answer is fixed once the row is (the creator's
 * name never changes), so an answer is as current as its row. The authentication cache hands every
 * request of one login the same row until anything in accounts changes, so repeated requests build it once.
 */
const configs = new WeakMap<Account, Readonly<Record<string, string>>>();

/** The account's configuration as DirectAdmin's user.conf keys (never the password hash). Frozen. */
export async function showConfig(
  services: Services,
  actor: Actor,
  username?: string,
): Promise<Readonly<Record<string, string>>> {
  const a = await loadSelfOrManaged(services.db, actor, username);
  const built = configs.get(a);
  if (built) return built;
  const creator = a.creator_id ? await repo.findById(services.db, a.creator_id) : undefined;
  const settings = settingsOf(a.settings);
  const config = Object.freeze({
    account: 'ON',
    ...settings,
    creator: creator?.username ?? 'root',
    date_created: daDate(a.created_at),
    docsroot: './data/skins/evolution',
    domain: a.domain,
    email: a.email,
    ip: a.ip,
    name: a.name,
    ns1: a.ns1,
    ns2: a.ns2,
    package: a.package || 'custom',
    suspended: a.suspended ? 'yes' : 'no',
    ...(a.suspended ? { suspended_reason: a.suspended_reason } : {}),
    username: a.username,
    usertype: a.level,
  });
  configs.set(a, config);
  return config;
}

/** What the account uses, under the same keys as its limits. */
export async function showUsage(
  services: Services,
  actor: Actor,
  username?: string,
): Promise<Record<string, string>> {
  const a = await loadSelfOrManaged(services.db, actor, username);
  const domains = await repo.domainsOf(services.db, a.id);
  const usage: Record<string, string> = {};
  // Only domains exist as countable resources so far; the other services add their counts as they land.
  for (const f of limitFieldsFor(a.level === 'reseller' ? 'reseller' : 'user')) usage[f] = '0';
  usage.vdomains = String(domains.length);
  usage.nsubdomains = String(await countOf(services.db, 'subdomains', a.id));
  usage.domainptr = String(await countOf(services.db, 'domain_pointers', a.id));
  usage.db_quota = '0';
  usage.email_quota = '0';
  return usage;
}

/** Whether any account has that name (admins and resellers). Reserved system names answer an error. */
export async function userExists(services: Services, username: string): Promise<boolean> {
  const name = username.trim().toLowerCase();
  if (!name) fail('MISSING_PARAMETER', 'user is required');
  const existing = await findNamed(services.db, name);
  if (existing) return true;
  try {
    validateNewUsername(name, 64);
  } catch (e) {
    if ((e as { code?: string }).code === 'RESERVED_USERNAME') throw e;
  }
  return false;
}

/** Domains of the actor's own account (those inside its credential's scope). */
export async function listOwnDomains(services: Services, actor: Actor): Promise<string[]> {
  return filterDomains(actor, await repo.domainsOf(services.db, actor.account.id));
}

/**
 * Creates the first admin (no creator) and the `default` user and reseller packages, with no limits, so a
 * new installation can create accounts at once. Runs only on an empty database; the audit row names the
 * shell as the credential.
 */
export async function createFirstAdmin(
  services: Services,
  username: string,
  email: string,
  password: string,
): Promise<Account> {
  // The reserved-name rule protects against new accounts named like system users; the first admin is
  // conventionally called `admin`, so only the format is checked here.
  if (!isPlausibleUsername(username))
    fail('INVALID_USERNAME', 'Usernames may contain only lower-case letters and digits');
  const name = username;
  const hash = await services.hasher.hash(validateNewPassword(password));
  const now = services.clock.now();
  const admin: Account = {
    id: newId(services.random),
    username: name,
    level: 'admin',
    creator_id: null,
    email: validateEmail(email),
    name: 'Administrator',
    password_hash: hash,
    auth_version: 1,
    suspended: 0,
    suspended_reason: '',
    package: '',
    domain: '',
    ip: 'server',
    ns1: `ns1.${services.config.hostname}`,
    ns2: `ns2.${services.config.hostname}`,
    settings: JSON.stringify(unlimitedSettings('reseller')),
    created_at: now,
    updated_at: now,
  };
  const actor: Actor = {
    account: admin,
    authenticated: admin,
    credential: { kind: 'cli', id: '' },
    ip: 'cli',
  };
  await services.db.transaction().execute(async (trx) => {
    if ((await repo.countAll(trx)) > 0) fail('USERNAME_TAKEN', 'The installation already has accounts');
    await repo.insert(trx, admin);
    for (const kind of ['user', 'reseller'] as const)
      await trx
        .insertInto('packages')
        .values({
          id: newId(services.random),
          owner_id: admin.id,
          kind,
          name: 'default',
          settings: JSON.stringify(unlimitedSettings(kind)),
          created_at: now,
          updated_at: now,
        })
        .execute();
    await record(
      trx,
      actor,
      { command: 'account.admin.create', target: name, details: { first: true } },
      now,
    );
  });
  return admin;
}
