import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Actor, CredentialRejected } from '../../auth/actor.js';
import { withLoginCommand } from '../../auth/sessions.js';
import { type AuthOutcome, verifyPasswordLogin } from '../../auth/verify.js';
import { AppError, type ErrorCode, isAppError } from '../../core/errors.js';
import type { Services } from '../../services.js';
import { clientIp, crossSiteProblem, parseBasicAuth, Redactor } from '../http.js';
import { type Params, readParams } from '../params.js';
import { daCatalog } from './catalog.js';
import { findDaCommand } from './commands.js';
import { type DaAnswer, encodeAnswer, encodeError } from './encode.js';
import {
  commandMutates,
  csrfProblem,
  SESSION_PATHS,
  type SessionCookies,
  sendCsrfRefusal,
  sendUnauthorized,
  sessionCookies,
  sessionRoutes,
} from './session-routes.js';

const COMMAND_RE = /^CMD_[A-Z0-9_]{1,64}$/;

/** A DNS cluster master's `rawsave`: the body is a zone file, data for the command rather than parameters. */
const RAWSAVE_RE = /^\/CMD(?:_API)?_DNS_ADMIN\?(?:[^#]*&)?action=rawsave(?:&|#|$)/i;

/** The methods DA commands answer; HEAD is GET without the body. */
const ALLOWED_METHODS = 'GET, HEAD, POST';

function wantsJson(params: Params | null): boolean {
  return params?.get('json')?.toLowerCase() === 'yes';
}

/** Whether the query string alone asks for JSON: used when the parameters were never (or not yet) parsed. */
export function queryWantsJson(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && /(?:^|&)json=yes(?:&|$)/i.test(url.slice(q + 1));
}

// Legacy failures that keep their own HTTP status: the request never reached a command (no such command,
// wrong method, body too large, not served yet) or the credential may not run it (DA answers a login key
// outside its allow-list with 403). Every other failure is a command's answer and goes out as HTTP 200,
// as DA sends it: Roundcube reads `error=1` only from a 200, and "no such account" must not look like a
// missing page. So a 404 ACCOUNT_NOT_FOUND or 403 WRONG_CURRENT_PASSWORD is a 200 here.
const LEGACY_KEEPS_STATUS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNKNOWN_COMMAND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'NOT_IMPLEMENTED',
  'PERMISSION_DENIED',
]);

/**
 * Sends an AppError in DA form: legacy `error=1&text=…&details=…`, or with `json=yes` the JSON shape with
 * the table's status, since JSON clients treat any 2xx as success. `status` overrides both for transport
 * failures whose HTTP status has no code of its own (400 for a bad path, 408, 431).
 */
export function sendDaError(reply: FastifyReply, e: AppError, json: boolean, status?: number): FastifyReply {
  const enc = encodeError(e.text, e.details, json);
  if (e.code === 'METHOD_NOT_ALLOWED') reply.header('Allow', ALLOWED_METHODS);
  return reply
    .code(status ?? (json || LEGACY_KEEPS_STATUS.has(e.code) ? e.status : 200))
    .type(enc.contentType)
    .send(enc.body);
}

/** `CMD_X` and `CMD_API_X` are one command, so a debug filter naming either matches both. */
function apiName(cmd: string): string {
  return cmd.startsWith('CMD_') && !cmd.startsWith('CMD_API_') ? `CMD_API_${cmd.slice(4)}` : cmd;
}

/**
 * Whether debug output of `level` is wanted for `cmd`. Levels follow DA: 188 request lines; above that
 * parameters and answers; 2000 also why a login was refused. `debugOnlyCmd` keeps one command.
 */
function debugOn(services: Services, cmd: string, level: number): boolean {
  const { debug, debugOnlyCmd } = services.config;
  return debug >= level && (!debugOnlyCmd || apiName(debugOnlyCmd) === apiName(cmd));
}

/**
 * The debug request line (level 188): method, command, address, and the status when the request was
 * refused before a command could run. Never the query, a body or a header. Debug output is written at
 * `info` on purpose: an operator who turned debug on wants it whatever the logger's level.
 */
