import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Db, Executor } from '../db/database.js';
import { checkOrigin, isRenderedZone, renderZone } from '../modules/dns/render/bind-zone.js';
import { renderNamedConf } from '../modules/dns/render/named-conf.js';
import type { Zone } from '../modules/dns/zone.types.js';
import type { BindDriver } from './bind.js';
import { readIfExists, removeFile, writeTemp } from './file-writer.js';

/** Where the applier reads zones: the database in the server, anything in tests. */
export interface ZoneSource {
  /** The zone as it is now, or null when it no longer exists. */
  load(origin: string): Promise<Zone | null>;
  /** Every zone origin that should be served. */
  list(): Promise<string[]>;
}

export interface ApplierOptions {
  db: Db;
  dialect: 'sqlite' | 'postgres';
  driver: BindDriver;
  source: ZoneSource;
  logger: Logger;
  clock: Clock;
  /** Wait after a kick, so a burst of changes is applied as one batch. */
  debounceMs?: number;
  /** Look for pending rows this often even without a kick (rows written by the CLI or another node). */
  pollMs?: number;
  /** First retry delay after a failure; doubles per failure up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Rows taken per batch. */
  batchSize?: number;
}

/** What one pass over the pending rows did. */
export interface ApplyReport {
  /** Rows marked done. */
  done: number;
  /** Rows left pending with an error recorded. */
  failed: number;
  /** Origins whose zone file was written or removed. */
  applied: string[];
  errors: Map<string, string>;
}

/** What `reconcile` did. */
export interface ReconcileReport {
  written: number;
  unchanged: number;
  removed: number;
  errors: Map<string, string>;
}

export const DNS_TOPIC = 'dns.zone';

/** Done rows are kept this long (to see what was applied when), then deleted. */
export const DONE_RETENTION_MS = 7 * 86_400_000;
/** Outbox topics something in this server acts on; rows of other topics are only a record. */
export const CONSUMED_TOPICS: readonly string[] = [DNS_TOPIC];

/**
 * Deletes outbox rows of topics nothing in this server consumes (the `account.*` events kept for
 * daemons hostdeck does not drive yet) once they are older than DONE_RETENTION_MS, so the table does
 * not grow for ever. A daemon that comes later rebuilds from the database, not from old events.
 */
