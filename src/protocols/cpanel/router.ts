import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { type Actor, CredentialRejected } from '../../auth/actor.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { AppError, isAppError } from '../../core/errors.js';
import type { Services } from '../../services.js';
import { debugRequestLine } from '../directadmin/router.js';
import { clientIp, Redactor } from '../http.js';
import { type Params, readParams } from '../params.js';
import { API2_FUNCTIONS, functionParams } from './api2.js';
import {
  accessDeniedBody,
  authenticateCpanel,
  type CpanelAuthFailure,
  stripSessionPrefix,
  tokenMayRun,
} from './auth.js';
import { api2Failure, api2Success, uapiFailure, uapiSuccess } from './envelope.js';
import { API2_LIST_ARGS, transformList } from './transform.js';
import { UAPI_FUNCTIONS, UAPI_MODULES, uapiCatalog } from './uapi.js';

export type UserListener = 'cpanel' | 'webmail';

const JSON_TYPE = 'application/json';
const NAME_RE = /^[A-Za-z0-9_]{1,64}$/;
/** UAPI functions a webmail login may run (mailbox functions arrive with the e-mail module). */
const WEBMAIL_FUNCTIONS = new Set<string>();

function send(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type(JSON_TYPE).send(body);
}

function sendFailure(reply: FastifyReply, f: CpanelAuthFailure): FastifyReply {
  for (const [k, v] of Object.entries(f.headers)) reply.header(k, v);
  return reply.code(f.status).type(f.contentType).send(f.body);
}

/** The text a caller sees for an expected failure: the service's sentence, else the table's text. */
function errorText(e: AppError): string {
  return e.details || e.text;
}

