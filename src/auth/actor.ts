import type { Account, Level } from '../db/database.js';

export type CredentialKind = 'password' | 'loginkey' | 'session' | 'token' | 'cli';

/** Who is calling: the account the request acts as, the one that proved the credential, and how. */
export interface Actor {
  /** The effective account (the target of `owner|target` login-as, else the authenticated one). */
  account: Account;
  /** The account whose secret was presented. */
  authenticated: Account;
  credential: { kind: CredentialKind; id: string };
  /** Client address, or `cli` for the shell. */
  ip: string;
}

const RANK: Record<Level, number> = { user: 1, reseller: 2, admin: 3 };

/** True when `level` is at least `needed` (admin ▸ reseller ▸ user). */
export function levelAtLeast(level: Level, needed: Level): boolean {
  return RANK[level] >= RANK[needed];
}
