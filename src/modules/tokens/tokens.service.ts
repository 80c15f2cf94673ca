import { isIP } from 'node:net';
import { record } from '../../audit/audit.js';
import type { Actor, CredentialScope } from '../../auth/actor.js';
import {
  type CommandCatalog,
  type CommandPolicy,
  isSubsetOf,
  normalizePolicy,
} from '../../auth/command-policy.js';
import { parseIpRules } from '../../auth/ip-rules.js';
import { jsonList, readScope } from '../../auth/key-auth.js';
import { credentialHistory } from '../../auth/key-usage.js';
import { fail } from '../../core/errors.js';
import { newId, randomString } from '../../core/random.js';
import { printable, validateDomain } from '../../core/validation.js';
import type { ApiToken, Executor } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { aclsOfLevel, WHM_ACLS } from '../../protocols/cpanel/whm-acls.js';
import type { Services } from '../../services.js';
import { domainsOf } from '../accounts/accounts.repository.js';
import { featureOn, readSettings } from '../packages/limits.js';

/**
 * API tokens as cPanel has them (spec 1.1–1.3): 32 characters of [0-9A-Z], shown once, stored as a
 * keyed digest; names unique per account and kind; an expired token is refused like an unknown one but
 * stays listed until it is revoked (or purged, when apiTokenPurgeDays is set). Beyond cPanel, a cPanel
 * token may carry the limits of a login key (IP rules, uses, rate, domains, function lists); without
 * them it behaves exactly like a cPanel full-access token.
 */

export type TokenKind = 'cpanel' | 'whm';

export const TOKEN_LENGTH = 32;
export const TOKEN_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKEN_RE = /^[0-9A-Z]{32}$/;
const NAME_RE = /^[A-Za-z0-9_-]{1,50}$/;
const MAX_USES = 1_000_000_000;
const MAX_WHITELIST = 100;

/** cPanel's text for an account without the feature (Cpanel::Result error_feature). */
export const APITOKENS_FEATURE_TEXT =
  'This feature requires the “apitokens” option and is not enabled on your account.';

/** The hostdeck limits a cPanel token may carry; all absent = a plain cPanel full-access token. */
export interface TokenLimits {
  /** IP rules as login keys take them (IPv4, IPv6, ranges, CIDR; newlines or commas). */
  ips?: string;
  maxUses?: number;
  rateLimit?: { count: number; windowSeconds: number } | null;
  domains?: string[];
  /** Function names in the catalog's spelling; an empty allow list allows everything. */
  policy?: CommandPolicy;
}

export interface CpanelTokenInput extends TokenLimits {
  name: string;
  /** Unix seconds; 0, null or absent = never. */
  expiresAt?: number | null;
  readonly?: boolean;
}

export interface WhmTokenInput {
  name: string;
  /** ACL names; absent = every privilege the owner has. */
  acls?: string[];
  expiresAt?: number | null;
  /** Addresses or CIDR blocks; absent or empty = any address. */
  whitelistIps?: string[];
}

export interface WhmTokenUpdate {
  name: string;
  newName?: string;
  acls?: string[];
  expiresAt?: number | null;
  /** Replaces the list; `['any']` or an empty list clears it. */
  whitelistIps?: string[];
}

export interface TokenCreated {
  row: ApiToken;
  /** Shown once; never stored. */
  token: string;
}

/** A fresh token value: 32 unbiased picks from [0-9A-Z] (rejection sampling over crypto bytes). */
export function generateToken(services: Services): string {
  return randomString(services.random, TOKEN_LENGTH, TOKEN_ALPHABET);
}

/** True when `text` has the shape of a token value (anything else is not looked up). */
export function isTokenShaped(text: string): boolean {
  return TOKEN_RE.test(text);
}

/** Whether the account's package gives it API tokens (Feature Manager `apitokens`). */
export function tokensFeatureOn(account: { settings: string }): boolean {
  return featureOn(readSettings(account.settings), 'apitokens');
}

function requireFeature(actor: Actor): void {
  if (!tokensFeatureOn(actor.account)) fail('FEATURE_DISABLED', APITOKENS_FEATURE_TEXT);
}

