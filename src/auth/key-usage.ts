import type { Logger } from 'pino';
import type { Db, Executor } from '../db/database.js';

interface HistoryRow {
  key_id: string;
  account_id: string;
  at: number;
  ip: string;
  command: string;
  outcome: string;
}

/** A history row as stored: identical uses within one second are one row with their count. */
interface StoredRow extends HistoryRow {
  count: number;
}

/**
 * Writes key history (every use and every refusal) and the last-use stamp of unlimited keys in batches.
 * With SQLite's synchronous=FULL every commit is an fsync; one per API call would cap a key at a few
 * thousand requests a second. Counters that limit a key (uses, rate) are never batched: they are spent
 * in the request by a guarded UPDATE. A batch is written every flushMs, at maxBatch rows, and on close.
 * Identical uses (same credential, address, command and outcome) within the same second are one row
 * with their count and the time of the first: every use is accounted for, and a script calling a
 * thousand times a second adds one row a second rather than a thousand.
 */
export class KeyUsageRecorder {
  private history = new Map<string, StoredRow>();
  private lastUse = new Map<string, { at: number; ip: string; count: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly flushMs = 250,
    // Large enough that a busy server commits (and fsyncs) on the timer, a few times a second, rather
    // than on the count; a full batch is about a megabyte.
    private readonly maxBatch = 5_000,
  ) {}

  /** Queues one use or refusal. */
  record(row: HistoryRow): void {
    const group = `${row.key_id}\0${row.account_id}\0${row.ip}\0${row.command}\0${row.outcome}\0${Math.floor(row.at / 1000)}`;
    const same = this.history.get(group);
    if (same) same.count++;
    else this.history.set(group, { ...row, count: 1 });
    this.schedule();
  }

  /** Queues the last-use stamp of a key whose use needed no guarded write. */
  touch(keyId: string, at: number, ip: string): void {
    const prev = this.lastUse.get(keyId);
    this.lastUse.set(keyId, { at, ip, count: (prev?.count ?? 0) + 1 });
    this.schedule();
  }

  private schedule(): void {
    if (this.history.size >= this.maxBatch) {
      void this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const rows = [...this.history.values()];
    const uses = this.lastUse;
    this.history = new Map();
    this.lastUse = new Map();
    if (rows.length === 0 && uses.size === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        await this.db.transaction().execute(async (trx) => {
          for (let i = 0; i < rows.length; i += 100)
            await trx
              .insertInto('login_key_history')
              .values(rows.slice(i, i + 100))
              .execute();
          for (const [id, u] of uses)
            await trx
              .updateTable('login_keys')
              .set((eb) => ({
                last_used_at: u.at,
                last_used_ip: u.ip,
                use_count: eb('use_count', '+', u.count),
              }))
              .where('id', '=', id)
              .execute();
        });
      } catch (err) {
        // History is a record, not a limit: losing a batch must not fail requests already answered.
        this.logger.error({ err, rows: rows.length }, 'could not write login key history');
      }
    });
    return this.flushing;
  }
}

/**
 * Uses and refusals of one credential (login key or API token), newest first, after pending ones are
 * written: each row is `count` identical ones within the second from `at`.
 */
export async function credentialHistory(
  db: Executor,
  recorder: KeyUsageRecorder,
  credentialId: string,
  limit = 500,
) {
  await recorder.flush();
  return db
    .selectFrom('login_key_history')
    .select(['at', 'ip', 'command', 'outcome', 'count'])
    .where('key_id', '=', credentialId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Rows deleted per statement by purgeHistory: each statement holds the database only briefly. */
const PURGE_CHUNK = 5_000;

/**
 * Deletes credential history written before `before` (ms), a chunk per statement with a turn of the
 * event loop between chunks, so a large backlog never holds the database for long. Returns how many went.
 */
export async function purgeHistory(db: Executor, before: number): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await db
      .deleteFrom('login_key_history')
      .where('id', 'in', (eb) =>
        eb.selectFrom('login_key_history').select('id').where('at', '<', before).limit(PURGE_CHUNK),
      )
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < PURGE_CHUNK) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One row of a credential's history as credentialHistory reads it. */
export type HistoryEntry = Awaited<ReturnType<typeof credentialHistory>>[number];
