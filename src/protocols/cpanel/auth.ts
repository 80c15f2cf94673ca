import type { FastifyRequest } from 'fastify';
import type { Actor, Credential } from '../../auth/actor.js';
import { isBlocked, recordFailure } from '../../auth/bfm.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { ipAllowed } from '../../auth/ip-rules.js';
import {
  commandAllowed,
  countersRefusal,
  ipRulesAllow,
  jsonList,
  rateExhausted,
  readScope,
  spendUse,
  usesSpent,
} from '../../auth/key-auth.js';
import { verifyPasswordLogin } from '../../auth/verify.js';
import { isPlausibleUsername, normalizeUsername } from '../../core/validation.js';
import type { Account, ApiToken } from '../../db/database.js';
import { hotQuery } from '../../db/hot-query.js';
import { findForLogin } from '../../modules/accounts/accounts.repository.js';
import {
  APITOKENS_FEATURE_TEXT,
  isTokenShaped,
  tokensFeatureOn,
} from '../../modules/tokens/tokens.service.js';
import type { Services } from '../../services.js';
import { clientIp, crossSiteProblem, parseBasicAuth } from '../http.js';
import { policyName } from './uapi.js';

export type CpanelListener = 'cpanel' | 'whm' | 'webmail';

/** A refused request, ready to send: status, headers and body in the listener's JSON shape. */
export interface CpanelAuthFailure {
  ok: false;
  status: number;
  headers: Record<string, string>;
  body: string;
  contentType: string;
  /** Why (debug output only; the client sees the same answer for every bad credential). */
  reason?: string;
}

export type CpanelAuthOutcome =
  | {
      ok: true;
      actor: Actor;
      via: 'password' | 'token';
      /** The token row when `via` is 'token' (WHM checks its ACLs; UAPI its read-only flag). */
      token?: ApiToken;
    }
  | CpanelAuthFailure;

/** Why a token was refused (history and debug output see it; the client gets the listener's answer). */
export type TokenRefusal =
  | 'unknown'
  | 'suspended'
  | 'feature_disabled'
  | 'expired'
  | 'spent'
  | 'ip'
  | 'rate_limited'
  | 'command'
  | 'readonly';

export const TOKEN_PATH_TEXT = 'Token authentication allows access to UAPI or API 2 calls only.';
const ACCESS_DENIED = 'Access denied';
const JSON_TYPE = 'application/json';

/** Drops a leading `/cpsessNNNNNNNNNN` segment (cPanel session URLs), which carries no meaning here. */
export function stripSessionPrefix(path: string): string {
  return path.replace(/^\/cpsess[A-Za-z0-9_]*(?=\/|$)/, '') || '/';
}

function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return stripSessionPrefix(q >= 0 ? req.url.slice(0, q) : req.url);
}

/** The flat UAPI envelope of a failure, compact. */
export function uapiFailureBody(errors: string[]): string {
  return JSON.stringify({ data: null, errors, messages: null, metadata: {}, status: 0, warnings: null });
}

/** The cpanelresult failure body cPanel and WHM answer for refused credentials (spec 2.4). */
export function accessDeniedBody(text = ACCESS_DENIED): string {
  return JSON.stringify({
    cpanelresult: { apiversion: '2', error: text, data: { reason: text, result: '0' }, type: 'text' },
  });
}

function isApi2Path(path: string): boolean {
  return path === '/json-api/cpanel' || path === '/json-api/cpanel/';
}

/** Bad credentials, as each listener answers them: 403 "Access denied" on WHM, 401 elsewhere. */
function badCredentials(listener: CpanelListener, path: string, reason: string): CpanelAuthFailure {
  if (listener === 'whm')
    return { ok: false, status: 403, headers: {}, body: accessDeniedBody(), contentType: JSON_TYPE, reason };
  const realm = listener === 'webmail' ? 'Webmail' : 'cPanel';
  return {
    ok: false,
    status: 401,
    headers: { 'WWW-Authenticate': `Basic realm="${realm}"` },
    body: isApi2Path(path) ? accessDeniedBody() : uapiFailureBody([ACCESS_DENIED]),
    contentType: JSON_TYPE,
    reason,
  };
}