function checkName(name: string, field = 'name'): string {
  if (!NAME_RE.test(name))
    fail(
      'INVALID_PARAMETER',
      `The “${field}” value must be 1 to 50 characters long and contain only letters, digits, hyphens (-) and underscores (_).`,
    );
  return name;
}

/** Unix seconds → stored milliseconds; 0/null/undefined = never. A past value is refused, as cPanel does. */
function expiryMs(expiresAt: number | null | undefined, now: number): number | null {
  if (expiresAt === undefined || expiresAt === null || expiresAt === 0) return null;
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0)
    fail('INVALID_PARAMETER', 'The “expires_at” value must be a Unix time in seconds.');
  const ms = expiresAt * 1000;
  if (ms <= now) fail('INVALID_PARAMETER', 'The “expires_at” value must be a future date.');
  return ms;
}

const notFound = (name: string): never =>
  fail('INVALID_PARAMETER', `The API token “${printable(name, 60)}” does not exist.`);

/**
 * Purges the account's tokens that expired more than apiTokenPurgeDays ago (off by default: cPanel keeps
 * expired tokens listed until someone revokes them).
 */
async function purgeExpired(services: Services, db: Executor, accountId: string, now: number): Promise<void> {
  const days = services.config.apiTokenPurgeDays;
  if (!days) return;
  await db
    .updateTable('api_tokens')
    .set({ cleared_at: now })
    .where('account_id', '=', accountId)
    .where('cleared_at', 'is', null)
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now - days * 86_400_000)
    .execute();
}

async function findLive(
  db: Executor,
  accountId: string,
  kind: TokenKind,
  name: string,
): Promise<ApiToken | undefined> {
  return db
    .selectFrom('api_tokens')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('kind', '=', kind)
    .where('name', '=', name)
    .where('cleared_at', 'is', null)
    .executeTakeFirst();
}

async function nameFree(db: Executor, accountId: string, kind: TokenKind, name: string): Promise<void> {
  if (await findLive(db, accountId, kind, name))
    fail('INVALID_PARAMETER', `An API token with the name “${name}” already exists.`);
}

/**
 * Runs a write that may take a name: a concurrent request that took it first loses on the unique index,
 * and is answered like any other clash rather than as an internal error.
 */
async function naming<T>(name: () => string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isUniqueViolation(e))
      fail('INVALID_PARAMETER', `An API token with the name “${name()}” already exists.`);
    throw e;
  }
}

function ownerMayHaveTokens(actor: Actor): void {
  // Authentication refuses suspended accounts; this guards other callers (CLI, a login-as chain).
  if (actor.account.suspended) fail('PERMISSION_DENIED', 'A suspended account cannot have API tokens.');
}

function checkLimits(input: TokenLimits): void {
  const m = input.maxUses;
  if (m !== undefined && (!Number.isSafeInteger(m) || m < 0 || m > MAX_USES))
    fail('INVALID_PARAMETER', `max_uses must be a whole number from 0 (unlimited) to ${MAX_USES}`);
  const r = input.rateLimit;
  if (
    r &&
    (!Number.isSafeInteger(r.count) ||
      !Number.isSafeInteger(r.windowSeconds) ||
      r.count < 1 ||
      r.windowSeconds < 1 ||
      r.windowSeconds > 31_536_000)
  )
    fail('INVALID_PARAMETER', 'rate_limit must be at least 1 request per window of 1 second to 1 year');
}

function normalizedIps(text: string | undefined): string {
  const r = parseIpRules(text ?? '');
  if (!r.ok) fail('INVALID_PARAMETER', `ips: ${r.errors.join('; ')}`);
  return r.normalized;
}

async function checkDomains(
  db: Executor,
  actor: Actor,
  domains: string[] | undefined,
): Promise<CredentialScope> {
  if (!domains || domains.length === 0) return {};
  const own = new Set(await domainsOf(db, actor.account.id));
  const list = [...new Set(domains.map((d) => validateDomain(d)))];
  for (const d of list)
    if (!own.has(d)) fail('INVALID_PARAMETER', `${printable(d)} is not a domain of this account`);
  // A limited credential may only hand on what it has itself.
  const mine = actor.credential.scope?.domains;
  if (mine?.length && !list.every((d) => mine.some((s) => d === s || d.endsWith(`.${s}`))))
    fail('PERMISSION_DENIED', 'A token cannot reach domains its creator cannot');
  return { domains: list };
}

