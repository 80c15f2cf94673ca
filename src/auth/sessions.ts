import { timingSafeEqual } from 'node:crypto';
import type { Account, Executor, LoginKey, SessionRow } from '../db/database.js';
import { hotQuery } from '../db/hot-query.js';
import { canManage } from '../modules/accounts/accounts.service.js';
import type { Services } from '../services.js';
import type { Actor, Credential } from './actor.js';
import type { CommandCatalog } from './command-policy.js';
import { decideKey, jsonList, type KeyRefusal, readScope, spendUse } from './key-auth.js';

/*
 * Browser sessions. A session is two random values the browser holds in HttpOnly cookies: `session`
 * (finds the row) and `key` (proves it), as DirectAdmin names them. The database keeps only their keyed
 * digests, so a copy of it opens no session. Every request through a session is checked in a fixed order:
 * lookup → secret → absolute expiry → idle expiry → client IP → authenticated account (auth_version,
 * suspension) → effective account (login-as) → the login key it was opened with, if any.
 */

/** `CMD_LOGIN` as a command key lists may name: denying it keeps a key out of the browser. */
export const LOGIN_COMMAND = 'CMD_LOGIN';

/** Random bytes in each session id, secret and CSRF token (256 bits; ASVS asks for at least 128). */
const TOKEN_BYTES = 32;
/** base64url of TOKEN_BYTES: anything else is no token of ours and is refused without a lookup. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** The DA catalog plus CMD_LOGIN at user level, so key lists can allow or deny browser login. */
export function withLoginCommand(base: CommandCatalog): CommandCatalog {
  const all = [...base.all(), LOGIN_COMMAND];
  return {
    levelOf: (command) => (command.toUpperCase() === LOGIN_COMMAND ? 'user' : base.levelOf(command)),
    all: () => all,
  };
}

/** A fresh random token (session id, secret or CSRF token). */
export function newToken(services: Services): string {
  return services.random.bytes(TOKEN_BYTES).toString('base64url');
}

/** Whether `text` has the shape of a token this server hands out. */
export function isTokenShaped(text: string | undefined): text is string {
  return text !== undefined && TOKEN_RE.test(text);
}

/** Constant-time equality of two strings (different lengths are unequal, without comparing). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What the browser is given at login; shown once, never stored. */
export interface SessionTokens {
  id: string;
  secret: string;
  csrf: string;
}

export interface NewSession {
  /** The effective account (login-as target) and the one that proved its password or key. */
  account: Account;
  authenticated: Account;
  keyId: string | null;
  ip: string;
  /** A checked LOGOUT_URL, or '' for `/`. */
  logoutUrl: string;
}

/**
 * Opens a session: new random id, secret and CSRF token every time, so a cookie set before login is
 * never the session after it (no fixation). `replacing` (the cookies the browser sent, if any) is
 * revoked in the same transaction. Rows past either timeout are swept here, so the table holds live
 * sessions and the recently ended.
 */
export async function openSession(
  services: Services,
  s: NewSession,
  replacing?: { id: string; secret: string },
): Promise<SessionTokens> {
  const now = services.clock.now();
  const { sessionIdleSeconds, sessionAbsoluteSeconds } = services.config;
  const tokens: SessionTokens = {
    id: newToken(services),
    secret: newToken(services),
    csrf: newToken(services),
  };
  await services.db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - sessionIdleSeconds * 1000)]),
      )
      .execute();
    if (replacing) await revokeSession(services, replacing, trx);
    await trx
      .insertInto('sessions')
      .values({
        id: services.keyDigest(tokens.id),
        secret_digest: services.keyDigest(tokens.secret),
        account_id: s.account.id,
        authenticated_id: s.authenticated.id,
        key_id: s.keyId,
        csrf_token: tokens.csrf,
        ip: s.ip,
        logout_url: s.logoutUrl,
        created_at: now,
        last_seen_at: now,
        expires_at: now + sessionAbsoluteSeconds * 1000,
        auth_version: s.authenticated.auth_version,
      })
      .execute();
  });
  return tokens;
}

