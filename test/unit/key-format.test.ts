import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKey, KEY_FORMAT_DOC, looksLikeGeneratedKey } from '../../src/auth/key-format.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// An independent CRC-32 (bitwise, reflected polynomial 0xEDB88320) so the test does not trust zlib blindly.
function crc32Reference(s: string): number {
  let c = 0xffffffff;
  for (const ch of Buffer.from(s, 'ascii')) {
    c ^= ch;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function decode62(s: string): number {
  let n = 0;
  for (const ch of s) n = n * 62 + ALPHABET.indexOf(ch);
  return n;
}

/** A deterministic source replaying `bytes` cyclically. */
function cycling(bytes: number[]): (n: number) => Buffer {
  let i = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let k = 0; k < n; k++) out[k] = bytes[i++ % bytes.length]!;
    return out;
  };
}

describe('generateKey', () => {
  const keys = Array.from({ length: 10_000 }, () => generateKey());

  it('makes 10,000 distinct keys, all of the documented shape and all valid', () => {
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) {
      expect(k).toMatch(/^hdk_[0-9A-Za-z]{38}$/);
      expect(looksLikeGeneratedKey(k)).toBe(true);
    }
  });

  it('writes the CRC-32 of the 32 entropy characters as 6 base62 digits', () => {
    for (const k of keys.slice(0, 500)) {
      const body = k.slice(4, 36);
      expect(decode62(k.slice(36))).toBe(crc32Reference(body));
    }
    expect(crc32Reference('123456789')).toBe(0xcbf43926); // the standard check value
  });

  it('spreads characters uniformly over the alphabet (chi-square, loose bound)', () => {
    const counts = new Map<string, number>();
    for (const k of keys) for (const ch of k.slice(4, 36)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const total = keys.length * 32;
    const expected = total / 62;
    let chi2 = 0;
    for (const ch of ALPHABET) chi2 += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
    // 61 degrees of freedom: mean 61, sd ≈ 11; 150 is passed by a fair source with p ≈ 1e-12 of failing,
    // while a modulo bias (bytes 248–255 kept: chars 0–7 over-represented by 25 %) scores in the thousands.
    expect(chi2).toBeLessThan(150);
  });

  it('is uniform by construction: every digit has exactly four byte values, and 248–255 map to none', () => {
    const preimages = new Map<string, number[]>();
    const rejected: number[] = [];
    for (let b = 0; b < 256; b++) {
      let body: string | undefined;
      try {
        body = generateKey(() => Buffer.alloc(40, b)).slice(4, 36);
      } catch {
        rejected.push(b);
        continue;
      }
      expect(new Set(body).size).toBe(1);
      preimages.set(body[0]!, [...(preimages.get(body[0]!) ?? []), b]);
    }
    expect(rejected).toEqual([248, 249, 250, 251, 252, 253, 254, 255]);
    expect([...preimages.keys()].sort().join('')).toBe([...ALPHABET].sort().join(''));
    for (const bytes of preimages.values()) expect(bytes).toHaveLength(4);
  });

  it('rejects bytes 248–255 instead of folding them onto the first digits', () => {
    const gen = cycling([248, 249, 250, 251, 252, 253, 254, 255, 61]);
    expect(generateKey(gen).slice(4, 36)).toBe('z'.repeat(32));
    const low = cycling([255, 0]);
    expect(generateKey(low).slice(4, 36)).toBe('0'.repeat(32));
  });

  it('fails loudly on a random source that never yields a usable byte', () => {
    expect(() => generateKey(() => Buffer.alloc(40, 0xff))).toThrow(/unusable/);
    expect(() => generateKey(() => Buffer.alloc(0))).toThrow(/bad random source/);
  });

  it('draws from crypto.randomBytes by default with at least 190 bits of entropy per key', () => {
    expect(32 * Math.log2(62)).toBeGreaterThanOrEqual(190);
    const seen = new Set<number>();
    for (const k of keys.slice(0, 200)) seen.add(ALPHABET.indexOf(k[4]!));
    expect(seen.size).toBeGreaterThan(50); // the first character varies, i.e. not a fixed seed
    expect(generateKey(randomBytes)).toMatch(/^hdk_/);
  });
});

