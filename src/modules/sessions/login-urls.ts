import { record } from '../../audit/audit.js';
import { type Actor, CredentialRejected } from '../../auth/actor.js';
import { isBlocked, recordFailure } from '../../auth/bfm.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { parseIpRules } from '../../auth/ip-rules.js';
import { decideKey, type KeyRefusal, spendUse } from '../../auth/key-auth.js';
import { generateKey } from '../../auth/key-format.js';
import { findAccountForLogin, isTokenShaped, LOGIN_COMMAND, newToken } from '../../auth/sessions.js';
import type { Config } from '../../config/config.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import type { Account, LoginKey } from '../../db/database.js';
import type { Services } from '../../services.js';
import { featureOn, readSettings } from '../packages/limits.js';
import { sameSitePath } from './redirects.js';

/*
 * Login keys made for one purpose and printed as URLs (DirectAdmin's `da api-url` / `da login-url` and
 * CMD_API_LOGIN_KEYS type=one_time_url):
 *
 * - `api_url`: an ordinary key (Basic password) with a short life and a use budget, printed as
 *   `https://USER:KEY@HOST:PORT` for one script run;
 * - `one_time_url`: one browser login, printed as `https://HOST:PORT/CMD_LOGIN_URL?hash=…`. Its digest is
 *   taken over a prefixed value, so the hash is never a password: tried as one (Basic, CMD_LOGIN) it
 *   finds no key. It opens a session of the full account, once.
 */

const ONE_TIME_DIGEST_PREFIX = 'one_time_url:';
const MAX_EXPIRY_SECONDS = 365 * 86400;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, M: 30 * 86400, y: 365 * 86400 };

/** The path that consumes a one-time login URL. */
export const LOGIN_URL_PATH = '/CMD_LOGIN_URL';

/**
 * A lifetime as DirectAdmin writes it: a whole number and a unit, `s m h d M y` (case-sensitive: `m` is
 * minutes, `M` months of 30 days). Returns seconds.
 */
export function parseDuration(text: string, what = 'expiry'): number {
  const m = /^(\d{1,9})([smhdMy])$/.exec(text.trim());
  const n = m ? Number(m[1]) * (UNITS[m[2] as string] ?? 0) : 0;
  if (!m || n < 1 || n > MAX_EXPIRY_SECONDS)
    fail(
      'INVALID_PARAMETER',
      `${what} must be a number and a unit (s, m, h, d, M for months, y), from 1s to 365d, e.g. 5m or 1h`,
    );
  return n;
}

/** `https://HOST:PORT` of the DirectAdmin listener as configured (http when TLS is off). */
export function panelOrigin(config: Config): string {
  const host = config.hostname.includes(':') ? `[${config.hostname}]` : config.hostname;
  return `${config.tls ? 'https' : 'http'}://${host}:${config.daListen.port}`;
}

function checkExpiry(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRY_SECONDS)
    fail('INVALID_PARAMETER', `The expiry must be 1 second to ${MAX_EXPIRY_SECONDS / 86400} days`);
  return seconds;
}

function checkIps(ips: readonly string[]): string {
  const r = parseIpRules(ips.join('\n'));
  if (!r.ok) fail('INVALID_PARAMETER', `ips: ${r.errors.join(' ')}`);
  return r.normalized;
}

/**
 * Whose key the URL is: the effective account. A login key may not make one: the URL would open a
 * session of the whole account, beyond the key's own lists and scope.
 */
function checkMaker(actor: Actor): void {
  if (actor.credential.kind === 'loginkey')
    fail('PERMISSION_DENIED', 'A login key cannot create login URLs; use the account password');
  if (!featureOn(readSettings(actor.account.settings), 'login_keys'))
    fail('FEATURE_DISABLED', `Login keys are not enabled for ${actor.account.username}`);
  if (actor.account.suspended)
    fail('PERMISSION_DENIED', `${actor.account.username} is suspended: a URL for it would not work`);
}