/** Ends the session these cookies name, if they name one (the secret must match). True when one ended. */
export async function revokeSession(
  services: Services,
  cookies: { id: string; secret: string },
  db: Executor = services.db,
): Promise<boolean> {
  if (!isTokenShaped(cookies.id) || !isTokenShaped(cookies.secret)) return false;
  const r = await db
    .deleteFrom('sessions')
    .where('id', '=', services.keyDigest(cookies.id))
    .where('secret_digest', '=', services.keyDigest(cookies.secret))
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Why a session was refused (debug ≥ 2000 sees it; the client gets the login page like a bad login). */
export type SessionRefusal =
  | 'no_session'
  | 'bad_secret'
  | 'expired'
  | 'idle'
  | 'ip'
  | 'revoked'
  | 'suspended'
  | 'login_as_denied'
  | 'key_gone'
  | KeyRefusal;

export type SessionOutcome =
  | { ok: true; actor: Actor; session: SessionRow }
  | { ok: false; reason: SessionRefusal };

type ChainAccount = Account & { chain_suspended: number };

// Every request through a session runs these, so they are compiled once (see hotQuery). Not memoised:
// a session's row changes with every touch.
const sessionById = hotQuery((db: Executor, id: string) =>
  db.selectFrom('sessions').selectAll().where('id', '=', id),
);
const accountById = hotQuery((db: Executor, id: string) =>
  db
    .selectFrom('accounts as a')
    .leftJoin('accounts as c', 'c.id', 'a.creator_id')
    .leftJoin('accounts as g', 'g.id', 'c.creator_id')
    .selectAll('a')
    .select(['c.suspended as c_susp', 'g.suspended as g_susp'])
    .where('a.id', '=', id),
);
const keyById = hotQuery((db: Executor, id: string) =>
  db.selectFrom('login_keys').selectAll().where('id', '=', id).where('cleared_at', 'is', null),
);

/** An account by id with whether it or an owner up the chain is suspended. */
export async function findAccountForLogin(db: Executor, id: string): Promise<ChainAccount | undefined> {
  const row = (await accountById(db, id))[0];
  if (!row) return undefined;
  const { c_susp, g_susp, ...account } = row;
  return { ...(account as Account), chain_suspended: (c_susp ?? 0) || (g_susp ?? 0) ? 1 : 0 };
}

function stripChain(a: ChainAccount): Account {
  const { chain_suspended: _, ...rest } = a;
  return rest;
}

/**
 * The checks of a found session that need no other row: absolute end, idle end, client IP. Pure: the
 * caller applies it.
 */
export function decideSession(
  row: Pick<SessionRow, 'expires_at' | 'last_seen_at' | 'ip'>,
  ip: string,
  now: number,
  idleMs: number,
): 'expired' | 'idle' | 'ip' | null {
  if (now >= row.expires_at) return 'expired';
  if (now - row.last_seen_at >= idleMs) return 'idle';
  if (row.ip !== ip) return 'ip';
  return null;
}

export interface SessionAttempt {
  ip: string;
  /**
   * The command requested, checked against the lists of the session's login key. Pages that run no
   * command (the page after login, logout) pass LOGIN_COMMAND: they are part of being logged in.
   */
  command: string;
  /** The catalog key lists are judged against (withLoginCommand of the DA catalog). */
  catalog: CommandCatalog;
}

/**
 * Authenticates a request by its session cookies. A session that has ended for good (expired, idle,
 * revoked, its account suspended or gone) is deleted on the way; one refused for the client's address is
 * left alone, so a stolen cookie replayed from elsewhere cannot log its owner out.
 */
export async function authenticateSession(
  services: Services,
  cookies: { id: string | undefined; secret: string | undefined },
  a: SessionAttempt,
): Promise<SessionOutcome> {
  if (!isTokenShaped(cookies.id)) return { ok: false, reason: 'no_session' };
  const db = services.db;
  const now = services.clock.now();
  const row = (await sessionById(db, services.keyDigest(cookies.id)))[0];
  if (!row) return { ok: false, reason: 'no_session' };
  if (!isTokenShaped(cookies.secret) || !sameText(services.keyDigest(cookies.secret), row.secret_digest))
    return { ok: false, reason: 'bad_secret' };
  const end = async (reason: SessionRefusal): Promise<SessionOutcome> => {
    await db.deleteFrom('sessions').where('id', '=', row.id).execute();
    return { ok: false, reason };
  };
  const idleMs = services.config.sessionIdleSeconds * 1000;
  const refusal = decideSession(row, a.ip, now, idleMs);
  if (refusal === 'ip') return { ok: false, reason: 'ip' };
  if (refusal) return end(refusal);

  const authenticated = await findAccountForLogin(db, row.authenticated_id);
  if (!authenticated || authenticated.auth_version !== row.auth_version) return end('revoked');
  if (authenticated.suspended || authenticated.chain_suspended) return end('suspended');
  let account = stripChain(authenticated);
  if (row.account_id !== row.authenticated_id) {
    const target = await findAccountForLogin(db, row.account_id);
    if (!target || !canManage(authenticated, target)) return end('login_as_denied');
    // A suspended target may be unsuspended later; the owner's session need not end for it.
    if (target.suspended || target.chain_suspended) return { ok: false, reason: 'suspended' };
    account = stripChain(target);
  }

  let credential: Credential = { kind: 'session', id: row.id.slice(0, 16) };
  if (row.key_id !== null) {
    const key = (await keyById(db, row.key_id))[0];
    if (!key || key.account_id !== row.authenticated_id) return end('key_gone');
    const k = decideKey(key, authenticated, { ...a, browser: true }, now);
    if (k) {
      services.keyUsage.record({
        key_id: key.id,
        account_id: key.account_id,
        at: now,
        ip: a.ip,
        command: a.command,
        outcome: k,
      });
      if ((k === 'expired' || k === 'spent') && key.clear_key) await clearKey(db, key.id, now);
      // The key's other refusals (a command outside its lists, its rate) refuse this request only.
      return k === 'expired' || k === 'spent' || k === 'feature_disabled' ? end(k) : { ok: false, reason: k };
    }
    credential = keyCredential(services, key, a.ip, a.command);
  }

  // Written at most once a minute (or a tenth of the idle time): a session may end up to that much
  // before its idle limit, and a busy page costs no write per request.
  if (now - row.last_seen_at >= Math.min(60_000, idleMs / 10))
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id', '=', row.id)
      .where('last_seen_at', '<', now)
      .execute();
  return {
    ok: true,
    actor: { account, authenticated: stripChain(authenticated), credential, ip: a.ip },
    session: row,
  };
}

/**
 * A session opened with a login key acts as that key: the same credential kind, lists and scope (so it
 * cannot mint a broader key either), and each command spends a use like direct key use.
 */
function keyCredential(services: Services, key: LoginKey, ip: string, command: string): Credential {
  let spent = false;
  return {
    kind: 'loginkey',
    id: key.id,
    name: key.name,
    scope: readScope(key.scope),
    policy: { allow: jsonList(key.allow_commands), deny: jsonList(key.deny_commands) },
    spend: async () => {
      if (spent) return;
      spent = true;
      await spendUse(services, key, ip, command);
    },
  };
}

async function clearKey(db: Executor, id: string, now: number): Promise<void> {
  await db
    .updateTable('login_keys')
    .set({ cleared_at: now })
    .where('id', '=', id)
    .where('cleared_at', 'is', null)
    .execute();
}
