import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import type { DB, Db } from './database.js';
import { registerGeneration, WriteCounter } from './hot-query.js';
import { migrations } from './migrations/index.js';

// PostgreSQL returns int8 as strings to protect precision; our bigints are millisecond timestamps and
// counters, far inside the safe-integer range, so read them as numbers like SQLite does.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface ConnectOptions {
  url: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** PostgreSQL only: a schema to create and use (tests give each database its own). */
  schema?: string;
  poolSize?: number;
}

export interface Connection {
  db: Db;
  dialect: 'sqlite' | 'postgres';
  /** PostgreSQL schema holding the tables (and the migration bookkeeping). */
  schema?: string;
  close(): Promise<void>;
}

/** Opens the database named by `url` (`sqlite:PATH`, `sqlite::memory:` or `postgres://…`). */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  if (opts.url.startsWith('sqlite:')) {
    const path = opts.url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${opts.sqliteSynchronous ?? 'FULL'}`);
    sqlite.pragma('foreign_keys = ON');
    // Concurrent writers from a second process (CLI beside the server) wait instead of failing at once.
    sqlite.pragma('busy_timeout = 5000');
    const writes = new WriteCounter();
    const db = new Kysely<DB>({
      dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
      plugins: [writes],
    });
    // data_version moves when another connection (the CLI, another process) commits; our own writes are
    // counted by the plugin. Together they tell hot reads when a memoised answer may be stale.
    const dataVersion = sqlite.prepare('pragma data_version').pluck();
    let lastVersion = dataVersion.get();
    // Reading data_version takes SQLite's file locks (about 15 µs, more than a whole memoised request),
    // so it is read once per turn of the event loop. A commit of another process that has completed
    // before a request's bytes arrive is seen by that request: the request is read in a later turn,
    // after its socket was reported readable, and that turn reads data_version anew.
    let versionThisTurn: unknown;
    const clearVersion = () => {
      versionThisTurn = undefined;
    };
    const currentVersion = () => {
      if (versionThisTurn === undefined) {
        versionThisTurn = dataVersion.get();
        setImmediate(clearVersion);
      }
      return versionThisTurn;
    };
    registerGeneration(
      db,
      (channels) => {
        const v = currentVersion();
        if (v !== lastVersion) {
          lastVersion = v;
          writes.changedEverywhere();
        }
        return writes.generation(channels);
      },
      writes,
    );
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  if (opts.schema) {
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error('invalid schema name');
    const c = await pool.connect();
    try {
      await c.query(`create schema if not exists ${opts.schema}`);
    } finally {
      c.release();
    }
  } else {
    // Fail now, with the driver's reason, rather than on the first request.
    const c = await pool.connect();
    c.release();
  }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', schema: opts.schema ?? 'public', close: () => db.destroy() };
}

/**
 * SQL that opens a write transaction on SQLite. Kysely's driver says plain BEGIN, a deferred transaction
 * that takes the write lock only at its first write. When another process (the CLI beside the server)
 * commits between that transaction's first read and its first write, SQLite cannot move the transaction
 * to the newer snapshot and fails it at once with "database is locked": busy_timeout does not apply. BEGIN
 * IMMEDIATE takes the write lock first, waiting up to busy_timeout for it, so the transaction reads the
 * newest data and cannot be refused half-way. Within one process every statement already goes through
 * one connection, so nothing is serialised that was not before.
 */
export const SQLITE_BEGIN = 'begin immediate';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(SQLITE_BEGIN));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * Kysely asks better-sqlite3 to prepare every statement anew, and preparing (parsing and planning the
 * SQL) costs more than running these small indexed queries. Statements are reusable, so keep the most
 * recently prepared ones by SQL text. Kysely runs each statement to completion synchronously, so a
 * cached statement is never in use twice at once.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (source: string): SQLite.Statement => {
    // A hit is not moved to the end of the Map: re-inserting cost more than the occasional re-prepare
    // of a hot statement evicted as the oldest.
    let st = cache.get(source);
    if (st) return st;
    st = sqlite.prepare(source);
    if (cache.size >= max) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(source, st);
    return st;
  };
  // Methods are bound once: Kysely reads them on every query, and binding anew each time made this proxy
  // one of the costliest frames of a request.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return prepare;
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      let b = bound.get(prop);
      if (b === undefined) {
        b = v.bind(target);
        bound.set(prop, b);
      }
      return b;
    },
  });
}

/** The advisory lock key under which hostdeck changes schemas on PostgreSQL (see migrateToLatest). */
export const SCHEMA_LOCK = 727_368_701;

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Runs every pending migration; throws with the failing migration's error. On PostgreSQL the migration
 * tables live in the connection's own schema: without it Kysely looks for its lock table in any schema
 * of the database and trips over another installation's.
 */
export async function migrateToLatest(db: Db, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  // Kysely's migrator reads the catalog of the whole database; DDL in another schema at the same moment
  // (another installation migrating or being dropped) makes those reads fail. One advisory lock, held on
  // its own connection, serialises schema changes across every process sharing the server.
  const { error, results } =
    schema === undefined
      ? await migrator.migrateToLatest()
      : await db.connection().execute(async (conn) => {
          await sql`select pg_advisory_lock(${SCHEMA_LOCK})`.execute(conn);
          try {
            return await migrator.migrateToLatest();
          } finally {
            await sql`select pg_advisory_unlock(${SCHEMA_LOCK})`.execute(conn);
          }
        });
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(
      `migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? String(error)}`,
    );
  }
}
