/** Alphabet of the crypt(3) "base64" used by MD5-crypt and SHA-crypt (not RFC 4648 order). */
export const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * One output group: byte indexes feeding bits 16-23, 8-15 and 0-7 of a 24-bit word (null = a zero
 * byte), and how many 6-bit characters to emit from it, least significant first.
 */
export type CryptGroup = readonly [number | null, number | null, number, number];

/** Encodes a digest the way glibc's b64_from_24bit does, following a scheme-specific byte order. */
export function encodeCryptGroups(digest: Uint8Array, groups: readonly CryptGroup[]): string {
  const byteAt = (i: number | null): number => (i === null ? 0 : digest[i]!);
  let out = '';
  for (const [hi, mid, lo, chars] of groups) {
    let word = (byteAt(hi) << 16) | (byteAt(mid) << 8) | byteAt(lo);
    for (let n = 0; n < chars; n++) {
      out += CRYPT_ALPHABET[word & 0x3f];
      word >>>= 6;
    }
  }
  return out;
}
