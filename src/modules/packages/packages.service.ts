import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { isPackageName, printable, validatePackageName } from '../../core/validation.js';
import type { Executor, PackageRow } from '../../db/database.js';
import type { Services } from '../../services.js';
import { allocationProblem, type PackageKind, readSettings, type Settings } from './limits.js';

/**
 * A package of `ownerId` by kind and name. A name no package could have is not looked up: PostgreSQL
 * refuses text with a NUL byte outright, which would surface as an internal error instead of "not found".
 */
export async function findPackage(
  db: Executor,
  ownerId: string,
  kind: PackageKind,
  name: string,
): Promise<PackageRow | undefined> {
  if (!isPackageName(name)) return undefined;
  return db
    .selectFrom('packages')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('kind', '=', kind)
    .where('name', '=', name)
    .executeTakeFirst();
}

function checkKind(actor: Actor, kind: PackageKind): void {
  // Reseller packages describe resellers, which only admins create.
  if (kind === 'reseller' && actor.account.level !== 'admin')
    fail('PERMISSION_DENIED', 'Only admins have reseller packages');
}

/** Names of the actor's packages of a kind. */
export async function listPackages(services: Services, actor: Actor, kind: PackageKind): Promise<string[]> {
  checkKind(actor, kind);
  const rows = await services.db
    .selectFrom('packages')
    .select('name')
    .where('owner_id', '=', actor.account.id)
    .where('kind', '=', kind)
    .orderBy('name')
    .execute();
  return rows.map((r) => r.name);
}

/** One of the actor's packages. */
export async function getPackage(
  services: Services,
  actor: Actor,
  kind: PackageKind,
  name: string,
): Promise<Settings> {
  checkKind(actor, kind);
  const p = await findPackage(services.db, actor.account.id, kind, name);
  if (!p) fail('PACKAGE_NOT_FOUND', `You have no ${kind} package named ${printable(name)}`);
  return readSettings(p.settings);
}

/**
 * A reseller re-saving a package its users are on gives each of them the new limits, so the change is held
 * to the reseller's own budget exactly as if each user were modified one by one (an admin is not limited).
 */
async function checkResave(db: Executor, actor: Actor, name: string, settings: Settings): Promise<void> {
  if (actor.account.level !== 'reseller') return;
  // Locks the reseller's row until commit, like account creation does, so a re-save and a creation
  // racing each other cannot both fit the budget they each counted alone.
  await db
    .updateTable('accounts')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', actor.account.id)
    .execute();
  const reseller = await db
    .selectFrom('accounts')
    .select('settings')
    .where('id', '=', actor.account.id)
    .executeTakeFirst();
  const users = await db
    .selectFrom('accounts')
    .select(['package', 'settings'])
    .where('creator_id', '=', actor.account.id)
    .where('level', '=', 'user')
    .execute();
  const onPackage = users.filter((u) => u.package === name);
  if (onPackage.length === 0) return;
  const problem = allocationProblem(
    readSettings(reseller?.settings ?? actor.account.settings),
    users.filter((u) => u.package !== name).map((u) => readSettings(u.settings)),
    onPackage.map(() => settings),
  );
  if (problem) fail('LIMIT_EXCEEDED', `Package ${name} is used by your users: ${problem}`);
}

/**
 * Creates a package, or changes the given fields of an existing one (DirectAdmin's "Save"). Accounts on
 * the package get the new limits in the same transaction, as DirectAdmin applies a package change to its
 * users; a reseller's change is held to its own budget (checkResave).
 */
export async function savePackage(
  services: Services,
  actor: Actor,
  kind: PackageKind,
  name: string,
  settings: Settings,
): Promise<'created' | 'updated'> {
  checkKind(actor, kind);
  const pkgName = validatePackageName(name);
  const now = services.clock.now();
  return services.db.transaction().execute(async (trx) => {
    const existing = await findPackage(trx, actor.account.id, kind, pkgName);
    // Saving an existing package changes the fields sent and keeps the others (the DA adapter parses a
    // re-save without requiring every limit); replacing the whole set would drop every field not sent.
    const merged = existing ? { ...readSettings(existing.settings), ...settings } : settings;
    const json = JSON.stringify(merged);
    if (existing && kind === 'user') await checkResave(trx, actor, pkgName, merged);
    if (existing) {
      await trx
        .updateTable('packages')
        .set({ settings: json, updated_at: now })
        .where('id', '=', existing.id)
        .execute();
      await trx
        .updateTable('accounts')
        .set({ settings: json, updated_at: now })
        .where('creator_id', '=', actor.account.id)
        .where('package', '=', pkgName)
        .where('level', '=', kind)
        .execute();
    } else {
      await trx
        .insertInto('packages')
        .values({
          id: newId(services.random),
          owner_id: actor.account.id,
          kind,
          name: pkgName,
          settings: json,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    await record(trx, actor, { command: `package.${kind}.save`, target: pkgName, details: settings }, now);
    return existing ? 'updated' : 'created';
  });
}

async function usersOf(db: Executor, actor: Actor, kind: PackageKind, name: string): Promise<number> {
  const r = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('creator_id', '=', actor.account.id)
    .where('package', '=', name)
    .where('level', '=', kind)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Deletes packages; refuses (and deletes none) when any is missing or still used by an account. */
export async function deletePackages(
  services: Services,
  actor: Actor,
  kind: PackageKind,
  names: string[],
): Promise<void> {
  checkKind(actor, kind);
  if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one package');
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    for (const name of new Set(names)) {
      const p = await findPackage(trx, actor.account.id, kind, name);
      if (!p) fail('PACKAGE_NOT_FOUND', `You have no ${kind} package named ${printable(name)}`);
      const n = await usersOf(trx, actor, kind, name);
      if (n > 0)
        fail('PACKAGE_IN_USE', `${name} is used by ${n} account(s); move them to another package first`);
      await trx.deleteFrom('packages').where('id', '=', p.id).execute();
      await record(trx, actor, { command: `package.${kind}.delete`, target: name }, now);
    }
  });
}

/** Renames a package; accounts on it follow. */
export async function renamePackage(
  services: Services,
  actor: Actor,
  kind: PackageKind,
  from: string,
  to: string,
): Promise<void> {
  checkKind(actor, kind);
  const next = validatePackageName(to);
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const p = await findPackage(trx, actor.account.id, kind, from);
    if (!p) fail('PACKAGE_NOT_FOUND', `You have no ${kind} package named ${printable(from)}`);
    if (from === next) return;
    if (await findPackage(trx, actor.account.id, kind, next))
      fail('PACKAGE_EXISTS', `${next} already exists`);
    await trx.updateTable('packages').set({ name: next, updated_at: now }).where('id', '=', p.id).execute();
    await trx
      .updateTable('accounts')
      .set({ package: next, updated_at: now })
      .where('creator_id', '=', actor.account.id)
      .where('package', '=', from)
      .where('level', '=', kind)
      .execute();
    await record(trx, actor, { command: `package.${kind}.rename`, target: from, details: { to: next } }, now);
  });
}
