import { execFileSync } from 'node:child_process';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { encrypt as unixcryptEncrypt } from 'unixcrypt';
import { describe, expect, it } from 'vitest';
import { md5CryptDigest } from '../../src/auth/crypt/md5crypt.js';
import { Semaphore } from '../../src/auth/crypt/semaphore.js';
import { shaCryptDigest } from '../../src/auth/crypt/shacrypt.js';
import {
  type CryptScheme,
  createPasswordHasher,
  detectCryptScheme,
  MAX_PASSWORD_BYTES,
  PRODUCTION_HASHER,
  TEST_HASHER,
  validateImportedHash,
} from '../../src/auth/passwords.js';

/** Whether a system tool can be run; cross-checks against it are skipped where it is not installed. */
function toolAvailable(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const HAS_OPENSSL = toolAvailable('openssl', ['version']);
const HAS_MKPASSWD = toolAvailable('mkpasswd', ['-m', 'help']);
const HAS_HTPASSWD = toolAvailable('htpasswd', ['-nbB', '-C', '4', 'u', 'p']);

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

interface Vector {
  stored: string;
  plain: string;
  scheme: CryptScheme;
  source: string;
}

// Fixed vectors so the suite proves compatibility even where the system tools are absent.
const VECTORS: Vector[] = [
  {
    source: 'openssl passwd -6 -salt abc secret',
    stored: '$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1',
    plain: 'secret',
    scheme: 'sha512-crypt',
  },
  {
    source: 'openssl passwd -6 -salt saltsalt pässwörd',
    stored:
      '$6$saltsalt$TQjRhpJdqmLx0U8it3EsUajwkmOMMvw5vhUFc7mohzFFoj/QHrfYUHU1oSkwyCEoTUCDOiAOW135nel3bqtKe.',
    plain: 'pässwörd',
    scheme: 'sha512-crypt',
  },
  {
    source: 'Drepper SHA-crypt specification test vector',
    stored:
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    plain: 'Hello world!',
    scheme: 'sha512-crypt',
  },
  {
    source: 'Drepper SHA-crypt specification test vector (rounds=10000, salt truncated to 16)',
    stored:
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    plain: 'Hello world!',
    scheme: 'sha512-crypt',
  },
  {
    source: 'mkpasswd -m sha512crypt -R 10000 -S rounds10k',
    stored:
      '$6$rounds=10000$rounds10k$JA9QSlPlMbCYuK3avJ2MxwPCQCPVcrVNt.4sLiwd9dq0Dwy988hjQG9v/QU6ihWdvxGUZw2jR0kwu9et3SyqF.',
    plain: 'correct horse',
    scheme: 'sha512-crypt',
  },
  {
    source: 'openssl passwd -5 -salt abc secret',
    stored: '$5$abc$qsg6EHbUzHQzF1POlD7zUwBINSELQxypPaeDcZe6vH0',
    plain: 'secret',
    scheme: 'sha256-crypt',
  },
  {
    source: 'Drepper SHA-crypt specification test vector',
    stored: '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5',
    plain: 'Hello world!',
    scheme: 'sha256-crypt',
  },
  {
    source: 'mkpasswd -m sha256crypt -R 1000 -S minrounds',
    stored: '$5$rounds=1000$minrounds$vMEhbMMl1toyZFzSUrI2X7njuKrhqGgqoS60sN9817A',
    plain: 'correct horse',
    scheme: 'sha256-crypt',
  },
  {
    source: 'openssl passwd -1 -salt abc secret',
    stored: '$1$abc$iCQ2D3nhptRYi27fDYv2s1',
    plain: 'secret',
    scheme: 'md5-crypt',
  },
  {
    source: 'openssl passwd -1 -salt saltsalt pässwörd',
    stored: '$1$saltsalt$VReRfkQ8Hs1aayf/oxMkG/',
    plain: 'pässwörd',
    scheme: 'md5-crypt',
  },
  {
    source: 'openssl passwd -1 -salt abcdefgh yyyy…(40)',
    stored: '$1$abcdefgh$lirJ.aly.TERIuDaJBHSq1',
    plain: 'y'.repeat(40),
    scheme: 'md5-crypt',
  },
  {
    source: 'mkpasswd -m md5crypt -S abcdefgh (empty password)',
    stored: '$1$abcdefgh$M55TzYaaccxVGbptZWaxX/',
    plain: '',
    scheme: 'md5-crypt',
  },
  {
    source: 'mkpasswd -m bcrypt -R 5',
    stored: '$2b$05$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq',
    plain: 'bcrypt pw',
    scheme: 'bcrypt',
  },
  {
    source: 'mkpasswd -m bcrypt-a',
    stored: '$2a$05$9hqWHGjB4Toa7U1lqTtGGOesvFNl.H5CxSATWmTVbpjpZCkoHT4rG',
    plain: 'bcrypt pw',
    scheme: 'bcrypt',
  },
  {
    source: 'htpasswd -nbB -C 5 (Apache, $2y$)',
    stored: '$2y$05$lmU3sEB11mpxmzIr.QazTuyr3nNCRUIFSPtnKy.3s7FxJIB3sFvJO',
    plain: 'apache pw',
    scheme: 'bcrypt',
  },
  {
    source: 'PHP manual, password_verify() example',
    stored: '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a',
    plain: 'rasmuslerdorf',
    scheme: 'bcrypt',
  },
];

describe('argon2id native hashing', () => {
  const hasher = createPasswordHasher(TEST_HASHER);

  it('round-trips and rejects a wrong password', async () => {
    const stored = await hasher.hash('hunter2 ünïcödé 🔑');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify(stored, 'hunter2 ünïcödé 🔑')).toBe(true);
    expect(await hasher.verify(stored, 'hunter2 ünïcödé 🔐')).toBe(false);
    expect(await hasher.verify(stored, '')).toBe(false);
    expect(detectCryptScheme(stored)).toBe('argon2id');
    expect(validateImportedHash(stored)).toEqual({ ok: true, scheme: 'argon2id' });
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hasher.hash('same'), hasher.hash('same')]);
    expect(a).not.toBe(b);
  });

  it('uses the production parameters when configured with them', async () => {
    const production = createPasswordHasher(PRODUCTION_HASHER);
    const stored = await production.hash('pw');
    expect(stored.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    expect(await production.verify(stored, 'pw')).toBe(true);
    expect(production.needsRehash(stored)).toBe(false);
  });

  it('accepts exactly MAX_PASSWORD_BYTES and refuses to hash longer, NUL or ill-formed passwords', async () => {
    const atLimit = `${'€'.repeat(341)}a`; // 341 × 3 + 1 = 1024 bytes
    expect(Buffer.byteLength(atLimit)).toBe(MAX_PASSWORD_BYTES);
    expect(await hasher.verify(await hasher.hash(atLimit), atLimit)).toBe(true);
    await expect(hasher.hash(`${atLimit}a`)).rejects.toThrow(/1024 bytes/);
    await expect(hasher.hash('a\0b')).rejects.toThrow(/NUL/);
    await expect(hasher.hash('lone \ud800 surrogate')).rejects.toThrow(/Unicode/);
  });

  it('rejects hasher options that its own verify() would refuse', () => {
    expect(() => createPasswordHasher({ ...TEST_HASHER, memoryKiB: 300_000 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...TEST_HASHER, timeCost: 0 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...TEST_HASHER, parallelism: 9 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...TEST_HASHER, maxConcurrent: 0 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...TEST_HASHER, memoryKiB: 1.5 })).toThrow(RangeError);
  });

  it('exposes frozen presets with the documented parameters', () => {
    expect(PRODUCTION_HASHER).toEqual({ memoryKiB: 19456, timeCost: 2, parallelism: 1, maxConcurrent: 2 });
    expect(TEST_HASHER).toMatchObject({ memoryKiB: 1024, timeCost: 1, parallelism: 1 });
    expect(Object.isFrozen(PRODUCTION_HASHER)).toBe(true);
  });
});

