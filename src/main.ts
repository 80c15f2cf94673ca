import type { FastifyInstance } from 'fastify';
import { buildApps, type ListenerName } from './app.js';
import { purgeUnconsumed } from './apply/applier.js';
import { startDnsApplier } from './apply/dns-applier.js';
import { purgeStale } from './auth/bfm.js';
import { purgeHistory } from './auth/key-usage.js';
import { type Config, formatListen, type Listen } from './config/config.js';
import type { Services } from './services.js';
import {
  ensureDataDir,
  ensureTls,
  type InitResult,
  initialize,
  openServices,
  readTls,
  SetupError,
  type TlsFiles,
} from './setup.js';

export interface Server {
  services: Services;
  apps: Record<ListenerName, FastifyInstance>;
  /** Actual addresses, after binding (port 0 becomes a real port). */
  addresses: Record<ListenerName, string>;
  /** What the idempotent set-up did on this start (a generated admin password is in here). */
  setup: InitResult;
  /** Stops accepting, lets in-flight requests finish, then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Called once set-up is done and before any port is bound, so a generated admin password is shown even
   * when listening then fails (the account exists from here on; a later start would not show it again).
   */
  onSetup?: (result: InitResult) => void;
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
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
              ? 'unknown host name'
              : (e as Error).message;
    throw new SetupError(`cannot listen on ${formatListen(l)} (${name}): ${why}`);
  }
  const a = app.server.address();
  return typeof a === 'object' && a ? formatListen({ host: a.address, port: a.port }) : String(a);
}

/**
 * The only place that binds ports: builds the services and apps, runs idempotent set-up, and listens on
 * every configured address. Every start-up failure is a SetupError or ConfigError with one line for the
 * operator; whatever was opened before it is closed again.
 */
export async function startServer(
  config: Config,
  services?: Services,
  options: StartOptions = {},
): Promise<Server> {
  ensureDataDir(config.dataDir);
  const svc = services ?? (await openServices(config));
  const started: FastifyInstance[] = [];
  try {
    // The certificate is checked before the admin account is made, so a refused start creates nothing
    // whose one-time password would be lost.
    let tlsCreated = false;
    let tls: TlsFiles | null = null;
    if (config.tls) {
      tlsCreated = await ensureTls(config);
      tls = readTls(config);
    }
    const setup = { ...(await initialize(svc, undefined, { tls: false })), tlsCreated };
    options.onSetup?.(setup);
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
    // After listening, so a start that fails to bind has touched no BIND file.
    await startDnsApplier(config, svc.applier, svc.logger);
    svc.cluster.pusher.start();
    // Brute-force counters that hold nothing any more, credential history older than
    // credentialHistoryDays and outbox events nothing here consumes go once an hour (and once now).
    const housekeeping = async () => {
      await purgeStale(svc.db, svc.bfm, svc.clock.now()).catch((err) =>
        svc.logger.error({ err }, 'brute-force monitor: purging old counters failed'),
      );
      const days = config.credentialHistoryDays;
      if (days > 0)
        await purgeHistory(svc.db, svc.clock.now() - days * 86_400_000).catch((err) =>
          svc.logger.error({ err }, 'purging old credential history failed'),
        );
      await purgeUnconsumed(svc.db, svc.clock.now()).catch((err) =>
        svc.logger.error({ err }, 'purging old outbox events failed'),
      );
    };
    await housekeeping();
    const bfmPurger = setInterval(() => void housekeeping(), 3_600_000);
    bfmPurger.unref();
    let closing: Promise<void> | undefined;
    const close = () => {
      // Fastify's close stops accepting at once, answers requests that arrive on open keep-alive
      // connections with 503, and resolves when the requests in flight have been answered; only then may
      // the database go.
      closing ??= (async () => {
        clearInterval(bfmPurger);
        await Promise.allSettled(started.map((a) => a.close()));
        // Requests are answered, so no more kicks come; a pass in flight finishes, pending rows wait.
        await svc.applier?.stop();
        // A push in flight finishes (bounded by clusterTimeoutSeconds); queued ones wait in the database.
        await svc.cluster.pusher.stop();
        if (!services) await svc.close();
      })();
      return closing;
    };
    return { services: svc, apps: real, addresses, setup, close };
  } catch (e) {
    await Promise.allSettled(started.map((a) => a.close()));
    if (!services) await svc.close();
    throw e;
  }
}