/**
 * A limited credential may not mint a token that can do more than itself: no wider command lists, no
 * unscoped token from a scoped credential.
 */
function withinCreator(
  actor: Actor,
  catalog: CommandCatalog,
  policy: CommandPolicy,
  scope: CredentialScope,
): void {
  const cred = actor.credential;
  if (cred.policy && !isSubsetOf(policy, cred.policy, catalog, actor.account.level))
    fail('PERMISSION_DENIED', 'A token cannot be given functions its creator cannot run');
  if (cred.scope?.domains?.length && !scope.domains?.length)
    fail('PERMISSION_DENIED', 'A token cannot reach domains its creator cannot');
}

/** Creates a cPanel API token for the actor's account; the value is returned once. */
export async function createCpanelToken(
  services: Services,
  actor: Actor,
  catalog: CommandCatalog,
  input: CpanelTokenInput,
): Promise<TokenCreated> {
  requireFeature(actor);
  ownerMayHaveTokens(actor);
  const now = services.clock.now();
  const name = checkName(input.name);
  const expires = expiryMs(input.expiresAt, now);
  checkLimits(input);
  const ips = normalizedIps(input.ips);
  let policy: CommandPolicy = { allow: [], deny: [] };
  if (input.policy) {
    const n = normalizePolicy(input.policy, catalog, actor.account.level);
    if (!n.ok) fail('INVALID_PARAMETER', n.errors.join('; '));
    policy = n.policy;
  }
  if (actor.credential.kind === 'token') {
    // A token with limits could otherwise shed them by minting an unlimited one.
    const caller = await services.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', actor.credential.id)
      .executeTakeFirst();
    if (!caller || isLimited(caller)) fail('PERMISSION_DENIED', 'A token with limits cannot create tokens.');
  }
  const token = generateToken(services);
  return naming(
    () => name,
    () =>
      services.db.transaction().execute(async (trx) => {
        const scope = await checkDomains(trx, actor, input.domains);
        withinCreator(actor, catalog, policy, scope);
        await purgeExpired(services, trx, actor.account.id, now);
        await nameFree(trx, actor.account.id, 'cpanel', name);
        const row = newRow(services, actor, 'cpanel', name, token, now, expires, {
          readonly: input.readonly ? 1 : 0,
          ips,
          scope: JSON.stringify(scope),
          allow_commands: JSON.stringify(policy.allow),
          deny_commands: JSON.stringify(policy.deny),
          max_uses: input.maxUses ?? 0,
          uses_left: input.maxUses ?? 0,
          rate_limit: input.rateLimit?.count ?? 0,
          rate_window_ms: (input.rateLimit?.windowSeconds ?? 0) * 1000,
        });
        await trx.insertInto('api_tokens').values(row).execute();
        await record(
          trx,
          actor,
          {
            command: 'token.create',
            target: name,
            details: { kind: 'cpanel', expiresAt: expires, maxUses: row.max_uses, limited: isLimited(row) },
          },
          now,
        );
        return { row, token };
      }),
  );
}

function newRow(
  services: Services,
  actor: Actor,
  kind: TokenKind,
  name: string,
  token: string,
  now: number,
  expiresAt: number | null,
  extra: Partial<ApiToken>,
): ApiToken {
  return {
    id: newId(services.random),
    account_id: actor.account.id,
    kind,
    name,
    digest: services.keyDigest(token),
    created_at: now,
    created_ip: actor.ip,
    expires_at: expiresAt,
    readonly: 0,
    acls: '[]',
    whitelist_ips: '[]',
    ips: '',
    scope: '{}',
    allow_commands: '[]',
    deny_commands: '[]',
    max_uses: 0,
    uses_left: 0,
    clear_key: 0,
    rate_limit: 0,
    rate_window_ms: 0,
    rate_count: 0,
    rate_window_start: 0,
    use_count: 0,
    last_used_at: null,
    last_used_ip: '',
    cleared_at: null,
    ...extra,
  };
}

