import { createHash } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { type CryptGroup, encodeCryptGroups } from './encoding.js';

// Ulrich Drepper's SHA-crypt ("Unix crypt using SHA-256 and SHA-512"), as in glibc. We do not call
// the synchronous `unixcrypt` package at login time: an imported hash may legitimately carry up to
// 1,000,000 rounds, which is ~2 s of blocked event loop per attempt. This version yields between
// slices so other requests keep being served; tests cross-check it against `unixcrypt` and openssl.

export type ShaCryptVariant = 'sha256' | 'sha512';

/** Rounds computed between yields; a few milliseconds of work per slice. */
const ROUNDS_PER_SLICE = 2048;

const SHA256_GROUPS: readonly CryptGroup[] = [
  [0, 10, 20, 4],
  [21, 1, 11, 4],
  [12, 22, 2, 4],
  [3, 13, 23, 4],
  [24, 4, 14, 4],
  [15, 25, 5, 4],
  [6, 16, 26, 4],
  [27, 7, 17, 4],
  [18, 28, 8, 4],
  [9, 19, 29, 4],
  [null, 31, 30, 3],
];

const SHA512_GROUPS: readonly CryptGroup[] = [
  [0, 21, 42, 4],
  [22, 43, 1, 4],
  [44, 2, 23, 4],
  [3, 24, 45, 4],
  [25, 46, 4, 4],
  [47, 5, 26, 4],
  [6, 27, 48, 4],
  [28, 49, 7, 4],
  [50, 8, 29, 4],
  [9, 30, 51, 4],
  [31, 52, 10, 4],
  [53, 11, 32, 4],
  [12, 33, 54, 4],
  [34, 55, 13, 4],
  [56, 14, 35, 4],
  [15, 36, 57, 4],
  [37, 58, 16, 4],
  [59, 17, 38, 4],
  [18, 39, 60, 4],
  [40, 61, 19, 4],
  [62, 20, 41, 4],
  [null, null, 63, 2],
];

/** Computes the SHA-crypt digest (43 chars for SHA-256, 86 for SHA-512) without blocking the event loop. */
export async function shaCryptDigest(
  variant: ShaCryptVariant,
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
): Promise<string> {
  const size = variant === 'sha256' ? 32 : 64;
  const keyLen = password.length;

  const alternate = createHash(variant).update(password).update(salt).update(password).digest();

  const ctxA = createHash(variant).update(password).update(salt);
  let remaining = keyLen;
  for (; remaining > size; remaining -= size) ctxA.update(alternate);
  ctxA.update(alternate.subarray(0, remaining));
  for (let bits = keyLen; bits > 0; bits >>= 1) {
    ctxA.update((bits & 1) !== 0 ? alternate : password);
  }
  const digestA = ctxA.digest();

  const ctxP = createHash(variant);
  for (let i = 0; i < keyLen; i++) ctxP.update(password);
  const digestP = ctxP.digest();
  const pSequence = Buffer.alloc(keyLen);
  for (let offset = 0; offset < keyLen; offset += size) {
    digestP.copy(pSequence, offset, 0, Math.min(size, keyLen - offset));
  }

  const ctxS = createHash(variant);
  const saltRepeats = 16 + digestA.readUInt8(0);
  for (let i = 0; i < saltRepeats; i++) ctxS.update(salt);
  // Salts are at most 16 bytes, always shorter than one digest.
  const sSequence = ctxS.digest().subarray(0, salt.length);

  let digest = digestA;
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && i % ROUNDS_PER_SLICE === 0) await nextMacrotask();
    const round = createHash(variant);
    round.update((i & 1) !== 0 ? pSequence : digest);
    if (i % 3 !== 0) round.update(sSequence);
    if (i % 7 !== 0) round.update(pSequence);
    round.update((i & 1) !== 0 ? digest : pSequence);
    digest = round.digest();
  }

  return encodeCryptGroups(digest, variant === 'sha256' ? SHA256_GROUPS : SHA512_GROUPS);
}
