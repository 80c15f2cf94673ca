import { setTimeout as sleep } from 'node:timers/promises';
import { isPlausibleUsername, normalizeUsername } from '../core/validation.js';
import type { Account } from '../db/database.js';
import { findForLogin } from '../modules/accounts/accounts.repository.js';
import { canManage } from '../modules/accounts/accounts.service.js';
import type { Services } from '../services.js';
import type { Actor } from './actor.js';
import type { AuthEntryInput } from './auth-cache.js';
import { type BfmTicket, claim, confirmFailure, isBlocked, recordFailure, release } from './bfm.js';
import { type KeyAttempt, type KeyRefusal, tryLoginKeyFor } from './key-auth.js';

/** Why a login was refused. Only logs (debug ≥ 2000) see it; the client always gets the same answer. */
export type AuthFailure =
  | 'blocked'
  | 'malformed'
  | 'unknown_user'
  | 'bad_password'
  | 'suspended'
  | 'login_as_denied';

export type AuthOutcome =
  | { ok: true; actor: Actor }
  | { ok: false; reason: AuthFailure | KeyRefusal; username: string };

export interface PasswordLogin {
  /** As sent: `name` or `owner|target` (login-as). */
  username: string;
  secret: string;
  ip: string;
}

/** How long an attempt waits for places held by attempts still being checked before it is refused. */
const BUSY_WAIT_MS = 2_000;

/**
 * The password pipeline, in a fixed order: parse → block check (one read; a blocked login stops here,
 * before any lookup or hashing) → lookup → credential cache → claim a place in the failure counters →
 * verify (a dummy verify for unknown names, so timing does not tell which names exist) → suspension →
 * login-as ownership. Failures are counted per IP and per account; see bfm.ts for why the count is
 * taken before the hash. A login that succeeded is remembered (see auth-cache.ts): the same attempt
 * again, with nothing it was read from changed since, gets the same actor without the pipeline.
 */
export async function verifyPasswordLogin(
  services: Services,
  login: PasswordLogin,
  /** Also accept the account's login keys, for this command (omit: the password only). */
  key?: KeyAttempt,
): Promise<AuthOutcome> {
  const logins = services.credentialCache.logins;
  const generation = logins.generation(services.db);
  // The remembered outcome is of the attempt as a whole, so both sides must name one address.
  if (generation === undefined || (key && key.ip !== login.ip))
    return (await verifyFully(services, login, key)).outcome;
  const digest = logins.digest(key ? { ...login, key } : login);
  const now = services.clock.now();
  const actor = logins.admit(digest, generation, now);
  if (actor) return { ok: true, actor };
  const { outcome, entry } = await verifyFully(services, login, key);
  if (outcome.ok && entry && entry.validUntil > now) logins.remember(digest, generation, services.db, entry);
  return outcome;
}

/** The full pipeline; a success comes with what the authentication cache may remember of it. */
async function verifyFully(
  services: Services,
  login: PasswordLogin,
  key: KeyAttempt | undefined,
): Promise<{ outcome: AuthOutcome; entry?: AuthEntryInput }> {
  const { db, clock, hasher, bfm } = services;
  const bar = login.username.indexOf('|');
  const ownerName = normalizeUsername(bar >= 0 ? login.username.slice(0, bar) : login.username);
  const targetName = bar >= 0 ? normalizeUsername(login.username.slice(bar + 1)) : null;
  const plausible =
    isPlausibleUsername(ownerName) && (targetName === null || isPlausibleUsername(targetName));

  // Login-as (`owner|target`) is the owner proving its password, so it is counted against the owner.
  if (await isBlocked(db, bfm, login.ip, plausible ? ownerName : null, clock.now()))
    return { outcome: { ok: false, reason: 'blocked', username: ownerName } };
  if (!plausible || login.secret.length === 0) {
    // Nothing is hashed, so only the IP is charged, without waiting for a place.
    await recordFailure(db, bfm, login.ip, null, clock.now());
    return { outcome: { ok: false, reason: 'malformed', username: ownerName } };
  }

  const owner = await findForLogin(db, ownerName);
  // A login key is another password of the same username: a keyed digest, no hashing, tried first.
  if (owner && key) {
    const k = await tryLoginKeyFor(services, owner, targetName, login.secret, key);
    if (k) return k;
  }
  const cache = services.credentialCache;
  // A password that verified recently against the account as it is now costs no hash, so it needs no
  // place in the counters (and a wrong one can never be found there).
  if (owner && cache.has(owner.id, login.secret, owner.auth_version, owner.password_hash, clock.now()))
    return admitRemembered(services, owner, targetName, login, owner.password_hash);

  // Names without an account are counted like accounts: if only real names could be locked, the speed
  // of a locked answer (no hash) would tell which names exist.
  const ticket = await claimPlace(services, login.ip, ownerName);
  if (!ticket) return { outcome: { ok: false, reason: 'blocked', username: ownerName } };
  const good = owner
    ? await hasher.verify(owner.password_hash, login.secret)
    : await hasher.verifyDummy(login.secret);
  if (!owner || !good) {
    await confirmFailure(db, bfm, ticket, clock.now());
    return { outcome: { ok: false, reason: owner ? 'bad_password' : 'unknown_user', username: ownerName } };
  }
  await release(db, ticket, clock.now());
  const stored = hasher.needsRehash(owner.password_hash)
    ? await rehash(services, owner, login.secret)
    : owner.password_hash;
  // Remembered only after a real verification: a cache hit does not extend the entry, so a remembered
  // password is checked against its hash again at least every credentialCacheSeconds.
  cache.remember(owner.id, login.secret, owner.auth_version, stored, clock.now());
  return admitRemembered(services, owner, targetName, login, stored);
}