function keyRow(
  services: Services,
  actor: Actor,
  now: number,
  fields: Pick<
    LoginKey,
    'type' | 'digest' | 'expires_at' | 'max_uses' | 'allow_htm' | 'ips' | 'redirect' | 'name'
  >,
): LoginKey {
  return {
    id: newId(services.random),
    account_id: actor.account.id,
    prev_digest: null,
    prev_valid_until: null,
    created_at: now,
    created_ip: actor.ip,
    not_before: null,
    uses_left: fields.max_uses,
    clear_key: 1,
    allow_commands: '[]',
    deny_commands: '[]',
    scope: '{}',
    rate_limit: 0,
    rate_window_ms: 0,
    rate_count: 0,
    rate_window_start: 0,
    use_count: 0,
    last_used_at: null,
    last_used_ip: '',
    cleared_at: null,
    ...fields,
  };
}

async function store(services: Services, actor: Actor, key: LoginKey, what: string): Promise<void> {
  const now = key.created_at;
  await services.db.transaction().execute(async (trx) => {
    await trx.insertInto('login_keys').values(key).execute();
    await trx
      .insertInto('messages')
      .values({
        account_id: actor.account.id,
        at: now,
        subject: `${what} created`,
        body: `A ${what.toLowerCase()} (${key.name}) was created from ${actor.ip}, valid until ${new Date(key.expires_at ?? now).toISOString()}.`,
        is_read: 0,
      })
      .execute();
    await record(
      trx,
      actor,
      {
        command: key.type === 'api_url' ? 'loginkey.apiurl.create' : 'loginkey.loginurl.create',
        target: key.name,
        details: { expiresAt: key.expires_at, maxUses: key.max_uses, ips: key.ips },
      },
      now,
    );
  });
}

export interface LoginUrlInput {
  /** How long the URL may be used (default 5 minutes). */
  expirySeconds?: number;
  /** Client addresses, ranges or CIDR blocks allowed to open it (default any). */
  ips?: readonly string[];
  /** Where the browser goes once logged in: a path on this server, or a command name (`CMD_…`). */
  redirect?: string;
}

/** A one-time browser login URL for the actor's (effective) account; the URL is shown once. */
export async function createLoginUrl(
  services: Services,
  actor: Actor,
  input: LoginUrlInput,
): Promise<{ url: string; expiresAt: number }> {
  checkMaker(actor);
  const now = services.clock.now();
  const expiresAt = now + checkExpiry(input.expirySeconds ?? 300) * 1000;
  const ips = checkIps(input.ips ?? []);
  let redirect = '';
  if (input.redirect) {
    const wanted = /^CMD_[A-Z0-9_]/.test(input.redirect) ? `/${input.redirect}` : input.redirect;
    const path = sameSitePath(wanted);
    if (!path) fail('INVALID_PARAMETER', 'The redirect must be a path on this server (/…) or a command name');
    redirect = path;
  }
  const hash = newToken(services);
  const key = keyRow(services, actor, now, {
    type: 'one_time_url',
    name: `loginurl${services.random.bytes(6).toString('hex')}`,
    digest: services.keyDigest(ONE_TIME_DIGEST_PREFIX + hash),
    expires_at: expiresAt,
    max_uses: 1,
    allow_htm: 1,
    ips,
    redirect,
  });
  await store(services, actor, key, 'One-time login URL');
  return { url: `${panelOrigin(services.config)}${LOGIN_URL_PATH}?hash=${hash}`, expiresAt };
}

export interface ApiUrlInput {
  /** Life of the key (default 1 hour). */
  expirySeconds?: number;
  ips?: readonly string[];
  /** Requests it may make (default 1000). */
  maxUses?: number;
}