export async function purgeUnconsumed(db: Executor, now: number): Promise<number> {
  const r = await db
    .deleteFrom('outbox')
    .where('topic', 'not in', CONSUMED_TOPICS)
    .where('created_at', '<', now - DONE_RETENTION_MS)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** How often a pass also deletes done rows past their retention. */
const PURGE_EVERY_MS = 3_600_000;

/** Key of the PostgreSQL advisory lock held while one node applies DNS rows. */
const APPLY_LOCK = 0x68_64_6e_73; // "hdns"

interface Backoff {
  failures: number;
  until: number;
  /** The newest row id of the failed attempt: a newer row for the zone is retried at once. */
  lastId: number;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}

/**
 * Zones checked (one named-checkzone process each) or reloaded at once: thousands of zones one after
 * another would take minutes, and more processes than this only compete for the same cores.
 */
const CONCURRENCY = 4;

/** Runs fn over items, at most `limit` at a time. */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The origins a rendered include lists. */
function includedZones(text: string): string[] {
  return [...text.matchAll(/^zone "([a-z0-9_.-]+)" /gm)].map((m) => m[1] as string).filter(isOrigin);
}

function isOrigin(o: string): boolean {
  try {
    checkOrigin(o);
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies DNS changes from the outbox to BIND: renders each changed zone, checks it with
 * named-checkzone before it replaces the live file, keeps the named.conf include in step with the zone
 * files, reloads BIND, and marks the rows done. A failure leaves its rows pending with the error and
 * the attempt counted, and the zone is retried with exponential backoff; nothing is lost while BIND is
 * down or a zone does not check.
 */
export class Applier {
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private readonly backoff = new Map<string, Backoff>();
  /**
   * BIND may not have seen the include yet: set at start (the last process may have stopped between
   * writing the include and reconfiguring) and after a failed reconfig.
   */
  private reconfigOwed = true;
  private passFailures = 0;
  /** When this process last deleted done rows (0: not yet, so the first pass does). */
  private lastPurge = 0;
  /** The tail of the passes of this process, which run one after another. */
  private tail: Promise<unknown> = Promise.resolve();

  /** The BIND side this applier drives. */
  readonly driver: BindDriver;

  constructor(private readonly opts: ApplierOptions) {
    this.driver = opts.driver;
    this.debounceMs = opts.debounceMs ?? 5;
    this.pollMs = opts.pollMs ?? 5000;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 300_000;
    this.batchSize = opts.batchSize ?? 1000;
  }

  /** Applies what is pending now and then on every kick and poll. Until then kicks are ignored. */
  start(): void {
    this.stopped = false;
    this.poller = setInterval(() => this.kick(), this.pollMs);
    this.poller.unref();
    this.kick();
  }

  /** Schedules a pass soon; many kicks within the debounce window make one pass. */
  kick(): void {
    if (this.stopped || !this.poller) return;
    this.dirty = true;
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, this.debounceMs);
  }

  /** Stops scheduling and waits for a pass in flight. Pending rows stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.timer, this.retryTimer, this.poller]) if (t) clearTimeout(t);
    this.timer = this.retryTimer = this.poller = undefined;
    await this.running;
  }

  private async loop(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          await this.applyPending();
          this.passFailures = 0;
        } catch (e) {
          // The database itself failed (connection lost, locked): rows are untouched, try again later.
          this.passFailures++;
          const delay = Math.min(
            this.backoffMs * 2 ** Math.min(this.passFailures - 1, 20),
            this.maxBackoffMs,
          );
          this.opts.logger.error({ err: e, retryInMs: delay }, 'dns applier: pass failed');
          this.scheduleRetry(delay);
          return;
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    if (this.passFailures === 0) this.scheduleBackoffRetry();
    // A kick that came while the last pass was finishing found it still running; honour it now.
    if (this.dirty && !this.stopped && this.passFailures === 0) {
      this.dirty = false;
      this.kick();
    }
  }

  /**
   * Runs fn after every earlier pass of this applier. Two passes at once could each rewrite the include
   * from what they read before the other wrote it, dropping the other's new zone.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }

  private scheduleRetry(delay: number): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
    this.retryTimer.unref();
  }

  private scheduleBackoffRetry(): void {
    if (this.backoff.size === 0) return;
    const next = Math.min(...[...this.backoff.values()].map((b) => b.until));
    this.scheduleRetry(Math.max(0, next - this.opts.clock.now()));
  }

  /**
   * One pass: takes the pending `dns.zone` rows, applies their zones (coalesced: a zone changed by many
   * rows is rendered once, from its state now), and records the outcome on every row taken.
   */
  applyPending(): Promise<ApplyReport> {
    return this.exclusive(() => this.lockedPass());
  }

  private lockedPass(): Promise<ApplyReport> {
    const { db } = this.opts;
    if (this.opts.dialect === 'postgres')
      // Several nodes may share the database. One applies at a time: two nodes rendering the same zone
      // from different moments could otherwise leave the older state on disk with both rows done.
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${APPLY_LOCK})`.execute(trx);
        return this.pass(trx);
      });
    // SQLite has one writer process (the server); a transaction here would hold the only connection
    // while BIND is being checked and reloaded.
    return this.pass(db);
  }

  /** Every pending row, a page at a time (rows waiting for their backoff must not hide newer ones). */
  private async pass(ex: Executor): Promise<ApplyReport> {
    const report: ApplyReport = { done: 0, failed: 0, applied: [], errors: new Map() };
    let after = 0;
    for (;;) {
      const rows = await ex
        .selectFrom('outbox')
        .select(['id', 'payload'])
        .where('topic', '=', DNS_TOPIC)
        .where('done_at', 'is', null)
        .where('id', '>', after)
        .orderBy('id')
        .limit(this.batchSize)
        .execute();
      if (rows.length === 0) break;
      after = Number(rows[rows.length - 1]?.id);
      const r = await this.page(ex, rows);
      report.done += r.done;
      report.failed += r.failed;
      report.applied.push(...r.applied);
      for (const [o, e] of r.errors) report.errors.set(o, e);
      if (rows.length < this.batchSize) break;
    }
    await this.purgeDone(ex);
    return report;
  }

  /** Deletes done rows older than DONE_RETENTION_MS, at most once per PURGE_EVERY_MS. */
  private async purgeDone(ex: Executor): Promise<void> {
    const now = this.opts.clock.now();
    if (this.lastPurge !== 0 && now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await ex
      .deleteFrom('outbox')
      .where('topic', '=', DNS_TOPIC)
      .where('done_at', 'is not', null)
      .where('done_at', '<', now - DONE_RETENTION_MS)
      .execute();
  }

  private async page(ex: Executor, rows: { id: number; payload: string }[]): Promise<ApplyReport> {
    const { clock, logger } = this.opts;
    const report: ApplyReport = { done: 0, failed: 0, applied: [], errors: new Map() };

    const now = clock.now();
    const byOrigin = new Map<string, number[]>();
    const malformed: number[] = [];
    for (const r of rows) {
      let origin: unknown;
      try {
        origin = (JSON.parse(r.payload) as { origin?: unknown }).origin;
      } catch {
        origin = undefined;
      }
      if (typeof origin !== 'string' || !isOrigin(origin)) {
        malformed.push(Number(r.id));
        continue;
      }
      const ids = byOrigin.get(origin) ?? [];
      ids.push(Number(r.id));
      byOrigin.set(origin, ids);
    }
    // Rows of a zone that failed recently wait for their backoff, unless a newer change came in.
    for (const [origin, ids] of byOrigin) {
      const b = this.backoff.get(origin);
      if (b && b.until > now && Math.max(...ids) <= b.lastId) byOrigin.delete(origin);
    }

    const errors = byOrigin.size ? await this.applyOrigins([...byOrigin.keys()]) : new Map<string, string>();
    const doneIds: number[] = [...malformed];
    const failedByError = new Map<string, number[]>();
    for (const [origin, ids] of byOrigin) {
      const err = errors.get(origin);
      if (err === undefined) {
        doneIds.push(...ids);
        this.backoff.delete(origin);
        report.applied.push(origin);
        continue;
      }
      const prev = this.backoff.get(origin);
      const failures = (prev?.failures ?? 0) + 1;
      const delay = Math.min(this.backoffMs * 2 ** Math.min(failures - 1, 20), this.maxBackoffMs);
      this.backoff.set(origin, { failures, until: now + delay, lastId: Math.max(...ids) });
      failedByError.set(err, [...(failedByError.get(err) ?? []), ...ids]);
      report.errors.set(origin, err);
      logger.warn({ zone: origin, attempts: failures, retryInMs: delay }, `dns applier: ${err}`);
    }
    if (malformed.length)
      logger.error({ rows: malformed }, 'dns applier: outbox rows without a valid origin');

    const doneAt = clock.now();
    for (let i = 0; i < doneIds.length; i += 500)
      await ex
        .updateTable('outbox')
        .set({ done_at: doneAt })
        .where('id', 'in', doneIds.slice(i, i + 500))
        .where('done_at', 'is', null)
        .execute();
    for (const [err, ids] of failedByError)
      for (let i = 0; i < ids.length; i += 500)
        await ex
          .updateTable('outbox')
          .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: err }))
          .where('id', 'in', ids.slice(i, i + 500))
          .where('done_at', 'is', null)
          .execute();
    report.done = doneIds.length;
    report.failed = [...failedByError.values()].reduce((n, ids) => n + ids.length, 0);
    if (report.applied.length)
      logger.info({ zones: report.applied.length, rows: report.done }, 'dns applier: zones applied');
    return report;
  }

  /**
   * Brings the given zones on disk and in BIND to their state in the source. Returns the error of each
   * origin that did not make it; the others are live (or gone, for deleted zones).
   */
  private async applyOrigins(origins: string[]): Promise<Map<string, string>> {
    const { driver } = this.opts;
    const errors = new Map<string, string>();
    let before: Set<string>;
    try {
      await driver.ensureDirs();
      // The live include is the list of zones BIND was told about; files alone could be anyone's.
      before = new Set(includedZones((await readIfExists(driver.settings.includePath)) ?? ''));
    } catch (e) {
      const err = `preparing ${driver.settings.zoneDir}: ${message(e)}`;
      for (const o of origins) errors.set(o, err);
      return errors;
    }
    const upserted: string[] = [];
    const deleted: string[] = [];
    await eachLimit(origins, CONCURRENCY, async (origin) => {
      const err = await this.writeZone(origin, deleted, upserted);
      if (err) errors.set(origin, err);
    });
    const live = new Set(before);
    for (const o of upserted) live.add(o);
    for (const o of deleted) live.delete(o);
    // Deleted zones leave the include before their files go, so BIND never meets a zone without a file.
    const inc = await this.writeInclude([...live]);
    const membership = [...upserted.filter((o) => !before.has(o)), ...deleted];
    if (inc.error) {
      for (const o of membership) errors.set(o, inc.error);
      return errors;
    }
    for (const o of deleted)
      if (before.has(o))
        try {
          await removeFile(driver.zoneFile(o));
        } catch (e) {
          // Out of the include already, so BIND drops the zone; the stray file is retried.
          errors.set(o, `removing ${driver.zoneFile(o)}: ${message(e)}`);
        }
    if (inc.changed || deleted.length > 0 || this.reconfigOwed) {
      const err = await driver.reconfig();
      this.reconfigOwed = err !== null;
      if (err) for (const o of membership) errors.set(o, err);
    }
    // New zones were loaded by the reconfig; zones BIND had already are reloaded from their new file.
    await eachLimit(
      upserted.filter((o) => before.has(o)),
      CONCURRENCY,
      async (o) => {
        const err = await driver.reloadZone(o);
        if (err) errors.set(o, err);
      },
    );
    return errors;
  }

  /** Renders, checks and installs one zone (or notes it deleted); the error, or null. */
  private async writeZone(origin: string, deleted: string[], upserted: string[]): Promise<string | null> {
    const { driver, source } = this.opts;
    let zone: Zone | null;
    try {
      zone = await source.load(origin);
    } catch (e) {
      return `loading the zone: ${message(e)}`;
    }
    if (!zone) {
      deleted.push(origin);
      return null;
    }
    let text: string;
    try {
      if (zone.origin !== origin) return `the zone loaded for ${origin} is ${JSON.stringify(zone.origin)}`;
      text = renderZone(zone);
    } catch (e) {
      return `rendering: ${message(e)}`;
    }
    const path = driver.zoneFile(origin);
    try {
      const staged = await writeTemp(path, text);
      const err = await driver.checkZone(origin, staged.tmp);
      if (err) {
        await staged.discard();
        return err;
      }
      await staged.commit();
    } catch (e) {
      return `writing ${path}: ${message(e)}`;
    }
    upserted.push(origin);
    return null;
  }

  /** Replaces the include when its text changes, after named-checkconf passed on the new text. */
  private async writeInclude(origins: string[]): Promise<{ changed: boolean; error?: string }> {
    const { driver } = this.opts;
    const path = driver.settings.includePath;
    let text: string;
    try {
      text = renderNamedConf(origins.map((origin) => ({ origin, file: driver.zoneFile(origin) })));
    } catch (e) {
      return { changed: false, error: `rendering the include: ${message(e)}` };
    }
    try {
      if ((await readIfExists(path)) === text) return { changed: false };
      const staged = await writeTemp(path, text);
      const err = await driver.checkConf(staged.tmp);
      if (err) {
        await staged.discard();
        return { changed: false, error: err };
      }
      await staged.commit();
    } catch (e) {
      return { changed: false, error: `writing ${path}: ${message(e)}` };
    }
    return { changed: true };
  }

  /**
   * Rebuilds every zone file and the include from the source: zones that check are written, zone files
   * of zones that no longer exist are removed, and BIND is reconfigured and every zone reloaded.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.exclusive(() => this.rebuild());
  }

  private async rebuild(): Promise<ReconcileReport> {
    const { driver, source } = this.opts;
    await driver.ensureDirs();
    const report: ReconcileReport = { written: 0, unchanged: 0, removed: 0, errors: new Map() };
    const wanted = await source.list();
    const before = new Set(await driver.zoneFiles());
    const live = new Set<string>();
    await eachLimit(wanted, CONCURRENCY, async (origin) => {
      const deleted: string[] = [];
      const upserted: string[] = [];
      const old = before.has(origin) ? await readIfExists(driver.zoneFile(origin)) : null;
      const err = await this.writeZone(origin, deleted, upserted);
      if (err) {
        report.errors.set(origin, err);
        // A zone that no longer checks keeps being served from its last good file.
        if (old !== null) live.add(origin);
        return;
      }
      if (upserted.length) {
        live.add(origin);
        if (old === (await readIfExists(driver.zoneFile(origin)))) report.unchanged++;
        else report.written++;
      }
    });
    const inc = await this.writeInclude([...live].filter(isOrigin));
    if (inc.error) {
      report.errors.set('(include)', inc.error);
      return report;
    }
    for (const o of before)
      if (!live.has(o) && isRenderedZone((await readIfExists(driver.zoneFile(o))) ?? '')) {
        await removeFile(driver.zoneFile(o));
        report.removed++;
      }
    const err = await driver.reconfig();
    this.reconfigOwed = err !== null;
    if (err) {
      report.errors.set('(reconfig)', err);
      return report;
    }
    await eachLimit([...live], CONCURRENCY, async (o) => {
      const e = await driver.reloadZone(o);
      if (e) report.errors.set(o, e);
    });
    return report;
  }
}
