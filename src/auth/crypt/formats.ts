// Strict parsing of stored password hashes. Everything the verifier hashes with has been through
// here first, so cost parameters are known (and bounded) before any CPU or memory is committed.

export type CryptScheme = 'argon2id' | 'sha512-crypt' | 'sha256-crypt' | 'md5-crypt' | 'bcrypt';

export type ParsedHash =
  | {
      scheme: 'argon2id';
      version: 16 | 19;
      memoryKiB: number;
      timeCost: number;
      parallelism: number;
      saltBytes: number;
      hashBytes: number;
    }
  | { scheme: 'sha512-crypt' | 'sha256-crypt'; rounds: number; salt: string; digest: string }
  | { scheme: 'md5-crypt'; salt: string; digest: string }
  | { scheme: 'bcrypt'; cost: number; salt: string; digest: string };

export type ParseOutcome = { ok: true; hash: ParsedHash } | { ok: false; reason: string };

/**
 * Upper bounds on cost parameters. Above these a single login attempt costs enough CPU or memory to
 * be a denial-of-service lever, so such hashes are refused rather than computed.
 */
export const COST_LIMITS = Object.freeze({
  argon2MaxMemoryKiB: 262_144,
  argon2MaxTimeCost: 10,
  argon2MaxParallelism: 8,
  bcryptMaxCost: 14,
  shaCryptMaxRounds: 1_000_000,
});

// Longest legitimate form is argon2id with a 48-byte salt and 64-byte output (~200 chars); the cap
// keeps regex work on hostile input trivially small.
const MAX_STORED_LENGTH = 256;

const SHA_CRYPT_DEFAULT_ROUNDS = 5000;
// glibc clamps requested rounds into this range and writes the clamped value, so anything outside
// it was not produced by a real crypt(3).
const SHA_CRYPT_MIN_ROUNDS = 1000;
const SHA_CRYPT_MAX_ROUNDS = 999_999_999;

