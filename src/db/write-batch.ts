import type { Db, Executor } from './database.js';

interface Item {
  run: (trx: Executor) => Promise<unknown>;
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

/**
 * Group commit on SQLite. With synchronous=FULL every commit waits for an fsync, so one transaction per
 * request caps writes at a few hundred a second and queues every writer behind the disk. Writes
 * submitted while a batch commits are run one after another in the next transaction, each deciding
 * alone and exactly on what the items before it wrote, and each caller is answered only once its batch
 * is durable (a failed COMMIT rejects every item of the batch).
 *
 * Nothing else can run statements in the middle of a batch: Kysely's SQLite driver hands its single
 * connection to one transaction at a time, so every other query (another request, another batcher)
 * waits until the COMMIT. For the same reason an item must use only the `trx` it is given; a query on
 * the database handle inside an item would wait for the batch and never run.
 *
 * Without savepoints a failing item relies on SQLite keeping the transaction open after a failed
 * statement, which is right only for items of one statement. Not used on PostgreSQL, which commits
 * concurrent transactions in parallel and groups their flushes itself.
 */
export class WriteBatcher {
  private queue: Item[] = [];
  private running = false;
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

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
      try {
        const trx = await this.db.startTransaction().execute();
        try {
          for (const item of batch) {
            if (!this.savepoints) {
              try {
                outcomes.push({ ok: true, value: await item.run(trx) });
              } catch (error) {
                outcomes.push({ ok: false, error });
              }
              continue;
            }
            const sp = await trx.savepoint('item').execute();
            try {
              outcomes.push({ ok: true, value: await item.run(sp) });
            } catch (error) {
              outcomes.push({ ok: false, error });
              await sp.rollbackToSavepoint('item').execute();
            }
            await sp.releaseSavepoint('item').execute();
          }
          await trx.commit().execute();
        } catch (error) {
          await trx.rollback().execute();
          throw error;
        }
        batch.forEach((item, i) => {
          const o = outcomes[i];
          if (o?.ok) item.resolve(o.value);
          else item.reject(o ? o.error : new Error('write batch item did not run'));
        });
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.running = false;
  }
}