describe('imported legacy hashes', () => {
  const hasher = createPasswordHasher(TEST_HASHER);

  it.each(VECTORS)('verifies $scheme from $source', async ({ stored, plain, scheme }) => {
    expect(detectCryptScheme(stored)).toBe(scheme);
    expect(validateImportedHash(stored)).toEqual({ ok: true, scheme });
    expect(await hasher.verify(stored, plain)).toBe(true);
    expect(await hasher.verify(stored, `${plain}x`)).toBe(false);
    expect(hasher.needsRehash(stored)).toBe(true);
  });

  it.skipIf(!HAS_OPENSSL)('accepts hashes made by openssl passwd -6/-5/-1', async () => {
    const passwords = [
      'secret',
      'pässwörd',
      '日本語のパスワード',
      'x'.repeat(65),
      'a€'.repeat(40),
      ' spaced out ',
    ];
    const salts = ['abc', 'abcdefgh', 'Zz./09saltsalt16'];
    for (const plain of passwords) {
      for (const salt of salts) {
        for (const flag of ['-6', '-5', '-1']) {
          const stored = run('openssl', ['passwd', flag, '-salt', salt, plain]);
          expect(await hasher.verify(stored, plain), `${flag} ${salt} ${plain}`).toBe(true);
          expect(await hasher.verify(stored, plain.slice(1))).toBe(false);
        }
      }
    }
  });

  it.skipIf(!HAS_MKPASSWD)('accepts hashes made by mkpasswd, including explicit rounds', async () => {
    const cases: Array<[string[], CryptScheme]> = [
      [['-m', 'sha512crypt', '-R', '1000', '-S', 'mkpasswdsalt'], 'sha512-crypt'],
      [['-m', 'sha512crypt', '-R', '23456', '-S', 'mkpasswdsalt'], 'sha512-crypt'],
      [['-m', 'sha256crypt', '-R', '7777', '-S', 'mkpasswdsalt'], 'sha256-crypt'],
      [['-m', 'md5crypt', '-S', 'mkpasswd'], 'md5-crypt'],
      [['-m', 'bcrypt', '-R', '4'], 'bcrypt'],
      [['-m', 'bcrypt-a', '-R', '4'], 'bcrypt'],
    ];
    for (const [args, scheme] of cases) {
      const plain = `mkpasswd ${scheme} ✓`;
      const stored = run('mkpasswd', [...args, plain]);
      expect(detectCryptScheme(stored), stored).toBe(scheme);
      expect(await hasher.verify(stored, plain), stored).toBe(true);
      expect(await hasher.verify(stored, 'nope')).toBe(false);
    }
  });

  it.skipIf(!HAS_HTPASSWD)('accepts $2y$ hashes made by Apache htpasswd -B', async () => {
    const line = run('htpasswd', ['-nbB', '-C', '4', 'someone', 'htpasswd secret']);
    const stored = line.slice(line.indexOf(':') + 1);
    expect(stored.startsWith('$2y$04$')).toBe(true);
    expect(await hasher.verify(stored, 'htpasswd secret')).toBe(true);
    expect(await hasher.verify(stored, 'htpasswd Secret')).toBe(false);
  });

  it('accepts bcryptjs hashes under every accepted prefix', async () => {
    const generated = bcrypt.hashSync('bcryptjs pw', 4);
    expect(generated.startsWith('$2b$04$')).toBe(true);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const stored = prefix + generated.slice(4);
      expect(detectCryptScheme(stored)).toBe('bcrypt');
      expect(await hasher.verify(stored, 'bcryptjs pw')).toBe(true);
      expect(await hasher.verify(stored, 'bcryptjs pW')).toBe(false);
    }
  });

  it('computes SHA-crypt exactly like the unixcrypt package', async () => {
    const passwords = ['', 'a', 'secret', 'ü'.repeat(40), 'z'.repeat(200), '🔑'.repeat(50)];
    for (const plain of passwords) {
      for (const [id, variant] of [
        ['5', 'sha256'],
        ['6', 'sha512'],
      ] as const) {
        for (const [salt, rounds] of [
          ['s', 5000],
          ['sixteencharsalt.', 1000],
          ['Mid./9', 12_345],
        ] as const) {
          const setting = rounds === 5000 ? `$${id}$${salt}` : `$${id}$rounds=${rounds}$${salt}`;
          const expected = unixcryptEncrypt(plain, setting);
          const digest = await shaCryptDigest(variant, Buffer.from(plain), Buffer.from(salt), rounds);
          expect(`${setting}$${digest}`).toBe(expected);
        }
      }
    }
  });

  it('computes MD5-crypt over UTF-8 bytes, not UTF-16 code units', () => {
    // Same value as the openssl vector above, computed directly.
    expect(md5CryptDigest(Buffer.from('pässwörd'), Buffer.from('saltsalt'))).toBe('VReRfkQ8Hs1aayf/oxMkG/');
  });

  it('keeps the event loop responsive during a high-rounds SHA-crypt verification', async () => {
    const salt = 'loopcheck';
    const rounds = 200_000;
    const digest = await shaCryptDigest('sha512', Buffer.from('pw'), Buffer.from(salt), rounds);
    const stored = `$6$rounds=${rounds}$${salt}$${digest}`;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 2);
    const { value, ms } = await timed(() => hasher.verify(stored, 'pw'));
    clearInterval(timer);
    expect(value).toBe(true);
    // A synchronous implementation would stall the loop for the whole computation.
    expect(longestGap).toBeLessThan(Math.max(150, ms / 3));
  });
});

