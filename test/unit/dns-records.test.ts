/**
 * Record validation (pure): names, every type's value rules, injection attempts refused, the CNAME
 * rule, the DA presentation that select-delete reads back, and the serial that never goes backwards.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import {
  conflictProblem,
  displayName,
  displayValue,
  nextSerial,
  normalizeName,
  normalizeTarget,
  parseData,
  parseTtl,
  parseTxt,
  parseType,
} from '../../src/modules/dns/records.js';
import { renderZone } from '../../src/modules/dns/render/bind-zone.js';
import type { DnsRecord, RecordType } from '../../src/modules/dns/zone.types.js';

const O = 'example.com';

function refused(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('accepted');
}

describe('names', () => {
  it('relative, absolute with a trailing dot, or the apex; always stored relative and lower case', () => {
    expect(normalizeName('www', O)).toBe('www');
    expect(normalizeName('WWW', O)).toBe('www');
    expect(normalizeName('_acme-challenge.www', O)).toBe('_acme-challenge.www');
    expect(normalizeName('_acme-challenge.www.example.com.', O)).toBe('_acme-challenge.www');
    expect(normalizeName('example.com.', O)).toBe('@');
    expect(normalizeName('@', O)).toBe('@');
    expect(normalizeName('', O)).toBe('@');
    expect(normalizeName('*', O)).toBe('*');
    expect(normalizeName('*.dev', O)).toBe('*.dev');
    // Without the trailing dot a name is relative, as in a zone file.
    expect(normalizeName('www.example.com', O)).toBe('www.example.com');
  });

  it('refuses directives, line breaks, quotes, spaces and names outside the zone', () => {
    for (const bad of [
      '$INCLUDE',
      '$ORIGIN',
      '$TTL',
      'a\nb',
      'a\r\n@ IN NS evil.',
      'a\u2028b',
      'a\u0000',
      'a b',
      'a;b',
      'a"b',
      'a\\b',
      'a(b',
      'a..b',
      '.a',
      '-a',
      'a-',
      'a.*',
      'www.other.org.',
      'example.com.evil.',
      'x'.repeat(64),
      `${'a.'.repeat(124)}a`,
    ])
      expect(refused(() => normalizeName(bad, O)).code, JSON.stringify(bad)).toBe('INVALID_PARAMETER');
  });

  it('targets become absolute', () => {
    expect(normalizeTarget('mail', O)).toBe('mail.example.com.');
    expect(normalizeTarget('@', O)).toBe('example.com.');
    expect(normalizeTarget('MX.Example.NET.', O)).toBe('mx.example.net.');
    for (const bad of ['', 'a b', 'a"b', 'a\nb', '*.x.', 'a..b.'])
      expect(refused(() => normalizeTarget(bad, O)).code, bad).toBe('INVALID_PARAMETER');
  });
});

describe('values per type', () => {
  const ok: [RecordType, string, string[], string?][] = [
    ['A', '192.0.2.1', ['192.0.2.1']],
    ['AAAA', '2001:DB8::1', ['2001:db8::1']],
    ['CNAME', 'www', ['www.example.com.']],
    ['NS', 'ns1.example.net.', ['ns1.example.net.']],
    ['PTR', 'host.example.net.', ['host.example.net.']],
    ['MX', '10 mail', ['10', 'mail.example.com.']],
    ['MX', '10', ['10', 'mx.example.net.'], 'mx.example.net.'],
    ['TXT', 'plain text', ['plain text']],
    ['TXT', '"quoted"', ['quoted']],
    ['TXT', '"a" "b"', ['a', 'b']],
    ['TXT', '"say \\"hi\\" \\\\ ok"', ['say "hi" \\ ok']],
    ['TXT', 'v=DKIM1; k=rsa; p=MIIB', ['v=DKIM1; k=rsa; p=MIIB']],
    ['SRV', '10 5 5060 sip', ['10', '5', '5060', 'sip.example.com.']],
    ['SRV', '0 0 0 .', ['0', '0', '0', '.']],
    ['CAA', '0 issue "letsencrypt.org"', ['0', 'issue', 'letsencrypt.org']],
    ['CAA', '128 iodef mailto:x@example.com', ['128', 'iodef', 'mailto:x@example.com']],
  ];
  for (const [type, value, data, mx] of ok)
    it(`${type} ${value}`, () => expect(parseData(type, value, O, mx)).toEqual(data));

  const bad: [RecordType, string, string?][] = [
    ['A', '192.0.2.256'],
    ['A', '192.0.2.1 '.repeat(2)],
    ['A', '::1'],
    ['A', ''],
    ['AAAA', '192.0.2.1'],
    ['AAAA', 'fe80::1%eth0'],
    ['CNAME', 'a;b'],
    ['CNAME', 'a"b'],
    ['CNAME', 'a\\b'],
    ['CNAME', 'a b'],
    ['NS', 'ns1\nevil'],
    ['MX', 'mail'],
    ['MX', '70000 mail'],
    ['MX', '10 mail extra'],
    ['MX', '10', 'bad;host'],
    ['TXT', ''],
    ['TXT', 'line\nbreak'],
    ['TXT', 'nul\u0000'],
    ['TXT', 'x'.repeat(8193)],
    ['SRV', '1 2 3'],
    ['SRV', '1 2 3 a;b'],
    ['SRV', '1 2 99999 t.'],
    ['CAA', '0 issue "a"b"'],
    ['CAA', '0 issue "a\\"'],
    ['CAA', '256 issue x'],
    ['CAA', 'issue x'],
    ['CAA', '0 issue "a\nb"'],
  ];
  for (const [type, value, mx] of bad)
    it(`refuses ${type} ${JSON.stringify(value).slice(0, 40)}`, () => {
      expect(['INVALID_PARAMETER', 'MISSING_PARAMETER']).toContain(
        refused(() => parseData(type, value, O, mx)).code,
      );
    });

  it('types and TTLs', () => {
    expect(parseType('txt')).toBe('TXT');
    for (const t of ['SOA', 'ANY', 'TXT;', ''])
      expect(refused(() => parseType(t)).code).toBe('INVALID_PARAMETER');
    expect(parseTtl(undefined)).toBeUndefined();
    expect(parseTtl('3600')).toBe(3600);
    for (const t of ['-1', '1e3', '2147483648', 'x', '36 00'])
      expect(refused(() => parseTtl(t)).code).toBe('INVALID_PARAMETER');
  });

  it('TXT of any length is stored whole; the renderer splits it into 255-byte strings', () => {
    const long = 'k'.repeat(1000);
    expect(parseTxt(long)).toEqual([long]);
    const zone = {
      origin: O,
      ttl: 3600,
      soa: {
        mname: 'ns1.example.net.',
        rname: 'hostmaster.example.com.',
        serial: 2026112501,
        refresh: 1,
        retry: 1,
        expire: 1,
        minimum: 1,
      },
      records: [{ name: 'k', type: 'TXT' as const, ttl: null, data: [long] }],
    };
    const line = renderZone(zone)
      .split('\n')
      .find((l) => l.startsWith('k '));
    expect(line?.match(/"k+"/g)?.map((x) => x.length - 2)).toEqual([255, 255, 255, 235]);
  });

  it('nothing accepted can add a line to a rendered zone', () => {
    const attempts: [RecordType, string][] = [
      ['TXT', '"a" ; $INCLUDE /etc/passwd'],
      ['TXT', 'a") IN NS evil. ("'],
      ['TXT', '\\'],
      ['TXT', '";'],
      ['CAA', '0 issue "a;b"'],
    ];
    const records: DnsRecord[] = attempts.map(([type, v], i) => ({
      name: `r${i}`,
      type,
      ttl: null,
      data: parseData(type, v, O),
    }));
    const zone = {
      origin: O,
      ttl: 3600,
      soa: {
        mname: 'ns1.example.net.',
        rname: 'h.example.com.',
        serial: 1,
        refresh: 1,
        retry: 1,
        expire: 1,
        minimum: 1,
      },
      records,
    };
    const text = renderZone(zone);
    const lines = text.split('\n').filter((l) => /^r\d /.test(l));
    expect(lines).toHaveLength(records.length);
    expect(text).not.toMatch(/^\$INCLUDE/m);
    expect(text.split('\n').filter((l) => l.startsWith('$'))).toEqual([`$ORIGIN ${O}.`, '$TTL 3600']);
  });
});

describe('presentation read back by select-delete', () => {
  const cases: DnsRecord[] = [
    { name: '@', type: 'MX', ttl: null, data: ['10', 'mail.example.com.'] },
    { name: 'x', type: 'MX', ttl: null, data: ['10', 'mx.example.net.'] },
    { name: 't', type: 'TXT', ttl: null, data: ['v=spf1 a mx ~all'] },
    { name: 't', type: 'TXT', ttl: null, data: ['a', 'b c'] },
    { name: 't', type: 'TXT', ttl: null, data: ['"quoted"'] },
    { name: 'c', type: 'CAA', ttl: null, data: ['0', 'issue', 'letsencrypt.org'] },
    { name: 's', type: 'SRV', ttl: null, data: ['1', '2', '3', 't.example.com.'] },
  ];
  for (const r of cases)
    it(`${r.type} ${r.data.join(' ')}`, () => {
      expect(normalizeName(displayName(r.name, O), O)).toBe(r.name);
      expect(parseData(r.type, displayValue(r, O), O)).toEqual(r.data);
    });
  it('DA shapes', () => {
    expect(displayName('@', O)).toBe('example.com.');
    expect(displayValue(cases[0] as DnsRecord, O)).toBe('10 mail');
    expect(displayValue(cases[2] as DnsRecord, O)).toBe('v=spf1 a mx ~all');
    expect(displayValue(cases[3] as DnsRecord, O)).toBe('"a" "b c"');
  });
});

describe('CNAME rule', () => {
  const a: DnsRecord = { name: 'www', type: 'A', ttl: null, data: ['192.0.2.1'] };
  const cname: DnsRecord = { name: 'www', type: 'CNAME', ttl: null, data: ['x.example.net.'] };
  it('never beside other data, never at the apex', () => {
    expect(conflictProblem(cname, [a])).toMatch(/stand alone/);
    expect(conflictProblem(a, [cname])).toMatch(/has a CNAME/);
    expect(conflictProblem(cname, [cname])).toMatch(/stand alone/);
    expect(conflictProblem({ ...cname, name: '@' }, [])).toMatch(/apex/);
    expect(conflictProblem(cname, [{ ...a, name: 'other' }])).toBeNull();
  });
});

describe('serial', () => {
  const day = Date.UTC(2026, 10, 25, 12);
  it('YYYYMMDDnn of the UTC day, increasing, never backwards', () => {
    expect(nextSerial(0, day)).toBe(2026112501);
    expect(nextSerial(2026112501, day)).toBe(2026112502);
    expect(nextSerial(2026112499, day)).toBe(2026112501);
    expect(nextSerial(2026112599, day)).toBe(2026112600);
    expect(nextSerial(2026112401, day)).toBe(2026112501);
    // A clock that went back, or a serial from elsewhere that is ahead, still only goes up.
    expect(nextSerial(2026112601, day)).toBe(2026112602);
    expect(nextSerial(2030010101, day)).toBe(2030010102);
    expect(nextSerial(0, Date.UTC(2027, 0, 1, 0, 0, 0))).toBe(2027010101);
  });
});
