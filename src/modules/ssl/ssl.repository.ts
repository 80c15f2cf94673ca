import type { Executor } from '../../db/database.js';

/** The columns a listing may show: everything but the private key. */
const PUBLIC_COLUMNS = [
  'certificates.id as id',
  'certificates.domain_id as domain_id',
  'certificates.account_id as account_id',
  'domains.name as domain',
  'certificates.certificate as certificate',
  'certificates.chain as chain',
  'certificates.subject as subject',
  'certificates.names as names',
  'certificates.issuer as issuer',
  'certificates.not_before as not_before',
  'certificates.not_after as not_after',
  'certificates.fingerprint as fingerprint',
  'certificates.created_at as created_at',
  'certificates.updated_at as updated_at',
] as const;

function publicView(db: Executor) {
  return db
    .selectFrom('certificates')
    .innerJoin('domains', 'domains.id', 'certificates.domain_id')
    .select(PUBLIC_COLUMNS);
}

/** A certificate as listings see it (no key). */
export type CertificateView = NonNullable<Awaited<ReturnType<typeof certificateOfDomain>>>;

/** The certificate of a domain, without its key. */
export function certificateOfDomain(db: Executor, domainId: string) {
  return publicView(db).where('certificates.domain_id', '=', domainId).executeTakeFirst();
}

/** The certificates of an account's domains, without their keys, by domain name. */
export function certificatesOfAccount(db: Executor, accountId: string) {
  return publicView(db).where('certificates.account_id', '=', accountId).orderBy('domains.name').execute();
}

/**
 * What a TLS listener needs to serve `names` (a host name and its parent domains): key, certificate and
 * chain of those domains' certificates.
 */
export function servingCertificates(db: Executor, names: string[]) {
  return db
    .selectFrom('certificates')
    .innerJoin('domains', 'domains.id', 'certificates.domain_id')
    .select([
      'domains.name as domain',
      'certificates.private_key as private_key',
      'certificates.certificate as certificate',
      'certificates.chain as chain',
      'certificates.fingerprint as fingerprint',
      'certificates.not_after as not_after',
    ])
    .where('domains.name', 'in', names)
    .execute();
}

/** Removes the certificate of one domain; true when there was one. */
export async function deleteOfDomain(db: Executor, domainId: string): Promise<boolean> {
  const r = await db.deleteFrom('certificates').where('domain_id', '=', domainId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Removes every certificate of an account (inside its deletion's transaction). */
export async function deleteOfAccount(db: Executor, accountId: string): Promise<void> {
  await db.deleteFrom('certificates').where('account_id', '=', accountId).execute();
}
