import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Actor, CredentialRejected } from '../../auth/actor.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import {
  authenticateSession,
  LOGIN_COMMAND,
  openSession,
  revokeSession,
  type SessionOutcome,
  type SessionTokens,
  sameText,
} from '../../auth/sessions.js';
import { verifyPasswordLogin } from '../../auth/verify.js';
import type { SessionRow } from '../../db/database.js';
import {
  createLoginUrl,
  type LoginUrlInput,
  parseDuration,
  useLoginUrl,
} from '../../modules/sessions/login-urls.js';
import { redirectTarget, sameSitePath } from '../../modules/sessions/redirects.js';
import type { Registry } from '../../registry/registry.js';
import type { Services } from '../../services.js';
import { crossSiteProblem, type Redactor } from '../http.js';
import { type Params, readParams } from '../params.js';
import type { DaCommand } from './context.js';
import { type DaAnswer, encodeError } from './encode.js';

/*
 * The browser side of the DirectAdmin listener: CMD_LOGIN (the login form and external auto-login
 * forms), CMD_LOGOUT, CMD_LOGIN_URL (one-time login URLs), the page after login, and what the router
 * needs to serve commands through a session (cookies, CSRF).
 */

export const SESSION_COOKIE = 'session';
export const KEY_COOKIE = 'key';
export const CSRF_COOKIE = 'csrftoken';
export const CSRF_HEADER = 'x-csrftoken';
export const CSRF_PARAM = 'csrftoken';

/** The paths served before authentication. */
export const SESSION_PATHS = new Set(['CMD_LOGIN', 'CMD_LOGOUT', 'CMD_LOGIN_URL']);

/** HTML-escapes text for an element or a quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

// Clients recognise a refused login by the X-DirectAdmin header and by the login page's title (spec
// §1.5), so the page keeps DirectAdmin's title.
/** The login page, with an optional message (a failed login). */
export function loginPage(message = ''): string {
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>DirectAdmin Login</title></head>' +
    `<body><h1>hostdeck</h1>${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}` +
    '<form action="/CMD_LOGIN" method="POST">' +
    '<input type="hidden" name="referer" value="/">' +
    '<label>Username <input name="username" autocomplete="username"></label> ' +
    '<label>Password <input type="password" name="password" autocomplete="current-password"></label> ' +
    '<button type="submit">Login</button></form></body></html>\n'
  );
}

/** The answer to a refused login: 401, `X-DirectAdmin: Unauthorized` and the login page. */
export function sendUnauthorized(reply: FastifyReply, message = ''): FastifyReply {
  return reply
    .code(401)
    .header('X-DirectAdmin', 'Unauthorized')
    .header('WWW-Authenticate', 'Basic realm="hostdeck"')
    .type('text/html; charset=utf-8')
    .send(loginPage(message));
}