/** True when a token carries any hostdeck limit beyond cPanel's full access. */
export function isLimited(t: ApiToken): boolean {
  return (
    t.readonly === 1 ||
    t.ips !== '' ||
    t.max_uses > 0 ||
    t.rate_limit > 0 ||
    (readScope(t.scope).domains?.length ?? 0) > 0 ||
    jsonList(t.allow_commands).length > 0 ||
    jsonList(t.deny_commands).length > 0
  );
}

/** The actor's live tokens of one kind (expired ones included, until revoked or purged), by name. */
export async function listTokens(services: Services, actor: Actor, kind: TokenKind): Promise<ApiToken[]> {
  if (kind === 'cpanel') requireFeature(actor);
  else requireWhmOwner(actor);
  const now = services.clock.now();
  await purgeExpired(services, services.db, actor.account.id, now);
  return services.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('account_id', '=', actor.account.id)
    .where('kind', '=', kind)
    .where('cleared_at', 'is', null)
    .orderBy('name')
    .execute();
}

/** Renames a token; its value and limits stay. */
export async function renameToken(
  services: Services,
  actor: Actor,
  kind: TokenKind,
  name: string,
  newName: string,
): Promise<ApiToken> {
  if (kind === 'cpanel') requireFeature(actor);
  else requireWhmOwner(actor);
  if (name === '') fail('MISSING_PARAMETER', 'The “name” parameter is required.');
  checkName(newName, 'new_name');
  if (name === newName) fail('INVALID_PARAMETER', '“new_name” must be a different value from “name”.');
  const now = services.clock.now();
  return naming(
    () => newName,
    () =>
      services.db.transaction().execute(async (trx) => {
        const t = (await findLive(trx, actor.account.id, kind, name)) ?? notFound(name);
        await nameFree(trx, actor.account.id, kind, newName);
        await trx.updateTable('api_tokens').set({ name: newName }).where('id', '=', t.id).execute();
        await record(trx, actor, { command: 'token.rename', target: name, details: { kind, newName } }, now);
        return { ...t, name: newName };
      }),
  );
}

/**
 * Revokes tokens by name, all or nothing. Unknown names are refused when `strict` (WHM); otherwise they
 * are skipped (cPanel's UAPI answers 1 for a name that does not exist). Answers the names revoked.
 */
export async function revokeTokens(
  services: Services,
  actor: Actor,
  kind: TokenKind,
  names: string[],
  strict: boolean,
): Promise<string[]> {
  if (kind === 'cpanel') requireFeature(actor);
  else requireWhmOwner(actor);
  if (names.length === 0 || names.some((n) => n === ''))
    fail('MISSING_PARAMETER', `The “${kind === 'cpanel' ? 'name' : 'token_name'}” parameter is required.`);
  const now = services.clock.now();
  return services.db.transaction().execute(async (trx) => {
    const done: string[] = [];
    for (const name of new Set(names)) {
      const t = await findLive(trx, actor.account.id, kind, name);
      if (!t) {
        if (strict) notFound(name);
        continue;
      }
      await trx.updateTable('api_tokens').set({ cleared_at: now }).where('id', '=', t.id).execute();
      await record(trx, actor, { command: 'token.revoke', target: name, details: { kind } }, now);
      done.push(name);
    }
    return done;
  });
}

// ---------------------------------------------------------------------------------------------- WHM

function requireWhmOwner(actor: Actor): void {
  if (actor.account.level === 'user')
    fail('PERMISSION_DENIED', 'WHM API tokens are for administrators and resellers.');
  ownerMayHaveTokens(actor);
}

/**
 * Validates requested ACLs: known names only, and none beyond the owner's (`ownerAcls`; an admin has
 * `all`). Absent = everything the owner has.
 */
