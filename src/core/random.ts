import { randomBytes } from 'node:crypto';

/** Random source held in Services; production is the CSPRNG, tests may not replace its security. */
export interface Random {
  bytes(n: number): Buffer;
}

export const cryptoRandom: Random = { bytes: (n) => randomBytes(n) };

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A string of `length` characters drawn uniformly from `alphabet`. Rejection sampling keeps the
 * distribution unbiased whatever the alphabet size (a plain modulo would favour the first characters).
 */
export function randomString(random: Random, length: number, alphabet = ALNUM): string {
  const n = alphabet.length;
  const limit = 256 - (256 % n);
  let out = '';
  while (out.length < length) {
    for (const b of random.bytes(length * 2)) {
      if (b < limit) out += alphabet[b % n];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A random identifier for database rows: 16 bytes, hex. */
export function newId(random: Random): string {
  return random.bytes(16).toString('hex');
}