function forbidden(listener: CpanelListener, path: string, text: string, reason: string): CpanelAuthFailure {
  return {
    ok: false,
    status: 403,
    headers: {},
    body: listener === 'whm' || isApi2Path(path) ? accessDeniedBody(text) : uapiFailureBody([text]),
    contentType: JSON_TYPE,
    reason,
  };
}

/** Where a token of the listener's kind may be used (cPanel: UAPI and API 2; WHM: the JSON API). */
function tokenPathAllowed(listener: CpanelListener, path: string): boolean {
  if (listener === 'whm') return path.startsWith('/json-api/');
  return path.startsWith('/execute/') || isApi2Path(path);
}

const tokenByDigest = hotQuery(
  (db, accountId: string, kind: 'cpanel' | 'whm', digest: string) =>
    db
      .selectFrom('api_tokens')
      .selectAll()
      .where('digest', '=', digest)
      .where('account_id', '=', accountId)
      .where('kind', '=', kind)
      .where('cleared_at', 'is', null),
  { memo: true },
);

// Parsed forms of stored text, remembered by value: both are read on every token request, and the
// text changes only when the account's package or the token changes (a new text, a new entry).
const featureByText = new Map<string, boolean>();
const whitelistByRow = new WeakMap<ApiToken, { text: string }[]>();

function featureOf(settings: string): boolean {
  let on = featureByText.get(settings);
  if (on === undefined) {
    on = tokensFeatureOn({ settings });
    if (featureByText.size >= 1000) featureByText.clear();
    featureByText.set(settings, on);
  }
  return on;
}

const limitsByRow = new WeakMap<ApiToken, Pick<Credential, 'scope' | 'policy'>>();

/** The token's scope and function lists as a credential carries them (no policy: every function). */
function limitsOf(t: ApiToken): Pick<Credential, 'scope' | 'policy'> {
  let l = limitsByRow.get(t);
  if (!l) {
    const allow = jsonList(t.allow_commands);
    const deny = jsonList(t.deny_commands);
    l = { scope: readScope(t.scope), ...(allow.length || deny.length ? { policy: { allow, deny } } : {}) };
    limitsByRow.set(t, l);
  }
  return l;
}

function whitelistOf(t: ApiToken): { text: string }[] {
  let list = whitelistByRow.get(t);
  if (!list) {
    list = jsonList(t.whitelist_ips).map((text) => ({ text }));
    whitelistByRow.set(t, list);
  }
  return list;
}

/**
 * The checks of a found token, in the pipeline's fixed order: owner suspended → feature → expired →
 * spent → source IP → rate. Pure; the command lists are checked once the function is known
 * (tokenMayRun), and the guarded UPDATE that spends a use stays the authority on uses and rate.
 */
export function decideToken(
  t: ApiToken,
  owner: Account & { chain_suspended: number },
  ip: string,
  now: number,
): TokenRefusal | null {
  if (owner.suspended || owner.chain_suspended) return 'suspended';
  if (t.kind === 'cpanel' && !featureOf(owner.settings)) return 'feature_disabled';
  if (t.expires_at !== null && now >= t.expires_at) return 'expired';
  if (usesSpent(t)) return 'spent';
  const whitelist = whitelistOf(t);
  if (whitelist.length > 0 && !ipAllowed(whitelist, ip)) return 'ip';
  if (!ipRulesAllow(t.ips, ip)) return 'ip';
  if (rateExhausted(t, now)) return 'rate_limited';
  return null;
}

/** What a token request carries between authentication and the function it runs. */
interface TokenUse {
  token: ApiToken;
  command: string;
}
const tokenUses = new WeakMap<Credential, TokenUse>();

function stripChain(a: Account & { chain_suspended: number }): Account {
  const { chain_suspended: _, ...rest } = a;
  return rest;
}

/** Splits `user:secret` at the first colon (cpsrvd's rule). */
function splitPair(text: string): { user: string; secret: string } | null {
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), secret: text.slice(colon + 1).trim() };
}

/**
 * Authenticates a request on a cPanel listener: `Authorization: cpanel user:TOKEN` (2083),
 * `whm user:TOKEN` (2087), Basic `user:password` (both; `mailbox@domain` on webmail). Every failure goes
 * through the brute-force monitor: a blocked address or account is refused before any lookup, and an
 * unknown or expired token is counted like a wrong password.
 */