export function debugRequestLine(services: Services, req: FastifyRequest, refusedWith?: number): void {
  if (services.config.debug < 188) return;
  // The path is the caller's text: a bounded piece of it is enough to tell requests apart in a log.
  const cmd = (req.url.split('?')[0] ?? '').slice(1).replace(/\/$/, '').slice(0, 100);
  if (!debugOn(services, cmd, 188)) return;
  services.logger.info(
    {
      debug: 'request',
      method: req.method,
      cmd,
      ip: clientIp(req),
      httpVersion: req.raw.httpVersion,
      ...(refusedWith ? { status: refusedWith } : {}),
    },
    `${req.method} /${cmd}`,
  );
}

/** Registers the DirectAdmin API (`/CMD_API_*` and `/CMD_*`) on a Fastify instance. */
export function registerDirectAdmin(app: FastifyInstance, services: Services): void {
  const log = services.logger;
  // CMD_LOGIN is a command key lists may name (allow it, or deny it to keep a key out of browsers).
  const catalog = withLoginCommand(daCatalog(services.registry));
  const refused = (cmd: string, ip: string, reason: string, user?: string) => {
    if (debugOn(services, cmd, 2000))
      log.info(
        { debug: 'auth', cmd: cmd.slice(0, 100), ip, ...(user !== undefined ? { user } : {}), reason },
        `login refused: ${reason}`,
      );
  };
  const sessions = sessionRoutes(services, catalog, { refused });

  /**
   * Basic authentication, or the session cookies when there is no Authorization header at all. A
   * session comes back with its row, for the CSRF check of state-changing requests.
   */
  async function authenticate(
    req: FastifyRequest,
    ip: string,
    cmd: string,
    redactor: Redactor,
  ): Promise<{ actor: Actor; session?: { csrf_token: string }; cookies?: SessionCookies } | null> {
    const basic = parseBasicAuth(req.headers.authorization);
    if (!basic && req.headers.authorization === undefined) {
      const cookies = sessionCookies(req);
      if (cookies.id !== undefined) {
        const s = await sessions.authenticate(cookies, ip, cmd);
        if (s.ok) return { actor: s.actor, session: s.session, cookies };
        refused(cmd, ip, `session_${s.reason}`);
        return null;
      }
    }
    if (!basic) {
      refused(cmd, ip, req.headers.authorization ? 'malformed' : 'no_credentials');
      return null;
    }
    redactor.secret(basic.password);
    const outcome: AuthOutcome = await verifyPasswordLogin(
      services,
      { username: basic.username, secret: basic.password, ip },
      { ip, command: cmd, browser: false, catalog },
    );
    if (outcome.ok) return { actor: outcome.actor };
    refused(cmd, ip, outcome.reason, redactor.text(outcome.username.slice(0, 64)));
    return null;
  }

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    // One route takes every path, so an anonymous caller gets the login page for any of them and learns
    // nothing about which exist. ignoreTrailingSlash does not apply to a wildcard.
    const cmd = ((req.params as { '*'?: string })['*'] ?? '').replace(/\/$/, '');
    const logCmd = cmd.slice(0, 100);
    const ip = clientIp(req);
    const redactor = new Redactor();
    let params: Params | null = null;
    const json = () => (params ? wantsJson(params) : queryWantsJson(req.url));
    debugRequestLine(services, req);
    try {
      // Login, logout and one-time login URLs are how a browser gets (or ends) a session.
      if (SESSION_PATHS.has(cmd)) return await sessions.handle(cmd, req, reply, ip, redactor);
      // Authentication comes first: an anonymous caller learns nothing, not even whether its parameters parse.
      const auth = await authenticate(req, ip, cmd, redactor);
      if (!auth) return sendUnauthorized(reply);
      const { actor } = auth;
      const rawBody = RAWSAVE_RE.test(req.url) ? (req.body as Buffer | undefined) : undefined;
      params = await readParams(
        req.url,
        req.headers['content-type'],
        rawBody ? undefined : (req.body as Buffer | undefined),
      );
      const p = params;
      if (debugOn(services, cmd, 189))
        log.info({ debug: 'params', cmd: logCmd, params: redactor.params(p) }, 'parameters');
      const found = COMMAND_RE.test(cmd) ? findDaCommand(cmd) : undefined;
      // A cross-site page can ride on a browser's session cookies, and on Basic credentials a browser
      // remembers from a prompt: every POST, and every command that may change something whatever the
      // method, must not come from another site; a session must also prove it comes from our own page
      // (its CSRF token). API clients send no Origin or Sec-Fetch-Site, so Basic requests from scripts pass.
      const changes = req.method === 'POST' || (found && commandMutates(found.command, services.registry));
      if (changes) {
        const problem =
          auth.session && auth.cookies
            ? csrfProblem(req, auth.session, p, auth.cookies)
            : crossSiteProblem(req);
        if (problem) {
          refused(cmd, ip, `csrf_${problem}`);
          return sendCsrfRefusal(reply, wantsJson(p));
        }
      }
      if (!found)
        throw new AppError('UNKNOWN_COMMAND', `${cmd.slice(0, 64)} is not a command of this server`);
      const answer = await found.command.run({ services, actor, params: p, catalog, rawBody });
      const enc = encodeAnswer(answer, wantsJson(p));
      if (debugOn(services, cmd, 189))
        log.info(
          {
            debug: 'answer',
            cmd: logCmd,
            body: logBody(encodeAnswer(redactAnswer(answer, redactor), wantsJson(p))),
          },
          'answer',
        );
      return reply.code(200).type(enc.contentType).send(enc.body);
    } catch (e) {
      if (e instanceof CredentialRejected) {
        // The key authenticated but had nothing left for this command: the same answer as a bad login.
        if (debugOn(services, cmd, 2000))
          log.info({ debug: 'auth', cmd: logCmd, ip, reason: e.reason }, `login refused: ${e.reason}`);
        return sendUnauthorized(reply);
      }
      if (isAppError(e)) {
        if (debugOn(services, cmd, 189))
          log.info(
            { debug: 'answer', cmd: logCmd, error: e.code, details: redactor.text(e.details) },
            'error answer',
          );
        return sendDaError(reply, e, json());
      }
      log.error({ err: e, cmd: logCmd }, 'unexpected error');
      return sendDaError(
        reply,
        new AppError('INTERNAL', 'The server could not complete the request; see the server log'),
        json(),
      );
    }
  }

  /** Every other method is refused before anything runs; nothing is parsed or authenticated. */
  async function refuseMethod(req: FastifyRequest, reply: FastifyReply) {
    debugRequestLine(services, req, 405);
    return sendDaError(reply, new AppError('METHOD_NOT_ALLOWED', 'Use GET or POST'), queryWantsJson(req.url));
  }

  app.get('/', async (req, reply) => {
    debugRequestLine(services, req);
    return sessions.home(req, reply, clientIp(req));
  });
  app.route({ method: ['GET', 'POST'], url: '/*', handler: handle });
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY'],
    url: '/*',
    handler: refuseMethod,
  });
  // Methods without a route of their own (PROPFIND, SEARCH, …) land here: every path has a GET route.
  app.setNotFoundHandler(refuseMethod);
}