describe('refusals before hashing', () => {
  // Hashes that are well-formed apart from a cost above the safety limits; computing any of them
  // would take seconds or gigabytes, so finishing in well under 50 ms proves nothing was computed.
  const realArgon =
    '$argon2id$v=19$m=19456,t=2,p=1$LPgJPKwonSIeYaevrT0YNg$HgrItn1ZFpBD1GRjZGWXFpHGR9AGlsgkpCRLLGI+cQA';
  const realBcrypt = '$2b$05$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq';
  const sha512Digest = 'A'.repeat(86);
  const extreme: Array<[string, string, RegExp]> = [
    ['argon2id m > 262144 KiB', realArgon.replace('m=19456', 'm=4194304'), /memory cost exceeds 262144 KiB/],
    ['argon2id t > 10', realArgon.replace('t=2', 't=11'), /time cost exceeds 10/],
    [
      'argon2id p > 8',
      realArgon.replace('p=1', 'p=9').replace('m=19456', 'm=200000'),
      /parallelism exceeds 8/,
    ],
    ['bcrypt cost 15', realBcrypt.replace('$05$', '$15$'), /bcrypt cost exceeds 14/],
    ['bcrypt cost 31', realBcrypt.replace('$05$', '$31$'), /bcrypt cost exceeds 14/],
    ['sha512-crypt rounds 1,000,001', `$6$rounds=1000001$salt$${sha512Digest}`, /rounds exceed 1000000/],
    [
      'sha256-crypt rounds 999,999,999',
      `$5$rounds=999999999$salt$${'A'.repeat(43)}`,
      /rounds exceed 1000000/,
    ],
  ];

  it.each(extreme)('refuses %s quickly without hashing', async (_label, stored, reason) => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const { value, ms } = await timed(() => hasher.verify(stored, 'whatever'));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(50);
    expect(hasher.verifications).toBe(0);
    const verdict = validateImportedHash(stored);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
    expect(hasher.needsRehash(stored)).toBe(true);
  });

  it('accepts costs exactly at the limits', () => {
    expect(validateImportedHash(realArgon.replace('m=19456,t=2,p=1', 'm=262144,t=10,p=8')).ok).toBe(true);
    expect(validateImportedHash(realBcrypt.replace('$05$', '$14$')).ok).toBe(true);
    expect(validateImportedHash(`$6$rounds=1000000$salt$${sha512Digest}`).ok).toBe(true);
    // The glibc default of 5000 rounds applies when the field is absent.
    expect(validateImportedHash(`$6$salt$${sha512Digest}`).ok).toBe(true);
  });

  it('refuses over-long and NUL-containing passwords quickly without hashing', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const stored = await hasher.hash('short');
    const attempts = [
      'a'.repeat(MAX_PASSWORD_BYTES + 1),
      '€'.repeat(342), // 1026 bytes in 342 code units
      'x'.repeat(10_000_000),
      'short\0',
      '\0',
      'sh\0ort',
      'lone \udc00 surrogate',
    ];
    for (const plain of attempts) {
      for (const target of [stored, VECTORS[0]!.stored, realBcrypt]) {
        const { value, ms } = await timed(() => hasher.verify(target, plain));
        expect(value).toBe(false);
        expect(ms).toBeLessThan(50);
      }
      expect(await hasher.verifyDummy(plain)).toBe(false);
    }
    expect(hasher.verifications).toBe(0);
  });

  it('refuses bcrypt passwords past 72 bytes that bcrypt itself would accept by truncation', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const exact = 'a'.repeat(72);
    const stored = bcrypt.hashSync(exact, 4);
    expect(await hasher.verify(stored, exact)).toBe(true);
    expect(bcrypt.compareSync(`${exact}b`, stored)).toBe(true); // the hazard being guarded against
    expect(await hasher.verify(stored, `${exact}b`)).toBe(false);

    const multibyte = '€'.repeat(24); // exactly 72 bytes
    const storedMb = bcrypt.hashSync(multibyte, 4);
    expect(await hasher.verify(storedMb, multibyte)).toBe(true);
    expect(await hasher.verify(storedMb, `${multibyte}€`)).toBe(false);
    expect(hasher.verifications).toBe(2);
  });

  it('returns false, never throws, for garbage stored values', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const garbage: unknown[] = [
      '',
      'x',
      '$',
      '$$$$',
      'plaintext-password',
      '$6$',
      '$6$$',
      `$6$$${sha512Digest}`,
      `$6$salt$${sha512Digest.slice(1)}`,
      `$6$salt$${sha512Digest}$extra`,
      `$6$rounds=$salt$${sha512Digest}`,
      `$6$rounds=999$salt$${sha512Digest}`,
      `$6$rounds=99999999999$salt$${sha512Digest}`,
      `$6$bad salt$${sha512Digest}`,
      `$6$seventeen-chars-x$${sha512Digest}`,
      '$5$abc$tooShort',
      '$1$abc$',
      '$1$toolongsalt$iCQ2D3nhptRYi27fDYv2s1',
      '$1$abc$iCQ2D3nhptRYi27fDYv2s',
      '$2y$',
      '$2y$05$short',
      '$2y$5$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq',
      '$2y$03$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq',
      '$2x$05$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq',
      '$2b$05$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmben!',
      '$argon2id$',
      '$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=1024,t=1,p=1$c2Fs$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFz',
      '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA$',
      '$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$apr1$abc$xxxxxxxxxxxxxxxxxxxxxx',
      'abJnggxhB/yWI',
      '!',
      '*',
      `!$6$abc$${sha512Digest}`,
      `$6$abc$${sha512Digest}\n`,
      ` $6$abc$${sha512Digest}`,
      '$'.repeat(100_000),
      'ß'.repeat(300),
      null,
      undefined,
      42,
      {},
      [],
    ];
    for (const stored of garbage) {
      const label = typeof stored === 'string' ? JSON.stringify(stored.slice(0, 80)) : String(stored);
      await expect(hasher.verify(stored as string, 'password'), label).resolves.toBe(false);
      expect(detectCryptScheme(stored as string), label).toBeNull();
      expect(validateImportedHash(stored as string).ok, label).toBe(false);
      expect(hasher.needsRehash(stored as string), label).toBe(true);
    }
    expect(hasher.verifications).toBe(0);
  });

  it('returns false when a hash passes parsing but the argon2 library rejects it', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    // Non-canonical base64: the final characters carry set padding bits.
    const stored = '$argon2id$v=19$m=1024,t=1,p=1$AAAAAAAAAAB$AAAAAAAAAAAAAAAAAAAAAB';
    expect(detectCryptScheme(stored)).toBe('argon2id');
    await expect(hasher.verify(stored, 'password')).resolves.toBe(false);
    expect(hasher.verifications).toBe(1);
  });

  it('never throws for non-string passwords either', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const stored = await hasher.hash('pw');
    for (const plain of [null, undefined, 1, {}, Buffer.from('pw')]) {
      await expect(hasher.verify(stored, plain as string)).resolves.toBe(false);
      await expect(hasher.verifyDummy(plain as string)).resolves.toBe(false);
    }
    expect(hasher.verifications).toBe(0);
  });
});

