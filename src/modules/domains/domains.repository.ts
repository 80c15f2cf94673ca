import { PostgresAdapter, sql } from 'kysely';
import type { DomainPointerRow, DomainRow, Executor, SubdomainRow } from '../../db/database.js';
import { hotQuery } from '../../db/hot-query.js';

// The reads every listing of an account's domains makes (cPanel's DomainInfo::list_domains, DA's
// subdomain and pointer lists) are compiled once and, on SQLite, memoised until a write reaches their
// table. Memoised rows are shared: callers read them and never change them.
const byName = hotQuery(
  (db: Executor, name: string) => db.selectFrom('domains').selectAll().where('name', '=', name),
  { memo: true },
);
const subdomainsByDomain = hotQuery(
  (db: Executor, domainId: string) =>
    db.selectFrom('subdomains').selectAll().where('domain_id', '=', domainId).orderBy('label'),
  { memo: true },
);
const pointersByDomain = hotQuery(
  (db: Executor, domainId: string) =>
    db.selectFrom('domain_pointers').selectAll().where('domain_id', '=', domainId).orderBy('name'),
  { memo: true },
);

export async function domainByName(db: Executor, name: string) {
  return (await byName(db, name))[0];
}

const byAccount = hotQuery(
  (db: Executor, accountId: string) =>
    db.selectFrom('domains').selectAll().where('account_id', '=', accountId).orderBy('name'),
  { memo: true },
);

/** The account's domain rows by name (memoised like the other listing reads: never change them). */
export function domainsOfAccount(db: Executor, accountId: string): Promise<readonly DomainRow[]> {
  return byAccount(db, accountId);
}

export async function countOf(
  db: Executor,
  table: 'domains' | 'subdomains' | 'domain_pointers',
  accountId: string,
): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export function subdomainsOf(db: Executor, domainId: string): Promise<readonly SubdomainRow[]> {
  return subdomainsByDomain(db, domainId);
}

export function pointersOf(db: Executor, domainId: string): Promise<readonly DomainPointerRow[]> {
  return pointersByDomain(db, domainId);
}

/**
 * The account that holds `name` in the installation's one namespace of host names (a domain, a
 * pointer, a subdomain or a zone received from elsewhere), if any.
 */
export async function holderOf(db: Executor, name: string): Promise<string | undefined> {
  const d = await db.selectFrom('domains').select('account_id').where('name', '=', name).executeTakeFirst();
  if (d) return d.account_id;
  const p = await db
    .selectFrom('domain_pointers')
    .select('account_id')
    .where('name', '=', name)
    .executeTakeFirst();
  if (p) return p.account_id;
  const s = await db
    .selectFrom('subdomains')
    .select('account_id')
    .where('fqdn', '=', name)
    .executeTakeFirst();
  if (s) return s.account_id;
  const z = await db
    .selectFrom('dns_zones')
    .select('account_id')
    .where('origin', '=', name)
    .executeTakeFirst();
  return z?.account_id;
}

/** The accounts holding a domain or pointer that is a parent of `name` (not counting the top-level label). */
export async function parentHolders(db: Executor, name: string): Promise<string[]> {
  const labels = name.split('.');
  const parents: string[] = [];
  for (let i = 1; i < labels.length - 1; i++) parents.push(labels.slice(i).join('.'));
  if (parents.length === 0) return [];
  const d = await db.selectFrom('domains').select('account_id').where('name', 'in', parents).execute();
  const p = await db
    .selectFrom('domain_pointers')
    .select('account_id')
    .where('name', 'in', parents)
    .execute();
  return [...d, ...p].map((r) => r.account_id);
}

/** Locks the account's row until commit, so limit checks of one account run one after the other. */
export async function lockAccount(db: Executor, accountId: string): Promise<void> {
  await db
    .updateTable('accounts')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', accountId)
    .execute();
}

/** Advisory lock key serialising claims of host names (an arbitrary constant, distinct from the schema lock). */
const NAME_CLAIM_LOCK = 7_262_611_401;

/**
 * Makes claims of host names one at a time until the transaction ends. A name may be claimed through
 * different tables (a domain, a pointer, a subdomain), so no single unique index can stop two accounts
 * from taking it at once on PostgreSQL; SQLite already runs one write transaction at a time.
 */
export async function lockNameClaims(db: Executor): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter)
    await sql`select pg_advisory_xact_lock(${NAME_CLAIM_LOCK})`.execute(db);
}
