import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Config } from './config/config.js';
import { AppError } from './core/errors.js';
import { cpanelServerOptions, registerCpanel } from './protocols/cpanel/router.js';
import { registerWhm, whmServerOptions } from './protocols/cpanel/whm/router.js';
import { encodeError } from './protocols/directadmin/encode.js';
import {
  debugRequestLine,
  queryWantsJson,
  registerDirectAdmin,
  sendDaError,
} from './protocols/directadmin/router.js';
import { coalesceWrites } from './protocols/write-coalescing.js';
import type { Services } from './services.js';
import type { TlsFiles } from './setup.js';

export type ListenerName = 'da' | 'cpanel' | 'webmail' | 'whm';

export interface Apps {
  da: FastifyInstance;
  cpanel: FastifyInstance;
  webmail: FastifyInstance;
  whm: FastifyInstance;
}

/** Body size cap for every API request; larger bodies are refused before they are read. */
export const BODY_LIMIT = 1 << 20;

function baseOptions(
  config: Config,
  services: Services,
  tls: TlsFiles | null,
  name: ListenerName,
): FastifyServerOptions & { https?: object } {
  return {
    loggerInstance: services.logger.child({ listener: name }),
    // Request lines are logged by the debug mode, with secrets redacted; Fastify's own would print URLs with passwords.
    logController: new LogController({ disableRequestLogging: true }),
    // Nothing here logs through a request's own logger, and a child logger per request (with its
    // request-id binding serialised) costs every request; Fastify's few messages go to the listener's.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustedProxies.length ? config.trustedProxies : false,
    // HTTP/1.0 clients (DirectAdmin's own HTTPSocket) and slow script clients are ordinary here.
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    requestTimeout: 120_000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A client naming a domain with an installed certificate gets that certificate; others the default.
    ...(tls
      ? {
          https: {
            key: tls.key,
            cert: tls.cert,
            minVersion: 'TLSv1.2',
            SNICallback: services.certificates.callback(),
          },
        }
      : {}),
  } as FastifyServerOptions & { https?: object };
}

/** Every body is read as raw bytes; each protocol adapter decides how to parse it (DA sniffs JSON). */
function rawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );
}

/**
 * Answers a request Node's HTTP parser refused (bad request line, raw non-ASCII bytes in the URL, headers
 * too large, too slow) in DA's url-encoded form instead of Fastify's JSON. No route ran, so the answer is
 * written on the socket, which is then closed: after a parse error the framing cannot be trusted.
 */
function daClientError(services: Services) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, e] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, new AppError('BAD_REQUEST', 'The request did not arrive in time')]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, new AppError('PAYLOAD_TOO_LARGE', 'The request headers are too large')]
          : err.code === 'HPE_INVALID_URL'
            ? [
                400,
                new AppError(
                  'BAD_REQUEST',
                  'The URL holds bytes that are not allowed: percent-encode the query as UTF-8 (%C3%A9)',
                ),
              ]
            : [400, new AppError('BAD_REQUEST', 'The request is not valid HTTP')];
    // err.rawPacket holds the request as sent, Authorization included: only the code is logged.
    if (services.config.debug >= 188)
      services.logger.info({ debug: 'request', error: err.code }, 'refused request');
    const enc = encodeError(e.text, e.details, false);
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${enc.contentType}\r\n` +
          `Content-Length: ${Buffer.byteLength(enc.body)}\r\nConnection: close\r\n\r\n${enc.body}`,
      );
    socket.destroy();
  };
}

function daApp(config: Config, services: Services, tls: TlsFiles | null): FastifyInstance {
  const app = Fastify({
    ...baseOptions(config, services, tls, 'da'),
    clientErrorHandler: daClientError(services),
    // A path that is not valid percent-encoded UTF-8 would otherwise get Fastify's JSON answer.
    frameworkErrors: (err, req, reply) => {
      const e =
        err.code === 'FST_ERR_BAD_URL'
          ? new AppError('BAD_REQUEST', 'The path is not valid percent-encoded UTF-8')
          : new AppError('BAD_REQUEST', 'The request could not be routed');
      debugRequestLine(services, req, 400);
      return sendDaError(reply, e, queryWantsJson(req.url), 400);
    },
  });
  rawBodies(app);
  // Errors raised by Fastify before a handler runs: mostly a body over BODY_LIMIT or a Content-Length
  // that does not match the body. The parameters were never read, so only the query can ask for JSON.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) services.logger.error({ err }, 'unexpected error');
    debugRequestLine(services, req, status);
    const e = new AppError(
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST',
      status === 413
        ? `The body may be at most ${BODY_LIMIT} bytes`
        : status === 500
          ? 'The server could not complete the request; see the server log'
          : err.message,
    );
    // An unexpected error is answered like one inside a command: legacy clients read it from a 200.
    return sendDaError(reply, e, queryWantsJson(req.url), status === 500 ? undefined : status);
  });
  registerDirectAdmin(app, services);
  return app;
}

/** The WHM API 1 listener (2087): transport failures and oversized bodies are answered in WHM's JSON. */
function whmApp(config: Config, services: Services, tls: TlsFiles | null): FastifyInstance {
  const app = Fastify({ ...baseOptions(config, services, tls, 'whm'), ...whmServerOptions(services) });
  rawBodies(app);
  registerWhm(app, services);
  return app;
}

/** The cPanel user API (2083) or webmail (2096) listener: every failure is answered in cPanel's JSON. */
function cpanelApp(
  config: Config,
  services: Services,
  tls: TlsFiles | null,
  name: 'cpanel' | 'webmail',
): FastifyInstance {
  const app = Fastify({ ...baseOptions(config, services, tls, name), ...cpanelServerOptions(services) });
  rawBodies(app);
  registerCpanel(app, services, name);
  return app;
}

/** Builds the Fastify instances of every listener; nothing listens until main.ts says so. */
export function buildApps(services: Services, tls: TlsFiles | null): Apps {
  const c = services.config;
  const apps = {
    da: daApp(c, services, tls),
    cpanel: cpanelApp(c, services, tls, 'cpanel'),
    webmail: cpanelApp(c, services, tls, 'webmail'),
    whm: whmApp(c, services, tls),
  };
  coalesceWrites(Object.values(apps));
  return apps;
}
