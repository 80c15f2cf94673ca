import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IpRule, ipAllowed, parseIpRules } from '../../src/auth/ip-rules.js';

function rulesOf(text: string): IpRule[] {
  const r = parseIpRules(text);
  if (!r.ok) throw new Error(`unexpected refusal: ${r.errors.join(' ')}`);
  return r.rules;
}

function errorsOf(text: string): string[] {
  const r = parseIpRules(text);
  if (r.ok) throw new Error(`unexpectedly accepted: ${r.normalized}`);
  return r.errors;
}

describe('parseIpRules: accepted forms and their normal text', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1.2.3.4-50', '1.2.3.4-50'],
    ['1.2.3.4-4', '1.2.3.4-4'],
    ['1.2.3.0-255', '1.2.3.0-255'],
    ['1.2.3.4-1.2.3.50', '1.2.3.4-1.2.3.50'],
    ['1.2.3.4-5.6.7.8', '1.2.3.4-5.6.7.8'],
    ['2001:db8::1-2001:DB8::ff', '2001:db8::1-2001:db8::ff'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['1.2.3.4/32', '1.2.3.4/32'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    // IPv4-mapped entries are IPv4 entries.
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:102:304', '1.2.3.4'],
    ['::ffff:1.2.3.0/120', '1.2.3.0/24'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:1.2.3.4-::ffff:1.2.3.9', '1.2.3.4-1.2.3.9'],
    // The deprecated IPv4-compatible form is an ordinary IPv6 address (ipaddr.js 2.5.0 gets this wrong).
    ['::1.2.3.4', '::1.2.3.4'],
  ])('%s → %s', (input, normal) => {
    const r = parseIpRules(input);
    expect(r).toEqual({ ok: true, rules: [{ text: normal }], normalized: normal });
  });

  it('takes one entry per line, with \\n or \\r\\n, trimming and skipping blank lines, deduplicating', () => {
    const r = parseIpRules('\r\n  1.2.3.4  \r\n\n\t10.0.0.0/8\n\n1.2.3.4\n::FFFF:1.2.3.4\r\n2001:db8::/32\n');
    expect(r).toEqual({
      ok: true,
      rules: [{ text: '1.2.3.4' }, { text: '10.0.0.0/8' }, { text: '2001:db8::/32' }],
      normalized: '1.2.3.4\n10.0.0.0/8\n2001:db8::/32',
    });
  });

  it('accepts an empty or blank field as "any IP"', () => {
    for (const blank of ['', '\n', ' \r\n \n'])
      expect(parseIpRules(blank)).toEqual({ ok: true, rules: [], normalized: '' });
    expect(ipAllowed(rulesOf(''), '203.0.113.9')).toBe(true);
    expect(ipAllowed([], 'garbage')).toBe(true);
    expect(ipAllowed([], undefined)).toBe(true);
  });

  it('caps the number of entries (100 by default, configurable), counting distinct entries', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join('\n');
    expect(parseIpRules(lines(100)).ok).toBe(true);
    expect(errorsOf(lines(101))).toEqual(['At most 100 IP entries are allowed and 101 were given.']);
    expect(parseIpRules(`${lines(100)}\n10.0.0.0`).ok).toBe(true);
    expect(parseIpRules(lines(3), 2).ok).toBe(false);
    expect(parseIpRules(lines(2), 2).ok).toBe(true);
  });
});