describe('looksLikeGeneratedKey', () => {
  const keys = Array.from({ length: 200 }, () => generateKey());

  it('detects every single-character substitution in the 38 characters after the prefix (≥ 99.9 % required)', () => {
    let changes = 0;
    let detected = 0;
    for (const k of keys) {
      for (let pos = 4; pos < k.length; pos++) {
        for (const ch of ALPHABET) {
          if (ch === k[pos]) continue;
          changes++;
          if (!looksLikeGeneratedKey(k.slice(0, pos) + ch + k.slice(pos + 1))) detected++;
        }
      }
    }
    expect(changes).toBe(200 * 38 * 61);
    expect(detected / changes).toBeGreaterThanOrEqual(0.999);
    expect(detected).toBe(changes); // CRC-32 catches every burst of ≤ 32 bits: none slip through
  });

  it('detects swaps of neighbouring characters', () => {
    for (const k of keys) {
      for (let pos = 4; pos < 35; pos++) {
        if (k[pos] === k[pos + 1]) continue;
        const swapped = k.slice(0, pos) + k[pos + 1] + k[pos] + k.slice(pos + 2);
        expect(looksLikeGeneratedKey(swapped)).toBe(false);
      }
    }
  });

  it('refuses a wrong prefix, length or alphabet, and non-strings', () => {
    const k = keys[0]!;
    for (const bad of [
      '',
      'hdk_',
      k.slice(1),
      `x${k}`,
      `${k}0`,
      k.slice(0, -1),
      `HDK_${k.slice(4)}`,
      `hdk-${k.slice(4)}`,
      `ghp_${k.slice(4)}`,
      `${k.slice(0, 10)}-${k.slice(11)}`,
      `${k.slice(0, 10)}_${k.slice(11)}`,
      `${k.slice(0, 10)}é${k.slice(11)}`,
      ` ${k}`,
      `${k}\n`,
    ])
      expect(looksLikeGeneratedKey(bad), bad).toBe(false);
    expect(looksLikeGeneratedKey(undefined as unknown as string)).toBe(false);
    expect(looksLikeGeneratedKey(42 as unknown as string)).toBe(false);
  });

  it('accepts exactly the strings with a matching checksum (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9A-Za-z]{32}$/),
        fc.stringMatching(/^[0-9A-Za-z]{6}$/),
        (body, check) => {
          const n = crc32Reference(body);
          let good = '';
          for (let i = 0, m = n; i < 6; i++, m = Math.floor(m / 62)) good = ALPHABET[m % 62] + good;
          expect(looksLikeGeneratedKey(`hdk_${body}${good}`)).toBe(true);
          expect(looksLikeGeneratedKey(`hdk_${body}${check}`)).toBe(check === good);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

describe('KEY_FORMAT_DOC', () => {
  it('gives a scanner regex that finds generated keys in surrounding text and nothing shorter', () => {
    const fence = /```\n(.+)\n```/.exec(KEY_FORMAT_DOC);
    expect(fence).not.toBeNull();
    const re = new RegExp(fence![1]!, 'g');
    const keys = [generateKey(), generateKey()];
    const text = `curl -u "admin:${keys[0]}" https://x:2222/CMD_API_SHOW_USERS\nKEY=${keys[1]};\nhdk_short hdk_${'a'.repeat(39)}`;
    expect(text.match(re)).toEqual(keys);
    expect(KEY_FORMAT_DOC).toContain('CRC-32');
  });
});

describe('CRC-32 without zlib.crc32 (Node 20 before 20.15)', () => {
  it('the table CRC equals zlib.crc32 on random ASCII text', async () => {
    const zlib = await import('node:zlib');
    const { tableCrc32 } = await import('../../src/auth/key-format.js');
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: i % 80 }, () =>
        String.fromCharCode(32 + Math.floor(Math.random() * 95)),
      ).join('');
      expect(tableCrc32(text)).toBe(zlib.crc32(text));
    }
  });
});