/** Registers the cPanel user API (UAPI at /execute, API 2 at /json-api/cpanel) for 2083 or webmail 2096. */
export function registerCpanel(app: FastifyInstance, services: Services, listener: UserListener): void {
  const catalog: CommandCatalog = uapiCatalog();
  const log = services.logger;
  const debug = services.config.debug;

  /** Sends a refusal; debug level 2000 (as on the DA listener) logs why, never the secret. */
  function refused(req: FastifyRequest, reply: FastifyReply, path: string, f: CpanelAuthFailure) {
    if (debug >= 2000)
      log.info(
        { debug: 'auth', path: path.slice(0, 100), ip: clientIp(req), status: f.status, reason: f.reason },
        `login refused: ${f.reason ?? 'unknown'}`,
      );
    return sendFailure(reply, f);
  }

  /** Debug level 189: the parameters, every secret-named one hidden. */
  function debugParams(path: string, p: Params): void {
    if (debug >= 189)
      log.info({ debug: 'params', path: path.slice(0, 100), params: new Redactor().params(p) }, 'parameters');
  }

  /** Answers a request refused before it reached a function (unknown path, bad body) in UAPI JSON. */
  function refuse(reply: FastifyReply, status: number, text: string): FastifyReply {
    return send(reply, status, uapiFailure([text]));
  }

  async function params(req: FastifyRequest): Promise<Params> {
    return readParams(req.url, req.headers['content-type'], req.body as Buffer | undefined);
  }

  async function runUapi(
    req: FastifyRequest,
    reply: FastifyReply,
    actor: Actor,
    path: string,
    module: string,
    func: string,
  ): Promise<FastifyReply> {
    if (!NAME_RE.test(module) || !UAPI_MODULES.has(module))
      return send(
        reply,
        200,
        uapiFailure([
          `Failed to load module “${module.slice(0, 64)}”: The module does not exist on this server.`,
        ]),
      );
    if (!NAME_RE.test(func))
      return send(reply, 200, uapiFailure([`Illegal function name: ${func.slice(0, 64)}`]));
    const name = `${module}::${func}`;
    const fn = Object.hasOwn(UAPI_FUNCTIONS, name) ? UAPI_FUNCTIONS[name] : undefined;
    if (!fn)
      return send(
        reply,
        200,
        uapiFailure([`The system could not find the function “${func}” in the module “${module}”.`]),
      );
    if (listener === 'webmail' && !WEBMAIL_FUNCTIONS.has(name))
      return send(
        reply,
        200,
        uapiFailure([`Execution of ${name} (api version:3) is not permitted inside of webmail`]),
      );
    const gate = tokenMayRun(services, listener, path, actor, name, catalog, fn.mutates);
    if (gate) return refused(req, reply, path, gate);
    const p = await params(req);
    debugParams(path, p);
    try {
      const r = await fn.run({ services, actor, params: p, catalog });
      // Lists go through cPanel's filter, sort and paginate arguments.
      const t = Array.isArray(r.data) ? transformList(r.data, p) : null;
      const messages = [...(r.messages ?? []), ...(t?.messages ?? [])];
      return send(
        reply,
        200,
        uapiSuccess(t ? t.data : r.data, {
          metadata: { ...t?.metadata, ...r.metadata },
          messages,
          ...(r.warnings ? { warnings: r.warnings } : {}),
        }),
      );
    } catch (e) {
      if (isAppError(e)) return send(reply, 200, uapiFailure([errorText(e)]));
      throw e;
    }
  }

  async function runApi2(
    req: FastifyRequest,
    reply: FastifyReply,
    actor: Actor,
    path: string,
  ): Promise<FastifyReply> {
    const p = await params(req);
    debugParams(path, p);
    const module = p.get('cpanel_jsonapi_module') ?? '';
    const func = p.get('cpanel_jsonapi_func') ?? '';
    const version = p.get('cpanel_jsonapi_apiversion') ?? '2';
    if (version !== '2')
      return send(
        reply,
        200,
        api2Failure(
          module,
          func,
          `cPanel API version ${version.slice(0, 8)} is not served here; use 2, or UAPI at /execute.`,
        ),
      );
    // Through 2083 the account is the logged-in one; naming another is refused like a bad login.
    const user = p.get('cpanel_jsonapi_user');
    if (user !== undefined && user !== '' && user.toLowerCase() !== actor.account.username)
      return send(reply, 200, api2Failure(module, func, 'Access denied'));
    const name = `${module}::${func}`;
    const fn = Object.hasOwn(API2_FUNCTIONS, name) ? API2_FUNCTIONS[name] : undefined;
    if (!fn)
      return send(
        reply,
        200,
        api2Failure(
          module.slice(0, 64),
          func.slice(0, 64),
          `Could not find function “${func.slice(0, 64)}” in module “${module.slice(0, 64)}”.`,
        ),
      );
    const gate = tokenMayRun(services, listener, path, actor, name, catalog, fn.mutates);
    if (gate) return refused(req, reply, path, gate);
    try {
      const rows = await fn.run({ services, actor, params: functionParams(p), catalog });
      const t = transformList(rows, p, API2_LIST_ARGS);
      return send(reply, 200, api2Success(module, func, t.data, t.metadata));
    } catch (e) {
      if (isAppError(e)) return send(reply, 200, api2Failure(module, func, errorText(e)));
      throw e;
    }
  }

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    debugRequestLine(services, req);
    const q = req.url.indexOf('?');
    const path = stripSessionPrefix(q >= 0 ? req.url.slice(0, q) : req.url);
    try {
      // Authentication first: an anonymous caller learns nothing, not even whether its parameters parse.
      const auth = await authenticateCpanel(services, req, listener);
      if (!auth.ok) return refused(req, reply, path, auth);
      const exec = /^\/execute\/([^/]*)\/([^/]*)\/?$/.exec(path);
      if (exec) {
        const dec = (s: string) => {
          try {
            return decodeURIComponent(s);
          } catch {
            return s;
          }
        };
        return await runUapi(req, reply, auth.actor, path, dec(exec[1] ?? ''), dec(exec[2] ?? ''));
      }
      if (path === '/json-api/cpanel' || path === '/json-api/cpanel/') {
        if (listener === 'webmail') return refuse(reply, 404, 'API 2 is not served on the webmail port.');
        return await runApi2(req, reply, auth.actor, path);
      }
      // WHM API 1 on a cPanel port: cPanel answers "Permission denied".
      if (path.startsWith('/json-api/')) return send(reply, 403, accessDeniedBody('Permission denied'));
      return refuse(
        reply,
        404,
        'The requested page does not exist on this server: use /execute/Module/function.',
      );
    } catch (e) {
      if (e instanceof CredentialRejected) {
        // The token authenticated but had nothing left (uses, rate): the same answer as a bad credential.
        return refused(req, reply, path, { ...spentAnswer(path), reason: e.reason });
      }
      if (isAppError(e)) return refuse(reply, e.status, errorText(e));
      log.error({ err: e, path: path.slice(0, 100) }, 'unexpected error');
      return refuse(reply, 500, 'The server could not complete the request; see the server log.');
    }
  }

  /** The bad-credential answer for a token that ran out (uses, rate) once its function was known. */
  function spentAnswer(path: string): CpanelAuthFailure {
    const api2 = path === '/json-api/cpanel' || path === '/json-api/cpanel/';
    return {
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': `Basic realm="${listener === 'webmail' ? 'Webmail' : 'cPanel'}"` },
      body: api2 ? accessDeniedBody() : uapiFailure(['Access denied']),
      contentType: JSON_TYPE,
    };
  }

  async function refuseMethod(req: FastifyRequest, reply: FastifyReply) {
    debugRequestLine(services, req, 405);
    reply.header('Allow', 'GET, HEAD, POST');
    return refuse(reply, 405, 'Use GET or POST.');
  }

  app.route({ method: ['GET', 'POST'], url: '/*', handler: handle });
  app.route({ method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'], url: '/*', handler: refuseMethod });
  app.setNotFoundHandler(refuseMethod);
  // Errors Fastify raises before a handler runs: a body over the limit, a bad Content-Length.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err }, 'unexpected error');
    debugRequestLine(services, req, status);
    const e = new AppError(
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST',
      status === 413
        ? 'The request body is too large.'
        : status === 500
          ? 'The server could not complete the request; see the server log.'
          : err.message,
    );
    return refuse(reply, status, errorText(e));
  });
}

/**
 * Server options of the cPanel listeners: a request Node's HTTP parser refused, or a path that is not
 * valid percent-encoding, is answered in UAPI JSON instead of Fastify's own shape.
 */
export function cpanelServerOptions(services: Services): Partial<FastifyServerOptions> {
  return {
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, text] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'The request did not arrive in time.']
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'The request headers are too large.']
            : [400, 'The request is not valid HTTP.'];
      if (services.config.debug >= 188)
        services.logger.info({ debug: 'request', error: err.code }, 'refused request');
      const body = uapiFailure([text]);
      // No route ran and the framing cannot be trusted: answer on the socket and close it.
      if (socket.writable)
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${JSON_TYPE}\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      socket.destroy();
    },
    frameworkErrors: (err, _req, reply) =>
      send(
        reply,
        400,
        uapiFailure([
          err.code === 'FST_ERR_BAD_URL'
            ? 'The path is not valid percent-encoded UTF-8.'
            : 'The request could not be routed.',
        ]),
      ),
  };
}