describe('parseIpRules: refusals (security.md test 8), one sentence per bad line', () => {
  it.each([
    ['010.0.0.1', /"010" has a leading zero/],
    ['10.0.0.01', /"01" has a leading zero/],
    ['::ffff:010.0.0.1', /"010" has a leading zero/],
    ['010.0.0.0/8', /"010" has a leading zero/],
    ['10.0.0.0/08', /prefix length "08" has a leading zero/],
    ['1.2.3.4-050', /range end "050" has a leading zero/],
    ['1.2.3.4-010.0.0.1', /"010" has a leading zero/],
    ['fe80::1%eth0', /zone ids/],
    ['fe80::1%1', /zone ids/],
    ['fe80::/10%eth0', /zone ids/],
    ['1.2.3.4 1.2.3.5', /may not contain spaces/],
    ['1.2.3.4 - 1.2.3.9', /may not contain spaces/],
    ['10.0.0.0 /8', /may not contain spaces/],
    ['1.2.3.4\t#office', /may not contain spaces/],
    ['1.2.3.4\r5.6.7.8', /may not contain spaces/],
    ['1.2.3.50-4', /starts after it ends/],
    ['1.2.3.9-1.2.3.4', /starts after it ends/],
    ['2001:db8::2-2001:db8::1', /starts after it ends/],
    ['1.2.3.4-256', /not a number from 0 to 255/],
    ['1.2.3.4-', /not a number from 0 to 255/],
    ['1.2.3.4-x', /not a number from 0 to 255/],
    ['2001:db8::1-ff', /short range form .* IPv4 only/],
    ['1.2.3.4-::1', /mixes IPv4 and IPv6/],
    ['::fffe:ffff:ffff-::ffff:1.2.3.4', /mixes IPv4-mapped/],
    ['10.0.0.1/8', /bits set after the \/8 prefix; write 10\.0\.0\.0\/8/],
    ['2001:db8::1/32', /write 2001:db8::\/32/],
    ['::ffff:1.2.3.4/80', /write ::\/80/],
    ['10.0.0.0/33', /at most \/32/],
    ['::/129', /at most \/128/],
    ['10.0.0.0/', /is not a prefix length/],
    ['10.0.0.0/-1', /not an IP address, a range/],
    ['10.0.0.0/8/8', /not an IP address, a range/],
    ['1.2.3.4-5-6', /not an IP address, a range/],
    ['-', /not an IP address, a range/],
    ['/8', /not an IP address, a range/],
    ['256.0.0.1', /not an IP address, a range/],
    ['1.2.3', /not an IP address, a range/],
    ['1.2.3.4.5', /not an IP address, a range/],
    ['0x0a.0.0.1', /not an IP address, a range/],
    ['1::2::3', /not an IP address, a range/],
    ['localhost', /not an IP address, a range/],
    ['*', /not an IP address, a range/],
    ['1.2.3.*', /not an IP address, a range/],
    ['[::1]', /not an IP address, a range/],
    ['1.2.3.4:80', /not an IP address, a range/],
    ['x.2.3.4-5', /"x.2.3.4" is not a valid IPv4 or IPv6 address/],
    ['1'.repeat(101), /too long/],
  ])('%j', (input, why) => {
    const errors = errorsOf(input);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Line 1 \(".*"\): .+\.$/);
    expect(errors[0]).toMatch(why);
  });

  it('reports every bad line with its number and refuses the whole list', () => {
    const errors = errorsOf('1.2.3.4\n\n010.0.0.1\r\n10.0.0.0/8\nfe80::1%eth0\n');
    expect(errors).toEqual([
      'Line 3 ("010.0.0.1"): "010" has a leading zero, which some software reads as octal; write the number without it.',
      'Line 5 ("fe80::1%eth0"): zone ids (%eth0) are not allowed, and a client address that carries one is never matched.',
    ]);
  });

  it('bounds the error list and the quoted text on a huge paste', () => {
    const errors = errorsOf(Array.from({ length: 500 }, () => 'x'.repeat(90)).join('\n'));
    expect(errors).toHaveLength(21);
    expect(errors[20]).toBe('480 more lines are invalid.');
    expect(errors[0]!.length).toBeLessThan(200);
  });

  it('refuses a non-string field', () => {
    expect(parseIpRules(undefined as unknown as string).ok).toBe(false);
  });
});

