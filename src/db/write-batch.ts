import { CompiledQuery } from 'kysely';
import { SQLITE_BEGIN } from './connect.js';
import type { Db, Executor } from './database.js';

interface Item {
  run: (trx: Executor) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Member {
  arg: unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WriteBatcherOptions {
  /**
   * Run each item inside its own SAVEPOINT, rolled back when the item throws. Needed when an item runs
   * several statements (a DNS change: records, serial, outbox and audit rows), so that a failing one
   * leaves nothing of itself in the batch; a single guarded statement (a key use) does not need it.
   */
  savepoints?: boolean;
}

const BEGIN = CompiledQuery.raw(SQLITE_BEGIN);
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SAVEPOINT = CompiledQuery.raw('savepoint "item"');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint "item"');
const RELEASE = CompiledQuery.raw('release savepoint "item"');

/**
 * Group commit on SQLite. With synchronous=FULL every commit waits for an fsync, so one transaction per
 * request caps writes at a few hundred a second and queues every writer behind the disk. Writes
 * submitted while a batch commits are run one after another in the next transaction, each deciding
 * alone and exactly on what the items before it wrote, and each caller is answered only once its batch
 * is durable (a failed COMMIT rejects every item of the batch).
 *
 * A batch holds the database's single connection from BEGIN to COMMIT, so nothing else runs statements
 * in the middle of it: every other query (another request, another batcher) waits until the COMMIT. For
 * the same reason an item must use only the `trx` it is given (the held connection, inside the batch's
 * transaction: an item never opens a transaction of its own); a query on the database handle inside an
 * item would wait for the batch and never run.
 *
 * The sync stays inside COMMIT, blocking the event loop for it. Committing at synchronous=NORMAL and
 * syncing the WAL on libuv's thread pool before answering was tried and measured slower on the shared
 * two-core machine (111 against 93 µs of server CPU per DNS add, 37 against 27 µs per request of a
 * limited key): with the event loop free during the sync, requests arrive and are woken for one by one
 * instead of being read in one turn after it.
 *
 * The transaction statements go to the connection as compiled SQL, so the write counter (hot-query.ts)
 * does not take them for writes of unknown reach. Without savepoints a failing item relies on SQLite
 * keeping the transaction open after a failed statement, which is right only for items of one
 * statement. Not used on PostgreSQL, which commits concurrent transactions in parallel and groups their
 * flushes itself.
 */
export class WriteBatcher {
  private queue: Item[] = [];
  private running = false;
  /** Groups of submitGrouped still taking members, by group key. */
  private readonly groups = new Map<string, Member[]>();
  private readonly savepoints: boolean;

  constructor(
    private readonly db: Db,
    opts: WriteBatcherOptions = {},
  ) {
    this.savepoints = opts.savepoints ?? false;
  }

  /** Runs `run` inside the next batch's transaction and answers with its result once committed. */
  submit<T>(run: (trx: Executor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /**
   * Joins `arg` to the group `key` waiting for the next batch, or opens that group: the group runs as
   * one item, `run` getting the arguments of every member in the order they joined and answering with
   * one result each (in the same order). A group takes members until it starts to run; a member that
   * comes later opens the next one. For writes that many requests make to the same row (a key's uses),
   * one statement then serves them all instead of one each.
   */
  submitGrouped<A, R>(key: string, arg: A, run: (trx: Executor, args: A[]) => Promise<R[]>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const member: Member = { arg, resolve: resolve as (v: unknown) => void, reject };
      const open = this.groups.get(key);
      if (open) {
        open.push(member);
        return;
      }
      const members = [member];
      this.groups.set(key, members);
      // Closed when it starts to run, or when its batch failed before running it.
      const close = () => {
        if (this.groups.get(key) === members) this.groups.delete(key);
      };
      this.submit((trx) => {
        close();
        return run(
          trx,
          members.map((m) => m.arg as A),
        );
      }).then(
        (results) => {
          members.forEach((m, i) => {
            if (i < results.length) m.resolve(results[i]);
            else m.reject(new Error('write batch group gave no result for a member'));
          });
        },
        (error: unknown) => {
          close();
          for (const m of members) m.reject(error);
        },
      );
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let outcomes: Outcome[];
      try {
        outcomes = await this.db.connection().execute((conn) => this.write(conn, batch));
      } catch (error) {
        for (const item of batch) item.reject(error);
        continue;
      }
      batch.forEach((item, i) => {
        const o = outcomes[i];
        if (o?.ok) item.resolve(o.value);
        else item.reject(o ? o.error : new Error('write batch item did not run'));
      });
    }
    this.running = false;
  }

  /** One batch's transaction on the held connection; the items' outcomes once COMMIT has run. */
  private async write(conn: Db, batch: Item[]): Promise<Outcome[]> {
    await conn.executeQuery(BEGIN);
    const outcomes: Outcome[] = [];
    try {
      for (const item of batch) {
        if (this.savepoints) await conn.executeQuery(SAVEPOINT);
        try {
          outcomes.push({ ok: true, value: await item.run(conn) });
        } catch (error) {
          outcomes.push({ ok: false, error });
          if (this.savepoints) await conn.executeQuery(ROLLBACK_TO);
        }
        if (this.savepoints) await conn.executeQuery(RELEASE);
      }
      await conn.executeQuery(COMMIT);
    } catch (error) {
      await conn.executeQuery(ROLLBACK).catch(() => undefined);
      throw error;
    }
    return outcomes;
  }
}
