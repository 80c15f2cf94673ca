import { sql } from 'kysely';
import type { Account, Executor, LoginKey } from '../db/database.js';
import { hotQuery, hotWrite } from '../db/hot-query.js';
import { memoParse } from '../db/text-memo.js';
import { findForLogin } from '../modules/accounts/accounts.repository.js';
import { canManage } from '../modules/accounts/accounts.service.js';
import { featureOn, readSettings } from '../modules/packages/limits.js';
import type { Services } from '../services.js';
import { type Actor, CredentialRejected, type CredentialScope } from './actor.js';
import type { AuthEntryInput, KeyCounters } from './auth-cache.js';
import { type CommandCatalog, type CommandPolicy, decide } from './command-policy.js';
import { ipAllowed } from './ip-rules.js';

/** Why a key was refused (debug ≥ 2000 and the key's history see it; the client gets the generic 401). */
export type KeyRefusal =
  | 'suspended'
  | 'feature_disabled'
  | 'not_yet_valid'
  | 'expired'
  | 'ip'
  | 'htm'
  | 'command'
  | 'login_as_denied'
  | 'spent'
  | 'rate_limited';

export type KeyOutcome = { ok: true; actor: Actor } | { ok: false; reason: KeyRefusal; username: string };

export interface KeyAttempt {
  ip: string;
  /** The command requested (`CMD_API_X` or `CMD_X`), checked against the key's lists. */
  command: string;
  /** A browser request (session login, HTML pages): needs allow_htm. */
  browser: boolean;
  catalog: CommandCatalog;
}

// Keys are never shorter than this (chosen values: 12; generated: 42), so shorter secrets skip the lookup.
const MIN_SECRET = 12;