describe('ipAllowed: named edge cases', () => {
  it('matches IPv4-mapped client addresses against IPv4 entries, in any spelling', () => {
    const rules = rulesOf('1.2.3.0/24');
    for (const c of [
      '1.2.3.4',
      '::ffff:1.2.3.4',
      '::FFFF:1.2.3.4',
      '::ffff:102:304',
      '0:0:0:0:0:ffff:1.2.3.4',
    ])
      expect(ipAllowed(rules, c), c).toBe(true);
    for (const c of ['1.2.4.4', '::ffff:1.2.4.4', '::1.2.3.4', '::ffff:0:1.2.3.4', '64:ff9b::1.2.3.4'])
      expect(ipAllowed(rules, c), c).toBe(false);
  });

  it('keeps IPv4 and IPv6 apart: ::/0 is every IPv6 address, 0.0.0.0/0 every IPv4 address', () => {
    const v6 = rulesOf('::/0');
    expect(ipAllowed(v6, '2001:db8::1')).toBe(true);
    expect(ipAllowed(v6, '::1')).toBe(true);
    expect(ipAllowed(v6, '1.2.3.4')).toBe(false);
    expect(ipAllowed(v6, '::ffff:1.2.3.4')).toBe(false);
    const v4 = rulesOf('0.0.0.0/0');
    expect(ipAllowed(v4, '0.0.0.0')).toBe(true);
    expect(ipAllowed(v4, '255.255.255.255')).toBe(true);
    expect(ipAllowed(v4, '::ffff:8.8.8.8')).toBe(true);
    expect(ipAllowed(v4, '::1')).toBe(false);
    expect(ipAllowed(v4, '2001:db8::1')).toBe(false);
  });

  it('treats /32 and /128 as one address', () => {
    const rules = rulesOf('192.0.2.7/32\n2001:db8::7/128');
    expect(ipAllowed(rules, '192.0.2.7')).toBe(true);
    expect(ipAllowed(rules, '192.0.2.6')).toBe(false);
    expect(ipAllowed(rules, '192.0.2.8')).toBe(false);
    expect(ipAllowed(rules, '2001:db8::7')).toBe(true);
    expect(ipAllowed(rules, '2001:0db8:0:0:0:0:0:0007')).toBe(true);
    expect(ipAllowed(rules, '2001:db8::8')).toBe(false);
  });

  it('applies DirectAdmin simple ranges to the last octet, inclusive', () => {
    const rules = rulesOf('1.2.3.4-5');
    expect(['1.2.3.3', '1.2.3.4', '1.2.3.5', '1.2.3.6', '1.2.4.4'].map((c) => ipAllowed(rules, c))).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
  });

  it('applies full ranges across octet boundaries, inclusive', () => {
    const rules = rulesOf('10.0.0.250-10.0.1.5');
    expect(
      ['10.0.0.249', '10.0.0.250', '10.0.0.255', '10.0.1.0', '10.0.1.5', '10.0.1.6'].map((c) =>
        ipAllowed(rules, c),
      ),
    ).toEqual([false, true, true, true, true, false]);
  });

  it('fails closed on a missing or unparseable client address when the list is not empty (test 10)', () => {
    const rules = rulesOf('0.0.0.0/0\n::/0');
    for (const c of [
      undefined,
      '',
      ' ',
      'garbage',
      'unknown',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '010.0.0.1',
      '1.2.3.4:5678',
      '[::1]',
      'fe80::1%eth0',
      '::ffff:1.2.3.4%eth0',
      '1.2.3.4, 5.6.7.8',
      '1'.repeat(1000),
    ])
      expect(ipAllowed(rules, c as string), JSON.stringify(c)).toBe(false);
    expect(ipAllowed(rules, null as unknown as string)).toBe(false);
    expect(ipAllowed(rules, 42 as unknown as string)).toBe(false);
  });

  it('lets a damaged stored entry grant nothing (it is never reinterpreted at use time)', () => {
    expect(ipAllowed([{ text: '010.0.0.1' }], '10.0.0.1')).toBe(false);
    expect(ipAllowed([{ text: '010.0.0.1' }], '8.0.0.1')).toBe(false);
    expect(ipAllowed([{ text: '1.2.3.9-1.2.3.4' }], '1.2.3.5')).toBe(false);
    expect(ipAllowed([{ text: '10.0.0.1/8' }], '10.0.0.2')).toBe(false);
    expect(ipAllowed([{ text: '' }], '1.2.3.4')).toBe(false);
    expect(ipAllowed([{ text: 'garbage' }, { text: '1.2.3.4' }], '1.2.3.4')).toBe(true);
    expect(ipAllowed([{} as IpRule], '1.2.3.4')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property test: entries and client addresses are generated as numbers and rendered to text in many legal
// spellings; the reference model decides with plain BigInt interval arithmetic on those numbers, so it
// never parses the text it checks.

type Fam = 4 | 6;
const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;
const MAPPED_LO = 0xffffn << 32n;
const MAPPED_HI = MAPPED_LO | V4_MAX;
const maxOf = (f: Fam) => (f === 4 ? V4_MAX : V6_MAX);

interface Spelling {
  upper: boolean;
  pad: boolean;
  compress: number; // which zero run to compress: 0 = none, k = the k-th candidate (wrapping)
  dotted: boolean;
  mappedV4: 0 | 1 | 2 | 3; // how an IPv4 address is written: dotted, ::ffff:dotted, ::ffff:hex, full
}

const spellingArb: fc.Arbitrary<Spelling> = fc.record({
  upper: fc.boolean(),
  pad: fc.boolean(),
  compress: fc.nat(4),
  dotted: fc.boolean(),
  mappedV4: fc.constantFrom<0 | 1 | 2 | 3>(0, 0, 0, 1, 2, 3),
});

function v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

/** Any legal RFC 4291 text for a 128-bit value (no zone, no brackets). */
function v6Text(v: bigint, s: Spelling): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((sh) => Number((v >> sh) & 0xffffn));
  const hexCount = s.dotted ? 6 : 8;
  const hex = groups.slice(0, hexCount).map((g) => {
    const h = s.pad ? g.toString(16).padStart(4, '0') : g.toString(16);
    return s.upper ? h.toUpperCase() : h;
  });
  const tail = s.dotted ? [v4Text(v & V4_MAX)] : [];
  // Every maximal run of zero groups among the hex groups is a candidate for `::`.
  const runs: [number, number][] = [];
  for (let i = 0; i < hexCount; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < hexCount && groups[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  if (s.compress === 0 || runs.length === 0) return [...hex, ...tail].join(':');
  const [a, b] = runs[(s.compress - 1) % runs.length]!;
  const head = hex.slice(0, a).join(':');
  const rest = [...hex.slice(b), ...tail].join(':');
  return `${head}::${rest}`;
}

function addrText(f: Fam, v: bigint, s: Spelling): string {
  if (f === 6) return v6Text(v, s);
  switch (s.mappedV4) {
    case 0:
      return v4Text(v);
    case 1:
      return `::${s.upper ? 'FFFF' : 'ffff'}:${v4Text(v)}`;
    case 2:
      return v6Text(MAPPED_LO | v, { ...s, dotted: false, compress: 1 });
    default:
      return v6Text(MAPPED_LO | v, { ...s, compress: 0 });
  }
}

/** The model's view of a client: IPv4-mapped IPv6 is IPv4. */
function clientOf(f: Fam, v: bigint): { f: Fam; v: bigint } {
  if (f === 6 && v >= MAPPED_LO && v <= MAPPED_HI) return { f: 4, v: v - MAPPED_LO };
  return { f, v };
}

interface GenRule {
  text: string;
  valid: boolean;
  f: Fam;
  lo: bigint;
  hi: bigint;
}

/** A value near the interesting edges of the space (0, max, the IPv4-mapped block) or anywhere. */
function valueArb(f: Fam): fc.Arbitrary<bigint> {
  const max = maxOf(f);
  const edges =
    f === 4
      ? [0n, 1n, V4_MAX - 1n, V4_MAX]
      : [0n, 1n, MAPPED_LO - 1n, MAPPED_LO, MAPPED_HI, MAPPED_HI + 1n, V6_MAX];
  return fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 0n, max }) },
    { weight: 1, arbitrary: fc.constantFrom(...edges) },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: f === 4 ? 0xffffn : V4_MAX }) },
    ...(f === 6 ? [{ weight: 2, arbitrary: fc.bigInt({ min: MAPPED_LO, max: MAPPED_HI }) }] : []),
  );
}

