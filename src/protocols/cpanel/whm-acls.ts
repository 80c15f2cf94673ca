/**
 * WHM privilege (ACL) names a WHM API token may carry (cPanel spec 1.3). `all` stands for every
 * privilege of the token's owner. The token service validates stored ACLs against this list.
 */
export const WHM_ACLS = [
  'all',
  'basic-whm-functions',
  'create-acct',
  'kill-acct',
  'list-accts',
  'suspend-acct',
  'edit-account',
  'limit-bandwidth',
  'upgrade-account',
  'passwd',
  'list-pkgs',
  'add-pkg',
  'edit-pkg',
  'create-user-session',
  'manage-api-tokens',
] as const;

export type WhmAcl = (typeof WHM_ACLS)[number];
