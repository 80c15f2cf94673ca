import { record } from '../../audit/audit.js';
import type { Actor, CredentialScope } from '../../auth/actor.js';
import {
  type CommandCatalog,
  type CommandPolicy,
  grantsKeyManagement,
  isSubsetOf,
  normalizePolicy,
} from '../../auth/command-policy.js';
import { parseIpRules } from '../../auth/ip-rules.js';
import { jsonList } from '../../auth/key-auth.js';
import { generateKey } from '../../auth/key-format.js';
import { credentialHistory } from '../../auth/key-usage.js';
import { checkCurrentPassword } from '../../auth/verify.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { hasControlChars, printable, validateDomain } from '../../core/validation.js';
import type { Executor, LoginKey } from '../../db/database.js';
import type { Services } from '../../services.js';
import { domainsOf } from '../accounts/accounts.repository.js';
import { RECORD_TYPES } from '../dns/zone.types.js';
import { featureOn, readSettings } from '../packages/limits.js';

/** The warning DirectAdmin gives for keys that can manage keys (seed: "defeats the purpose"). */
export const KEY_MANAGEMENT_WARNING =
  'This key may use ALL_USER, CMD_LOGIN_KEYS or CMD_API_LOGIN_KEYS, so it can change the login keys of this account, including creating a key of higher privilege. Limit its commands unless that is intended.';

export const MIN_KEY_LENGTH = 12;
const MAX_KEY_LENGTH = 256;
const NAME_RE = /^[A-Za-z0-9]{1,32}$/;
const MAX_USES = 1_000_000_000;

/** Everything a key is made of, as the owner gives it (create) or changes it (modify: undefined = keep). */
export interface KeyInput {
  name: string;
  /** The chosen value; empty or undefined = generate one (create) / keep (modify). */
  value?: string;
  /** Absolute expiry (ms), null = never. */
  expiresAt?: number | null;
  notBefore?: number | null;
  maxUses?: number;
  clearKey?: boolean;
  allowHtm?: boolean;
  policy?: CommandPolicy;
  ips?: string;
  scope?: CredentialScope;
  rateLimit?: { count: number; windowSeconds: number } | null;
  /** The current password of the account (required to create or modify). */
  currentPassword: string;
}

export interface KeyCreated {
  key: LoginKey;
  /** Shown once; never stored. */
  value: string;
  managesKeys: boolean;
}

function ownerMayHaveKeys(actor: Actor): void {
  if (!featureOn(readSettings(actor.account.settings), 'login_keys'))
    fail('FEATURE_DISABLED', 'Login keys are not enabled for this account');
}

/**
 * The current password must be given to create or change a key (DA). With login-as it is the password
 * of the account that logged in, which is the one the caller knows.
 */
async function requirePassword(services: Services, actor: Actor, password: string): Promise<void> {
  if (!password)
    fail('MISSING_PARAMETER', 'passwd (your current password) is required to create or change a key');
  if (!(await checkCurrentPassword(services, actor.authenticated, password, actor.ip)))
    fail('WRONG_CURRENT_PASSWORD', 'The current password (passwd) is wrong');
}

async function checkValue(
  services: Services,
  db: Executor,
  actor: Actor,
  value: string,
  exceptId?: string,
): Promise<void> {
  if (value.length < MIN_KEY_LENGTH)
    fail('INVALID_PARAMETER', `A key must be at least ${MIN_KEY_LENGTH} characters long`);
  if (value.length > MAX_KEY_LENGTH)
    fail('INVALID_PARAMETER', `A key must be at most ${MAX_KEY_LENGTH} characters long`);
  if (hasControlChars(value) || value.includes('\ufffd') || /\s/.test(value))
    fail('INVALID_PARAMETER', 'A key must not contain spaces or control characters');
  if (await services.hasher.verify(actor.account.password_hash, value))
    fail('INVALID_PARAMETER', 'A key must not be the account password');
  const digest = services.keyDigest(value);
  const clash = await db
    .selectFrom('login_keys')
    .select('id')
    .where('account_id', '=', actor.account.id)
    .where((eb) => eb.or([eb('digest', '=', digest), eb('prev_digest', '=', digest)]))
    .where('cleared_at', 'is', null)
    .executeTakeFirst();
  if (clash && clash.id !== exceptId) fail('INVALID_PARAMETER', 'Another key of this account has that value');
}