const famArb = fc.constantFrom<Fam>(4, 6);

const isMapped = (v: bigint) => v >= MAPPED_LO && v <= MAPPED_HI;

/**
 * Puts a written IPv6 rule into the model's terms: an address or block inside ::ffff:0:0/96 is an IPv4 rule;
 * a range with one end inside that block and the other outside mixes the two worlds and must be refused.
 */
function modelV6(text: string, lo: bigint, hi: bigint): GenRule {
  if (isMapped(lo) && isMapped(hi))
    return { text, valid: true, f: 4, lo: lo - MAPPED_LO, hi: hi - MAPPED_LO };
  return { text, valid: isMapped(lo) === isMapped(hi), f: 6, lo, hi };
}

const cidrArb: fc.Arbitrary<GenRule> = famArb.chain((f) =>
  fc
    .tuple(
      valueArb(f),
      fc.oneof(
        fc.nat(f === 4 ? 32 : 128),
        fc.constantFrom(...(f === 4 ? [0, 1, 8, 16, 24, 31, 32] : [0, 1, 32, 64, 95, 96, 97, 120, 127, 128])),
      ),
      spellingArb,
    )
    .map(([base, prefix, s]) => {
      const bits = BigInt((f === 4 ? 32 : 128) - prefix);
      const host = (1n << bits) - 1n;
      const net = base & ~host;
      if (f === 4 && s.mappedV4 !== 0)
        return modelV6(`${addrText(4, net, s)}/${prefix + 96}`, MAPPED_LO | net, MAPPED_LO | net | host);
      const text = `${addrText(f, net, s)}/${prefix}`;
      // A block shorter than /96 that contains ::ffff:0:0/96 (::/0, ::fffe:0:0/95) stays an IPv6 block.
      if (f === 6 && !isMapped(net)) return { text, valid: true, f, lo: net, hi: net | host };
      return f === 4 ? { text, valid: true, f, lo: net, hi: net | host } : modelV6(text, net, net | host);
    }),
);

