import type { Account, Level } from '../db/database.js';
import type { CommandPolicy } from './command-policy.js';

export type CredentialKind = 'password' | 'loginkey' | 'session' | 'token' | 'cli';

/** What a delegated credential may touch beyond its command list (empty = the whole account). */
export interface CredentialScope {
  /** Domains (and their subdomains) the credential may act on. */
  domains?: string[];
  /** DNS records the credential may change: name patterns (`_acme-challenge.*`) and record types. */
  dns?: { names: string[]; types: string[] };
}

/** The credential a request was authenticated with. */
export interface Credential {
  kind: CredentialKind;
  /** Key or token id; empty for passwords. */
  id: string;
  name?: string;
  scope?: CredentialScope;
  /** A key's command lists (a key may only mint keys within them). */
  policy?: CommandPolicy;
  /**
   * Spends one use (and one rate-limit slot) of a limited credential. The registry calls it once the
   * command's parameters are valid and before the command runs, so a refused or malformed request spends
   * nothing. Throws CredentialRejected when nothing is left.
   */
  spend?: () => Promise<void>;
}

/** Raised when a credential that authenticated the request can no longer be used for it (spent, over its rate). */
export class CredentialRejected extends Error {
  constructor(readonly reason: string) {
    super(`credential rejected: ${reason}`);
  }
}

/** Who is calling: the account the request acts as, the one that proved the credential, and how. */
export interface Actor {
  /** The effective account (the target of `owner|target` login-as, else the authenticated one). */
  account: Account;
  /** The account whose secret was presented. */
  authenticated: Account;
  credential: Credential;
  /** Client address, or `cli` for the shell. */
  ip: string;
}

const RANK: Record<Level, number> = { user: 1, reseller: 2, admin: 3 };

/** True when `level` is at least `needed` (admin ▸ reseller ▸ user). */
export function levelAtLeast(level: Level, needed: Level): boolean {
  return RANK[level] >= RANK[needed];
}
