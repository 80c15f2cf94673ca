import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { CredentialRejected } from '../../../auth/actor.js';
import { AppError, isAppError } from '../../../core/errors.js';
import type { Services } from '../../../services.js';
import { clientIp, Redactor } from '../../http.js';
import { readParams } from '../../params.js';
import { effectiveAcls } from '../whm-acls.js';
import { authenticateWhm, sendRefusal } from './auth.js';
import {
  JSON_TYPE,
  sendAccessDenied,
  sendWhmError,
  unknownFunction,
  whmBody,
  whmErrorStatus,
  whmReason,
} from './envelope.js';
import { checkAcl, findWhmFunction } from './functions.js';

// cpsrvd strips a leading session segment (`/cpsess0123456789/`) before routing; clients that log in by
// session keep it in every URL.
const SESSION_PREFIX_RE = /^\/cpsess[A-Za-z0-9_]{1,64}(?=\/)/;
/** The WHM parameters that carry a password or a token value. */
const SECRET_PARAMS = new Set(['password', 'pass', 'passwd', 'token']);
const FUNCTION_RE = /^\/json-api\/([A-Za-z0-9_]{1,64})\/?$/;

/** The function name of a request path, `''` for the bare `/json-api/`, null for any other path. */
function functionOf(url: string): string | null {
  const path = (url.split('?')[0] ?? '').replace(SESSION_PREFIX_RE, '');
  const m = FUNCTION_RE.exec(path);
  if (m) return m[1] as string;
  return /^\/json-api\/?$/.test(path) ? '' : null;
}

/**
 * Answers a request Node's HTTP parser refused (bad request line, headers too large, too slow) with a WHM
 * failure body. No route ran, so it is written on the socket, which is then closed: after a parse error
 * the framing cannot be trusted.
 */
function whmClientError(services: Services) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, reason] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request did not arrive in time']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'The request headers are too large']
          : err.code === 'HPE_INVALID_URL'
            ? [400, 'The URL holds bytes that are not allowed: percent-encode the query as UTF-8']
            : [400, 'The request is not valid HTTP'];
    // err.rawPacket holds the request as sent, Authorization included: only the code is logged.
    if (services.config.debug >= 188) services.logger.info({ error: err.code }, 'refused WHM request');
    const body = whmBody('', 0, reason);
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${JSON_TYPE}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    socket.destroy();
  };
}

/** Server options of the WHM listener: transport failures answered in WHM's JSON, not Fastify's. */
export function whmServerOptions(services: Services): Partial<FastifyServerOptions> {
  return {
    clientErrorHandler: whmClientError(services),
    frameworkErrors: (err, _req, reply) => {
      const reason =
        err.code === 'FST_ERR_BAD_URL'
          ? 'The path is not valid percent-encoded UTF-8'
          : 'The request could not be routed';
      return sendWhmError(reply, '', new AppError('BAD_REQUEST', reason), 400);
    },
  };
}

/**
 * Makes a credential's `spend` run at most once per request: a WHM function may run several registry
 * commands (a listing reads each account), and the request is still one use of a limited credential.
 */
function spendOnce(spend: (() => Promise<void>) | undefined): (() => Promise<void>) | undefined {
  if (!spend) return undefined;
  let spent: Promise<void> | undefined;
  return () => {
    spent ??= spend();
    return spent;
  };
}

/** Registers WHM API 1 (`/json-api/<function>`, GET and POST) on a Fastify instance. */
export function registerWhm(app: FastifyInstance, services: Services): void {
  const log = services.logger;
  const debugRefusal = (ip: string, reason: string, user?: string) => {
    if (services.config.debug >= 2000)
      log.info(
        { debug: 'auth', listener: 'whm', ip, reason, ...(user ? { user } : {}) },
        'WHM login refused',
      );
  };

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    const fn = functionOf(req.url);
    const command = fn ?? '';
    const ip = clientIp(req);
    const redactor = new Redactor();
    // Debug level 188 logs request lines as on the DirectAdmin listener: never the query, body or headers.
    if (services.config.debug >= 188)
      log.info(
        { debug: 'request', listener: 'whm', method: req.method, function: command.slice(0, 64), ip },
        `${req.method} /json-api/${command.slice(0, 64)}`,
      );
    try {
      // Authentication comes first: an anonymous caller learns nothing, not even which paths exist.
      const auth = await authenticateWhm(services, req);
      if (!auth.ok) {
        debugRefusal(ip, auth.reason);
        return sendRefusal(reply, auth);
      }
      if (fn === null)
        throw new AppError('UNKNOWN_COMMAND', 'WHM API 1 is served at /json-api/<function>?api.version=1');
      const found = fn === '' ? undefined : findWhmFunction(fn);
      if (!found) throw unknownFunction(fn);
      const acls = effectiveAcls(auth.actor.account.level, auth.tokenAcls);
      checkAcl(acls, fn);
      const params = await readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
      // Remembers the secrets a WHM request may carry, so no failure reason can echo one. (Names such as
      // token_name are not secrets and must stay readable in a reason.)
      for (const k of params.keys())
        if (SECRET_PARAMS.has(k.toLowerCase())) for (const v of params.all(k)) redactor.secret(v);
      // Version 1 is what this adapter speaks; a client asking for the legacy format would misread it.
      const version = params.get('api.version');
      if (version !== undefined && version !== '1')
        throw new AppError(
          'INVALID_PARAMETER',
          'This server serves WHM API version 1 only: send api.version=1',
        );
      const actor = {
        ...auth.actor,
        credential: { ...auth.actor.credential, spend: spendOnce(auth.actor.credential.spend) },
      };
      const answer = await found.run({ services, actor, params, acls });
      return reply
        .code(200)
        .type(JSON_TYPE)
        .send(whmBody(fn, 1, answer.reason ?? 'OK', answer.data, answer.output, answer.metadata));
    } catch (e) {
      // The credential authenticated but has nothing left for this request: answered like a bad login.
      if (e instanceof CredentialRejected) {
        debugRefusal(ip, e.reason);
        return sendAccessDenied(reply);
      }
      if (isAppError(e)) {
        const status = whmErrorStatus(e);
        return reply
          .code(status)
          .type(JSON_TYPE)
          .send(whmBody(command, 0, redactor.text(whmReason(e))));
      }
      log.error({ err: e, command }, 'unexpected error');
      return sendWhmError(
        reply,
        command,
        new AppError('INTERNAL', 'The server could not complete the request; see the server log'),
      );
    }
  }

  /** Other methods are refused before anything runs: nothing is parsed or authenticated. */
  async function refuseMethod(req: FastifyRequest, reply: FastifyReply) {
    return sendWhmError(
      reply,
      functionOf(req.url) ?? '',
      new AppError('METHOD_NOT_ALLOWED', 'Use GET or POST'),
    );
  }

  app.route({ method: ['GET', 'POST'], url: '/*', handler: handle });
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY'],
    url: '/*',
    handler: refuseMethod,
  });
  app.setNotFoundHandler(refuseMethod);
  // Errors raised before a handler runs: a body over the limit, a Content-Length that does not match.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err }, 'unexpected error');
    const e =
      status === 413
        ? new AppError('PAYLOAD_TOO_LARGE', 'The body is larger than this server accepts')
        : status === 500
          ? new AppError('INTERNAL', 'The server could not complete the request; see the server log')
          : new AppError('BAD_REQUEST', err.message);
    return sendWhmError(reply, functionOf(req.url) ?? '', e, status);
  });
}