const rangeArb: fc.Arbitrary<GenRule> = famArb.chain((f) =>
  fc
    .tuple(
      valueArb(f),
      fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: maxOf(f) })),
      spellingArb,
      spellingArb,
    )
    .map(([start, span, s1, s2]) => {
      // biome-ignore lint/complexity/useMathMinMax: Math.min does not take BigInt
      const end = start + span > maxOf(f) ? maxOf(f) : start + span;
      const text = `${addrText(f, start, s1)}-${addrText(f, end, s2)}`;
      return f === 4 ? { text, valid: true, f, lo: start, hi: end } : modelV6(text, start, end);
    }),
);

const simpleRangeArb: fc.Arbitrary<GenRule> = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 24n) - 1n }), fc.nat(255), fc.nat(255))
  .map(([net, a, b]) => {
    const [x, y] = a <= b ? [a, b] : [b, a];
    const base = net << 8n;
    return {
      text: `${v4Text(base | BigInt(x))}-${y}`,
      valid: true,
      f: 4 as Fam,
      lo: base | BigInt(x),
      hi: base | BigInt(y),
    };
  });

const singleArb: fc.Arbitrary<GenRule> = famArb.chain((f) =>
  fc.tuple(valueArb(f), spellingArb).map(([v, s]) => {
    const text = addrText(f, v, s);
    return f === 4 ? { text, valid: true, f, lo: v, hi: v } : modelV6(text, v, v);
  }),
);

const ruleArb = fc.oneof(cidrArb, rangeArb, simpleRangeArb, singleArb);

/** A client near one of the rules' edges (inside or just outside) or anywhere, in any spelling. */
function clientArb(rules: GenRule[]): fc.Arbitrary<{ text: string; f: Fam; v: bigint }> {
  const near = rules.flatMap((r) =>
    r.valid ? [r.lo - 1n, r.lo, r.hi, r.hi + 1n, (r.lo + r.hi) / 2n].map((v) => ({ f: r.f, v })) : [],
  );
  const pick = fc.oneof(
    famArb.chain((f) => valueArb(f).map((v) => ({ f, v }))),
    ...(near.length > 0 ? [fc.constantFrom(...near)] : []),
  );
  return fc
    .tuple(pick, spellingArb)
    .filter(([{ f, v }]) => v >= 0n && v <= maxOf(f))
    .map(([{ f, v }, s]) => ({ text: addrText(f, v, s), ...clientOf(f, v) }));
}

function model(rules: GenRule[], c: { f: Fam; v: bigint }): boolean {
  return rules.length === 0 || rules.some((r) => r.f === c.f && r.lo <= c.v && c.v <= r.hi);
}

