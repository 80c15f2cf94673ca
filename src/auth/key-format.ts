import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';

/*
 * Generated login-key values: `hdk_` + 32 base62 characters of entropy + 6 base62 characters of checksum.
 *
 * - 32 characters drawn uniformly from 62 carry 32·log2(62) ≈ 190.5 bits. Each character comes from one
 *   random byte by rejection sampling: bytes 248–255 are thrown away so that `byte % 62` is exactly uniform
 *   (248 = 4·62), costing about 3 % of the bytes drawn.
 * - The checksum is CRC-32 (IEEE, as zlib and GitHub's token format use) of the 32 entropy characters. It is
 *   there for secret scanners and typo detection, not for security. CRC-32 rather than a truncated hash because
 *   its guarantees are exact rather than probabilistic: every change confined to 32 consecutive bits is caught,
 *   so every single-character substitution and every swap of two neighbours is detected. A CRC-32 value fits
 *   in 6 base62 digits (62^6 ≈ 5.7·10^10 > 2^32).
 * - `zlib.crc32` exists from Node 20.15; on older Node 20 releases the same CRC comes from a table.
 */

// A namespace import: a named import of a missing export would stop the whole server from loading.
const zlibCrc32 = (zlib as { crc32?: (data: string) => number }).crc32;
let table: Uint32Array | undefined;

function crc32(text: string): number {
  return zlibCrc32 ? zlibCrc32(text) : tableCrc32(text);
}

/** CRC-32 (IEEE 802.3, reflected, as zlib computes it) of ASCII text, from a table (Node < 20.15). */
export function tableCrc32(text: string): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++)
    crc = (table[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const PREFIX = 'hdk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 32;
const CHECK_LENGTH = 6;
const ACCEPT_BELOW = 248; // the largest multiple of 62 that fits in a byte
const SHAPE = /^hdk_[0-9A-Za-z]{38}$/;

/** Markdown describing the key format for the README, with a regex secret scanners can use. */
export const KEY_FORMAT_DOC = `### Login key format

Login keys that hostdeck generates look like \`hdk_\` followed by 38 characters from \`[0-9A-Za-z]\`:

- \`hdk_\`: a fixed prefix, so a leaked key is easy to recognise;
- 32 characters of randomness (about 190 bits from the operating system's CSPRNG, each character uniform over
  the 62 digits \`0-9A-Z a-z\`, in that order);
- 6 characters of checksum: the CRC-32 (IEEE 802.3, as computed by zlib) of the 32 random characters as ASCII,
  written in base 62 with the same digits, most significant first, padded with \`0\`.

A secret scanner can search for

\`\`\`
\\bhdk_[0-9A-Za-z]{38}\\b
\`\`\`

and then verify the checksum to discard false positives. Keys chosen by users (any text DirectAdmin accepts)
do not follow this format; only generated ones do.
`;

/** Generates a new login-key value; `random` (defaults to crypto.randomBytes) is injectable for tests. */
export function generateKey(random: (n: number) => Buffer = randomBytes): string {
  let body = '';
  // A healthy source needs ~33 bytes for 32 characters; a source stuck above 247 must not spin forever.
  for (let round = 0; body.length < BODY_LENGTH; round++) {
    if (round >= 64) throw new Error('generateKey: the random source keeps returning unusable bytes');
    const bytes = random(BODY_LENGTH + 8);
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new Error('generateKey: bad random source');
    for (const b of bytes) {
      if (b >= ACCEPT_BELOW) continue;
      body += ALPHABET[b % 62];
      if (body.length === BODY_LENGTH) break;
    }
  }
  return PREFIX + body + checksum(body);
}

/** True when `s` has the prefix, length, alphabet and checksum of a generated key. */
export function looksLikeGeneratedKey(s: string): boolean {
  if (typeof s !== 'string' || !SHAPE.test(s)) return false;
  const body = s.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
  return s.slice(PREFIX.length + BODY_LENGTH) === checksum(body);
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}