/**
 * A key may not mint a key that can do more than itself (DA's warning, made a rule): neither by creating
 * one, nor by changing or rotating (and so learning a value of) a key whose commands go beyond its own.
 */
function withinCredential(actor: Actor, catalog: CommandCatalog, policy: CommandPolicy): void {
  const cred = actor.credential;
  if (
    cred.kind === 'loginkey' &&
    cred.policy &&
    !isSubsetOf(policy, cred.policy, catalog, actor.account.level)
  )
    fail('PERMISSION_DENIED', 'A key cannot create or widen a key beyond its own commands');
}

function checkPolicy(actor: Actor, catalog: CommandCatalog, policy: CommandPolicy): CommandPolicy {
  const n = normalizePolicy(policy, catalog, actor.account.level);
  if (!n.ok) fail('INVALID_PARAMETER', n.errors.join('; '));
  withinCredential(actor, catalog, n.policy);
  return n.policy;
}

function storedPolicy(k: LoginKey): CommandPolicy {
  return { allow: jsonList(k.allow_commands), deny: jsonList(k.deny_commands) };
}

/**
 * Takes the account's clear_key keys whose expiry has passed out of use, as their next use would: a key
 * set to disappear at its expiry must not linger in listings, or hold its name, until someone tries it.
 */
async function sweepExpired(db: Executor, accountId: string, now: number): Promise<void> {
  await db
    .updateTable('login_keys')
    .set({ cleared_at: now })
    .where('account_id', '=', accountId)
    .where('cleared_at', 'is', null)
    .where('clear_key', '=', 1)
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now)
    .execute();
}

/** At most this many record-name patterns or types in a DNS scope. */
const MAX_DNS_SCOPE_ENTRIES = 50;
/** A record-name pattern: `@`, or labels of letters, digits, `_`, `-` and `*` (e.g. `_acme-challenge.*`). */
const DNS_NAME_PATTERN_RE = /^(@|[a-z0-9_*-]{1,63}(\.[a-z0-9_*-]{1,63})*)$/;

/** The DNS part of a scope, normalised (lowercase names, uppercase known types, no duplicates). */
function checkDnsScope(dns: { names: string[]; types: string[] }): { names: string[]; types: string[] } {
  const names = [...new Set(dns.names.map((n) => n.toLowerCase().replace(/\.$/, '')))];
  const types = [...new Set(dns.types.map((t) => t.toUpperCase()))];
  if (names.length > MAX_DNS_SCOPE_ENTRIES || types.length > MAX_DNS_SCOPE_ENTRIES)
    fail('INVALID_PARAMETER', `dns_names and dns_types take at most ${MAX_DNS_SCOPE_ENTRIES} entries each`);
  for (const n of names)
    if (n.length > 253 || !DNS_NAME_PATTERN_RE.test(n))
      fail(
        'INVALID_PARAMETER',
        `dns_names: ${printable(n)} is not a record-name pattern (@, or labels with letters, digits, _, - and *)`,
      );
  for (const t of types)
    if (!(RECORD_TYPES as readonly string[]).includes(t))
      fail('INVALID_PARAMETER', `dns_types: ${printable(t)} is not one of ${RECORD_TYPES.join(', ')}`);
  return { names, types };
}

async function checkScope(
  db: Executor,
  actor: Actor,
  scope: CredentialScope | undefined,
): Promise<CredentialScope> {
  if (scope?.dns) scope = { ...scope, dns: checkDnsScope(scope.dns) };
  if (!scope?.domains?.length) return scope?.dns ? { dns: scope.dns } : {};
  const own = new Set(await domainsOf(db, actor.account.id));
  const domains = [...new Set(scope.domains.map((d) => validateDomain(d)))];
  for (const d of domains)
    if (!own.has(d)) fail('INVALID_PARAMETER', `${printable(d)} is not a domain of this account`);
  return { ...scope, domains };
}