/** An answer body for the debug log, cut short: a listing of every account would drown the log. */
function logBody(enc: { body: string }): string {
  return enc.body.length > 4000 ? `${enc.body.slice(0, 4000)}…` : enc.body;
}

/**
 * Hides the secrets of URLs an answer may carry in free text: the hash of a one-time login URL
 * (CMD_API_LOGIN_KEYS type=one_time_url answers it in `details`) and the password of `user:KEY@host`.
 */
export function hideUrlSecrets(text: string): string {
  return text
    .replace(/([?&]hash=)[^&\s]+/gi, '$1[redacted]')
    .replace(/(:\/\/[^/:@\s]*:)[^@/\s]+@/g, '$1[redacted]@');
}

/** The answer as it may be logged: fields named like secrets, and any secret the request carried, hidden. */
function redactAnswer(a: DaAnswer, r: Redactor): DaAnswer {
  switch (a.kind) {
    case 'action':
      return {
        kind: 'action',
        text: r.text(a.text),
        details: hideUrlSecrets(r.text(a.details ?? '')),
        ...(a.extra ? { extra: r.record(a.extra) } : {}),
      };
    case 'list':
      return { kind: 'list', items: a.items.map((i) => r.text(i)) };
    case 'record':
      return { kind: 'record', data: r.record(a.data) };
    case 'empty':
      return a;
    case 'text':
      return { kind: 'text', body: r.text(a.body) };
  }
}
