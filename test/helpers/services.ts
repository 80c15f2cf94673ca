import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Actor } from '../../src/auth/actor.js';
import { TEST_HASHER } from '../../src/auth/passwords.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { type Clock, ManualClock } from '../../src/core/clock.js';
import { SCHEMA_LOCK } from '../../src/db/connect.js';
import type { Account } from '../../src/db/database.js';
import { createServices, type Services } from '../../src/services.js';
import { initialize } from '../../src/setup.js';

/** Which database the suite runs on: `HOSTDECK_TEST_DB=postgres` switches every database test to PostgreSQL. */
export const TEST_DB = process.env.HOSTDECK_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
export const TEST_PG_URL = process.env.HOSTDECK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const ADMIN_PASSWORD = 'Admin-Pass-1234';

export interface TestEnv {
  services: Services;
  config: Config;
  dataDir: string;
  clock: Clock;
  close(): Promise<void>;
}

export interface TestEnvOptions {
  /** Settings to override (as config keys), e.g. { bfmIpThreshold: 3 }. */
  settings?: Partial<Record<keyof Config, unknown>>;
  /** Use a manual clock (tests that move time). */
  manualClock?: boolean;
  /** Skip creating the admin account. */
  empty?: boolean;
  /**
   * Log at `debug` into this array, one JSON line per entry, so a test can read exactly what was logged
   * (pino writes each line synchronously to an object with write(); nothing is buffered or lost).
   */
  logLines?: string[];
}

/**
 * A fresh installation for one test: a temporary data directory and a new database (an SQLite file, or
 * a PostgreSQL schema of its own), every migration run from empty, the admin account created with
 * ADMIN_PASSWORD, and a fast password hasher.
 */
export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-test-'));
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const env: NodeJS.ProcessEnv = {
    HOSTDECK_DATA_DIR: dataDir,
    DATABASE_URL: TEST_DB === 'postgres' ? TEST_PG_URL : `sqlite:${join(dataDir, 'hostdeck.sqlite')}`,
    HOSTDECK_HOSTNAME: 'panel.example.net',
    HOSTDECK_SQLITE_SYNCHRONOUS: 'NORMAL',
  };
  const config = loadConfig({ env, flags: opts.settings ?? {} });
  const clock = opts.manualClock ? new ManualClock(Date.UTC(2026, 10, 25, 12)) : undefined;
  const services = await createServices(config, {
    hasher: TEST_HASHER,
    logger: opts.logLines
      ? pino({ level: 'debug' }, { write: (line: string) => void opts.logLines?.push(line) })
      : pino({ level: process.env.HOSTDECK_TEST_LOG ? 'debug' : 'silent' }),
    ...(clock ? { clock } : {}),
    ...(TEST_DB === 'postgres' ? { pgSchema: schema } : {}),
  });
  if (!opts.empty) await initialize(services, ADMIN_PASSWORD);
  return {
    services,
    config,
    dataDir,
    clock: services.clock,
    async close() {
      await services.close();
      if (TEST_DB === 'postgres') {
        const c = new pg.Client({ connectionString: TEST_PG_URL });
        await c.connect();
        // Under the lock migrations take, so no migration reads the catalog while this schema goes.
        await c.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK]);
        await c.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every row of every table except the append-only audit log, for "nothing changed" assertions. */
export async function snapshot(services: Services): Promise<string> {
  const tables = ['accounts', 'packages', 'domains', 'outbox'] as const;
  const out: Record<string, unknown[]> = {};
  for (const t of tables)
    out[t] = await services.db
      .selectFrom(t)
      .selectAll()
      .orderBy(t === 'outbox' ? 'id' : 'id')
      .execute();
  return JSON.stringify(out);
}

/** How many lookups of a presented key or token (keyed digests of its value) `work` caused. */
export async function lookupsDuring(
  env: { services: Services },
  work: () => Promise<unknown>,
): Promise<number> {
  const services = env.services as { keyDigest: (v: string) => string };
  const real = services.keyDigest;
  let n = 0;
  services.keyDigest = (v) => {
    n++;
    return real(v);
  };
  try {
    await work();
  } finally {
    services.keyDigest = real;
  }
  return n;
}

/** The actor of `account` logged in with its own password from 127.0.0.1, for calling services directly. */
export function passwordActor(account: Account): Actor {
  return { account, authenticated: account, credential: { kind: 'password', id: '' }, ip: '127.0.0.1' };
}