/** The page after login: who is logged in, at which level, and a logout button carrying the CSRF token. */
export function accountPage(actor: Actor, csrf: string): string {
  const name = escapeHtml(actor.account.username);
  const via =
    actor.authenticated.id !== actor.account.id
      ? `<p>Logged in as <span id="authenticated">${escapeHtml(actor.authenticated.username)}</span></p>`
      : '';
  const key =
    actor.credential.kind === 'loginkey'
      ? `<p>Through login key <span id="key">${escapeHtml(actor.credential.name ?? '')}</span></p>`
      : '';
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>hostdeck: ${name}</title></head>` +
    `<body><h1>hostdeck</h1><p>Account <strong id="account">${name}</strong>, ` +
    `level <span id="level">${escapeHtml(actor.account.level)}</span></p>${via}${key}` +
    '<form action="/CMD_LOGOUT" method="POST">' +
    `<input type="hidden" name="${CSRF_PARAM}" value="${escapeHtml(csrf)}">` +
    '<button type="submit">Logout</button></form></body></html>\n'
  );
}

/** The cookies of a request, first value of each name (RFC 6265 sends the most specific first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

export interface SessionCookies {
  id: string | undefined;
  secret: string | undefined;
  csrf: string | undefined;
}

export function sessionCookies(req: FastifyRequest): SessionCookies {
  const c = parseCookies(req.headers.cookie);
  return { id: c.get(SESSION_COOKIE), secret: c.get(KEY_COOKIE), csrf: c.get(CSRF_COOKIE) };
}

/** Whether the browser reached us over TLS (directly, or as a trusted proxy says). */
function isTls(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

function cookie(name: string, value: string, req: FastifyRequest, httpOnly: boolean, clear = false): string {
  return [
    `${name}=${value}`,
    'Path=/',
    ...(httpOnly ? ['HttpOnly'] : []),
    'SameSite=Lax',
    ...(isTls(req) ? ['Secure'] : []),
    ...(clear ? ['Max-Age=0'] : []),
  ].join('; ');
}

/**
 * `session` and `key` are HttpOnly; `csrftoken` is readable so a page's script can echo it in
 * X-CSRFToken. No Domain (host-only) and no Max-Age: they end with the browser, and the server's
 * timeouts end them sooner.
 */
function setSessionCookies(reply: FastifyReply, req: FastifyRequest, t: SessionTokens): void {
  reply.header('set-cookie', [
    cookie(SESSION_COOKIE, t.id, req, true),
    cookie(KEY_COOKIE, t.secret, req, true),
    cookie(CSRF_COOKIE, t.csrf, req, false),
  ]);
}

function clearSessionCookies(reply: FastifyReply, req: FastifyRequest): void {
  reply.header('set-cookie', [
    cookie(SESSION_COOKIE, '', req, true, true),
    cookie(KEY_COOKIE, '', req, true, true),
    cookie(CSRF_COOKIE, '', req, false, true),
  ]);
}

/** Headers of every answer of these routes: nothing is cached, framed or leaked through Referer. */
function pageHeaders(reply: FastifyReply, formTargets: readonly string[] = []): FastifyReply {
  return reply
    .header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    .header(
      'Content-Security-Policy',
      `default-src 'none'; form-action 'self'${formTargets.map((o) => ` ${o}`).join('')}; frame-ancestors 'none'; base-uri 'none'`,
    );
}

function redirect(reply: FastifyReply, to: string): FastifyReply {
  return reply.code(302).header('Location', to).type('text/html; charset=utf-8').send('');
}

/** Whether a DA command changes anything: any registry command it may run mutates (unknown ids do). */
export function commandMutates(cmd: DaCommand, registry: Registry): boolean {
  return cmd.uses.some((id) => registry.get(id)?.mutates ?? true);
}

/** Why a state-changing request through a session fails the CSRF check, or null when it passes. */
export type CsrfProblem = 'cross_origin' | 'cross_site_fetch' | 'no_token' | 'no_cookie' | 'wrong_token';

/**
 * The CSRF check of a state-changing request through a session: an Origin, when sent, must be this
 * server; Sec-Fetch-Site, when sent, must be same-origin or none (same-site is refused too: on a hosting
 * panel the sibling subdomains are customers' sites); and the token must come back twice, in the
 * `csrftoken` cookie and in X-CSRFToken or the `csrftoken` parameter, both equal to the session's.
 */
export function csrfProblem(
  req: FastifyRequest,
  session: Pick<SessionRow, 'csrf_token'>,
  params: Params,
  cookies: SessionCookies,
): CsrfProblem | null {
  const crossSite = crossSiteProblem(req);
  if (crossSite) return crossSite;
  const header = req.headers[CSRF_HEADER];
  const given = typeof header === 'string' ? header : params.get(CSRF_PARAM);
  if (!given) return 'no_token';
  if (!cookies.csrf) return 'no_cookie';
  if (!sameText(given, session.csrf_token) || !sameText(cookies.csrf, session.csrf_token))
    return 'wrong_token';
  return null;
}

/** The 403 of a failed CSRF check, in DA's error form. */
export function sendCsrfRefusal(reply: FastifyReply, json: boolean): FastifyReply {
  const enc = encodeError(
    'You do not have permission to run that command',
    'The request lacks the CSRF token of your session or comes from another site; reload the page and try again',
    json,
  );
  return reply.code(403).header('Cache-Control', 'no-store').type(enc.contentType).send(enc.body);
}

/**
 * The DA form of a one-time URL request (CMD_API_LOGIN_KEYS action=create type=one_time_url):
 * `expiry` (`5m`, `1h`…), `ips` (one per line or comma-separated), `redirect-url` (a path or `CMD_…`).
 */
export function loginUrlInput(p: Params): LoginUrlInput {
  const input: LoginUrlInput = {};
  const expiry = p.get('expiry');
  if (expiry) input.expirySeconds = parseDuration(expiry);
  const ips = p.get('ips');
  if (ips) input.ips = ips.split(/[\s,]+/).filter(Boolean);
  const redirect = p.get('redirect-url') ?? p.get('redirect_url') ?? p.get('redirect');
  if (redirect) input.redirect = redirect;
  return input;
}

/**
 * The answer of CMD_API_LOGIN_KEYS action=create type=one_time_url: the URL in `details`, where
 * DirectAdmin clients read it (the router's debug log hides its hash).
 */
export async function oneTimeUrlAnswer(services: Services, actor: Actor, p: Params): Promise<DaAnswer> {
  const { url } = await createLoginUrl(services, actor, loginUrlInput(p));
  return { kind: 'action', text: 'Login URL created', details: url };
}

/** How the router lets these routes log at its debug levels. */
export interface SessionRouteLog {
  /** A refused login (debug ≥ 2000). */
  refused(cmd: string, ip: string, reason: string, user?: string): void;
}

export interface SessionRoutes {
  /** GET `/`: the page after login, or the login page. */
  home(req: FastifyRequest, reply: FastifyReply, ip: string): Promise<FastifyReply>;
  /** CMD_LOGIN, CMD_LOGOUT and CMD_LOGIN_URL. */
  handle(
    cmd: string,
    req: FastifyRequest,
    reply: FastifyReply,
    ip: string,
    redactor: Redactor,
  ): Promise<FastifyReply>;
  /** Authenticates a command request by its cookies. */
  authenticate(cookies: SessionCookies, ip: string, cmd: string): Promise<SessionOutcome>;
}

/** The session routes of one listener. `catalog` must know CMD_LOGIN (withLoginCommand). */
export function sessionRoutes(
  services: Services,
  catalog: CommandCatalog,
  log: SessionRouteLog,
): SessionRoutes {
  const origins = services.config.loginRedirectOrigins;

  function cookiesToReplace(c: SessionCookies) {
    return c.id && c.secret ? { id: c.id, secret: c.secret } : undefined;
  }

  async function login(req: FastifyRequest, reply: FastifyReply, ip: string, redactor: Redactor) {
    pageHeaders(reply, origins);
    // A login by GET would put the password in URLs and logs: GET only shows the form.
    if (req.method !== 'POST') return reply.code(200).type('text/html; charset=utf-8').send(loginPage());
    const p = await readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
    const username = p.get('username') ?? '';
    const password = p.get('password') ?? '';
    redactor.secret(password);
    const failUrl = p.get('FAIL_URL');
    const refuse = (reason: string) => {
      log.refused('CMD_LOGIN', ip, reason, redactor.text(username.slice(0, 64)));
      if (failUrl)
        return redirect(reply.header('X-DirectAdmin', 'Unauthorized'), redirectTarget(failUrl, origins));
      return sendUnauthorized(reply, 'Invalid login. Please verify your Username and Password');
    };
    const outcome = await verifyPasswordLogin(
      services,
      { username, secret: password, ip },
      { ip, command: LOGIN_COMMAND, browser: true, catalog },
    );
    if (!outcome.ok) return refuse(outcome.reason);
    const { actor } = outcome;
    const keyId = actor.credential.kind === 'loginkey' ? actor.credential.id : null;
    // Logging in with a key is a use of it, like any other request it makes.
    try {
      await actor.credential.spend?.();
    } catch (e) {
      if (e instanceof CredentialRejected) return refuse(e.reason);
      throw e;
    }
    const logoutUrl = p.get('LOGOUT_URL');
    const tokens = await openSession(
      services,
      {
        account: actor.account,
        authenticated: actor.authenticated,
        keyId,
        ip,
        logoutUrl: logoutUrl ? redirectTarget(logoutUrl, origins) : '',
      },
      cookiesToReplace(sessionCookies(req)),
    );
    setSessionCookies(reply, req, tokens);
    return redirect(reply, sameSitePath(p.get('referer')) ?? '/');
  }

  async function logout(req: FastifyRequest, reply: FastifyReply, ip: string) {
    pageHeaders(reply);
    const cookies = sessionCookies(req);
    const auth = await authenticateSession(services, cookies, { ip, command: LOGIN_COMMAND, catalog });
    if (!auth.ok) {
      // Nothing to end: the browser's cookies are stale (or absent) either way.
      clearSessionCookies(reply, req);
      return redirect(reply, '/');
    }
    const p = await readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
    // Logout changes state whatever the method: a cross-site link must not end the session.
    const problem = csrfProblem(req, auth.session, p, cookies);
    if (problem) {
      log.refused('CMD_LOGOUT', ip, `csrf_${problem}`);
      return sendCsrfRefusal(reply, false);
    }
    await revokeSession(services, { id: cookies.id ?? '', secret: cookies.secret ?? '' });
    clearSessionCookies(reply, req);
    return redirect(reply, auth.session.logout_url ? redirectTarget(auth.session.logout_url, origins) : '/');
  }

  async function loginUrl(req: FastifyRequest, reply: FastifyReply, ip: string) {
    pageHeaders(reply);
    // Link checkers and previewers send HEAD: it must not spend the link, nor tell whether it is good.
    if (req.method === 'HEAD') return reply.code(200).type('text/html; charset=utf-8').send('');
    const p = await readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
    const outcome = await useLoginUrl(services, p.get('hash'), ip, catalog);
    if (!outcome.ok) {
      log.refused('CMD_LOGIN_URL', ip, outcome.reason);
      return sendUnauthorized(reply, 'This login link is not valid (any more)');
    }
    const tokens = await openSession(
      services,
      { account: outcome.account, authenticated: outcome.account, keyId: null, ip, logoutUrl: '' },
      cookiesToReplace(sessionCookies(req)),
    );
    setSessionCookies(reply, req, tokens);
    return redirect(reply, outcome.redirect);
  }

  return {
    async home(req, reply, ip) {
      pageHeaders(reply, origins);
      const cookies = sessionCookies(req);
      if (!cookies.id && !cookies.secret) return reply.type('text/html; charset=utf-8').send(loginPage());
      const auth = await authenticateSession(services, cookies, { ip, command: LOGIN_COMMAND, catalog });
      if (!auth.ok) {
        log.refused('/', ip, auth.reason);
        clearSessionCookies(reply, req);
        return sendUnauthorized(reply);
      }
      return reply.type('text/html; charset=utf-8').send(accountPage(auth.actor, auth.session.csrf_token));
    },
    handle(cmd, req, reply, ip, redactor) {
      if (cmd === 'CMD_LOGIN') return login(req, reply, ip, redactor);
      if (cmd === 'CMD_LOGOUT') return logout(req, reply, ip);
      return loginUrl(req, reply, ip);
    },
    authenticate(cookies, ip, cmd) {
      return authenticateSession(services, cookies, { ip, command: cmd, catalog });
    },
  };
}