function checkCommon(input: KeyInput, now: number): void {
  if (
    input.maxUses !== undefined &&
    (!Number.isSafeInteger(input.maxUses) || input.maxUses < 0 || input.maxUses > MAX_USES)
  )
    fail('INVALID_PARAMETER', `max_uses must be a whole number from 0 (unlimited) to ${MAX_USES}`);
  if (input.expiresAt !== undefined && input.expiresAt !== null && input.expiresAt <= now)
    fail('INVALID_PARAMETER', 'The expiry is in the past');
  if (
    input.rateLimit &&
    (input.rateLimit.count < 1 ||
      input.rateLimit.windowSeconds < 1 ||
      input.rateLimit.windowSeconds > 31_536_000)
  )
    fail('INVALID_PARAMETER', 'rate_limit must be at least 1 request per window of 1 second to 1 year');
}

function validIps(text: string): string {
  const r = parseIpRules(text);
  if (!r.ok) fail('INVALID_PARAMETER', `ips: ${r.errors.join('; ')}`);
  return r.normalized;
}

/** Creates a login key for the actor's account; the value is returned once. */
export async function createKey(
  services: Services,
  actor: Actor,
  catalog: CommandCatalog,
  input: KeyInput,
): Promise<KeyCreated> {
  ownerMayHaveKeys(actor);
  const now = services.clock.now();
  if (!NAME_RE.test(input.name)) fail('INVALID_PARAMETER', 'keyname must be 1-32 letters and digits');
  checkCommon(input, now);
  if (input.expiresAt === undefined)
    fail('MISSING_PARAMETER', 'Give an expiry (hour, minute, month, day, year) or never_expires=yes');
  const policy = checkPolicy(actor, catalog, input.policy ?? { allow: [], deny: [] });
  const ips = validIps(input.ips ?? '');
  await requirePassword(services, actor, input.currentPassword);
  const value = input.value ? input.value : generateKey((n) => services.random.bytes(n));
  return services.db.transaction().execute(async (trx) => {
    await sweepExpired(trx, actor.account.id, now);
    if (input.value) await checkValue(services, trx, actor, input.value);
    const scope = await checkScope(trx, actor, input.scope);
    const taken = await trx
      .selectFrom('login_keys')
      .select('id')
      .where('account_id', '=', actor.account.id)
      .where('name', '=', input.name)
      .where('cleared_at', 'is', null)
      .executeTakeFirst();
    if (taken) fail('INVALID_PARAMETER', `A key named ${input.name} already exists`);
    const key: LoginKey = {
      id: newId(services.random),
      account_id: actor.account.id,
      name: input.name,
      type: 'key',
      digest: services.keyDigest(value),
      prev_digest: null,
      prev_valid_until: null,
      created_at: now,
      created_ip: actor.ip,
      not_before: input.notBefore ?? null,
      expires_at: input.expiresAt ?? null,
      max_uses: input.maxUses ?? 0,
      uses_left: input.maxUses ?? 0,
      clear_key: input.clearKey ? 1 : 0,
      allow_htm: input.allowHtm ? 1 : 0,
      allow_commands: JSON.stringify(policy.allow),
      deny_commands: JSON.stringify(policy.deny),
      ips,
      scope: JSON.stringify(scope),
      rate_limit: input.rateLimit?.count ?? 0,
      rate_window_ms: (input.rateLimit?.windowSeconds ?? 0) * 1000,
      rate_count: 0,
      rate_window_start: 0,
      redirect: '',
      use_count: 0,
      last_used_at: null,
      last_used_ip: '',
      cleared_at: null,
    };
    await trx.insertInto('login_keys').values(key).execute();
    const managesKeys = grantsKeyManagement(policy, catalog, actor.account.level);
    await trx
      .insertInto('messages')
      .values({
        account_id: actor.account.id,
        at: now,
        subject: `Login key ${input.name} created`,
        body: `A login key named ${input.name} was created from ${actor.ip}${managesKeys ? `. ${KEY_MANAGEMENT_WARNING}` : '.'}`,
        is_read: 0,
      })
      .execute();
    await record(
      trx,
      actor,
      {
        command: 'loginkey.create',
        target: input.name,
        details: { maxUses: key.max_uses, expiresAt: key.expires_at, managesKeys },
      },
      now,
    );
    return { key, value, managesKeys };
  });
}