/**
 * admit, for a password the credential cache now honours: a remembered login lasts only as long as
 * that verification, so the password is hashed again on schedule.
 */
async function admitRemembered(
  services: Services,
  owner: Account & { chain_suspended: number },
  targetName: string | null,
  login: PasswordLogin,
  /** The hash the password was verified against (after a rehash, the new one). */
  hash: string,
): Promise<{ outcome: AuthOutcome; entry?: AuthEntryInput }> {
  const outcome = await admit(services, owner, targetName, login.ip);
  if (!outcome.ok) return { outcome };
  const { account, authenticated, credential, ip } = outcome.actor;
  const validUntil = services.credentialCache.validUntil(
    owner.id,
    login.secret,
    owner.auth_version,
    hash,
    services.clock.now(),
  );
  return {
    outcome,
    entry: { validUntil, actor: () => ({ account, authenticated, credential: { ...credential }, ip }) },
  };
}

/**
 * Claims a place for an attempt that will be hashed. While every place is held by attempts still being
 * checked it waits (a little longer each time) for their outcome: failures block it, good passwords
 * give their places back. Null when blocked, or still busy after BUSY_WAIT_MS.
 */
async function claimPlace(services: Services, ip: string, account: string): Promise<BfmTicket | null> {
  // Real time, not services.clock: this bounds how long a request waits, whatever a test clock says.
  const deadline = performance.now() + BUSY_WAIT_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    const c = await claim(services.db, services.bfm, ip, account, services.clock.now());
    if (c.kind === 'granted') return c.ticket;
    if (c.kind === 'blocked' || performance.now() + pause > deadline) return null;
    await sleep(pause);
  }
}

/** The checks after the password: suspension (own or up the chain), then login-as ownership. */
async function admit(
  services: Services,
  owner: Account & { chain_suspended: number },
  targetName: string | null,
  ip: string,
): Promise<AuthOutcome> {
  if (owner.suspended || owner.chain_suspended)
    return { ok: false, reason: 'suspended', username: owner.username };
  let account: Account = stripChain(owner);
  if (targetName !== null && targetName !== owner.username) {
    const target = await findForLogin(services.db, targetName);
    if (!target || !canManage(owner, target))
      return { ok: false, reason: 'login_as_denied', username: owner.username };
    if (target.suspended || target.chain_suspended)
      return { ok: false, reason: 'suspended', username: targetName };
    account = stripChain(target);
  }
  return {
    ok: true,
    actor: {
      account,
      authenticated: stripChain(owner),
      credential: { kind: 'password', id: '' },
      ip,
    },
  };
}

function stripChain(a: Account & { chain_suspended: number }): Account {
  const { chain_suspended: _, ...rest } = a;
  return rest;
}

/**
 * Moves an imported (crypt-format) or weaker hash to the native scheme after a good login and returns
 * the hash now stored. The password itself is unchanged, so auth_version stays and sessions survive; the
 * guard on the old hash makes a concurrent password change win (the old hash is returned then, which
 * no longer matches the account, so nothing is cached against the new state).
 */
async function rehash(services: Services, account: Account, secret: string): Promise<string> {
  const next = await services.hasher.hash(secret);
  const r = await services.db
    .updateTable('accounts')
    .set({ password_hash: next })
    .where('id', '=', account.id)
    .where('password_hash', '=', account.password_hash)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? next : account.password_hash;
}

/**
 * Checks an account's current password where a command asks for it again (own password change, key
 * creation). It is a login attempt like any other: refused without hashing while the IP or account is
 * blocked, and counted when wrong.
 */
export async function checkCurrentPassword(
  services: Services,
  account: Account,
  secret: string,
  ip: string,
): Promise<boolean> {
  const { db, clock, bfm, hasher } = services;
  if (await isBlocked(db, bfm, ip, account.username, clock.now())) return false;
  const ticket = await claimPlace(services, ip, account.username);
  if (!ticket) return false;
  if (!(await hasher.verify(account.password_hash, secret))) {
    await confirmFailure(db, bfm, ticket, clock.now());
    return false;
  }
  await release(db, ticket, clock.now());
  return true;
}