const CRYPT_CHARS = /^[./0-9A-Za-z]*$/;
const ARGON2ID_RE =
  /^\$argon2id\$(?:v=(\d{1,3})\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BCRYPT_RE = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

/** Decoded length of unpadded standard base64, or -1 when no byte string encodes to that length. */
function unpaddedBase64Bytes(text: string): number {
  return text.length % 4 === 1 ? -1 : Math.floor((text.length * 3) / 4);
}

function fail(reason: string): ParseOutcome {
  return { ok: false, reason };
}

function parseArgon2id(stored: string): ParseOutcome {
  const m = ARGON2ID_RE.exec(stored);
  if (!m) return fail('The argon2id hash is malformed.');
  const [, v, mem, time, par, salt, hash] = m;
  // PHC strings without a version field predate v=19 and mean version 16.
  const version = v === undefined ? 16 : Number(v);
  if (version !== 16 && version !== 19) return fail('The argon2id hash has an unknown version.');
  const memoryKiB = Number(mem);
  const timeCost = Number(time);
  const parallelism = Number(par);
  if (timeCost < 1 || parallelism < 1 || memoryKiB < 8 * parallelism) {
    return fail('The argon2id hash has impossible cost parameters.');
  }
  const saltBytes = unpaddedBase64Bytes(salt!);
  const hashBytes = unpaddedBase64Bytes(hash!);
  if (saltBytes < 8 || saltBytes > 48) return fail('The argon2id salt must be 8 to 48 bytes.');
  if (hashBytes < 16 || hashBytes > 64) return fail('The argon2id hash output must be 16 to 64 bytes.');
  return {
    ok: true,
    hash: {
      scheme: 'argon2id',
      version: version === 16 ? 16 : 19,
      memoryKiB,
      timeCost,
      parallelism,
      saltBytes,
      hashBytes,
    },
  };
}

function parseShaCrypt(stored: string, id: '5' | '6'): ParseOutcome {
  const scheme = id === '5' ? 'sha256-crypt' : 'sha512-crypt';
  const label = id === '5' ? 'SHA-256 crypt' : 'SHA-512 crypt';
  const fields = stored.slice(3).split('$');
  let rounds = SHA_CRYPT_DEFAULT_ROUNDS;
  const roundsField = /^rounds=(\d{1,10})$/.exec(fields[0] ?? '');
  if (roundsField) {
    rounds = Number(roundsField[1]);
    fields.shift();
    if (rounds < SHA_CRYPT_MIN_ROUNDS || rounds > SHA_CRYPT_MAX_ROUNDS) {
      return fail(`The ${label} rounds must be between 1000 and 999999999.`);
    }
  } else if (fields[0]?.startsWith('rounds=')) {
    return fail(`The ${label} rounds field is malformed.`);
  }
  if (fields.length !== 2) return fail(`The ${label} hash is malformed.`);
  const [salt, digest] = fields as [string, string];
  if (salt.length === 0 || salt.length > 16 || !CRYPT_CHARS.test(salt)) {
    return fail(`The ${label} salt must be 1 to 16 characters from [./0-9A-Za-z].`);
  }
  if (digest.length !== (id === '5' ? 43 : 86) || !CRYPT_CHARS.test(digest)) {
    return fail(`The ${label} digest has the wrong length or characters.`);
  }
  return { ok: true, hash: { scheme, rounds, salt, digest } };
}

function parseMd5Crypt(stored: string): ParseOutcome {
  const fields = stored.slice(3).split('$');
  if (fields.length !== 2) return fail('The MD5 crypt hash is malformed.');
  const [salt, digest] = fields as [string, string];
  if (salt.length === 0 || salt.length > 8 || !CRYPT_CHARS.test(salt)) {
    return fail('The MD5 crypt salt must be 1 to 8 characters from [./0-9A-Za-z].');
  }
  if (digest.length !== 22 || !CRYPT_CHARS.test(digest)) {
    return fail('The MD5 crypt digest has the wrong length or characters.');
  }
  return { ok: true, hash: { scheme: 'md5-crypt', salt, digest } };
}

function parseBcrypt(stored: string): ParseOutcome {
  const m = BCRYPT_RE.exec(stored);
  if (!m) return fail('The bcrypt hash is malformed.');
  const cost = Number(m[1]);
  if (cost < 4 || cost > 31) return fail('The bcrypt cost must be between 04 and 31.');
  return { ok: true, hash: { scheme: 'bcrypt', cost, salt: m[2]!, digest: m[3]! } };
}

/** Parses a stored hash into its scheme and parameters, or explains in one sentence why it cannot. */
export function parseStoredHash(stored: string): ParseOutcome {
  if (typeof stored !== 'string' || stored.length === 0) return fail('The hash is empty.');
  if (stored.length > MAX_STORED_LENGTH) return fail('The hash is too long to be a supported format.');
  if (stored.startsWith('$argon2id$')) return parseArgon2id(stored);
  if (stored.startsWith('$6$')) return parseShaCrypt(stored, '6');
  if (stored.startsWith('$5$')) return parseShaCrypt(stored, '5');
  if (stored.startsWith('$1$')) return parseMd5Crypt(stored);
  if (/^\$2[aby]\$/.test(stored)) return parseBcrypt(stored);
  if (/^\$argon2(?:i|d)\$/.test(stored)) return fail('Only the argon2id variant of argon2 is supported.');
  if (/^\$2x?\$/.test(stored)) {
    return fail('Legacy bcrypt variants $2$ and $2x$ are not supported; use $2a$, $2b$ or $2y$.');
  }
  if (stored.startsWith('$apr1$')) return fail('Apache MD5 ($apr1$) hashes are not supported.');
  if (stored.startsWith('$y$') || stored.startsWith('$gy$'))
    return fail('yescrypt hashes are not supported.');
  if (stored.startsWith('!') || stored.startsWith('*')) {
    return fail('The hash is a locked or disabled placeholder, not a password hash.');
  }
  if (/^[./0-9A-Za-z]{13}$/.test(stored)) return fail('Traditional DES crypt hashes are not supported.');
  return fail('The hash is not in a supported format (argon2id, SHA-512/SHA-256/MD5 crypt or bcrypt).');
}

/** Returns why a well-formed hash's cost parameters are too expensive to compute, or null if they are fine. */
export function costLimitViolation(hash: ParsedHash): string | null {
  switch (hash.scheme) {
    case 'argon2id':
      if (hash.memoryKiB > COST_LIMITS.argon2MaxMemoryKiB) {
        return `The argon2id memory cost exceeds ${COST_LIMITS.argon2MaxMemoryKiB} KiB.`;
      }
      if (hash.timeCost > COST_LIMITS.argon2MaxTimeCost) {
        return `The argon2id time cost exceeds ${COST_LIMITS.argon2MaxTimeCost}.`;
      }
      if (hash.parallelism > COST_LIMITS.argon2MaxParallelism) {
        return `The argon2id parallelism exceeds ${COST_LIMITS.argon2MaxParallelism}.`;
      }
      return null;
    case 'bcrypt':
      return hash.cost > COST_LIMITS.bcryptMaxCost
        ? `The bcrypt cost exceeds ${COST_LIMITS.bcryptMaxCost}.`
        : null;
    case 'sha512-crypt':
    case 'sha256-crypt':
      return hash.rounds > COST_LIMITS.shaCryptMaxRounds
        ? `The ${hash.scheme === 'sha512-crypt' ? 'SHA-512' : 'SHA-256'} crypt rounds exceed ${COST_LIMITS.shaCryptMaxRounds}.`
        : null;
    case 'md5-crypt':
      return null;
  }
}