async function loadKey(db: Executor, actor: Actor, name: string, now: number): Promise<LoginKey> {
  await sweepExpired(db, actor.account.id, now);
  const key = await db
    .selectFrom('login_keys')
    .selectAll()
    .where('account_id', '=', actor.account.id)
    .where('name', '=', name)
    .where('cleared_at', 'is', null)
    .executeTakeFirst();
  if (!key) fail('INVALID_PARAMETER', `There is no key named ${printable(name)}`);
  return key;
}

/** Changes a key's limits (and value, when one is given). */
export async function modifyKey(
  services: Services,
  actor: Actor,
  catalog: CommandCatalog,
  input: KeyInput,
): Promise<LoginKey> {
  ownerMayHaveKeys(actor);
  const now = services.clock.now();
  checkCommon(input, now);
  const policy = input.policy ? checkPolicy(actor, catalog, input.policy) : undefined;
  const ips = input.ips !== undefined ? validIps(input.ips) : undefined;
  await requirePassword(services, actor, input.currentPassword);
  return services.db.transaction().execute(async (trx) => {
    const key = await loadKey(trx, actor, input.name, now);
    withinCredential(actor, catalog, policy ?? storedPolicy(key));
    if (input.value) await checkValue(services, trx, actor, input.value, key.id);
    const scope =
      input.scope !== undefined ? JSON.stringify(await checkScope(trx, actor, input.scope)) : key.scope;
    const patch: Partial<LoginKey> = {
      ...(input.value
        ? { digest: services.keyDigest(input.value), prev_digest: null, prev_valid_until: null }
        : {}),
      ...(input.expiresAt !== undefined ? { expires_at: input.expiresAt } : {}),
      ...(input.notBefore !== undefined ? { not_before: input.notBefore } : {}),
      ...(input.maxUses !== undefined ? { max_uses: input.maxUses, uses_left: input.maxUses } : {}),
      ...(input.clearKey !== undefined ? { clear_key: input.clearKey ? 1 : 0 } : {}),
      ...(input.allowHtm !== undefined ? { allow_htm: input.allowHtm ? 1 : 0 } : {}),
      ...(policy
        ? { allow_commands: JSON.stringify(policy.allow), deny_commands: JSON.stringify(policy.deny) }
        : {}),
      ...(ips !== undefined ? { ips } : {}),
      ...(input.rateLimit !== undefined
        ? {
            rate_limit: input.rateLimit?.count ?? 0,
            rate_window_ms: (input.rateLimit?.windowSeconds ?? 0) * 1000,
            rate_count: 0,
            rate_window_start: 0,
          }
        : {}),
      scope,
    };
    await trx.updateTable('login_keys').set(patch).where('id', '=', key.id).execute();
    await record(
      trx,
      actor,
      { command: 'loginkey.modify', target: key.name, details: { fields: Object.keys(patch) } },
      now,
    );
    return { ...key, ...patch };
  });
}

/**
 * A new value for a key with the same limits; the old value keeps working for `graceSeconds` (0: it
 * stops at once), so a script can be switched over without a gap.
 */
export async function rotateKey(
  services: Services,
  actor: Actor,
  catalog: CommandCatalog,
  name: string,
  graceSeconds: number,
  currentPassword: string,
): Promise<KeyCreated> {
  ownerMayHaveKeys(actor);
  if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 30 * 86400)
    fail('INVALID_PARAMETER', 'grace must be 0 to 2592000 seconds');
  await requirePassword(services, actor, currentPassword);
  const now = services.clock.now();
  const value = generateKey((n) => services.random.bytes(n));
  return services.db.transaction().execute(async (trx) => {
    const key = await loadKey(trx, actor, name, now);
    withinCredential(actor, catalog, storedPolicy(key));
    const patch = {
      digest: services.keyDigest(value),
      prev_digest: graceSeconds > 0 ? key.digest : null,
      prev_valid_until: graceSeconds > 0 ? now + graceSeconds * 1000 : null,
    };
    await trx.updateTable('login_keys').set(patch).where('id', '=', key.id).execute();
    await record(trx, actor, { command: 'loginkey.rotate', target: name, details: { graceSeconds } }, now);
    return {
      key: { ...key, ...patch },
      value,
      managesKeys: grantsKeyManagement(storedPolicy(key), catalog, actor.account.level),
    };
  });
}

