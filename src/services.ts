import { type Logger, pino } from 'pino';
import type { Applier } from './apply/applier.js';
import { createDnsApplier } from './apply/dns-applier.js';
import type { BfmPolicy } from './auth/bfm.js';
import { CredentialCache } from './auth/credential-cache.js';
import { KeyUsageRecorder } from './auth/key-usage.js';
import {
  createPasswordHasher,
  type HasherOptions,
  type PasswordHasher,
  PRODUCTION_HASHER,
} from './auth/passwords.js';
import { keyDigester, loadSecret } from './auth/secret.js';
import type { Config } from './config/config.js';
import { type Clock, systemClock } from './core/clock.js';
import { cryptoRandom, type Random } from './core/random.js';
import { type Connection, connect, migrateToLatest } from './db/connect.js';
import type { Db } from './db/database.js';
import { WriteBatcher } from './db/write-batch.js';
import { accountCommands } from './modules/accounts/accounts.commands.js';
import { clusterCommands } from './modules/cluster/cluster.commands.js';
import { Pusher } from './modules/cluster/pusher.js';
import { type SecretBox, secretBox } from './modules/cluster/secret-box.js';
import { dnsCommands } from './modules/dns/dns.commands.js';
import { domainCommands } from './modules/domains/domains.commands.js';
import { keyCommands } from './modules/keys/keys.commands.js';
import { packageCommands } from './modules/packages/packages.commands.js';
import { CertificateCache } from './modules/ssl/sni.js';
import { sslCommands } from './modules/ssl/ssl.commands.js';
import { tokenCommands } from './modules/tokens/tokens.commands.js';
import { whmCommands } from './protocols/cpanel/whm/commands.js';
import { Registry } from './registry/registry.js';

/** Everything the server and the CLI share, built once. No module keeps its own global state. */
export interface Services {
  config: Config;
  db: Db;
  dialect: 'sqlite' | 'postgres';
  clock: Clock;
  random: Random;
  hasher: PasswordHasher;
  logger: Logger;
  registry: Registry;
  credentialCache: CredentialCache;
  bfm: BfmPolicy;
  /** The stored (keyed) digest of a login-key value. */
  keyDigest(value: string): string;
  keyUsage: KeyUsageRecorder;
  /** Group commit for small guarded writes (SQLite only; null on PostgreSQL). */
  writeBatch: WriteBatcher | null;
  /**
   * Group commit for DNS record changes, each in its own savepoint (SQLite only; null on PostgreSQL,
   * where each change has its own transaction).
   */
  dnsBatch: WriteBatcher | null;
  /**
   * Writes zone files and reloads BIND from the outbox (absent when `dnsApply` is OFF). Call `kick()`
   * after committing a zone change; the server starts it (see apply/dns-applier.ts), elsewhere kicks are ignored.
   */
  applier?: Applier;
  /** Installed certificates as TLS contexts for SNI; the SSL module invalidates it on every change. */
  certificates: CertificateCache;
  /**
   * The DNS cluster's master role: the box that seals remote servers' login keys, and the pusher that
   * sends queued zone changes (started by the server; elsewhere its kicks are ignored).
   */
  cluster: { box: SecretBox; pusher: Pusher };
  close(): Promise<void>;
}

export interface ServiceOverrides {
  clock?: Clock;
  random?: Random;
  hasher?: HasherOptions;
  logger?: Logger;
  /** PostgreSQL schema to use (tests isolate each database in its own schema). */
  pgSchema?: string;
}

/** The registry with every module's commands. */
export function buildRegistry(): Registry {
  const r = new Registry();
  r.register(
    ...accountCommands,
    ...packageCommands,
    ...keyCommands,
    ...domainCommands,
    ...dnsCommands,
    ...tokenCommands,
    ...whmCommands,
    ...sslCommands,
    ...clusterCommands,
  );
  return r;
}

/** Opens the database, runs migrations and builds the Services object. */
export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const conn: Connection = await connect({
    url: config.databaseUrl,
    sqliteSynchronous: config.sqliteSynchronous,
    ...(overrides.pgSchema ? { schema: overrides.pgSchema } : {}),
  });
  try {
    await migrateToLatest(conn.db, conn.schema);
  } catch (e) {
    await conn.close();
    throw e;
  }
  const hasherOpts = overrides.hasher ?? {
    ...PRODUCTION_HASHER,
    memoryKiB: config.passwordHashMemoryKiB,
    timeCost: config.passwordHashTimeCost,
  };
  let secret: Buffer;
  try {
    secret = loadSecret(config.dataDir, config.secret || undefined);
  } catch (e) {
    await conn.close();
    throw e;
  }
  const logger = overrides.logger ?? pino({ level: config.debug > 0 ? 'debug' : 'info' });
  const keyUsage = new KeyUsageRecorder(conn.db, logger);
  const clock = overrides.clock ?? systemClock;
  const applier = createDnsApplier(config, conn.db, conn.dialect, logger, clock);
  const box = secretBox(secret);
  const pusher = new Pusher({ db: conn.db, config, logger, clock, box });
  return {
    config,
    db: conn.db,
    dialect: conn.dialect,
    clock,
    random: overrides.random ?? cryptoRandom,
    hasher: createPasswordHasher(hasherOpts),
    logger,
    registry: buildRegistry(),
    credentialCache: new CredentialCache(config.credentialCacheSeconds * 1000),
    bfm: {
      ipThreshold: config.bfmIpThreshold,
      accountThreshold: config.bfmAccountThreshold,
      windowMs: config.bfmWindowSeconds * 1000,
      blockMs: config.bfmBlockSeconds * 1000,
      whitelist: new Set(config.bfmWhitelist),
    },
    keyDigest: keyDigester(secret),
    keyUsage,
    writeBatch: conn.dialect === 'sqlite' ? new WriteBatcher(conn.db) : null,
    dnsBatch: conn.dialect === 'sqlite' ? new WriteBatcher(conn.db, { savepoints: true }) : null,
    ...(applier ? { applier } : {}),
    certificates: new CertificateCache(conn.db, clock, logger),
    cluster: { box, pusher },
    close: async () => {
      await applier?.stop();
      await pusher.stop();
      await keyUsage.flush();
      await conn.close();
    },
  };
}
