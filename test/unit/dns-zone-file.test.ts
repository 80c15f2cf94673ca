/** The zone-file parser for zones a DirectAdmin master pushes (`rawsave`). */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { parseZoneFile } from '../../src/modules/dns/zone-file.js';

/** A zone as DirectAdmin writes it. */
const DA_ZONE = `$TTL 14400
example.com.\tIN\tSOA\tns1.example.net.\thostmaster.example.com. (
\t\t\t\t\t\t2026112503
\t\t\t\t\t\t14400
\t\t\t\t\t\t3600
\t\t\t\t\t\t1209600
\t\t\t\t\t\t86400 )

example.com.\t14400\tIN\tNS\tns1.example.net.
example.com.\t14400\tIN\tNS\tns2.example.net.

example.com.\t14400\tIN\tA\t192.0.2.10
ftp\t14400\tIN\tA\t192.0.2.10
mail\t14400\tIN\tA\t192.0.2.10
www\t14400\tIN\tCNAME\texample.com.
\t\tIN\tTXT\t"cname owner is www"

example.com.\t14400\tIN\tMX\t10 mail
example.com.\t14400\tIN\tTXT\t"v=spf1 a mx ip4:192.0.2.10 ~all"
x._domainkey\t14400\tIN\tTXT\t( "v=DKIM1; k=rsa; "
\t"p=MIIBIjAN" ) ; split key
_sip._tcp 3600 IN SRV 10 5 5060 sip
@ 1h IN CAA 0 issue "letsencrypt.org"
`;

function refused(text: string): string {
  try {
    parseZoneFile(text, 'example.com', 14400);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).details;
  }
  throw new Error('accepted');
}

describe('parseZoneFile', () => {
  it('reads what DirectAdmin writes', () => {
    const z = (() => {
      try {
        return parseZoneFile(DA_ZONE.replace('\t\tIN\tTXT\t"cname owner is www"\n', ''), 'example.com', 3600);
      } catch (e) {
        throw new Error((e as AppError).details);
      }
    })();
    expect(z.ttl).toBe(14400);
    expect(z.soa).toEqual({
      mname: 'ns1.example.net.',
      rname: 'hostmaster.example.com.',
      serial: 2026112503,
      refresh: 14400,
      retry: 3600,
      expire: 1209600,
      minimum: 86400,
    });
    expect(z.records.map((r) => `${r.name} ${r.ttl} ${r.type} ${JSON.stringify(r.data)}`)).toEqual([
      '@ 14400 NS ["ns1.example.net."]',
      '@ 14400 NS ["ns2.example.net."]',
      '@ 14400 A ["192.0.2.10"]',
      'ftp 14400 A ["192.0.2.10"]',
      'mail 14400 A ["192.0.2.10"]',
      'www 14400 CNAME ["example.com."]',
      '@ 14400 MX ["10","mail.example.com."]',
      '@ 14400 TXT ["v=spf1 a mx ip4:192.0.2.10 ~all"]',
      'x._domainkey 14400 TXT ["v=DKIM1; k=rsa; ","p=MIIBIjAN"]',
      '_sip._tcp 3600 SRV ["10","5","5060","sip.example.com."]',
      '@ 3600 CAA ["0","issue","letsencrypt.org"]',
    ]);
  });

  it('an empty owner is the previous one, so the rules apply to it (CNAME beside TXT)', () => {
    expect(refused(DA_ZONE)).toMatch(/line 16: www has a CNAME/);
  });

  it('refuses directives, foreign names, unknown types and broken syntax, naming the line', () => {
    const soa = '@ IN SOA ns1.example.net. h.example.com. 1 2 3 4 5\n';
    const cases: [string, RegExp][] = [
      [`${soa}$INCLUDE /etc/passwd\n`, /line 2: \$INCLUDE is not accepted/],
      [`${soa}$GENERATE 1-9 x$ A 1.2.3.4\n`, /line 2/],
      [`${soa}$ORIGIN other.org.\nwww A 1.2.3.4\n`, /\$ORIGIN may only name the zone itself/],
      [`${soa}www.other.org. IN A 1.2.3.4\n`, /line 2: name www\.other\.org\. is not inside/],
      [`${soa}www IN HINFO "a" "b"\n`, /line 2: type must be one of/],
      [`${soa}www IN A 1.2.3.999\n`, /line 2: .*not an IPv4 address/],
      [`${soa}www IN TXT "unterminated\n`, /line 2: a quoted string runs past/],
      [`${soa}www IN A ( 1.2.3.4\n`, /unbalanced/],
      [`${soa}www IN A 1.2.3.4 )\n`, /unbalanced/],
      [`${soa}@ IN SOA ns1.example.net. h.example.com. 1 2 3 4 5\n`, /a second SOA/],
      ['www IN A 1.2.3.4\n', /no SOA/],
      [`${soa}www IN A\u0000 1.2.3.4\n`, /control characters/],
      [`${soa}w\\ww IN A 1.2.3.4\n`, /line 2/],
      [`${soa}www 99999999999 IN A 1.2.3.4\n`, /line 2/],
      [' IN A 1.2.3.4\n', /no owner/],
    ];
    for (const [text, why] of cases) expect(refused(text), JSON.stringify(text)).toMatch(why);
  });
});
