import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Config } from './config/config.js';
import { AppError, ERRORS } from './core/errors.js';
import { encodeError } from './protocols/directadmin/encode.js';
import { registerDirectAdmin } from './protocols/directadmin/router.js';
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
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustedProxies.length ? config.trustedProxies : false,
    // HTTP/1.0 clients (DirectAdmin's own HTTPSocket) and slow script clients are ordinary here.
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    requestTimeout: 120_000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ...(tls ? { https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' } } : {}),
  } as FastifyServerOptions & { https?: object };
}

/** Every body is read as raw bytes; each protocol adapter decides how to parse it (DA sniffs JSON). */
function rawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );
}

function daApp(config: Config, services: Services, tls: TlsFiles | null): FastifyInstance {
  const app = Fastify(baseOptions(config, services, tls, 'da'));
  rawBodies(app);
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) services.logger.error({ err }, 'unexpected error');
    const e = new AppError(
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST',
      status === 500 ? '' : err.message,
    );
    const enc = encodeError(e.text, e.details, false);
    return reply.code(status).type(enc.contentType).send(enc.body);
  });
  app.setNotFoundHandler((_req, reply) => {
    const enc = encodeError(ERRORS.UNKNOWN_COMMAND.text, 'No such page', false);
    return reply.code(404).type(enc.contentType).send(enc.body);
  });
  registerDirectAdmin(app, services);
  return app;
}

/** A listener whose protocol is not served yet answers every request with a clear 501 in cPanel's JSON shape. */
function pendingApp(
  config: Config,
  services: Services,
  tls: TlsFiles | null,
  name: ListenerName,
): FastifyInstance {
  const app = Fastify(baseOptions(config, services, tls, name));
  rawBodies(app);
  const body = JSON.stringify({
    data: null,
    errors: [`The ${name} API is not implemented yet on this server`],
    messages: null,
    metadata: {},
    status: 0,
    warnings: null,
  });
  app.all('/*', async (_req, reply) => reply.code(501).type('application/json').send(body));
  return app;
}

/** Builds the Fastify instances of every listener; nothing listens until main.ts says so. */
export function buildApps(services: Services, tls: TlsFiles | null): Apps {
  const c = services.config;
  return {
    da: daApp(c, services, tls),
    cpanel: pendingApp(c, services, tls, 'cpanel'),
    webmail: pendingApp(c, services, tls, 'webmail'),
    whm: pendingApp(c, services, tls, 'whm'),
  };
}
