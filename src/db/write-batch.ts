import type { Db, Executor } from './database.js';

interface Item {
  run: (trx: Executor) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for small guarded writes on SQLite (key uses, rate slots). With synchronous=FULL every
 * commit waits for an fsync, so one transaction per request caps a limited key at a few hundred uses a
 * second. Writes submitted while a batch commits are run together in the next transaction, each with
 * its own guarded statement (so each still decides alone and exactly), and each caller is answered only
 * once its batch is durable. SQLite keeps a transaction open after a failed statement, so one failing
 * item fails only its own caller. Not used on PostgreSQL, which commits concurrent transactions in
 * parallel and groups their flushes itself.
 */
export class WriteBatcher {
  private queue: Item[] = [];
  private running = false;

  constructor(private readonly db: Db) {}

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
        await this.db.transaction().execute(async (trx) => {
          for (const item of batch) {
            try {
              outcomes.push({ ok: true, value: await item.run(trx) });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        });
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
