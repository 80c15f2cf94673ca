import { createHmac, randomBytes } from 'node:crypto';
import { AuthCache } from './auth-cache.js';

interface Entry {
  /** The account state the verification was made against: any change to either invalidates it. */
  authVersion: number;
  passwordHash: string;
  expires: number;
}

/**
 * Remembers that a password verified, so repeated Basic auth of one account does not pay for argon2id on
 * every request. Keys are HMAC digests of (account id, secret) under a per-process random key: the map
 * never holds a password, and a dump of it cannot be used to test guesses offline. An entry is honoured
 * only while the account's auth_version and stored hash are unchanged, so a password change, suspension
 * or deletion (on any node sharing the database) ends it on the next request.
 */
export class CredentialCache {
  private readonly key = randomBytes(32);
  private readonly map = new Map<string, Entry>();
  /** Whole successful logins (password or key), remembered until what they were read from changes. */
  readonly logins = new AuthCache();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private digest(accountId: string, secret: string): string {
    return createHmac('sha256', this.key).update(accountId).update('\0').update(secret).digest('base64url');
  }

  /** True when this secret verified for this account in its current state. */
  has(accountId: string, secret: string, authVersion: number, passwordHash: string, now: number): boolean {
    if (this.ttlMs <= 0) return false;
    const d = this.digest(accountId, secret);
    const e = this.map.get(d);
    if (!e) return false;
    if (e.expires <= now || e.authVersion !== authVersion || e.passwordHash !== passwordHash) {
      this.map.delete(d);
      return false;
    }
    return true;
  }

  /**
   * Until when this secret's verification is honoured for this account in its current state (0: not
   * honoured now). A remembered login made with it must end then too.
   */
  validUntil(
    accountId: string,
    secret: string,
    authVersion: number,
    passwordHash: string,
    now: number,
  ): number {
    if (!this.has(accountId, secret, authVersion, passwordHash, now)) return 0;
    return this.map.get(this.digest(accountId, secret))?.expires ?? 0;
  }

  /** Records a verification made just now; call it only after the hash itself said yes. */
  remember(accountId: string, secret: string, authVersion: number, passwordHash: string, now: number): void {
    if (this.ttlMs <= 0) return;
    const d = this.digest(accountId, secret);
    // Re-inserting moves the entry to the end, so insertion order stays verification order, and a
    // refreshed entry never costs another its place.
    this.map.delete(d);
    if (this.map.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the entry verified longest ago.
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
    this.map.set(d, { authVersion, passwordHash, expires: now + this.ttlMs });
  }

  clear(): void {
    this.map.clear();
    this.logins.clear();
  }
}
