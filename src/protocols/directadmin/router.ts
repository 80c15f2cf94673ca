import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../auth/actor.js';
import { type AuthOutcome, verifyPasswordLogin } from '../../auth/verify.js';
import { AppError, ERRORS, isAppError } from '../../core/errors.js';
import type { Services } from '../../services.js';
import { clientIp, parseBasicAuth, redactParams } from '../http.js';
import { type Params, readParams } from '../params.js';
import { findDaCommand } from './commands.js';
import { encodeAnswer, encodeError } from './encode.js';

// Clients recognise a refused login by this header and by the login page's title (spec §1.5), so the
// page keeps DirectAdmin's title.
const LOGIN_PAGE =
  '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>DirectAdmin Login</title></head>' +
  '<body><h1>hostdeck</h1><form action="/CMD_LOGIN" method="POST">' +
  '<input type="hidden" name="referer" value="/">' +
  '<label>Username <input name="username" autocomplete="username"></label> ' +
  '<label>Password <input type="password" name="password" autocomplete="current-password"></label> ' +
  '<button type="submit">Login</button></form></body></html>\n';

const COMMAND_RE = /^CMD_[A-Z0-9_]{1,64}$/;

function wantsJson(params: Params | null): boolean {
  return params?.get('json')?.toLowerCase() === 'yes';
}

function sendUnauthorized(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('X-DirectAdmin', 'Unauthorized')
    .header('WWW-Authenticate', 'Basic realm="hostdeck"')
    .type('text/html; charset=utf-8')
    .send(LOGIN_PAGE);
}

/**
 * Sends an AppError in DA form. Legacy answers keep HTTP 200 for ordinary failures (clients such as
 * Roundcube read `error=1` only from a 200), except for refusals a caller must not mistake for a result;
 * JSON answers carry the table's status, since JSON clients treat any 2xx as success.
 */
function sendError(reply: FastifyReply, e: AppError, json: boolean): FastifyReply {
  const enc = encodeError(e.text, e.details, json);
  const keepStatus =
    json || e.status === 403 || e.status === 404 || e.status === 405 || e.status === 413 || e.status === 501;
  return reply
    .code(keepStatus ? e.status : 200)
    .type(enc.contentType)
    .send(enc.body);
}

/** Registers the DirectAdmin API (`/CMD_API_*` and `/CMD_*`) on a Fastify instance. */
export function registerDirectAdmin(app: FastifyInstance, services: Services): void {
  const debug = services.config.debug;
  const only = services.config.debugOnlyCmd;
  const log = services.logger;
  const shouldLog = (cmd: string) => debug > 0 && (!only || only === cmd);

  async function authenticate(req: FastifyRequest, ip: string, cmd: string): Promise<Actor | null> {
    const basic = parseBasicAuth(req.headers.authorization);
    if (!basic) return null;
    const outcome: AuthOutcome = await verifyPasswordLogin(services, {
      username: basic.username,
      secret: basic.password,
      ip,
    });
    if (outcome.ok) return outcome.actor;
    if (debug >= 2000 && shouldLog(cmd))
      log.info(
        { debug: 'auth', cmd, ip, user: outcome.username, reason: outcome.reason },
        `login refused: ${outcome.reason}`,
      );
    return null;
  }

  async function handle(req: FastifyRequest<{ Params: { cmd: string } }>, reply: FastifyReply) {
    const cmd = req.params.cmd;
    const ip = clientIp(req);
    let params: Params | null = null;
    // Before the parameters parse, the query string alone says whether the caller wants JSON.
    const json = () => (params ? wantsJson(params) : /[?&]json=yes(?:&|$)/i.test(req.url));
    if (shouldLog(cmd) && debug >= 188)
      log.info(
        { debug: 'request', method: req.method, cmd, ip, httpVersion: req.raw.httpVersion },
        `${req.method} /${cmd}`,
      );
    try {
      // Authentication comes first: an anonymous caller learns nothing, not even whether its parameters parse.
      const actor = await authenticate(req, ip, cmd);
      if (!actor) return sendUnauthorized(reply);
      params = await readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
      if (shouldLog(cmd) && debug > 188)
        log.info({ debug: 'params', cmd, params: redactParams(params.toRecord()) }, 'parameters');
      const found = COMMAND_RE.test(cmd) ? findDaCommand(cmd) : undefined;
      if (!found)
        throw new AppError('UNKNOWN_COMMAND', `${cmd.slice(0, 64)} is not a command of this server`);
      const answer = await found.command.run({ services, actor, params });
      const enc = encodeAnswer(answer, wantsJson(params));
      if (shouldLog(cmd) && debug > 188)
        log.info({ debug: 'answer', cmd, body: redactBody(enc.body) }, 'answer');
      return reply.code(200).type(enc.contentType).send(enc.body);
    } catch (e) {
      if (isAppError(e)) {
        if (shouldLog(cmd) && debug > 188)
          log.info({ debug: 'answer', cmd, error: e.code, details: e.details }, 'error answer');
        return sendError(reply, e, json());
      }
      log.error({ err: e, cmd }, 'unexpected error');
      return sendError(
        reply,
        new AppError('INTERNAL', 'The server could not complete the request; see the server log'),
        json(),
      );
    }
  }

  app.route({ method: ['GET', 'POST'], url: '/:cmd', handler: handle });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY'],
    url: '/*',
    handler: async (_req, reply) => {
      const enc = encodeError(ERRORS.METHOD_NOT_ALLOWED.text, 'Use GET or POST', false);
      return reply.code(405).header('Allow', 'GET, HEAD, POST').type(enc.contentType).send(enc.body);
    },
  });
}

function redactBody(body: string): string {
  const cut = body.length > 4000 ? `${body.slice(0, 4000)}…` : body;
  return cut.replace(
    /((?:^|&|")(?:[^=&"]*(?:pass|key|token|secret|hash)[^=&"]*)(?:=|":"))[^&"]*/gi,
    '$1[redacted]',
  );
}
