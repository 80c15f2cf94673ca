import { hash, randomBytes } from 'node:crypto';
import type { Executor } from '../db/database.js';
import { dataGeneration } from '../db/hot-query.js';
import type { Actor } from './actor.js';
import type { CommandCatalog } from './command-policy.js';

/**
 * The tables an authentication outcome is read from: accounts (owner, target, creator chain, password
 * hash, auth_version, suspension, package settings), the brute-force monitor's blocks, the login keys and
 * the API tokens.
 * Uses of a key (its counters) are a channel of their own (see hot-query.ts) and are not among these: an
 * entry judges them again on every hit from `noteUse`.
 */
const CHANNELS = ['accounts', 'bfm_entries', 'login_keys', 'api_tokens'];

/** The counters of a key that its use moves, as the guarded UPDATE that spent the use returned them. */
export interface KeyCounters {
  uses_left: number;
  rate_count: number;
  rate_window_start: number;
  cleared_at: number | null;
  use_count: number;
}

/** What a successful login leaves behind for the next identical request. */
export interface AuthEntryInput {
  /** The entry is not used from this time on (a key's expiry, a password's re-verification). */
  validUntil: number;
  /** A key login: the key's id and its counters as read, judged on every hit against the newest known. */
  key?: {
    id: string;
    counters: KeyCounters;
    /** Whether these counters still let the key be used at `now`; false sends the request the slow way. */
    usable(c: KeyCounters, now: number): boolean;
  };
  /** This request's actor, built anew on every hit (a key's actor spends its own use). */
  actor(): Actor;
}

interface Entry extends AuthEntryInput {
  generation: number;
}

/** What identifies one login attempt: the same values must lead to the same outcome. */
export interface AuthRequest {
  username: string;
  secret: string;
  ip: string;
  /** Present when login keys are accepted too; the outcome then depends on the command and its kind. */
  key?: { command: string; browser: boolean; catalog: CommandCatalog };
}

/**
 * Remembers the outcome of successful logins (the authenticated actor) until anything they were read
 * from changes, so repeated Basic auth of one credential skips the brute-force read, the account lookup,
 * the key lookup and the policy decision. SQLite only: the entries are tied to the data generation of
 * the tables above (see hot-query.ts), which moves on every write of this process and on every commit of
 * another one; on PostgreSQL other API nodes write too, and nothing is remembered.
 *
 * Entries are keyed by a digest of the whole attempt (username, secret, IP, command) under a per-process
 * random key, so the map never holds a secret. Only successes are remembered: every refusal, and every
 * hit whose key has run out, takes the full path again (which counts failures and writes key history).
 */
export class AuthCache {
  /** The per-process secret every digest starts with (see `digest`). */
  private readonly salt = randomBytes(32).toString('base64url');
  private readonly map = new Map<string, Entry>();
  /** The newest counters of keys in use, from the guarded UPDATEs that spent them; null: refused since. */
  private readonly counters = new Map<string, KeyCounters | null>();
  private readonly catalogs = new WeakMap<CommandCatalog, number>();
  private generationSeen = -1;

  constructor(private readonly maxEntries = 10_000) {}

  /** The data generation entries are tied to, or undefined when nothing may be remembered. */
  generation(db: Executor): number | undefined {
    const g = dataGeneration(db, CHANNELS);
    if (g !== undefined && g !== this.generationSeen) {
      this.generationSeen = g;
      this.map.clear();
      this.counters.clear();
    }
    return g;
  }

  /** The keyed digest an attempt is remembered under. */
  digest(r: AuthRequest): string {
    // Every field but the secret is length-prefixed, so no two attempts concatenate alike.
    const k = r.key;
    const attempt = k
      ? `${k.command.length}:${k.command}${k.browser ? 1 : 0}${this.catalogId(k.catalog)}:`
      : '-';
    // SHA-256 of a secret prefix and the attempt: the digests never leave this process, so the length
    // extension that HMAC guards against gives nothing to anyone, and the one-shot hash costs a fraction
    // of an HMAC object on the path every cached request takes.
    return hash(
      'sha256',
      `${this.salt}${r.ip.length}:${r.ip}${r.username.length}:${r.username}${attempt}${r.secret}`,
      'base64url',
    );
  }

  /** The actor of a remembered login, or null when the request must take the full path. */
  admit(digest: string, generation: number, now: number): Actor | null {
    const e = this.map.get(digest);
    if (!e) return null;
    if (e.generation !== generation || now >= e.validUntil) {
      this.map.delete(digest);
      return null;
    }
    if (e.key) {
      const live = this.counters.get(e.key.id);
      if (live === null) return null;
      const c = live && live.use_count >= e.key.counters.use_count ? live : e.key.counters;
      if (!e.key.usable(c, now)) return null;
    }
    return e.actor();
  }

  /**
   * Remembers a successful login made against `generation` (read before the login began); nothing is
   * stored when a write happened meanwhile.
   */
  remember(digest: string, generation: number, db: Executor, input: AuthEntryInput): void {
    if (this.generation(db) !== generation) return;
    this.map.delete(digest);
    if (this.map.size >= this.maxEntries) {
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
    this.map.set(digest, { ...input, generation });
    if (input.key) {
      const live = this.counters.get(input.key.id);
      // A refusal noted before gives way to the row this login has just read and admitted (the guarded
      // UPDATE stays the authority on what is left either way).
      if (!live || live.use_count < input.key.counters.use_count)
        this.counters.set(input.key.id, input.key.counters);
    }
  }

  /** Notes a use just spent (the counters the guarded UPDATE returned), or null when none was left. */
  noteUse(keyId: string, counters: KeyCounters | null): void {
    if (counters === null) {
      this.counters.set(keyId, null);
      return;
    }
    const live = this.counters.get(keyId);
    if (live === null) return;
    if (!live || live.use_count < counters.use_count) this.counters.set(keyId, counters);
  }

  /** How many logins are remembered (tests). */
  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
    this.counters.clear();
  }

  private catalogId(c: CommandCatalog): number {
    let id = this.catalogs.get(c);
    if (id === undefined) {
      id = this.nextCatalog++;
      this.catalogs.set(c, id);
    }
    return id;
  }

  private nextCatalog = 1;
}