describe('property: ipAllowed agrees with a BigInt reference model', () => {
  const listArb = fc.array(ruleArb, { minLength: 0, maxLength: 4 });
  const caseArb = listArb.chain((rules) => fc.tuple(fc.constant(rules), clientArb(rules)));

  it('on 10,000 random lists of CIDRs, ranges and addresses against random IPv4/IPv6 clients', () => {
    let mismatches = 0;
    let matched = 0;
    fc.assert(
      fc.property(caseArb, ([rules, client]) => {
        const r = parseIpRules(rules.map((x) => x.text).join('\r\n'));
        const valid = rules.every((x) => x.valid);
        expect(r.ok).toBe(valid);
        if (!r.ok) {
          const bad = rules.flatMap((x, i) => (x.valid ? [] : [i + 1]));
          expect(r.errors.map((e) => Number(/^Line (\d+) /.exec(e)?.[1]))).toEqual(bad);
          return;
        }
        const want = model(rules, client);
        const got = ipAllowed(r.rules, client.text);
        if (got !== want) mismatches++;
        if (want && rules.length > 0) matched++;
        expect(got).toBe(want);
        // Normal text means the same and is a fixed point.
        const again = parseIpRules(r.normalized);
        expect(again).toEqual(r);
      }),
      { numRuns: 10_000 },
    );
    expect(mismatches).toBe(0);
    expect(matched).toBeGreaterThan(2_000); // the generator hits the rules often enough to mean something
  });

  it('agrees with node:net BlockList for same-family IPv4 and non-mapped IPv6 (an oracle that parses natively)', () => {
    fc.assert(
      fc.property(ruleArb, (rule) => {
        if (!rule.valid) return;
        const r = parseIpRules(rule.text);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const bl = new BlockList();
        const type = rule.f === 4 ? 'ipv4' : 'ipv6';
        const lo =
          rule.f === 4
            ? v4Text(rule.lo)
            : v6Text(rule.lo, { upper: false, pad: true, compress: 0, dotted: false, mappedV4: 0 });
        const hi =
          rule.f === 4
            ? v4Text(rule.hi)
            : v6Text(rule.hi, { upper: false, pad: true, compress: 0, dotted: false, mappedV4: 0 });
        bl.addRange(lo, hi, type);
        for (const v of [rule.lo, rule.hi, rule.lo - 1n, rule.hi + 1n]) {
          if (v < 0n || v > maxOf(rule.f)) continue;
          if (rule.f === 6 && v >= MAPPED_LO && v <= MAPPED_HI) continue; // BlockList maps these; we do not
          const text =
            rule.f === 4
              ? v4Text(v)
              : v6Text(v, { upper: false, pad: false, compress: 1, dotted: false, mappedV4: 0 });
          expect(ipAllowed(r.rules, text)).toBe(bl.check(text, type));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuses entries with host bits, reversed ranges, leading zeros, zone ids and inner whitespace', () => {
    const brokenArb = fc.oneof(
      fc
        .tuple(fc.bigInt({ min: 0n, max: V4_MAX }), fc.integer({ min: 0, max: 31 }))
        .filter(([v, p]) => (v & ((1n << BigInt(32 - p)) - 1n)) !== 0n)
        .map(([v, p]) => `${v4Text(v)}/${p}`),
      fc
        .tuple(fc.bigInt({ min: 0n, max: V4_MAX }), fc.bigInt({ min: 0n, max: V4_MAX }))
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => (a > b ? `${v4Text(a)}-${v4Text(b)}` : `${v4Text(b)}-${v4Text(a)}`)),
      fc.tuple(fc.bigInt({ min: 0n, max: V4_MAX }), fc.nat(254)).map(([a, d]) => `${v4Text(a | 0xffn)}-${d}`),
      fc.tuple(fc.bigInt({ min: 0n, max: V4_MAX }), fc.nat(3)).map(([v, i]) =>
        v4Text(v)
          .split('.')
          .map((o, k) => (k === i ? `0${o}` : o))
          .join('.'),
      ),
      fc
        .tuple(fc.bigInt({ min: 0n, max: V6_MAX }), fc.constantFrom('%eth0', '%1', '%25'))
        .map(
          ([v, z]) =>
            `${v6Text(v, { upper: false, pad: false, compress: 1, dotted: false, mappedV4: 0 })}${z}`,
        ),
      fc.tuple(singleArb, fc.constantFrom(' ', '\t', '\u00a0', '\v')).map(([r, w]) => {
        const at = Math.max(1, r.text.length >> 1);
        return `${r.text.slice(0, at)}${w}${r.text.slice(at)}`;
      }),
    );
    fc.assert(
      fc.property(fc.array(singleArb, { maxLength: 3 }), brokenArb, fc.nat(3), (good, broken, at) => {
        const lines = good.filter((g) => g.valid).map((g) => g.text);
        const pos = Math.min(at, lines.length);
        lines.splice(pos, 0, broken);
        const r = parseIpRules(lines.join('\n'));
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors[0]).toMatch(new RegExp(`^Line ${pos + 1} `));
      }),
      { numRuns: 3_000 },
    );
  });
});
