import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type Algorithm,
  type Options as Argon2Options,
  hash as argon2Hash,
  hashSync as argon2HashSync,
  verify as argon2Verify,
} from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import {
  COST_LIMITS,
  type CryptScheme,
  costLimitViolation,
  type ParsedHash,
  parseStoredHash,
} from './crypt/formats.js';
import { md5CryptDigest } from './crypt/md5crypt.js';
import { Semaphore } from './crypt/semaphore.js';
import { shaCryptDigest } from './crypt/shacrypt.js';

export type { CryptScheme } from './crypt/formats.js';

export interface HasherOptions {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
  maxConcurrent: number;
}

/** OWASP's argon2id baseline (19 MiB, 2 passes); two concurrent hashes keep a login flood to ~40 MiB. */
export const PRODUCTION_HASHER: HasherOptions = Object.freeze({
  memoryKiB: 19_456,
  timeCost: 2,
  parallelism: 1,
  maxConcurrent: 2,
});

/** Cheap parameters so suites that create accounts stay fast; never use outside tests. */
export const TEST_HASHER: HasherOptions = Object.freeze({
  memoryKiB: 1024,
  timeCost: 1,
  parallelism: 1,
  maxConcurrent: 2,
});

/** Longest password accepted, in UTF-8 bytes; longer input is refused before any hashing. */
export const MAX_PASSWORD_BYTES = 1024;

export interface PasswordHasher {
  hash(plain: string): Promise<string>;
  verify(stored: string, plain: string): Promise<boolean>;
  needsRehash(stored: string): boolean;
  verifyDummy(plain: string): Promise<false>;
  readonly verifications: number;
}

// `Algorithm` is an ambient const enum, which isolatedModules cannot inline; 2 is its Argon2id member.
const ARGON2ID: Algorithm = 2;
// bcrypt only reads the first 72 bytes: longer passwords would "verify" on any extension of the prefix.
const BCRYPT_MAX_PASSWORD_BYTES = 72;
// Unpaired surrogates all encode to U+FFFD in UTF-8, so distinct strings would share one hash.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a plaintext password cannot be hashed or verified, or null if it can. */
function plainPasswordProblem(plain: unknown): string | null {
  if (typeof plain !== 'string') return 'Password must be a string.';
  // UTF-8 never uses fewer bytes than UTF-16 code units, so this bounds the work of the checks below.
  if (plain.length > MAX_PASSWORD_BYTES || Buffer.byteLength(plain, 'utf8') > MAX_PASSWORD_BYTES) {
    return `Password exceeds ${MAX_PASSWORD_BYTES} bytes.`;
  }
  if (plain.includes('\0')) return 'Password contains a NUL character.';
  if (LONE_SURROGATE.test(plain)) return 'Password is not valid Unicode text.';
  return null;
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'latin1');
  const right = Buffer.from(b, 'latin1');
  // Digest lengths are fixed by the scheme, so a length mismatch leaks nothing secret.
  return left.length === right.length && timingSafeEqual(left, right);
}

function assertOptions(opts: HasherOptions): void {
  const { memoryKiB, timeCost, parallelism, maxConcurrent } = opts;
  const whole = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;
  // Our own hashes must stay inside the limits verify() enforces, or every login would be refused.
  if (!whole(parallelism, 1, COST_LIMITS.argon2MaxParallelism)) {
    throw new RangeError(`parallelism must be an integer in 1..${COST_LIMITS.argon2MaxParallelism}`);
  }
  if (!whole(memoryKiB, 8 * parallelism, COST_LIMITS.argon2MaxMemoryKiB)) {
    throw new RangeError(
      `memoryKiB must be an integer in ${8 * parallelism}..${COST_LIMITS.argon2MaxMemoryKiB}`,
    );
  }
  if (!whole(timeCost, 1, COST_LIMITS.argon2MaxTimeCost)) {
    throw new RangeError(`timeCost must be an integer in 1..${COST_LIMITS.argon2MaxTimeCost}`);
  }
  if (!whole(maxConcurrent, 1, Number.MAX_SAFE_INTEGER)) {
    throw new RangeError('maxConcurrent must be a positive integer');
  }
}