describe('needsRehash', () => {
  it('is false for hashes at or above the configured parameters', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    expect(hasher.needsRehash(await hasher.hash('pw'))).toBe(false);
    const stronger = createPasswordHasher({ ...TEST_HASHER, memoryKiB: 2048, timeCost: 2 });
    expect(hasher.needsRehash(await stronger.hash('pw'))).toBe(false);
  });

  it('is true for argon2id below the configured parameters or on the old version', async () => {
    const weak = await createPasswordHasher(TEST_HASHER).hash('pw');
    const strict = createPasswordHasher({ ...TEST_HASHER, memoryKiB: 2048 });
    expect(strict.needsRehash(weak)).toBe(true);
    expect(createPasswordHasher({ ...TEST_HASHER, timeCost: 2 }).needsRehash(weak)).toBe(true);
    expect(createPasswordHasher({ ...TEST_HASHER, parallelism: 2 }).needsRehash(weak)).toBe(true);
    const loose = createPasswordHasher(TEST_HASHER);
    expect(loose.needsRehash(weak.replace('$v=19$', '$v=16$'))).toBe(true);
    expect(loose.needsRehash(weak.replace('$v=19$', '$'))).toBe(true);
  });

  it('is true for every non-argon2id scheme', () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    const schemes = new Set<CryptScheme>();
    for (const v of VECTORS) {
      expect(hasher.needsRehash(v.stored)).toBe(true);
      schemes.add(v.scheme);
    }
    expect([...schemes].sort()).toEqual(['bcrypt', 'md5-crypt', 'sha256-crypt', 'sha512-crypt']);
  });
});