function checkAcls(acls: string[] | undefined, ownerAcls: readonly string[]): string[] {
  if (acls === undefined) return [...ownerAcls];
  const known = new Set<string>(WHM_ACLS);
  const list = [...new Set(acls.map((a) => a.trim()).filter((a) => a !== ''))];
  const unknown = list.filter((a) => !known.has(a));
  if (unknown.length)
    fail('INVALID_PARAMETER', `Invalid ACL names: ${unknown.map((a) => printable(a, 40)).join(', ')}`);
  if (!ownerAcls.includes('all')) {
    const beyond = list.filter((a) => !ownerAcls.includes(a));
    if (beyond.length)
      fail(
        'PERMISSION_DENIED',
        `You do not have these privileges, so a token cannot have them: ${beyond.join(', ')}`,
      );
  }
  return list;
}

/**
 * The privileges a new or changed token may get: the owner's (an admin has `all`), narrowed to the
 * calling token's own list when a WHM token manages tokens, so a token can never mint a broader one.
 */
async function grantableAcls(services: Services, actor: Actor): Promise<readonly string[]> {
  const own: readonly string[] = actor.account.level === 'admin' ? ['all'] : aclsOfLevel(actor.account.level);
  if (actor.credential.kind !== 'token') return own;
  const caller = await services.db
    .selectFrom('api_tokens')
    .select('acls')
    .where('id', '=', actor.credential.id)
    .executeTakeFirst();
  const held = jsonList(caller?.acls ?? '[]');
  if (held.includes('all')) return own;
  return own.includes('all') ? held : own.filter((a) => held.includes(a));
}

/** Expands an IPv6 address to eight four-digit groups (cPanel lists them that way). */
function expandV6(ip: string): string {
  const [head = '', tail] = ip.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  let h = part(head);
  let t = tail === undefined ? [] : part(tail);
  const last = t.length ? t[t.length - 1] : h[h.length - 1];
  const v4 = last?.includes('.') ? last : undefined;
  if (v4) {
    const b = v4.split('.').map(Number);
    const extra = [
      (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16),
      (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16),
    ];
    if (t.length) t = [...t.slice(0, -1), ...extra];
    else h = [...h.slice(0, -1), ...extra];
  }
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().padStart(4, '0')).join(':');
}

/** Normalises `whitelist_ip` entries as cPanel stores them: IPv6 expanded, `/32` and `/128` dropped. */
export function normalizeWhitelist(entries: string[]): string[] {
  const list = entries.map((e) => e.trim()).filter((e) => e !== '');
  if (list.length === 1 && list[0]?.toLowerCase() === 'any') return [];
  if (list.length > MAX_WHITELIST) fail('INVALID_PARAMETER', `At most ${MAX_WHITELIST} whitelist_ip entries`);
  const out: string[] = [];
  for (const raw of list) {
    const [addr = '', bits, more] = raw.split('/');
    const v = isIP(addr);
    const max = v === 4 ? 32 : 128;
    if (!v || more !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || Number(bits) > max)
      fail('INVALID_PARAMETER', `“${printable(raw, 60)}” is not a valid IP address or CIDR block.`);
    const a = v === 6 ? expandV6(addr) : addr;
    const entry = bits === undefined || Number(bits) === max ? a : `${a}/${Number(bits)}`;
    // The entry is matched by the login-key IP rules at request time: refuse what they would not read.
    const r = parseIpRules(entry);
    if (!r.ok) fail('INVALID_PARAMETER', `“${printable(raw, 60)}”: ${r.errors.join(' ')}`);
    out.push(entry);
  }
  return [...new Set(out)];
}

/** Creates a WHM API token for the actor (an admin or reseller); the value is returned once. */
export async function createWhmToken(
  services: Services,
  actor: Actor,
  input: WhmTokenInput,
): Promise<TokenCreated> {
  requireWhmOwner(actor);
  const ownerAcls = await grantableAcls(services, actor);
  const now = services.clock.now();
  const name = checkName(input.name, 'token_name');
  const expires = expiryMs(input.expiresAt, now);
  const acls = checkAcls(input.acls, ownerAcls);
  const whitelist = normalizeWhitelist(input.whitelistIps ?? []);
  const token = generateToken(services);
  return naming(
    () => name,
    () =>
      services.db.transaction().execute(async (trx) => {
        await purgeExpired(services, trx, actor.account.id, now);
        await nameFree(trx, actor.account.id, 'whm', name);
        const row = newRow(services, actor, 'whm', name, token, now, expires, {
          acls: JSON.stringify(acls),
          whitelist_ips: JSON.stringify(whitelist),
        });
        await trx.insertInto('api_tokens').values(row).execute();
        await record(
          trx,
          actor,
          { command: 'token.create', target: name, details: { kind: 'whm', acls, expiresAt: expires } },
          now,
        );
        return { row, token };
      }),
  );
}

