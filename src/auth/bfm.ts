import { isIP } from 'node:net';
import { type SqlBool, sql } from 'kysely';
import type { Db, Executor } from '../db/database.js';
import { hotQuery } from '../db/hot-query.js';

/** Brute-force monitor settings (from Config). */
export interface BfmPolicy {
  ipThreshold: number;
  accountThreshold: number;
  windowMs: number;
  blockMs: number;
  whitelist: ReadonlySet<string>;
}

export type BfmKind = 'ip' | 'account';

/*
 * Each IP and each account name has one row: `failures` attempts counted in the window that began at
 * `window_start`, and `blocked_until`. An attempt that will run a password hash first *claims* a place
 * (the count goes up before the hash, in one guarded upsert), and afterwards either confirms the failure
 * (which starts the block once the count has reached the threshold) or, on a good password, gives the
 * place back. So however many guesses arrive at once, at most `threshold` of them are ever hashed per
 * window, and a refused attempt changes nothing. (A place claimed by a process that dies before settling
 * stays taken until its window passes: the cost of counting first is erring towards refusal.)
 */

/** One row of the monitor, as the decision functions see it. */
export interface BfmCounter {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

/**
 * Where a counter stands at `now`:
 * - `blocked`: a block is running;
 * - `fresh`: no row, the window has passed or a block has been served: the next attempt starts anew;
 * - `full`: the count has reached the threshold but no block is set: attempts are still being checked;
 * - `open`: places are left.
 */
export type BfmState = 'blocked' | 'fresh' | 'full' | 'open';

/** The pure rule the claim upsert applies in SQL (kept in step with `claimOne`). */
export function counterState(
  c: BfmCounter | undefined,
  threshold: number,
  policy: BfmPolicy,
  now: number,
): BfmState {
  if (!c) return 'fresh';
  if (c.blockedUntil > now) return 'blocked';
  if (c.windowStart <= now - policy.windowMs || c.blockedUntil > 0) return 'fresh';
  return c.failures >= threshold ? 'full' : 'open';
}

/** Parses an IP address to 8 hextets (IPv4 as ::ffff:a.b.c.d), or null. */
function hextets(ip: string): number[] | null {
  const bare = ip.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) {
    const [a = 0, b = 0, c = 0, d = 0] = bare.split('.').map(Number);
    return [0, 0, 0, 0, 0, 0xffff, (a << 8) | b, (c << 8) | d];
  }
  if (family !== 6) return null;
  let text = bare.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  const groups = [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

function isMappedV4(h: number[]): boolean {
  return h.slice(0, 5).every((g) => g === 0) && h[5] === 0xffff;
}

/** One spelling per address: dotted IPv4 (also for IPv4-mapped IPv6), lower-case expanded IPv6. */
function canonicalIp(ip: string): string {
  const h = hextets(ip);
  if (!h) return ip;
  if (isMappedV4(h)) {
    const [, , , , , , hi = 0, lo = 0] = h;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return h.map((g) => g.toString(16)).join(':');
}

/**
 * The counter an address's failures go to: an IPv4 address itself, an IPv6 address by its /64. One
 * subscriber routinely holds a whole /64, so counting single IPv6 addresses would let it rotate through
 * 2^64 of them and never be blocked.
 */
export function ipKey(ip: string): string {
  const h = hextets(ip);
  if (!h || isMappedV4(h)) return canonicalIp(ip);
  return `${h
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** True when `ip` is on the whitelist, whatever the spelling of either. */
export function isWhitelisted(policy: BfmPolicy, ip: string): boolean {
  if (policy.whitelist.size === 0) return false;
  if (policy.whitelist.has(ip)) return true;
  const want = canonicalIp(ip);
  for (const w of policy.whitelist) if (canonicalIp(w) === want) return true;
  return false;
}

/** The rows an attempt from `ip` against `account` is counted in. */
function keysOf(
  policy: BfmPolicy,
  ip: string,
  account: string | null,
): { kind: BfmKind; key: string; threshold: number }[] {
  const keys: { kind: BfmKind; key: string; threshold: number }[] = [];
  if (!isWhitelisted(policy, ip)) keys.push({ kind: 'ip', key: ipKey(ip), threshold: policy.ipThreshold });
  if (account) keys.push({ kind: 'account', key: account, threshold: policy.accountThreshold });
  return keys;
}

/**
 * True when the IP or the account is blocked now. Runs before any lookup or password hashing, so a
 * blocked login costs this one indexed read and nothing else.
 */
export async function isBlocked(
  db: Executor,
  policy: BfmPolicy,
  ip: string,
  account: string | null,
  now: number,
): Promise<boolean> {
  const keys = keysOf(policy, ip, account);
  if (keys.length === 0) return false;
  // A kind that does not apply gets a key no row has (keys are never empty), so one query shape serves all.
  const ipKeyOrNone = keys.find((k) => k.kind === 'ip')?.key ?? '';
  const accountKeyOrNone = keys.find((k) => k.kind === 'account')?.key ?? '';
  const rows = await blockedQuery(db, ipKeyOrNone, accountKeyOrNone);
  return rows.some((r) => r.blocked_until > now);
}

/** Every authenticated request runs this, so it is compiled once (see hotQuery). */
const blockedQuery = hotQuery(
  (db: Executor, ipKeyOrNone: string, accountKeyOrNone: string) =>
    db
      .selectFrom('bfm_entries')
      .select('blocked_until')
      .where((eb) =>
        eb.or([
          eb.and([eb('kind', '=', 'ip'), eb('key', '=', ipKeyOrNone)]),
          eb.and([eb('kind', '=', 'account'), eb('key', '=', accountKeyOrNone)]),
        ]),
      ),
  // The time is compared here, not in SQL, so the answer can be memoised until the next write.
  { memo: true },
);

/**
 * Takes one place in a counter, in a single guarded upsert (rule 7): a fresh counter restarts at 1, an
 * open one goes up by one, a blocked or full one is left alone and nothing is returned. Returns the
 * window the place belongs to.
 */
async function claimOne(
  db: Executor,
  kind: BfmKind,
  key: string,
  threshold: number,
  policy: BfmPolicy,
  now: number,
): Promise<number | null> {
  // `counterState` in SQL. The WHERE only lets non-blocked rows through, so `fresh` here means: the
  // window has passed, or a block has been served (a served block wipes the slate).
  const fresh = sql<SqlBool>`(bfm_entries.window_start <= ${now - policy.windowMs} or bfm_entries.blocked_until > 0)`;
  const row = await db
    .insertInto('bfm_entries')
    .values({ kind, key, failures: 1, window_start: now, blocked_until: 0, last_failure: now })
    .onConflict((oc) =>
      oc
        .columns(['kind', 'key'])
        .doUpdateSet({
          failures: sql<number>`case when ${fresh} then 1 else bfm_entries.failures + 1 end`,
          window_start: sql<number>`case when ${fresh} then ${now} else bfm_entries.window_start end`,
          blocked_until: 0,
          last_failure: now,
        })
        .where(
          sql<SqlBool>`bfm_entries.blocked_until <= ${now} and (${fresh} or bfm_entries.failures < ${threshold})`,
        ),
    )
    .returning('window_start')
    .executeTakeFirst();
  return row ? Number(row.window_start) : null;
}

/** The places one attempt holds, to be confirmed as a failure or given back. */
export interface BfmTicket {
  ip: { key: string; windowStart: number } | null;
  account: string | null;
}

/**
 * - `granted`: the attempt may be checked; settle its ticket with `confirmFailure` or `release`;
 * - `blocked`: the IP or the account is blocked;
 * - `busy`: no block, but every place is held by attempts still being checked: try again shortly (their
 *   outcome decides whether this one is blocked or may go ahead).
 */
export type BfmClaim = { kind: 'granted'; ticket: BfmTicket } | { kind: 'blocked' } | { kind: 'busy' };

class Refused extends Error {}

/**
 * Claims a place for one attempt in the IP's and the account's counters, both or neither: when the
 * second is refused, the transaction undoes the first, so a refused attempt is counted nowhere.
 */
export async function claim(
  db: Db,
  policy: BfmPolicy,
  ip: string,
  account: string | null,
  now: number,
): Promise<BfmClaim> {
  const keys = keysOf(policy, ip, account);
  const ticket: BfmTicket = { ip: null, account: null };
  if (keys.length === 0) return { kind: 'granted', ticket };
  const claimAll = async (trx: Executor): Promise<void> => {
    // Always IP first, then account: every claimer locks rows in the same order, so PostgreSQL
    // transactions cannot deadlock on them.
    for (const k of keys) {
      const windowStart = await claimOne(trx, k.kind, k.key, k.threshold, policy, now);
      if (windowStart === null) throw new Refused();
      if (k.kind === 'ip') ticket.ip = { key: k.key, windowStart };
      else ticket.account = k.key;
    }
  };
  try {
    if (keys.length === 1) await claimAll(db);
    else await db.transaction().execute(claimAll);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return (await isBlocked(db, policy, ip, account, now)) ? { kind: 'blocked' } : { kind: 'busy' };
  }
  return { kind: 'granted', ticket };
}

/**
 * Settles a claimed attempt as a failure: each counter that has reached its threshold is blocked from
 * now. A counter already blocked keeps its end: failures during a block neither count nor extend it.
 */
export async function confirmFailure(
  db: Executor,
  policy: BfmPolicy,
  ticket: BfmTicket,
  now: number,
): Promise<void> {
  // One statement per row, IP first like `claim`: an UPDATE touching both rows could lock them in the
  // other order and deadlock (on PostgreSQL) against a claim holding the IP row.
  const targets: { kind: BfmKind; key: string; threshold: number }[] = [];
  if (ticket.ip) targets.push({ kind: 'ip', key: ticket.ip.key, threshold: policy.ipThreshold });
  if (ticket.account)
    targets.push({ kind: 'account', key: ticket.account, threshold: policy.accountThreshold });
  for (const t of targets)
    await db
      .updateTable('bfm_entries')
      .set({ blocked_until: now + policy.blockMs })
      .where('kind', '=', t.kind)
      .where('key', '=', t.key)
      .where('failures', '>=', t.threshold)
      .where('blocked_until', '<=', now)
      .execute();
}

/**
 * Settles a claimed attempt whose password was right: the IP gets its place back (in the same window
 * only), and the account's failures are forgotten unless a block is running. A block that concurrent
 * failures started stays.
 */
export async function release(db: Executor, ticket: BfmTicket, now: number): Promise<void> {
  // Its two or three statements are one change: together, or (SQLite) with one commit instead of three.
  const settle = async (x: Executor) => {
    if (ticket.ip) {
      // A row holding only this attempt goes away, so good logins leave no trace; otherwise one place is
      // handed back. Both are guarded by the window, so a refund never lands in a later one.
      const gone = await x
        .deleteFrom('bfm_entries')
        .where('kind', '=', 'ip')
        .where('key', '=', ticket.ip.key)
        .where('window_start', '=', ticket.ip.windowStart)
        .where('failures', '<=', 1)
        .where('blocked_until', '<=', now)
        .executeTakeFirst();
      if (Number(gone.numDeletedRows) === 0)
        await x
          .updateTable('bfm_entries')
          .set((eb) => ({ failures: eb('failures', '-', 1) }))
          .where('kind', '=', 'ip')
          .where('key', '=', ticket.ip.key)
          .where('window_start', '=', ticket.ip.windowStart)
          .where('failures', '>', 0)
          .execute();
    }
    if (ticket.account)
      await x
        .deleteFrom('bfm_entries')
        .where('kind', '=', 'account')
        .where('key', '=', ticket.account)
        .where('blocked_until', '<=', now)
        .execute();
  };
  if (db.isTransaction) await settle(db);
  else await db.transaction().execute(settle);
}

/**
 * Counts a failure that needs no hashing (a malformed login): a claim settled at once. A blocked or
 * full counter is left as it is.
 */
export async function recordFailure(
  db: Db,
  policy: BfmPolicy,
  ip: string,
  account: string | null,
  now: number,
): Promise<void> {
  const c = await claim(db, policy, ip, account, now);
  if (c.kind === 'granted') await confirmFailure(db, policy, c.ticket, now);
}

/**
 * Deletes counters that no longer hold anything: no block running and their window over (the next
 * failure would restart them at 1 anyway). Without this every address that ever failed once stays a
 * row for good. Returns how many went.
 */
export async function purgeStale(db: Executor, policy: BfmPolicy, now: number): Promise<number> {
  const r = await db
    .deleteFrom('bfm_entries')
    .where('blocked_until', '<=', now)
    .where('window_start', '<=', now - policy.windowMs)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
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

/**
 * Removes the block and failure count of an IP or account; returns whether there was one. An IP may be
 * given as any address it covers (an IPv6 address finds its /64) or as the key `listEntries` shows.
 */
export async function unblock(db: Executor, kind: BfmKind, key: string): Promise<boolean> {
  const r = await db
    .deleteFrom('bfm_entries')
    .where('kind', '=', kind)
    .where('key', '=', kind === 'ip' ? ipKey(key) : key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
