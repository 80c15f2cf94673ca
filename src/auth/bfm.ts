import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

/** Brute-force monitor settings (from Config). */
export interface BfmPolicy {
  ipThreshold: number;
  accountThreshold: number;
  windowMs: number;
  blockMs: number;
  whitelist: ReadonlySet<string>;
}

export type BfmKind = 'ip' | 'account';

/**
 * True when the IP or the account is blocked now. Runs before any password hashing, so a blocked login
 * costs one indexed read and nothing else.
 */
export async function isBlocked(
  db: Executor,
  policy: BfmPolicy,
  ip: string,
  account: string | null,
  now: number,
): Promise<boolean> {
  const ipKey = policy.whitelist.has(ip) ? null : ip;
  if (!ipKey && !account) return false;
  const row = await db
    .selectFrom('bfm_entries')
    .select('blocked_until')
    .where((eb) =>
      eb.or([
        ...(ipKey ? [eb.and([eb('kind', '=', 'ip'), eb('key', '=', ipKey)])] : []),
        ...(account ? [eb.and([eb('kind', '=', 'account'), eb('key', '=', account)])] : []),
      ]),
    )
    .where('blocked_until', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Counts one failure in a single upsert: the window restarts when it has passed, and the block starts
 * when the count reaches the threshold. One statement keeps concurrent failures exact.
 */
async function bump(
  db: Executor,
  kind: BfmKind,
  key: string,
  threshold: number,
  policy: BfmPolicy,
  now: number,
): Promise<void> {
  const expired = now - policy.windowMs;
  const failures = sql<number>`case when bfm_entries.window_start <= ${expired} then 1 else bfm_entries.failures + 1 end`;
  await db
    .insertInto('bfm_entries')
    .values({
      kind,
      key,
      failures: 1,
      window_start: now,
      blocked_until: threshold <= 1 ? now + policy.blockMs : 0,
      last_failure: now,
    })
    .onConflict((oc) =>
      oc.columns(['kind', 'key']).doUpdateSet({
        failures,
        window_start: sql<number>`case when bfm_entries.window_start <= ${expired} then ${now} else bfm_entries.window_start end`,
        blocked_until: sql<number>`case when (${failures}) >= ${threshold} then ${now + policy.blockMs} else bfm_entries.blocked_until end`,
        last_failure: now,
      }),
    )
    .execute();
}

/** Records a failed login from `ip` (and against `account` when the name belongs to an account). */
export async function recordFailure(
  db: Executor,
  policy: BfmPolicy,
  ip: string,
  account: string | null,
  now: number,
): Promise<void> {
  if (!policy.whitelist.has(ip)) await bump(db, 'ip', ip, policy.ipThreshold, policy, now);
  if (account) await bump(db, 'account', account, policy.accountThreshold, policy, now);
}

/** Forgets an account's failures after a good login (the IP's count stays: it may be guessing others). */
export async function clearAccount(db: Executor, account: string): Promise<void> {
  await db
    .deleteFrom('bfm_entries')
    .where('kind', '=', 'account')
    .where('key', '=', account)
    .where('blocked_until', '=', 0)
    .execute();
}

export interface BfmEntry {
  kind: string;
  key: string;
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

/** Entries with failures or blocks, blocked ones first. */
export async function listEntries(db: Executor): Promise<BfmEntry[]> {
  const rows = await db
    .selectFrom('bfm_entries')
    .selectAll()
    .orderBy('blocked_until', 'desc')
    .orderBy('last_failure', 'desc')
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    key: r.key,
    failures: r.failures,
    blockedUntil: r.blocked_until,
    lastFailure: r.last_failure,
  }));
}

/** Removes the block and failure count of an IP or account; returns whether there was one. */
export async function unblock(db: Executor, kind: BfmKind, key: string): Promise<boolean> {
  const r = await db
    .deleteFrom('bfm_entries')
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