/** Changes a WHM token: name, ACLs (replacing them), expiry, IP whitelist (replacing it; `any` clears). */
export async function updateWhmToken(
  services: Services,
  actor: Actor,
  input: WhmTokenUpdate,
): Promise<ApiToken> {
  requireWhmOwner(actor);
  const ownerAcls = await grantableAcls(services, actor);
  const now = services.clock.now();
  if (input.name === '') fail('MISSING_PARAMETER', 'The “token_name” parameter is required.');
  if (input.newName !== undefined) {
    checkName(input.newName, 'new_name');
    if (input.newName === input.name)
      fail('INVALID_PARAMETER', '“new_name” must be a different value from “token_name”.');
  }
  const acls = input.acls !== undefined ? checkAcls(input.acls, ownerAcls) : undefined;
  const expires = input.expiresAt !== undefined ? expiryMs(input.expiresAt, now) : undefined;
  const whitelist = input.whitelistIps !== undefined ? normalizeWhitelist(input.whitelistIps) : undefined;
  return naming(
    () => input.newName ?? input.name,
    () =>
      services.db.transaction().execute(async (trx) => {
        const t = (await findLive(trx, actor.account.id, 'whm', input.name)) ?? notFound(input.name);
        if (input.newName !== undefined) await nameFree(trx, actor.account.id, 'whm', input.newName);
        const patch: Partial<ApiToken> = {
          ...(input.newName !== undefined ? { name: input.newName } : {}),
          ...(acls !== undefined ? { acls: JSON.stringify(acls) } : {}),
          ...(expires !== undefined ? { expires_at: expires } : {}),
          ...(whitelist !== undefined ? { whitelist_ips: JSON.stringify(whitelist) } : {}),
        };
        if (Object.keys(patch).length)
          await trx.updateTable('api_tokens').set(patch).where('id', '=', t.id).execute();
        await record(
          trx,
          actor,
          {
            command: 'token.update',
            target: input.name,
            details: { kind: 'whm', fields: Object.keys(patch) },
          },
          now,
        );
        return { ...t, ...patch };
      }),
  );
}

/**
 * The actor's WHM token with this value, if it is one that works now (not expired, not revoked); an
 * unknown value answers null, exactly like an expired one.
 */
export async function whmTokenDetails(
  services: Services,
  actor: Actor,
  token: string,
): Promise<ApiToken | null> {
  requireWhmOwner(actor);
  if (!isTokenShaped(token)) return null;
  const now = services.clock.now();
  const t = await services.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('digest', '=', services.keyDigest(token))
    .where('account_id', '=', actor.account.id)
    .where('kind', '=', 'whm')
    .where('cleared_at', 'is', null)
    .executeTakeFirst();
  if (!t || (t.expires_at !== null && now >= t.expires_at)) return null;
  return t;
}

/** JSON list columns of a token as arrays. */
export function tokenLists(t: ApiToken): {
  acls: string[];
  whitelistIps: string[];
  allow: string[];
  deny: string[];
} {
  return {
    acls: jsonList(t.acls),
    whitelistIps: jsonList(t.whitelist_ips),
    allow: jsonList(t.allow_commands),
    deny: jsonList(t.deny_commands),
  };
}

/** Uses and refusals of a token, newest first (the per-credential history login keys have too). */
export async function tokenHistory(
  services: Services,
  actor: Actor,
  kind: TokenKind,
  name: string,
  limit = 500,
) {
  const t =
    (await services.db
      .selectFrom('api_tokens')
      .select('id')
      .where('account_id', '=', actor.account.id)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .orderBy('created_at', 'desc')
      .executeTakeFirst()) ?? notFound(name);
  return credentialHistory(services.db, services.keyUsage, t.id, limit);
}
