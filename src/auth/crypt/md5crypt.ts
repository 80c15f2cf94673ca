import { createHash } from 'node:crypto';
import { type CryptGroup, encodeCryptGroups } from './encoding.js';

// Implemented here rather than taken from npm: the popular `apache-md5` hashes non-ASCII passwords
// incorrectly (it feeds them to MD5 as 'ascii'), and the alternatives are unmaintained.
// Algorithm: Poul-Henning Kamp's FreeBSD md5crypt, as in glibc crypt/md5-crypt.c.

const MAGIC = Buffer.from('$1$', 'latin1');
const ROUNDS = 1000;
const ZERO_BYTE = Buffer.alloc(1);

const MD5_GROUPS: readonly CryptGroup[] = [
  [0, 6, 12, 4],
  [1, 7, 13, 4],
  [2, 8, 14, 4],
  [3, 9, 15, 4],
  [4, 10, 5, 4],
  [null, null, 11, 2],
];

/** Computes the 22-character MD5-crypt digest (the part after `$1$salt$`) for a password and salt. */
export function md5CryptDigest(password: Uint8Array, salt: Uint8Array): string {
  const alternate = createHash('md5').update(password).update(salt).update(password).digest();

  const ctx = createHash('md5').update(password).update(MAGIC).update(salt);
  for (let remaining = password.length; remaining > 0; remaining -= 16) {
    ctx.update(alternate.subarray(0, Math.min(remaining, 16)));
  }
  // The original code meant to add alternate[0] here but added the password's first byte; every
  // implementation has to reproduce that quirk to stay compatible.
  const firstByte = password.subarray(0, 1);
  for (let bits = password.length; bits > 0; bits >>= 1) {
    ctx.update((bits & 1) !== 0 ? ZERO_BYTE : firstByte);
  }
  let digest = ctx.digest();

  for (let i = 0; i < ROUNDS; i++) {
    const round = createHash('md5');
    round.update((i & 1) !== 0 ? password : digest);
    if (i % 3 !== 0) round.update(salt);
    if (i % 7 !== 0) round.update(password);
    round.update((i & 1) !== 0 ? digest : password);
    digest = round.digest();
  }

  return encodeCryptGroups(digest, MD5_GROUPS);
}