/**
 * Deletes keys by name; all or nothing. A deleted key is taken out of use like a cleared one (out of
 * use, out of listings, its name free again) rather than removed, so its history stays readable.
 */
export async function deleteKeys(services: Services, actor: Actor, names: string[]): Promise<void> {
  if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one key (select0=…)');
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    for (const name of new Set(names)) {
      const key = await loadKey(trx, actor, name, now);
      await trx.updateTable('login_keys').set({ cleared_at: now }).where('id', '=', key.id).execute();
      await record(trx, actor, { command: 'loginkey.delete', target: name }, now);
    }
  });
}

/** How a key is shown: every limit, never its value or digest. */
export function presentKey(
  k: LoginKey,
  catalog: CommandCatalog,
  ownerLevel: 'admin' | 'reseller' | 'user',
): Record<string, string> {
  const policy = { allow: jsonList(k.allow_commands), deny: jsonList(k.deny_commands) };
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
  return {
    keyname: k.name,
    type: k.type,
    created: iso(k.created_at),
    created_ip: k.created_ip,
    expiry: k.expires_at === null ? 'never' : iso(k.expires_at),
    not_before: iso(k.not_before),
    max_uses: String(k.max_uses),
    uses_left: k.max_uses === 0 ? 'unlimited' : String(k.uses_left),
    use_count: String(k.use_count),
    last_used: iso(k.last_used_at),
    last_used_ip: k.last_used_ip,
    clear_key: k.clear_key ? 'yes' : 'no',
    allow_htm: k.allow_htm ? 'yes' : 'no',
    allow: policy.allow.join(','),
    deny: policy.deny.join(','),
    ips: k.ips,
    rate_limit: k.rate_limit ? `${k.rate_limit}/${k.rate_window_ms / 1000}s` : '',
    ...scopeFields(JSON.parse(k.scope || '{}') as CredentialScope),
    rotating: k.prev_valid_until !== null ? iso(k.prev_valid_until) : '',
    manages_keys: grantsKeyManagement(policy, catalog, ownerLevel) ? 'yes' : 'no',
  };
}

/** A key's scope as listing fields (empty: not limited that way). */
function scopeFields(
  scope: CredentialScope,
): Record<'scope_domains' | 'scope_dns_names' | 'scope_dns_types', string> {
  return {
    scope_domains: scope.domains?.join(',') ?? '',
    scope_dns_names: scope.dns?.names.join(',') ?? '',
    scope_dns_types: scope.dns?.types.join(',') ?? '',
  };
}

/** The actor's keys in use (cleared keys leave the listing), by name, with their last use up to date. */
export async function listKeys(services: Services, actor: Actor): Promise<LoginKey[]> {
  // Last-use stamps of unlimited keys are batched; a listing must not show them a batch late.
  await services.keyUsage.flush();
  await sweepExpired(services.db, actor.account.id, services.clock.now());
  return services.db
    .selectFrom('login_keys')
    .selectAll()
    .where('account_id', '=', actor.account.id)
    .where('cleared_at', 'is', null)
    .orderBy('name')
    .execute();
}

/** Uses and refusals of a key, newest first (also of a cleared key: the history outlives it). */
export async function keyHistory(services: Services, actor: Actor, name: string, limit = 500) {
  const key = await services.db
    .selectFrom('login_keys')
    .select('id')
    .where('account_id', '=', actor.account.id)
    .where('name', '=', name)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (!key) fail('INVALID_PARAMETER', `There is no key named ${printable(name)}`);
  return credentialHistory(services.db, services.keyUsage, key.id, limit);
}

/** Messages of the actor's account, newest first. */
export async function listMessages(services: Services, actor: Actor) {
  return services.db
    .selectFrom('messages')
    .select(['id', 'at', 'subject', 'body', 'is_read'])
    .where('account_id', '=', actor.account.id)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(200)
    .execute();
}