const byDigest = hotQuery(
  (db, accountId: string, digest: string) =>
    db
      .selectFrom('login_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('digest', '=', digest), eb('prev_digest', '=', digest)]))
      .where('cleared_at', 'is', null),
  { memo: true },
);

/** Reads a key's JSON list column; a damaged value reads as empty. */
export function jsonList(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function readScope(text: string): CredentialScope {
  try {
    const v = JSON.parse(text) as CredentialScope;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

// A key's columns are parsed on every request that uses it; the parsed forms are shared and frozen.
const cachedList = memoParse(jsonList);
const cachedSettings = memoParse(readSettings);

/** A key's command lists as stored (shared, frozen: copy before changing). */
function policyOf(key: LoginKey): CommandPolicy {
  return { allow: cachedList(key.allow_commands), deny: cachedList(key.deny_commands) };
}

/**
 * The checks of a found key, in the fixed order of the verification pipeline: owner suspended →
 * feature → not yet valid / expired → spent → source IP → browser use → command → rate. Pure: the
 * caller applies it. Spent and rate are judged here on the row as read, so a key with nothing left is
 * refused like a bad password whatever the request (a malformed request would otherwise get its
 * parameter error, telling that the key is valid); the guarded UPDATE that spends stays the authority.
 */
export function decideKey(
  key: LoginKey,
  owner: Account & { chain_suspended: number },
  a: Pick<KeyAttempt, 'ip' | 'command' | 'browser' | 'catalog'>,
  now: number,
): KeyRefusal | null {
  if (owner.suspended || owner.chain_suspended) return 'suspended';
  if (!featureOn(cachedSettings(owner.settings), 'login_keys')) return 'feature_disabled';
  if (key.not_before !== null && now < key.not_before) return 'not_yet_valid';
  if (key.expires_at !== null && now >= key.expires_at) return 'expired';
  if (usesSpent(key)) return 'spent';
  if (!ipRulesAllow(key.ips, a.ip)) return 'ip';
  if (a.browser && !key.allow_htm) return 'htm';
  if (!commandAllowed(key, a.command, a.catalog, owner.level)) return 'command';
  if (rateExhausted(key, now)) return 'rate_limited';
  return null;
}

/** The limit columns login keys and API tokens share, with the same names and meaning. */
export interface LimitedCredential {
  id: string;
  account_id: string;
  max_uses: number;
  uses_left: number;
  ips: string;
  allow_commands: string;
  deny_commands: string;
  rate_limit: number;
  rate_window_ms: number;
  rate_count: number;
  rate_window_start: number;
}

/** True when a credential limited in uses has none left (as read; the guarded UPDATE decides). */
export function usesSpent(c: Pick<LimitedCredential, 'max_uses' | 'uses_left'>): boolean {
  return c.max_uses > 0 && c.uses_left <= 0;
}

/** Whether stored IP rules (one per line, empty = any) let `ip` in. */
export function ipRulesAllow(ips: string, ip: string): boolean {
  // The stored list was normalised when it was saved; a damaged entry matches nothing (fail closed).
  return (
    !ips ||
    ipAllowed(
      ips.split('\n').map((text) => ({ text })),
      ip,
    )
  );
}

/** Whether the credential's allow / deny lists let it run `command`. */
export function commandAllowed(
  c: Pick<LimitedCredential, 'allow_commands' | 'deny_commands'>,
  command: string,
  catalog: CommandCatalog,
  ownerLevel: Account['level'],
): boolean {
  return decide(
    { allow: cachedList(c.allow_commands), deny: cachedList(c.deny_commands) },
    command,
    catalog,
    ownerLevel,
  ).allowed;
}

/**
 * What a credential's counters refuse at `now`: `c` are the newest counters known, `key` has the limits
 * (a login key or an API token).
 */
export function countersRefusal(
  key: Pick<LimitedCredential, 'max_uses' | 'rate_limit' | 'rate_window_ms'>,
  c: KeyCounters,
  now: number,
): 'spent' | 'rate_limited' | null {
  if (usesSpent({ max_uses: key.max_uses, uses_left: c.uses_left })) return 'spent';
  if (
    rateExhausted(
      {
        rate_limit: key.rate_limit,
        rate_window_ms: key.rate_window_ms,
        rate_count: c.rate_count,
        rate_window_start: c.rate_window_start,
      },
      now,
    )
  )
    return 'rate_limited';
  return null;
}

/** True when the credential's rate window is open and full (as read; the guarded UPDATE decides). */
export function rateExhausted(
  c: Pick<LimitedCredential, 'rate_limit' | 'rate_window_ms' | 'rate_count' | 'rate_window_start'>,
  now: number,
): boolean {
  return c.rate_limit > 0 && c.rate_window_start > now - c.rate_window_ms && c.rate_count >= c.rate_limit;
}

/**
 * Tries the secret as a login key of `owner` (already found, and already cleared by the brute-force
 * check). Null when it is no key of that account: the caller then tries it as the password, which is
 * where wrong secrets are counted. A key that matches but may not be used here is refused, and the
 * refusal goes to its history.
 */
export async function tryLoginKey(
  services: Services,
  owner: Account & { chain_suspended: number },
  targetName: string | null,
  secret: string,
  a: KeyAttempt,
): Promise<KeyOutcome | null> {
  return (await tryLoginKeyFor(services, owner, targetName, secret, a))?.outcome ?? null;
}

/** tryLoginKey, with what a successful login leaves for the authentication cache (see auth-cache.ts). */
export async function tryLoginKeyFor(
  services: Services,
  owner: Account & { chain_suspended: number },
  targetName: string | null,
  secret: string,
  a: KeyAttempt,
): Promise<{ outcome: KeyOutcome; entry?: AuthEntryInput } | null> {
  if (secret.length < MIN_SECRET) return null;
  const now = services.clock.now();
  const digest = services.keyDigest(secret);
  const key = (await byDigest(services.db, owner.id, digest)).find(
    (k) => k.digest === digest || (k.prev_valid_until !== null && now < k.prev_valid_until),
  );
  if (!key) return null;

  const refuse = (reason: KeyRefusal) => {
    services.keyUsage.record({
      key_id: key.id,
      account_id: owner.id,
      at: now,
      ip: a.ip,
      command: a.command,
      outcome: reason,
    });
    return { outcome: { ok: false, reason, username: owner.username } as const };
  };
  const refusal = decideKey(key, owner, a, now);
  if ((refusal === 'expired' || refusal === 'spent') && key.clear_key) await clearKey(services, key.id, now);
  if (refusal) return refuse(refusal);

  const { chain_suspended: _, ...ownerAccount } = owner;
  let account: Account = ownerAccount;
  if (targetName !== null && targetName !== owner.username) {
    const target = await findForLogin(services.db, targetName);
    if (!target || !canManage(owner, target)) return refuse('login_as_denied');
    if (target.suspended || target.chain_suspended) return refuse('suspended');
    const { chain_suspended: __, ...t } = target;
    account = t;
  }
  const scope = readScope(key.scope);
  const policy = policyOf(key);
  const actor = () => keyActor(services, account, ownerAccount, key, scope, policy, a);
  // A value only valid as the previous one of a rotation is remembered only until its grace ends.
  const viaPrevious = key.digest !== digest && key.prev_valid_until !== null;
  const validUntil = Math.min(
    key.expires_at ?? Number.POSITIVE_INFINITY,
    viaPrevious ? (key.prev_valid_until ?? 0) : Number.POSITIVE_INFINITY,
  );
  return {
    outcome: { ok: true, actor: actor() },
    entry: {
      validUntil,
      key: {
        id: key.id,
        counters: key,
        // A clock set back before not_before (tests, a stepped system clock) ends the entry too.
        usable: (c, t) =>
          c.cleared_at === null &&
          (key.not_before === null || t >= key.not_before) &&
          countersRefusal(key, c, t) === null,
      },
      actor,
    },
  };
}

/** The actor of a key login, with a spend of its own (one use per request, however often it is called). */
function keyActor(
  services: Services,
  account: Account,
  authenticated: Account,
  key: LoginKey,
  scope: CredentialScope,
  policy: CommandPolicy,
  a: Pick<KeyAttempt, 'ip' | 'command'>,
): Actor {
  let spent = false;
  return {
    account,
    authenticated,
    credential: {
      kind: 'loginkey',
      id: key.id,
      name: key.name,
      scope,
      policy,
      spend: async () => {
        if (spent) return;
        spent = true;
        await spendUse(services, key, a.ip, a.command);
      },
    },
    ip: a.ip,
  };
}

/** Takes a key out of use (clear_key): it leaves listings; its history stays. */
async function clearKey(services: Services, id: string, now: number): Promise<void> {
  await services.db
    .updateTable('login_keys')
    .set({ cleared_at: now })
    .where('id', '=', id)
    .where('cleared_at', 'is', null)
    .execute();
}

/**
 * The guarded UPDATE of spendUse, compiled once per table (it runs on every request of a limited key):
 * it spends `n` uses and rate slots, and changes the row only while that many are left.
 */
const guardedUse = (table: 'login_keys' | 'api_tokens') =>
  hotWrite((db: Executor, id: string, now: number, ip: string, n: number) => {
    const windowOpen = sql<boolean>`rate_window_start > ${now} - rate_window_ms`;
    return (
      db
        // Same columns in both tables; the cast only picks one of the two identical row types.
        .updateTable(table as 'login_keys')
        .set({
          uses_left: sql`case when max_uses = 0 then uses_left else uses_left - ${n} end`,
          rate_count: sql`case when rate_limit = 0 then 0 when ${windowOpen} then rate_count + ${n} else ${n} end`,
          rate_window_start: sql`case when rate_limit = 0 or ${windowOpen} then rate_window_start else ${now} end`,
          cleared_at: sql`case when clear_key = 1 and max_uses > 0 and uses_left = ${n} then ${now} else cleared_at end`,
          use_count: sql`use_count + ${n}`,
          last_used_at: now,
          last_used_ip: ip,
        })
        .where('id', '=', id)
        .where('cleared_at', 'is', null)
        .where((eb) => eb.or([eb('max_uses', '=', 0), eb('uses_left', '>=', n)]))
        .where((eb) =>
          eb.or([
            eb('rate_limit', '=', 0),
            eb.and([eb.not(windowOpen), eb(sql.val(n), '<=', eb.ref('rate_limit'))]),
            eb(sql<number>`rate_count + ${n}`, '<=', eb.ref('rate_limit')),
          ]),
        )
        .returning(['uses_left', 'rate_count', 'rate_window_start', 'cleared_at', 'use_count'])
    );
  });
/** What a group of spends reads first to know how many of them the key still allows. */
const useLimits = (table: 'login_keys' | 'api_tokens') =>
  hotQuery((db: Executor, id: string) =>
    db
      .selectFrom(table as 'login_keys')
      .select([
        'max_uses',
        'uses_left',
        'rate_limit',
        'rate_count',
        'rate_window_start',
        'rate_window_ms',
        'cleared_at',
      ])
      .where('id', '=', id),
  );
const USE_LIMITS = { login_keys: useLimits('login_keys'), api_tokens: useLimits('api_tokens') };
const GUARDED_USE = { login_keys: guardedUse('login_keys'), api_tokens: guardedUse('api_tokens') };

/**
 * Spends one use for each of `spends` (requests of one key, in the order they came) inside the write
 * batch's transaction, and answers for each with the counters after its spend, or null when the key had
 * no use or rate slot left for it. One request: the guarded UPDATE alone. Several: the counters are read,
 * the first k requests that fit get a use each, and one guarded UPDATE spends the k (the batch holds the
 * database's only write lock from BEGIN IMMEDIATE to COMMIT, so nothing moves the counters in between;
 * the guard stays as a second line of defence).
 */
async function spendMany(
  trx: Executor,
  table: 'login_keys' | 'api_tokens',
  id: string,
  spends: { now: number; ip: string }[],
): Promise<(KeyCounters | null)[]> {
  const last = spends[spends.length - 1];
  if (!last) return [];
  const use = GUARDED_USE[table];
  if (spends.length === 1) return [(await use(trx, id, last.now, last.ip, 1)).rows[0] ?? null];
  const now = Math.max(...spends.map((s) => s.now));
  const row = (await USE_LIMITS[table](trx, id))[0];
  if (!row || row.cleared_at !== null) return spends.map(() => null);
  let k = spends.length;
  if (row.max_uses > 0) k = Math.min(k, row.uses_left);
  if (row.rate_limit > 0) {
    const windowOpen = row.rate_window_start > now - row.rate_window_ms;
    k = Math.min(k, windowOpen ? row.rate_limit - row.rate_count : row.rate_limit);
  }
  const counters = k > 0 ? ((await use(trx, id, now, last.ip, k)).rows[0] ?? null) : null;
  return spends.map((_, i) => (counters && i < k ? counters : null));
}

/**
 * Spends one use and one rate slot in a single guarded UPDATE (DESIGN rule 7): it changes the row only
 * while a use and a slot are left, so concurrent requests can never take more than there is, and a
 * request refused for either reason takes nothing. The last use of a clear_key key clears it in the
 * same statement. Keys with neither limit need no guarded write: their last-use stamp is batched. On
 * SQLite the requests of one key waiting for the same group commit share that UPDATE (see spendMany).
 */
export async function spendUse(
  services: Services,
  key: LimitedCredential,
  ip: string,
  command: string,
  /** API tokens share the limit columns and the history of login keys. */
  table: 'login_keys' | 'api_tokens' = 'login_keys',
): Promise<void> {
  const now = services.clock.now();
  const history = (outcome: string) =>
    services.keyUsage.record({ key_id: key.id, account_id: key.account_id, at: now, ip, command, outcome });
  if (key.max_uses === 0 && key.rate_limit === 0) {
    // The batched last-use stamp is kept for keys only; a token's uses are read from its history.
    if (table === 'login_keys') services.keyUsage.touch(key.id, now, ip);
    history('ok');
    return;
  }
  const use = GUARDED_USE[table];
  // On SQLite the spends of one key waiting for the same group commit are one guarded UPDATE (and the
  // commit one fsync for every use in flight).
  const r = services.writeBatch
    ? await services.writeBatch.submitGrouped(`${table}:${key.id}`, { now, ip }, (trx, spends) =>
        spendMany(trx, table, key.id, spends),
      )
    : ((await use(services.db, key.id, now, ip, 1)).rows[0] ?? null);
  // Remembered logins of this key or token judge its counters from here on (see auth-cache.ts).
  services.credentialCache.logins.noteUse(key.id, r ?? null);
  if (r) {
    history('ok');
    return;
  }
  const row = await services.db
    .selectFrom(table as 'login_keys')
    .select(['uses_left', 'max_uses', 'cleared_at'])
    .where('id', '=', key.id)
    .executeTakeFirst();
  const reason =
    !row || row.cleared_at !== null || (row.max_uses > 0 && row.uses_left <= 0) ? 'spent' : 'rate_limited';
  history(reason);
  throw new CredentialRejected(reason);
}