export async function authenticateCpanel(
  services: Services,
  req: FastifyRequest,
  listener: CpanelListener,
): Promise<CpanelAuthOutcome> {
  const ip = clientIp(req);
  const path = pathOf(req);
  const header = req.headers.authorization ?? '';
  const scheme = /^([A-Za-z]+)[ \t]+(.*)$/s.exec(header);
  const kind = scheme?.[1]?.toLowerCase();
  if (kind === 'basic') return basicLogin(services, req, listener, ip, path);
  if (kind !== 'cpanel' && kind !== 'whm') {
    if (header) await recordFailure(services.db, services.bfm, ip, null, services.clock.now());
    return badCredentials(listener, path, header ? 'malformed' : 'no_credentials');
  }
  // A token of the other service (and cpanel-lib's legacy `WHM user:accesshash` on 2083) is no credential
  // here; tokens never work on webmail.
  const wanted = listener === 'whm' ? 'whm' : 'cpanel';
  if (listener === 'webmail' || kind !== wanted) {
    await recordFailure(services.db, services.bfm, ip, null, services.clock.now());
    return badCredentials(listener, path, 'wrong_scheme');
  }
  if (!tokenPathAllowed(listener, path)) return forbidden(listener, path, TOKEN_PATH_TEXT, 'token_path');
  return tokenLogin(services, listener, path, ip, wanted, scheme?.[2] ?? '');
}

async function tokenLogin(
  services: Services,
  listener: CpanelListener,
  path: string,
  ip: string,
  kind: 'cpanel' | 'whm',
  credentials: string,
): Promise<CpanelAuthOutcome> {
  const { db, bfm, clock } = services;
  const pair = splitPair(credentials.trim());
  const user = pair ? normalizeUsername(pair.user) : '';
  const plausible = pair !== null && isPlausibleUsername(user);
  // The same token from the same address, with nothing it was read from changed since, is admitted as
  // before without the brute-force read, the lookups and the digest (see auth-cache.ts).
  const logins = services.credentialCache.logins;
  const generation = logins.generation(db);
  const remembered =
    generation !== undefined && pair && plausible
      ? // A colon keeps these apart from every password login, whose username (Basic) never holds one.
        logins.digest({ username: `${kind}:${user}`, secret: pair.secret, ip })
      : undefined;
  if (remembered !== undefined && generation !== undefined) {
    const actor = logins.admit(remembered, generation, clock.now());
    const use = actor && tokenUses.get(actor.credential);
    if (actor && use) {
      use.command = path.slice(0, 200);
      return { ok: true, via: 'token', token: use.token, actor };
    }
  }
  if (await isBlocked(db, bfm, ip, plausible ? user : null, clock.now()))
    return badCredentials(listener, path, 'blocked');
  if (!pair || !plausible || !isTokenShaped(pair.secret)) {
    await recordFailure(db, bfm, ip, plausible ? user : null, clock.now());
    return badCredentials(listener, path, 'malformed');
  }
  const owner = await findForLogin(db, user);
  const now = clock.now();
  const token = owner
    ? (await tokenByDigest(db, owner.id, kind, services.keyDigest(pair.secret)))[0]
    : undefined;
  if (!owner || !token) {
    await recordFailure(db, bfm, ip, user, now);
    return badCredentials(listener, path, owner ? 'unknown_token' : 'unknown_user');
  }
  const refusal = decideToken(token, owner, ip, now);
  if (refusal) {
    services.keyUsage.record({
      key_id: token.id,
      account_id: owner.id,
      at: now,
      ip,
      command: path.slice(0, 200),
      outcome: refusal,
    });
    // An expired token is an unknown one (cPanel): counted like a wrong secret.
    if (refusal === 'expired') await recordFailure(db, bfm, ip, user, now);
    if (refusal === 'feature_disabled') return forbidden(listener, path, APITOKENS_FEATURE_TEXT, refusal);
    return badCredentials(listener, path, refusal);
  }
  const account = stripChain(owner);
  const limits = limitsOf(token);
  /** A fresh actor for each request: its credential spends its own use and names its own function. */
  const actorFor = (command: string): Actor => {
    const credential: Credential = { kind: 'token', id: token.id, name: token.name, ...limits };
    const use: TokenUse = { token, command };
    tokenUses.set(credential, use);
    let spent = false;
    credential.spend = async () => {
      if (spent) return;
      spent = true;
      await spendUse(services, token, ip, use.command, 'api_tokens');
    };
    return { account, authenticated: account, credential, ip };
  };
  if (remembered !== undefined && generation !== undefined)
    logins.remember(remembered, generation, db, {
      validUntil: token.expires_at ?? Number.POSITIVE_INFINITY,
      key: {
        id: token.id,
        counters: token,
        usable: (c, t) => c.cleared_at === null && countersRefusal(token, c, t) === null,
      },
      actor: () => actorFor(''),
    });
  return { ok: true, via: 'token', token, actor: actorFor(path.slice(0, 200)) };
}