/** A temporary API key for the actor's account, printed as `https://USER:KEY@HOST:PORT`. */
export async function createApiUrl(
  services: Services,
  actor: Actor,
  input: ApiUrlInput,
): Promise<{ url: string; expiresAt: number }> {
  checkMaker(actor);
  const now = services.clock.now();
  const expiresAt = now + checkExpiry(input.expirySeconds ?? 3600) * 1000;
  const maxUses = input.maxUses ?? 1000;
  if (!Number.isSafeInteger(maxUses) || maxUses < 1 || maxUses > 1_000_000_000)
    fail('INVALID_PARAMETER', 'The number of uses must be 1 to 1000000000');
  const value = generateKey((n) => services.random.bytes(n));
  const key = keyRow(services, actor, now, {
    type: 'api_url',
    name: `apiurl${services.random.bytes(6).toString('hex')}`,
    digest: services.keyDigest(value),
    expires_at: expiresAt,
    max_uses: maxUses,
    allow_htm: 0,
    ips: checkIps(input.ips ?? []),
    redirect: '',
  });
  await store(services, actor, key, 'API URL key');
  const origin = new URL(panelOrigin(services.config));
  origin.username = actor.account.username;
  origin.password = value;
  return { url: origin.href.replace(/\/$/, ''), expiresAt };
}

/** Why a one-time URL did not log in (debug ≥ 2000 and the key's history see it). */
export type LoginUrlRefusal = 'blocked' | 'malformed' | 'unknown' | 'used' | KeyRefusal;

export type LoginUrlOutcome =
  | { ok: true; account: Account; redirect: string }
  | { ok: false; reason: LoginUrlRefusal };

/**
 * Spends a one-time login URL: brute-force check → shape → lookup → the key pipeline (owner suspended,
 * feature, expiry, IP, browser use) → one guarded UPDATE that takes its only use, so of two concurrent
 * requests exactly one logs in. A hash that matches nothing counts as a failed login of the client's IP;
 * a spent one does not (it proves the caller once held a real URL).
 */
export async function useLoginUrl(
  services: Services,
  hash: string | undefined,
  ip: string,
  catalog: CommandCatalog,
): Promise<LoginUrlOutcome> {
  const { db, bfm, clock } = services;
  const now = clock.now();
  if (await isBlocked(db, bfm, ip, null, now)) return { ok: false, reason: 'blocked' };
  if (!isTokenShaped(hash)) {
    await recordFailure(db, bfm, ip, null, now);
    return { ok: false, reason: 'malformed' };
  }
  const key = await db
    .selectFrom('login_keys')
    .selectAll()
    .where('digest', '=', services.keyDigest(ONE_TIME_DIGEST_PREFIX + hash))
    .where('type', '=', 'one_time_url')
    .executeTakeFirst();
  if (!key) {
    await recordFailure(db, bfm, ip, null, now);
    return { ok: false, reason: 'unknown' };
  }
  if (key.cleared_at !== null) return { ok: false, reason: 'used' };
  const owner = await findAccountForLogin(db, key.account_id);
  if (!owner) return { ok: false, reason: 'unknown' };
  const history = (outcome: string) =>
    services.keyUsage.record({
      key_id: key.id,
      account_id: key.account_id,
      at: now,
      ip,
      command: LOGIN_URL_PATH.slice(1),
      outcome,
    });
  const refusal = decideKey(key, owner, { ip, command: LOGIN_COMMAND, browser: true, catalog }, now);
  if (refusal) {
    history(refusal);
    if (refusal === 'expired' || refusal === 'spent')
      await db
        .updateTable('login_keys')
        .set({ cleared_at: now })
        .where('id', '=', key.id)
        .where('cleared_at', 'is', null)
        .execute();
    return { ok: false, reason: refusal };
  }
  try {
    await spendUse(services, key, ip, LOGIN_URL_PATH.slice(1));
  } catch (e) {
    if (e instanceof CredentialRejected) return { ok: false, reason: 'used' };
    throw e;
  }
  const { chain_suspended: _, ...account } = owner;
  return { ok: true, account, redirect: key.redirect || '/' };
}
