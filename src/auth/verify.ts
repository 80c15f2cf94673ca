import { isPlausibleUsername, normalizeUsername } from '../core/validation.js';
import type { Account } from '../db/database.js';
import { findForLogin } from '../modules/accounts/accounts.repository.js';
import { canManage } from '../modules/accounts/accounts.service.js';
import type { Services } from '../services.js';
import type { Actor } from './actor.js';
import { clearAccount, isBlocked, recordFailure } from './bfm.js';

/** Why a login was refused. Only logs (debug ≥ 2000) see it; the client always gets the same answer. */
export type AuthFailure =
  | 'blocked'
  | 'malformed'
  | 'unknown_user'
  | 'bad_password'
  | 'suspended'
  | 'login_as_denied';

export type AuthOutcome = { ok: true; actor: Actor } | { ok: false; reason: AuthFailure; username: string };

export interface PasswordLogin {
  /** As sent: `name` or `owner|target` (login-as). */
  username: string;
  secret: string;
  ip: string;
}

/**
 * The password pipeline, in a fixed order: parse → block check (no hashing when blocked) → lookup →
 * verify (a dummy verify for unknown names, so timing does not tell which names exist) → suspension →
 * login-as ownership. Failures are counted per IP and per account.
 */
export async function verifyPasswordLogin(services: Services, login: PasswordLogin): Promise<AuthOutcome> {
  const { db, clock, hasher } = services;
  const now = clock.now();
  const bar = login.username.indexOf('|');
  const ownerName = normalizeUsername(bar >= 0 ? login.username.slice(0, bar) : login.username);
  const targetName = bar >= 0 ? normalizeUsername(login.username.slice(bar + 1)) : null;
  const plausible =
    isPlausibleUsername(ownerName) && (targetName === null || isPlausibleUsername(targetName));

  if (await isBlocked(db, services.bfm, login.ip, plausible ? ownerName : null, now))
    return { ok: false, reason: 'blocked', username: ownerName };
  if (!plausible || login.secret.length === 0) {
    await recordFailure(db, services.bfm, login.ip, null, now);
    return { ok: false, reason: 'malformed', username: ownerName };
  }

  const owner = await findForLogin(db, ownerName);
  if (!owner) {
    await hasher.verifyDummy(login.secret);
    await recordFailure(db, services.bfm, login.ip, null, now);
    return { ok: false, reason: 'unknown_user', username: ownerName };
  }
  const good =
    services.credentialCache.has(owner.id, login.secret, owner.auth_version, owner.password_hash, now) ||
    (await hasher.verify(owner.password_hash, login.secret));
  if (!good) {
    await recordFailure(db, services.bfm, login.ip, ownerName, now);
    return { ok: false, reason: 'bad_password', username: ownerName };
  }
  services.credentialCache.remember(owner.id, login.secret, owner.auth_version, owner.password_hash, now);
  if (owner.suspended || owner.chain_suspended)
    return { ok: false, reason: 'suspended', username: ownerName };
  if (hasher.needsRehash(owner.password_hash)) await rehash(services, owner, login.secret);
  await clearAccount(db, ownerName);

  let account: Account = stripChain(owner);
  if (targetName !== null && targetName !== ownerName) {
    const target = await findForLogin(db, targetName);
    if (!target || !canManage(owner, target))
      return { ok: false, reason: 'login_as_denied', username: ownerName };
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
      ip: login.ip,
    },
  };
}

function stripChain(a: Account & { chain_suspended: number }): Account {
  const { chain_suspended: _, ...rest } = a;
  return rest;
}

/**
 * Moves an imported (crypt-format) or weaker hash to the native scheme after a good login. The password
 * itself is unchanged, so auth_version stays and sessions survive; the guard on the old hash makes a
 * concurrent password change win.
 */
async function rehash(services: Services, account: Account, secret: string): Promise<void> {
  const next = await services.hasher.hash(secret);
  await services.db
    .updateTable('accounts')
    .set({ password_hash: next })
    .where('id', '=', account.id)
    .where('password_hash', '=', account.password_hash)
    .execute();
}