async function basicLogin(
  services: Services,
  req: FastifyRequest,
  listener: CpanelListener,
  ip: string,
  path: string,
): Promise<CpanelAuthOutcome> {
  const { db, bfm, clock, hasher } = services;
  const basic = parseBasicAuth(req.headers.authorization);
  if (!basic || basic.username.includes('|')) {
    // DirectAdmin's `owner|user` login-as is no cPanel syntax.
    await recordFailure(db, bfm, ip, null, clock.now());
    return badCredentials(listener, path, 'malformed');
  }
  if (listener === 'webmail' && basic.username.includes('@')) {
    // Mailboxes do not exist yet, so no `mailbox@domain` login can succeed. It still costs what a real
    // one would (a hash) and is counted, so the answer tells nothing and guessing is throttled.
    const name = basic.username.toLowerCase().slice(0, 320);
    if (await isBlocked(db, bfm, ip, name, clock.now())) return badCredentials(listener, path, 'blocked');
    await hasher.verifyDummy(basic.password);
    await recordFailure(db, bfm, ip, name, clock.now());
    return badCredentials(listener, path, 'unknown_mailbox');
  }
  const outcome = await verifyPasswordLogin(services, {
    username: basic.username,
    secret: basic.password,
    ip,
  });
  if (!outcome.ok) return badCredentials(listener, path, outcome.reason);
  // A browser resends Basic credentials it remembers from a prompt, also on another site's form or
  // link, and cPanel functions change things by GET: a request a browser marks as cross-site is refused.
  // Scripts send no such headers; a token header is never added by a browser on its own.
  const crossSite = crossSiteProblem(req);
  if (crossSite)
    return forbidden(listener, path, 'The request comes from another site.', `csrf_${crossSite}`);
  return { ok: true, via: 'password', actor: outcome.actor };
}

/**
 * Names the function a token request runs (`listaccts`, `Module::function`), so the token's history
 * shows it rather than the path. No effect for other credentials.
 */
export function nameTokenUse(actor: Actor, command: string): void {
  const use = tokenUses.get(actor.credential);
  if (use) use.command = command.slice(0, 200);
}

/**
 * Whether the request's token may run `command` (`Module::function` in the catalog's spelling): its
 * allow / deny lists, and for a read-only token only functions that change nothing. Binds the command to
 * the token's use, so its history names it. Null when allowed (or not a token request).
 */
export function tokenMayRun(
  services: Services,
  listener: CpanelListener,
  path: string,
  actor: Actor,
  command: string,
  catalog: CommandCatalog,
  mutates: boolean,
): CpanelAuthFailure | null {
  const use = tokenUses.get(actor.credential);
  if (!use) return null;
  use.command = command;
  const t = use.token;
  let refusal: TokenRefusal | null = null;
  if (t.readonly && mutates) refusal = 'readonly';
  else if (actor.credential.policy && !commandAllowed(t, policyName(command), catalog, actor.account.level))
    refusal = 'command';
  if (!refusal) return null;
  services.keyUsage.record({
    key_id: t.id,
    account_id: t.account_id,
    at: services.clock.now(),
    ip: actor.ip,
    command,
    outcome: refusal,
  });
  return forbidden(
    listener,
    path,
    refusal === 'readonly'
      ? 'This API token is read-only: it cannot run functions that change anything.'
      : 'This API token does not allow that function.',
    refusal,
  );
}
