import { sql } from 'kysely';
import type { ClusterRemoteRow, Executor } from '../../db/database.js';
import { hotQuery } from '../../db/hot-query.js';

export type ZoneAction = 'upsert' | 'delete';

export function findRemote(db: Executor, host: string): Promise<ClusterRemoteRow | undefined> {
  return db.selectFrom('cluster_remotes').selectAll().where('host', '=', host).executeTakeFirst();
}

/** Every remote server, by address. */
export function listRemotes(db: Executor): Promise<ClusterRemoteRow[]> {
  return db.selectFrom('cluster_remotes').selectAll().orderBy('host').execute();
}

/** Remotes with one switch on (dns, domain_check or user_check). */
export function remotesWith(
  db: Executor,
  flag: 'dns' | 'domain_check' | 'user_check',
): Promise<ClusterRemoteRow[]> {
  return db.selectFrom('cluster_remotes').selectAll().where(flag, '=', 1).orderBy('host').execute();
}

/**
 * Queues a push of `origins` to each remote: a zone already waiting for that remote keeps its one row,
 * which now stands for the latest change (coalescing), with its version moved on so a push in flight
 * with older content does not remove it. Call it in the transaction of the change.
 */
export async function enqueue(
  db: Executor,
  remoteIds: string[],
  origins: string[],
  action: ZoneAction | ((origin: string) => ZoneAction),
  now: number,
): Promise<void> {
  if (remoteIds.length === 0 || origins.length === 0) return;
  const rows = remoteIds.flatMap((remote_id) =>
    origins.map((origin) => ({
      remote_id,
      origin,
      action: typeof action === 'function' ? action(origin) : action,
      version: 1,
      attempts: 0,
      queued_at: now,
      next_attempt_at: now,
      claimed_until: 0,
      last_error: '',
    })),
  );
  for (let i = 0; i < rows.length; i += 200)
    await db
      .insertInto('cluster_queue')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) =>
        oc.columns(['remote_id', 'origin']).doUpdateSet((eb) => ({
          action: eb.ref('excluded.action'),
          version: sql<number>`cluster_queue.version + 1`,
          attempts: 0,
          next_attempt_at: eb.ref('excluded.next_attempt_at'),
          last_error: '',
        })),
      )
      .execute();
}

/**
 * The DNS service's hook: queues a zone change for every remote with Zone Transfer (dns) on, in the
 * change's own transaction.
 *
 * Why a queue table written here rather than a cursor over the outbox: outbox ids are not committed in
 * id order on PostgreSQL (a transaction holding id 7 may commit after one holding 8), so a cursor can
 * step over a row for good; the applier also marks and may prune outbox rows on its own schedule. A row
 * per remote and zone, written in the same transaction, is durable, coalesces bursts, and needs nothing
 * from the applier.
 */
// Read by every zone change, in its transaction: compiled once.
const dnsRemotes = hotQuery((db: Executor) =>
  db.selectFrom('cluster_remotes').select('id').where('dns', '=', 1),
);

export async function queueZonePush(
  db: Executor,
  origin: string,
  action: ZoneAction,
  now: number,
): Promise<void> {
  const remotes = await dnsRemotes(db);
  if (remotes.length === 0) return;
  await enqueue(
    db,
    remotes.map((r) => r.id),
    [origin],
    action,
    now,
  );
}

/** A queued push that is due, with what is needed to send it. */
export interface DueItem {
  remote_id: string;
  origin: string;
  action: string;
  version: number;
  attempts: number;
}

/** Pushes that are due and not being sent by anyone, oldest first. */
export async function duePushes(
  db: Executor,
  now: number,
  limit: number,
  skipRemotes: string[] = [],
): Promise<DueItem[]> {
  let q = db.selectFrom('cluster_queue');
  if (skipRemotes.length > 0) q = q.where('remote_id', 'not in', skipRemotes);
  const rows = await q
    .select(['remote_id', 'origin', 'action', 'version', 'attempts'])
    .where('next_attempt_at', '<=', now)
    .where('claimed_until', '<=', now)
    .orderBy('queued_at')
    .orderBy('origin')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, version: Number(r.version), attempts: Number(r.attempts) }));
}

/**
 * Takes a push for `leaseMs` (guarded write: success means this process won it), so two passes or two
 * nodes never send one zone to one remote at once, where an older copy could land after a newer one.
 */
export async function claim(db: Executor, item: DueItem, now: number, leaseMs: number): Promise<boolean> {
  const r = await db
    .updateTable('cluster_queue')
    .set({ claimed_until: now + leaseMs })
    .where('remote_id', '=', item.remote_id)
    .where('origin', '=', item.origin)
    .where('next_attempt_at', '<=', now)
    .where('claimed_until', '<=', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A push arrived: the row goes unless a newer change came meanwhile (then it is due again at once). */
export async function pushed(db: Executor, item: DueItem): Promise<void> {
  await db
    .deleteFrom('cluster_queue')
    .where('remote_id', '=', item.remote_id)
    .where('origin', '=', item.origin)
    .where('version', '=', item.version)
    .execute();
  await db
    .updateTable('cluster_queue')
    .set({ claimed_until: 0 })
    .where('remote_id', '=', item.remote_id)
    .where('origin', '=', item.origin)
    .execute();
}

/** A push failed: the row waits until `retryAt`, with the error kept for listings. */
export async function pushFailed(db: Executor, item: DueItem, error: string, retryAt: number): Promise<void> {
  await db
    .updateTable('cluster_queue')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_error: error.slice(0, 500),
      next_attempt_at: retryAt,
      claimed_until: 0,
    }))
    .where('remote_id', '=', item.remote_id)
    .where('origin', '=', item.origin)
    .execute();
}

/**
 * A remote did not answer: its other due pushes (not being sent by anyone) wait until `retryAt` too,
 * each with the error counted, rather than each timing out in turn.
 */
export async function remoteUnreachable(
  db: Executor,
  remoteId: string,
  error: string,
  now: number,
  retryAt: number,
): Promise<void> {
  await db
    .updateTable('cluster_queue')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_error: error.slice(0, 500),
      next_attempt_at: retryAt,
    }))
    .where('remote_id', '=', remoteId)
    .where('next_attempt_at', '<=', now)
    .where('claimed_until', '<=', now)
    .execute();
}

/** Per remote: pushes waiting, and the latest error among them. */
export async function queueStats(
  db: Executor,
): Promise<Map<string, { pending: number; lastError: string; attempts: number }>> {
  const rows = await db
    .selectFrom('cluster_queue')
    .select(['remote_id', 'attempts', 'last_error'])
    .orderBy('remote_id')
    .orderBy('next_attempt_at')
    .execute();
  const out = new Map<string, { pending: number; lastError: string; attempts: number }>();
  for (const r of rows) {
    const s = out.get(r.remote_id) ?? { pending: 0, lastError: '', attempts: 0 };
    s.pending++;
    if (!s.lastError && r.last_error) {
      s.lastError = r.last_error;
      s.attempts = Number(r.attempts);
    }
    out.set(r.remote_id, s);
  }
  return out;
}

/** The zone owner's user name, sent with a push as DirectAdmin masters do (empty when unknown). */
export async function zoneOwner(db: Executor, origin: string): Promise<string> {
  const r = await db
    .selectFrom('dns_zones')
    .innerJoin('accounts', 'accounts.id', 'dns_zones.account_id')
    .select('accounts.username')
    .where('dns_zones.origin', '=', origin)
    .executeTakeFirst();
  return r?.username ?? '';
}
