import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope, domainInScope } from '../../auth/scope.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { printable, validateDomain } from '../../core/validation.js';
import type { Account, DomainRow, Executor } from '../../db/database.js';
import type { Services } from '../../services.js';
import { canManage } from '../accounts/accounts.service.js';
import { ownDomain } from '../domains/domains.service.js';
import { featureOn, readSettings } from '../packages/limits.js';
import { type BundleInput, validateBundle } from './bundle.js';
import * as repo from './ssl.repository.js';

/** An installed certificate as every listing shows it: never the private key. */
export interface CertificateInfo {
  domain: string;
  subject: string;
  names: string[];
  issuer: string;
  /** Milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
  fingerprint: string;
  /** PEM of the certificate and of its chain (public data). */
  certificate: string;
  chain: string;
  createdAt: number;
  updatedAt: number;
}

/** Presents a stored certificate; the key is not among the columns read. */
export function presentCertificate(r: repo.CertificateView): CertificateInfo {
  return {
    domain: r.domain,
    subject: r.subject,
    names: JSON.parse(r.names) as string[],
    issuer: r.issuer,
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    fingerprint: r.fingerprint,
    certificate: r.certificate,
    chain: r.chain,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function notFound(raw: string): never {
  return fail('DOMAIN_NOT_FOUND', `You have no domain named ${printable(raw)}`);
}

/**
 * A domain of an account the actor manages or of its own (WHM's installssl, where a reseller installs
 * for its users); anything else answers exactly like a missing domain.
 */
async function managedDomain(
  db: Executor,
  actor: Actor,
  raw: string,
): Promise<{ domain: DomainRow; owner: Account }> {
  let name: string;
  try {
    name = validateDomain(raw);
  } catch {
    return notFound(raw);
  }
  assertDomainInScope(actor, name);
  const d = await db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
  if (!d) return notFound(raw);
  if (d.account_id === actor.account.id) return { domain: d, owner: actor.account };
  const owner: Account | undefined = await db
    .selectFrom('accounts')
    .selectAll()
    .where('id', '=', d.account_id)
    .executeTakeFirst();
  if (!owner || !canManage(actor.account, owner)) return notFound(raw);
  return { domain: d, owner };
}

/**
 * Refuses an installation the owner's package or the domain has SSL switched off for (DirectAdmin's
 * `ssl` feature and per-domain switch). An unset feature counts as on, as for accounts made before it.
 */
function checkSslEnabled(owner: Account, d: DomainRow): void {
  const s = readSettings(owner.settings);
  if (s.ssl !== undefined && !featureOn(s, 'ssl'))
    fail('FEATURE_DISABLED', `SSL is not enabled for ${owner.username}`);
  if (d.ssl === 'OFF')
    fail('FEATURE_DISABLED', `SSL is off for ${d.name}; turn it on with the domain's ssl setting first`);
}

/**
 * Installs (or replaces) the certificate of a domain: the key must match the certificate, the
 * certificate must be valid now and for the domain, and every chain block must be a certificate of its
 * chain. The actor's own domain, or with `managed` one of an account it manages. Nothing is stored when
 * any check fails; the audit row (without the key) commits with the certificate.
 */
export async function installCertificate(
  services: Services,
  actor: Actor,
  rawDomain: string,
  input: BundleInput,
  opts: { managed?: boolean } = {},
): Promise<CertificateInfo> {
  const now = services.clock.now();
  const info = await services.db.transaction().execute(async (trx) => {
    const { domain: d, owner } = opts.managed
      ? await managedDomain(trx, actor, rawDomain)
      : { domain: await ownDomain(trx, actor, rawDomain), owner: actor.account };
    checkSslEnabled(owner, d);
    const b = validateBundle(input, d.name, now);
    const row = {
      account_id: d.account_id,
      private_key: b.keyPem,
      certificate: b.certPem,
      chain: b.chainPem,
      subject: b.subject,
      names: JSON.stringify(b.names),
      issuer: b.issuer,
      not_before: b.notBefore,
      not_after: b.notAfter,
      fingerprint: b.fingerprint,
      updated_at: now,
    };
    // One row per domain: a concurrent install of the same domain updates instead of failing.
    await trx
      .insertInto('certificates')
      .values({ id: newId(services.random), domain_id: d.id, created_at: now, ...row })
      .onConflict((oc) => oc.column('domain_id').doUpdateSet(row))
      .execute();
    await record(
      trx,
      actor,
      {
        command: 'ssl.install',
        target: d.name,
        details: { fingerprint: b.fingerprint, names: b.names, not_after: b.notAfter },
      },
      now,
    );
    const stored = await repo.certificateOfDomain(trx, d.id);
    if (!stored) return fail('INTERNAL', 'the certificate was not stored');
    return presentCertificate(stored);
  });
  services.certificates.invalidate();
  return info;
}

/** The certificates of the actor's domains that its credential may see. */
export async function listCertificates(services: Services, actor: Actor): Promise<CertificateInfo[]> {
  const rows = await repo.certificatesOfAccount(services.db, actor.account.id);
  return rows.filter((r) => domainInScope(actor.credential.scope, r.domain)).map(presentCertificate);
}

function noCertificate(domain: string): never {
  return fail('RECORD_NOT_FOUND', `No certificate is installed for ${domain}`);
}

/** The certificate of one of the actor's domains. */
export async function showCertificate(
  services: Services,
  actor: Actor,
  rawDomain: string,
): Promise<CertificateInfo> {
  const d = await ownDomain(services.db, actor, rawDomain);
  const r = await repo.certificateOfDomain(services.db, d.id);
  if (!r) return noCertificate(d.name);
  return presentCertificate(r);
}

/** Removes the certificate of one of the actor's domains. */
export async function deleteCertificate(
  services: Services,
  actor: Actor,
  rawDomain: string,
): Promise<string> {
  const now = services.clock.now();
  const name = await services.db.transaction().execute(async (trx) => {
    const d = await ownDomain(trx, actor, rawDomain);
    if (!(await repo.deleteOfDomain(trx, d.id))) noCertificate(d.name);
    await record(trx, actor, { command: 'ssl.delete', target: d.name }, now);
    return d.name;
  });
  services.certificates.invalidate();
  return name;
}
