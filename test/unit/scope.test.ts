import { describe, expect, it } from 'vitest';
import { dnsRecordInScope, domainInScope } from '../../src/auth/scope.js';

describe('credential scope', () => {
  it('an empty scope is the whole account', () => {
    expect(domainInScope(undefined, 'example.com')).toBe(true);
    expect(domainInScope({}, 'example.com')).toBe(true);
    expect(dnsRecordInScope({}, 'www', 'A')).toBe(true);
  });
  it('a domain covers itself and its subdomains only', () => {
    const s = { domains: ['example.com'] };
    expect(domainInScope(s, 'example.com')).toBe(true);
    expect(domainInScope(s, 'EXAMPLE.com.')).toBe(true);
    expect(domainInScope(s, 'shop.example.com')).toBe(true);
    expect(domainInScope(s, 'badexample.com')).toBe(false);
    expect(domainInScope(s, 'example.com.evil.net')).toBe(false);
    expect(domainInScope(s, 'other.org')).toBe(false);
  });
  it('DNS scope: name patterns and types (the ACME case)', () => {
    const s = { dns: { names: ['_acme-challenge', '_acme-challenge.*'], types: ['TXT'] } };
    expect(dnsRecordInScope(s, '_acme-challenge', 'TXT')).toBe(true);
    expect(dnsRecordInScope(s, '_acme-challenge.www', 'txt')).toBe(true);
    expect(dnsRecordInScope(s, '_acme-challenge.www', 'A')).toBe(false);
    expect(dnsRecordInScope(s, 'www', 'TXT')).toBe(false);
    expect(dnsRecordInScope(s, 'x_acme-challenge', 'TXT')).toBe(false);
    expect(dnsRecordInScope(s, '@', 'TXT')).toBe(false);
    // Regex metacharacters in a pattern are literal.
    expect(dnsRecordInScope({ dns: { names: ['a+b'], types: [] } }, 'aab', 'A')).toBe(false);
    expect(dnsRecordInScope({ dns: { names: ['a+b'], types: [] } }, 'a+b', 'A')).toBe(true);
  });
});
