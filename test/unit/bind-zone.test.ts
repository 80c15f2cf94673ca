import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { renderZone, txtStrings } from '../../src/modules/dns/render/bind-zone.js';
import { renderNamedConf } from '../../src/modules/dns/render/named-conf.js';
import type { DnsRecord, Zone } from '../../src/modules/dns/zone.types.js';

const SOA = {
  mname: 'ns1.example.com.',
  rname: 'hostmaster.example.com.',
  serial: 2026112501,
  refresh: 3600,
  retry: 600,
  expire: 1209600,
  minimum: 300,
};

function zone(records: DnsRecord[], origin = 'example.com'): Zone {
  return { origin, ttl: 3600, soa: SOA, records };
}

const rec = (
  name: string,
  type: DnsRecord['type'],
  data: string[],
  ttl: number | null = null,
): DnsRecord => ({
  name,
  type,
  ttl,
  data,
});

/** A zone's records with the name server and its address that named-checkzone requires. */
const NS = [rec('@', 'NS', ['ns1.example.com.']), rec('ns1', 'A', ['192.0.2.1'])];

const dir = mkdtempSync(join(tmpdir(), 'hostdeck-bind-zone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** named-checkzone's verdict on a rendered zone, and its canonical dump (one record per line). */
function checkzone(origin: string, text: string): { ok: boolean; out: string; dump: string[] } {
  const file = join(dir, `${origin}.db`);
  writeFileSync(file, text);
  try {
    const out = execFileSync(
      'named-checkzone',
      ['-k', 'fail', '-i', 'local', '-D', '-o', '-', origin, file],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return {
      ok: true,
      out,
      dump: out.split('\n').filter((l) => /\s(IN)\s/.test(l)),
    };
  } catch (e) {
    return { ok: false, out: String((e as { stdout?: string }).stdout ?? e), dump: [] };
  }
}

/** Decodes the quoted character-strings of a rendered TXT RDATA back to bytes. */
function decodeTxt(rdata: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < rdata.length) {
    if (rdata[i] === ' ') {
      i++;
      continue;
    }
    expect(rdata[i]).toBe('"');
    i++;
    const bytes: number[] = [];
    while (rdata[i] !== '"') {
      if (i >= rdata.length) throw new Error('unterminated string');
      if (rdata[i] === '\\') {
        const d = /^[0-9]{3}/.exec(rdata.slice(i + 1));
        if (d) {
          bytes.push(Number(d[0]));
          i += 4;
        } else {
          bytes.push(rdata.charCodeAt(i + 1));
          i += 2;
        }
      } else {
        bytes.push(rdata.charCodeAt(i));
        i++;
      }
    }
    i++;
    out.push(Buffer.from(bytes));
  }
  return out;
}

describe('renderZone', () => {
  it('renders the exact text: header, $ORIGIN, $TTL, SOA, records sorted by name and type', () => {
    const text = renderZone(
      zone([
        rec('www', 'A', ['192.0.2.10']),
        rec('@', 'MX', ['10', 'mail.example.com.']),
        rec('@', 'NS', ['ns2.example.net.']),
        rec('@', 'NS', ['ns1.example.com.']),
        rec('@', 'A', ['192.0.2.1'], 300),
        rec('ns1', 'A', ['192.0.2.1']),
        rec('ftp', 'CNAME', ['www']),
        rec('_sip._tcp', 'SRV', ['10', '5', '5060', 'sip.example.com.']),
        rec('@', 'TXT', ['v=spf1 a mx -all']),
        rec('@', 'CAA', ['0', 'issue', 'letsencrypt.org']),
        rec('@', 'AAAA', ['2001:DB8::1']),
        rec('1', 'PTR', ['host.example.com.']),
        rec('*.dev', 'A', ['192.0.2.20']),
        rec('mail.example.com.', 'A', ['192.0.2.2']),
      ]),
    );
    expect(text).toBe(
      [
        '; zone example.com, written by hostdeck from its database; changes made here are overwritten',
        '$ORIGIN example.com.',
        '$TTL 3600',
        '@ IN SOA ns1.example.com. hostmaster.example.com. 2026112501 3600 600 1209600 300',
        '@ 300 IN A 192.0.2.1',
        '@ IN AAAA 2001:db8::1',
        '@ IN MX 10 mail.example.com.',
        '@ IN TXT "v=spf1 a mx -all"',
        '@ IN CAA 0 issue "letsencrypt.org"',
        '@ IN NS ns2.example.net.',
        '@ IN NS ns1.example.com.',
        '*.dev IN A 192.0.2.20',
        '1 IN PTR host.example.com.',
        '_sip._tcp IN SRV 10 5 5060 sip.example.com.',
        'ftp IN CNAME www',
        'mail IN A 192.0.2.2',
        'ns1 IN A 192.0.2.1',
        'www IN A 192.0.2.10',
        '',
      ].join('\n'),
    );
    const r = checkzone('example.com', text);
    expect(r.ok, r.out).toBe(true);
  });

  it('escapes TXT quotes, backslashes and every non-printable byte as \\DDD', () => {
    const text = renderZone(zone([rec('t', 'TXT', ['a"b\\c;d\ne\t$INCLUDE é', '']), ...NS]));
    expect(text.split('\n')[6]).toBe('t IN TXT "a\\"b\\\\c;d\\010e\\009$INCLUDE \\195\\169" ""');
    const r = checkzone('example.com', text);
    expect(r.ok, r.out).toBe(true);
    expect(r.dump.find((l) => l.includes('TXT'))).toContain(
      '"a\\"b\\\\c;d\\010e\\009$INCLUDE \\195\\169" ""',
    );
  });

  it('splits long TXT values into 255-byte character-strings', () => {
    const long = 'x'.repeat(600);
    expect(txtStrings(long)).toEqual([`"${'x'.repeat(255)}"`, `"${'x'.repeat(255)}"`, `"${'x'.repeat(90)}"`]);
    // The split counts bytes, not characters: 200 two-byte characters make 400 bytes.
    const wide = 'é'.repeat(200);
    const parts = txtStrings(wide);
    expect(parts).toHaveLength(2);
    expect(Buffer.concat(parts.flatMap((p) => decodeTxt(p))).toString('utf8')).toBe(wide);
    expect(checkzone('example.com', renderZone(zone([rec('t', 'TXT', [long, wide]), ...NS]))).ok).toBe(true);
  });

  it('quotes and escapes a CAA value', () => {
    const text = renderZone(zone([rec('@', 'CAA', ['128', 'iodef', 'mailto:a"b@example.com']), ...NS]));
    expect(text).toContain('@ IN CAA 128 iodef "mailto:a\\"b@example.com"\n');
    expect(checkzone('example.com', text).ok).toBe(true);
  });

  const invalid: [string, DnsRecord][] = [
    ['name with a space', rec('a b', 'A', ['192.0.2.1'])],
    ['name with a newline', rec('a\nb', 'A', ['192.0.2.1'])],
    ['$INCLUDE as a name', rec('$INCLUDE', 'A', ['192.0.2.1'])],
    ['name with a semicolon', rec('a;b', 'A', ['192.0.2.1'])],
    ['name with a quote', rec('a"b', 'A', ['192.0.2.1'])],
    ['empty label', rec('a..b', 'A', ['192.0.2.1'])],
    ['leading hyphen', rec('-a', 'A', ['192.0.2.1'])],
    ['64-byte label', rec('a'.repeat(64), 'A', ['192.0.2.1'])],
    ['wildcard not leftmost', rec('a.*', 'A', ['192.0.2.1'])],
    ['absolute name of another zone', rec('www.example.net.', 'A', ['192.0.2.1'])],
    ['empty name', rec('', 'A', ['192.0.2.1'])],
    ['bad IPv4', rec('a', 'A', ['192.0.2.256'])],
    ['IPv4 with extra text', rec('a', 'A', ['192.0.2.1 ; x'])],
    ['IPv6 zone index', rec('a', 'AAAA', ['fe80::1%eth0'])],
    ['SRV target with a newline', rec('_x._tcp', 'SRV', ['1', '1', '1', 'a.\n$ORIGIN evil.'])],
    ['SRV port out of range', rec('_x._tcp', 'SRV', ['1', '1', '65536', 'a.'])],
    ['MX preference not a number', rec('@', 'MX', ['1 2', 'a.'])],
    ['CNAME target with parenthesis', rec('a', 'CNAME', ['b(.'])],
    ['CAA tag with a space', rec('@', 'CAA', ['0', 'is sue', 'x'])],
    ['missing data', rec('a', 'MX', ['10'])],
    ['TXT without strings', rec('a', 'TXT', [])],
    ['negative TTL', rec('a', 'A', ['192.0.2.1'], -1)],
    ['unknown type', { name: 'a', type: 'SPF' as DnsRecord['type'], ttl: null, data: ['x'] }],
  ];
  it.each(invalid)('refuses %s', (_what, r) => {
    let err: unknown;
    try {
      renderZone(zone([r]));
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code === 'INVALID_PARAMETER').toBe(true);
  });

  it('refuses bad origins and SOA fields', () => {
    for (const origin of [
      'com',
      'example.com.',
      'exa mple.com',
      'example.123',
      '',
      'a\n$INCLUDE /etc/passwd',
    ])
      expect(() => renderZone(zone([], origin))).toThrow(/not a valid (domain|DNS name)/);
    expect(() => renderZone({ ...zone([]), soa: { ...SOA, mname: 'ns1 ; x.' } })).toThrow(/SOA mname/);
    expect(() => renderZone({ ...zone([]), soa: { ...SOA, serial: 2 ** 32 } })).toThrow(/SOA serial/);
  });

  it('property: no value in a name, TXT, SRV target or CAA value adds a line or a directive', () => {
    const nasty = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc
        .array(
          fc.constantFrom(
            '"',
            '\\',
            ';',
            '\n',
            '\r',
            '$INCLUDE /etc/passwd',
            '$ORIGIN evil.',
            '(',
            ')',
            '\0',
            '\x7f',
            ' ',
            'a',
            '.',
            '@',
            '*',
            '_',
            '-',
            'é',
          ),
          { maxLength: 12 },
        )
        .map((a) => a.join('')),
    );
    const slot = fc.constantFrom('name', 'txt', 'srv', 'caa', 'cname');
    let rendered = 0;
    fc.assert(
      fc.property(slot, nasty, (where, v) => {
        const r =
          where === 'name'
            ? rec(v, 'A', ['192.0.2.1'])
            : where === 'txt'
              ? rec('t', 'TXT', [v, 'tail'])
              : where === 'srv'
                ? rec('_s._tcp', 'SRV', ['1', '2', '3', v])
                : where === 'caa'
                  ? rec('@', 'CAA', ['0', 'issue', v])
                  : rec('c', 'CNAME', [v]);
        let text: string;
        try {
          text = renderZone(zone([rec('@', 'NS', ['ns1.example.com.']), r]));
        } catch (e) {
          expect(isAppError(e)).toBe(true);
          return;
        }
        rendered++;
        const lines = text.split('\n');
        expect(lines).toHaveLength(7);
        expect(lines.filter((l) => l.startsWith('$'))).toEqual(['$ORIGIN example.com.', '$TTL 3600']);
        // Only printable ASCII reaches the file, and no record line holds a comment or a group.
        expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
        const line = lines.find((l) => l.includes(` IN ${r.type} `)) ?? '';
        const unquoted = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        expect(unquoted).not.toMatch(/[;()$]/);
        if (where === 'txt') {
          const data = line.slice(line.indexOf(' IN TXT ') + 8);
          expect(Buffer.concat(decodeTxt(data))).toEqual(
            Buffer.concat([Buffer.from(v), Buffer.from('tail')]),
          );
        }
      }),
      { numRuns: 2000 },
    );
    expect(rendered).toBeGreaterThan(100);
  });

  it('property: rendered zones with hostile TXT and CAA values pass named-checkzone with one record each', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (t, c) => {
          const text = renderZone(
            zone([
              rec('@', 'NS', ['ns1.example.com.']),
              rec('ns1', 'A', ['192.0.2.1']),
              rec('t', 'TXT', [t]),
              rec('@', 'CAA', ['0', 'issue', c]),
            ]),
          );
          const r = checkzone('example.com', text);
          expect(r.ok, r.out).toBe(true);
          // SOA, NS, A, TXT, CAA and nothing else.
          expect(r.dump).toHaveLength(5);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('renderNamedConf', () => {
  it('lists zones in origin order', () => {
    expect(
      renderNamedConf([
        { origin: 'b.example', file: '/var/lib/hostdeck/bind/zones/b.example.db' },
        { origin: 'a.example', file: '/var/lib/hostdeck/bind/zones/a.example.db' },
      ]),
    ).toBe(
      [
        '// Zones served from hostdeck, written from its database; changes made here are overwritten.',
        'zone "a.example" { type master; file "/var/lib/hostdeck/bind/zones/a.example.db"; };',
        'zone "b.example" { type master; file "/var/lib/hostdeck/bind/zones/b.example.db"; };',
        '',
      ].join('\n'),
    );
  });

  it('passes named-checkconf', () => {
    const file = join(dir, 'zones.conf');
    writeFileSync(file, renderNamedConf([{ origin: 'example.com', file: join(dir, 'example.com.db') }]));
    expect(() => execFileSync('named-checkconf', [file], { stdio: 'pipe' })).not.toThrow();
  });

  it('refuses origins and paths that could break out of the statement', () => {
    for (const [origin, file] of [
      ['example.com"; }; zone "x', '/z/a.db'],
      ['example.com', '/z/a".db'],
      ['example.com', '/z/a\\.db'],
      ['example.com', '/z/a\n.db'],
      ['example.com', 'relative.db'],
    ] as const)
      expect(() => renderNamedConf([{ origin, file }])).toThrow();
    expect(() =>
      renderNamedConf([
        { origin: 'example.com', file: '/z/a.db' },
        { origin: 'example.com', file: '/z/b.db' },
      ]),
    ).toThrow(/twice/);
  });
});