async function verifyParsed(parsed: ParsedHash, stored: string, plain: string): Promise<boolean> {
  switch (parsed.scheme) {
    case 'argon2id':
      // The native verifier compares digests in constant time itself.
      return argon2Verify(stored, plain);
    case 'sha512-crypt':
    case 'sha256-crypt': {
      const variant = parsed.scheme === 'sha512-crypt' ? 'sha512' : 'sha256';
      const digest = await shaCryptDigest(
        variant,
        Buffer.from(plain, 'utf8'),
        Buffer.from(parsed.salt, 'latin1'),
        parsed.rounds,
      );
      return constantTimeEqual(digest, parsed.digest);
    }
    case 'md5-crypt':
      return constantTimeEqual(
        md5CryptDigest(Buffer.from(plain, 'utf8'), Buffer.from(parsed.salt, 'latin1')),
        parsed.digest,
      );
    case 'bcrypt': {
      // $2a$ (post-2011), $2b$ and $2y$ compute identically for passwords under 72 bytes; the
      // prefix is normalised so only the 31-character digest needs comparing.
      const cost = String(parsed.cost).padStart(2, '0');
      const computed = await bcrypt.hash(plain, `$2b$${cost}$${parsed.salt}`);
      return constantTimeEqual(computed.slice(-31), parsed.digest);
    }
  }
}

/** Creates an argon2id hasher that also verifies imported legacy crypt(3) and bcrypt hashes. */
export function createPasswordHasher(opts: HasherOptions): PasswordHasher {
  assertOptions(opts);
  const argon2Options: Argon2Options = {
    algorithm: ARGON2ID,
    memoryCost: opts.memoryKiB,
    timeCost: opts.timeCost,
    parallelism: opts.parallelism,
  };
  const gate = new Semaphore(opts.maxConcurrent);
  // Unknown users are checked against this so they cost what a real user with current parameters
  // costs. Its password is random and discarded, so nothing can ever match it.
  const dummyHash = argon2HashSync(randomBytes(32), argon2Options);
  let verifications = 0;

  const counted = <T>(work: () => Promise<T>): Promise<T> =>
    gate.run(() => {
      verifications++;
      return work();
    });

  return {
    async hash(plain: string): Promise<string> {
      const problem = plainPasswordProblem(plain);
      if (problem !== null) throw new RangeError(problem);
      return gate.run(() => argon2Hash(plain, argon2Options));
    },

    async verify(stored: string, plain: string): Promise<boolean> {
      try {
        // Every refusal happens here, before the queue, so a rejected attempt neither waits behind
        // real work nor occupies a slot.
        if (plainPasswordProblem(plain) !== null) return false;
        const parsed = parseStoredHash(stored);
        if (!parsed.ok || costLimitViolation(parsed.hash) !== null) return false;
        const hash = parsed.hash;
        if (hash.scheme === 'bcrypt' && Buffer.byteLength(plain, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES) {
          return false;
        }
        return await counted(() => verifyParsed(hash, stored, plain));
      } catch {
        return false;
      }
    },

    needsRehash(stored: string): boolean {
      const parsed = parseStoredHash(stored);
      if (!parsed.ok || parsed.hash.scheme !== 'argon2id') return true;
      const hash = parsed.hash;
      // A hash verify() refuses can never log in, so it is no keeper either.
      if (costLimitViolation(hash) !== null) return true;
      return (
        hash.version !== 19 ||
        hash.memoryKiB < opts.memoryKiB ||
        hash.timeCost < opts.timeCost ||
        hash.parallelism < opts.parallelism ||
        hash.saltBytes < 16 ||
        hash.hashBytes < 32
      );
    },

    async verifyDummy(plain: string): Promise<false> {
      // Mirror verify(): input it refuses up front is refused here too, equally fast.
      if (plainPasswordProblem(plain) !== null) return false;
      try {
        await counted(() => argon2Verify(dummyHash, plain));
      } catch {
        // The outcome is false regardless; only the time spent matters.
      }
      return false;
    },

    get verifications(): number {
      return verifications;
    },
  };
}

/** Names the scheme of a well-formed supported hash, or null for anything unsupported or malformed. */
export function detectCryptScheme(stored: string): CryptScheme | null {
  const parsed = parseStoredHash(stored);
  return parsed.ok ? parsed.hash.scheme : null;
}

/** Checks a pre-hashed password supplied by an API caller: well-formed, supported, and affordable to verify. */
export function validateImportedHash(
  stored: string,
): { ok: true; scheme: CryptScheme } | { ok: false; reason: string } {
  const parsed = parseStoredHash(stored);
  if (!parsed.ok) return parsed;
  const violation = costLimitViolation(parsed.hash);
  if (violation !== null) return { ok: false, reason: violation };
  return { ok: true, scheme: parsed.hash.scheme };
}
