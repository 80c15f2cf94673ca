import type { Level } from '../../db/database.js';

/*
 * WHM privileges ("ACLs"). cPanel gives root every privilege and a reseller those root grants it; hostdeck
 * has no per-reseller privilege editor, so every reseller holds RESELLER_ACLS. `all` means every privilege
 * and is root's alone: a reseller that could hold it would outrank the ownership tree.
 *
 * A WHM API token carries a list of these names. What a request may run is the intersection of what the
 * token lists and what its owner holds now, so demoting or limiting the owner limits its tokens at once.
 */

/** Every ACL name a WHM token may carry (cPanel's names, spec 1.3). */
export const WHM_ACLS = [
  'all',
  'basic-whm-functions',
  'list-accts',
  'create-acct',
  'kill-acct',
  'suspend-acct',
  'edit-account',
  'upgrade-account',
  'limit-bandwidth',
  'passwd',
  'list-pkgs',
  'add-pkg',
  'edit-pkg',
  'create-user-session',
  'manage-api-tokens',
  'ssl',
  'edit-dns',
] as const;

export type WhmAcl = (typeof WHM_ACLS)[number];

/** The privileges every reseller holds: all but `all`. */
export const RESELLER_ACLS: readonly WhmAcl[] = WHM_ACLS.filter((a) => a !== 'all');

/** True when `name` is a WHM ACL name. */
export function isWhmAcl(name: string): name is WhmAcl {
  return (WHM_ACLS as readonly string[]).includes(name);
}

/** The privileges an account level holds: an admin all of them, a reseller RESELLER_ACLS, a user none. */
export function aclsOfLevel(level: Level): readonly WhmAcl[] {
  if (level === 'admin') return WHM_ACLS;
  if (level === 'reseller') return RESELLER_ACLS;
  return [];
}

/**
 * The privilege each WHM function needs; null means any admin or reseller (and any of their tokens) may
 * call it, because it reads nothing of any account (`version`) or only reports what the caller may run
 * (`applist`).
 */
export const WHM_FUNCTION_ACLS: Readonly<Record<string, WhmAcl | null>> = {
  version: null,
  applist: null,
  listaccts: 'list-accts',
  accountsummary: 'list-accts',
  createacct: 'create-acct',
  removeacct: 'kill-acct',
  suspendacct: 'suspend-acct',
  unsuspendacct: 'suspend-acct',
  passwd: 'passwd',
  modifyacct: 'edit-account',
  changepackage: 'upgrade-account',
  listpkgs: 'list-pkgs',
  addpkg: 'add-pkg',
  editpkg: 'edit-pkg',
  killpkg: 'edit-pkg',
  create_user_session: 'create-user-session',
  api_token_create: 'manage-api-tokens',
  api_token_list: 'manage-api-tokens',
  api_token_update: 'manage-api-tokens',
  api_token_revoke: 'manage-api-tokens',
  api_token_get_details: 'manage-api-tokens',
  installssl: 'ssl',
  listzones: 'edit-dns',
  parse_dns_zone: 'edit-dns',
  mass_edit_dns_zone: 'edit-dns',
};

/**
 * What a request may run: the owner's privileges, narrowed by the token's list when the request carries
 * a token (`all` in the list stands for every privilege the owner holds).
 */
export function effectiveAcls(ownerLevel: Level, tokenAcls?: readonly string[]): Set<WhmAcl> {
  const owner = aclsOfLevel(ownerLevel);
  if (!tokenAcls) return new Set(owner);
  if (tokenAcls.includes('all') && owner.includes('all')) return new Set(owner);
  return new Set(owner.filter((a) => tokenAcls.includes(a)));
}

/** True when privileges `held` include `needed` (null: nothing is needed); `all` covers everything. */
export function aclAllows(held: ReadonlySet<string>, needed: WhmAcl | null): boolean {
  return needed === null || held.has('all') || held.has(needed);
}

/**
 * Which of `wanted` an owner of `ownerLevel` may not give a token: unknown names and privileges the owner
 * lacks. Empty when the list is acceptable.
 */
export function aclsBeyondOwner(ownerLevel: Level, wanted: readonly string[]): string[] {
  const owner = new Set<string>(aclsOfLevel(ownerLevel));
  return wanted.filter((a) => !isWhmAcl(a) || !owner.has(a));
}
