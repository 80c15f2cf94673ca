import type { Account, AccountUpdate, Executor, Level, NewAccount } from '../../db/database.js';
import { hotQuery } from '../../db/hot-query.js';

// The lookups below run on every authenticated request, so they are compiled once (see hotQuery).
const byUsername = hotQuery((db: Executor, username: string) =>
  db.selectFrom('accounts').selectAll().where('username', '=', username),
);
// Memoised until the next write: DA answers name the account's creator on every request.
const byId = hotQuery(
  (db: Executor, id: string) => db.selectFrom('accounts').selectAll().where('id', '=', id),
  {
    memo: true,
  },
);
const forLogin = hotQuery(
  (db: Executor, username: string) =>
    db
      .selectFrom('accounts as a')
      .leftJoin('accounts as c', 'c.id', 'a.creator_id')
      .leftJoin('accounts as g', 'g.id', 'c.creator_id')
      .selectAll('a')
      .select(['c.suspended as c_susp', 'g.suspended as g_susp'])
      .where('a.username', '=', username),
  { memo: true },
);

/** Finds an account by its (normalised) username. */
export async function findByUsername(db: Executor, username: string): Promise<Account | undefined> {
  return (await byUsername(db, username))[0];
}

export async function findById(db: Executor, id: string): Promise<Account | undefined> {
  return (await byId(db, id))[0];
}

/**
 * An account with whether it, its creator or its creator's creator is suspended: a suspended reseller
 * takes every account it owns down with it, without rewriting their rows.
 */
export async function findForLogin(
  db: Executor,
  username: string,
): Promise<(Account & { chain_suspended: number }) | undefined> {
  const row = (await forLogin(db, username))[0];
  if (!row) return undefined;
  const { c_susp, g_susp, ...account } = row;
  return { ...(account as Account), chain_suspended: (c_susp ?? 0) || (g_susp ?? 0) ? 1 : 0 };
}

export async function insert(db: Executor, row: NewAccount): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

export async function update(db: Executor, id: string, patch: AccountUpdate): Promise<void> {
  await db.updateTable('accounts').set(patch).where('id', '=', id).execute();
}

/** Accounts of a level, optionally only those created by `creatorId`, sorted by name. */
export function listByLevel(db: Executor, level: Level | null, creatorId?: string): Promise<Account[]> {
  let q = db.selectFrom('accounts').selectAll().orderBy('username');
  if (level) q = q.where('level', '=', level);
  if (creatorId) q = q.where('creator_id', '=', creatorId);
  return q.execute();
}

export function listCreatedBy(db: Executor, creatorId: string): Promise<Account[]> {
  return db
    .selectFrom('accounts')
    .selectAll()
    .where('creator_id', '=', creatorId)
    .orderBy('username')
    .execute();
}

export function countAll(db: Executor): Promise<number> {
  return db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

/** Removes an account's own rows (its domains and packages, then the account); audit rows stay. */
export async function deleteAccountRows(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('domains').where('account_id', '=', id).execute();
  // Credentials die with the account (key history and messages stay, like the audit).
  await db.deleteFrom('login_keys').where('account_id', '=', id).execute();
  await db.deleteFrom('sessions').where('account_id', '=', id).execute();
  await db.deleteFrom('sessions').where('authenticated_id', '=', id).execute();
  await db.deleteFrom('packages').where('owner_id', '=', id).execute();
  await db.deleteFrom('accounts').where('id', '=', id).execute();
}

// Memoised until the next write to domains: every cPanel domain listing and scope check reads it.
const domainNames = hotQuery(
  (db: Executor, accountId: string) =>
    db.selectFrom('domains').select('name').where('account_id', '=', accountId).orderBy('name'),
  { memo: true },
);

export async function domainsOf(db: Executor, accountId: string): Promise<string[]> {
  return (await domainNames(db, accountId)).map((r) => r.name);
}

export function findDomain(db: Executor, name: string) {
  return db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
}
