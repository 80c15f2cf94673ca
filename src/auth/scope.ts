import { fail } from '../core/errors.js';
import type { Actor, CredentialScope } from './actor.js';

/**
 * Scope of a delegated credential, narrower than its account: a list of domains (each covering its
 * subdomains) and, for DNS changes, record-name patterns and types. An empty scope is the whole account.
 * The DNS module checks record changes with dnsRecordInScope; every command that names a domain checks
 * it with assertDomainInScope, before anything is spent or changed.
 */

/** True when `domain` is one of the scope's domains or below one. */
export function domainInScope(scope: CredentialScope | undefined, domain: string): boolean {
  const list = scope?.domains;
  if (!list || list.length === 0) return true;
  const d = domain.toLowerCase().replace(/\.$/, '');
  return list.some((s) => d === s || d.endsWith(`.${s}`));
}

/** Keeps the domains the actor's credential may see. */
export function filterDomains(actor: Actor, domains: string[]): string[] {
  return domains.filter((d) => domainInScope(actor.credential.scope, d));
}

/** Refuses a domain outside the credential's scope, exactly like a domain the account does not have. */
export function assertDomainInScope(actor: Actor, domain: string): void {
  if (!domainInScope(actor.credential.scope, domain))
    fail('PERMISSION_DENIED', `${domain} is outside this credential's scope`);
}

/**
 * True when a DNS record change is allowed: the record's name (relative to its zone, `@` for the apex)
 * matches one of the patterns (`*` matches one or more labels' worth of characters, so
 * `_acme-challenge.*` covers `_acme-challenge.www`) and its type is listed. No DNS scope allows all.
 */
export function dnsRecordInScope(
  scope: CredentialScope | undefined,
  relativeName: string,
  type: string,
): boolean {
  const dns = scope?.dns;
  if (!dns) return true;
  const name = relativeName.toLowerCase().replace(/\.$/, '') || '@';
  const typeOk = dns.types.length === 0 || dns.types.some((t) => t.toUpperCase() === type.toUpperCase());
  const nameOk =
    dns.names.length === 0 ||
    dns.names.some((p) => {
      const re = new RegExp(`^${p.toLowerCase().split('*').map(escapeRe).join('.+')}$`);
      return re.test(name) || (p === '@' && name === '@');
    });
  return typeOk && nameOk;
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
