import type { FastifyInstance } from 'fastify';
import { buildApps, type ListenerName } from './app.js';
import { type Config, formatListen, type Listen } from './config/config.js';
import { createServices, type Services } from './services.js';
import { ensureDataDir, initialize, readTls, SetupError } from './setup.js';

export interface Server {
  services: Services;
  apps: Record<ListenerName, FastifyInstance>;
  /** Actual addresses, after binding (port 0 becomes a real port). */
  addresses: Record<ListenerName, string>;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance, name: string, l: Listen): Promise<string> {
  try {
    await app.listen({ host: l.host, port: l.port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the address is already in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : (e as Error).message;
    throw new SetupError(`cannot listen on ${formatListen(l)} (${name}): ${why}`);
  }
  const a = app.server.address();
  return typeof a === 'object' && a ? formatListen({ host: a.address, port: a.port }) : String(a);
}

/**
 * The only place that binds ports: builds the services and apps, runs idempotent set-up, and listens on
 * every configured address. Closing stops accepting, lets in-flight requests finish, then closes the
 * database.
 */
export async function startServer(config: Config, services?: Services): Promise<Server> {
  ensureDataDir(config.dataDir);
  const svc = services ?? (await createServices(config));
  let started: FastifyInstance[] = [];
  try {
    await initialize(svc);
    const tls = config.tls ? readTls(config) : null;
    const real = buildApps(svc, tls);
    const addresses = {} as Record<ListenerName, string>;
    const listeners: [ListenerName, Listen][] = [
      ['da', config.daListen],
      ['cpanel', config.cpanelListen],
      ['webmail', config.webmailListen],
      ['whm', config.whmListen],
    ];
    for (const [name, l] of listeners) {
      addresses[name] = await listen(real[name], name, l);
      started.push(real[name]);
    }
    const close = async () => {
      await Promise.allSettled(started.map((a) => a.close()));
      started = [];
      if (!services) await svc.close();
    };
    return { services: svc, apps: real, addresses, close };
  } catch (e) {
    await Promise.allSettled(started.map((a) => a.close()));
    if (!services) await svc.close();
    throw e;
  }
}