describe('verifyDummy and the verification counter', () => {
  it('always resolves false and counts as a verification', async () => {
    const hasher = createPasswordHasher(TEST_HASHER);
    expect(await hasher.verifyDummy('anything')).toBe(false);
    expect(await hasher.verifyDummy('')).toBe(false);
    expect(hasher.verifications).toBe(2);
    const stored = await hasher.hash('pw');
    expect(hasher.verifications).toBe(2); // hashing is not a verification
    await hasher.verify(stored, 'pw');
    await hasher.verify(stored, 'wrong');
    expect(hasher.verifications).toBe(4);
  });

  it('takes about as long as verifying a real user with production parameters', async () => {
    const hasher = createPasswordHasher(PRODUCTION_HASHER);
    const stored = await hasher.hash('real user password');
    const real: number[] = [];
    const dummy: number[] = [];
    // Interleaved so drift in machine load hits both series alike.
    for (let i = 0; i < 7; i++) {
      real.push((await timed(() => hasher.verify(stored, 'wrong guess'))).ms);
      dummy.push((await timed(() => hasher.verifyDummy('wrong guess'))).ms);
    }
    const ratio = median(dummy) / median(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
    expect(hasher.verifications).toBe(14);
  });
});

describe('concurrency bound', () => {
  it('completes a burst of concurrent verifies with maxConcurrent=1 and counts each once', async () => {
    const hasher = createPasswordHasher({ ...TEST_HASHER, maxConcurrent: 1 });
    const stored = await hasher.hash('burst');
    const legacy = VECTORS[0]!;
    const jobs = Array.from({ length: 12 }, (_, i) => {
      if (i % 4 === 0) return hasher.verifyDummy('burst');
      if (i % 4 === 1) return hasher.verify(legacy.stored, legacy.plain);
      return hasher.verify(stored, i % 2 === 0 ? 'burst' : 'nope');
    });
    const results = await Promise.all(jobs);
    expect(results).toEqual(
      Array.from({ length: 12 }, (_, i) => (i % 4 === 0 ? false : i % 4 === 1 ? true : i % 2 === 0)),
    );
    expect(hasher.verifications).toBe(12);
  });

  it('lets only maxConcurrent verifications run at once, while refusals skip the queue', async () => {
    const salt = 'queued';
    const rounds = 50_000;
    const digest = await shaCryptDigest('sha256', Buffer.from('pw'), Buffer.from(salt), rounds);
    const slow = `$5$rounds=${rounds}$${salt}$${digest}`;

    for (const maxConcurrent of [1, 2]) {
      const hasher = createPasswordHasher({ ...TEST_HASHER, maxConcurrent });
      const pending = [hasher.verify(slow, 'pw'), hasher.verify(slow, 'pw'), hasher.verify(slow, 'pw')];
      // SHA-crypt yields between slices, so the queue state is observable mid-computation.
      await nextMacrotask();
      expect(hasher.verifications).toBe(maxConcurrent);
      const refused = await timed(() => hasher.verify(slow, 'x'.repeat(2000)));
      expect(refused.value).toBe(false);
      expect(refused.ms).toBeLessThan(50);
      expect(await Promise.all(pending)).toEqual([true, true, true]);
      expect(hasher.verifications).toBe(3);
    }
  });
});

describe('Semaphore', () => {
  it('never exceeds its permits and serves waiters first-in, first-out', async () => {
    const gate = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) =>
      gate.run(async () => {
        started.push(i);
        active++;
        peak = Math.max(peak, active);
        await nextMacrotask();
        active--;
        return i;
      }),
    );
    expect(gate.waiting).toBe(8);
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(gate.waiting).toBe(0);
  });

  it('releases the permit when a task fails', async () => {
    const gate = new Semaphore(1);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
  });

  it('rejects a non-positive permit count', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe('validateImportedHash reasons', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /Only the argon2id variant/],
    ['$argon2id$v=19$m=1024,t=1,p=1$c2Fs$aGFzaGhhc2hoYXNoaGFzaA', /salt must be 8 to 48 bytes/],
    ['$apr1$abc$xxxxxxxxxxxxxxxxxxxxxx', /Apache MD5/],
    ['$2x$05$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq', /\$2x\$ are not supported/],
    ['$2b$03$oY2msZERDIWJ6shuY.4N8u8BzeEApj3hrQZIK5c7H2pdCvqRmbenq', /cost must be between 04 and 31/],
    ['$y$j9T$salt$hash', /yescrypt/],
    ['abJnggxhB/yWI', /DES crypt/],
    ['!locked', /locked or disabled/],
    [`$6$rounds=999$salt$${'A'.repeat(86)}`, /between 1000 and 999999999/],
    [`$6$${'s'.repeat(17)}$${'A'.repeat(86)}`, /salt must be 1 to 16 characters/],
    [`$5$salt$${'A'.repeat(86)}`, /digest has the wrong length/],
    ['$1$salt$short', /MD5 crypt digest/],
    ['x'.repeat(300), /too long/],
    ['{SSHA}abcdef', /not in a supported format/],
  ];

  it.each(cases)('explains why %s is refused', (stored, reason) => {
    const verdict = validateImportedHash(stored);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.reason).toMatch(reason);
    // Shown to API callers as-is: one short sentence.
    expect(verdict.reason).toMatch(/^[A-Za-z].{10,110}\.$/);
  });

  it('accepts generated salts drawn from the whole crypt alphabet', async () => {
    const salt = CRYPT64.slice(20, 36);
    const digest = await shaCryptDigest('sha512', Buffer.from('pw'), Buffer.from(salt), 5000);
    expect(validateImportedHash(`$6$${salt}$${digest}`)).toEqual({ ok: true, scheme: 'sha512-crypt' });
  });
});
