import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope, domainInScope, filterDomains } from '../../auth/scope.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { hasControlChars, printable, validateDomain } from '../../core/validation.js';
import type { Account, DomainRow, Executor } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Services } from '../../services.js';
import { checkDomainOnRemotes } from '../cluster/cluster.service.js';
import { createZone, deleteZonesByOrigin, kickApplier } from '../dns/dns.service.js';
import { limitValue, readSettings } from '../packages/limits.js';
import {
  deleteOfDomain as deleteCertificateOfDomain,
  deleteOfAccount as deleteCertificatesOfAccount,
} from '../ssl/ssl.repository.js';
import * as repo from './domains.repository.js';

/** Per-domain settings in DirectAdmin's words: MB or `unlimited`, switches ON/OFF. */
export interface DomainSettings {
  bandwidth?: string;
  quota?: string;
  php?: string;
  ssl?: string;
  cgi?: string;
}

const SWITCHES = ['php', 'ssl', 'cgi'] as const;

function checkSettings(s: DomainSettings): DomainSettings {
  const out: DomainSettings = {};
  for (const f of ['bandwidth', 'quota'] as const) {
    const v = s[f];
    if (v === undefined) continue;
    const t = v.trim().toLowerCase();
    if (t !== 'unlimited' && !/^\d{1,12}(\.\d{1,2})?$/.test(t))
      fail('INVALID_PARAMETER', `${f} must be a number of MB or "unlimited"`);
    out[f] = t === 'unlimited' ? t : String(Number(t));
  }
  for (const f of SWITCHES) {
    const v = s[f];
    if (v === undefined) continue;
    const t = v.trim().toUpperCase();
    if (t !== 'ON' && t !== 'OFF') fail('INVALID_PARAMETER', `${f} must be ON or OFF`);
    out[f] = t;
  }
  return out;
}

/**
 * Refuses a host name that is not free for `account`: held by anyone already (domain, pointer,
 * subdomain or zone), or below a domain or pointer of another account, whose owner alone decides on
 * the names under it.
 */
async function checkFreeName(db: Executor, name: string, account: Account): Promise<void> {
  await repo.lockNameClaims(db);
  if (await repo.holderOf(db, name)) fail('DOMAIN_TAKEN', `${name} already exists`);
  if ((await repo.parentHolders(db, name)).some((id) => id !== account.id))
    fail('DOMAIN_TAKEN', `${name} is under a domain of another account`);
}

function checkLimit(account: Account, field: string, have: number): void {
  const cap = limitValue(readSettings(account.settings), field);
  if (have + 1 > cap) fail('LIMIT_EXCEEDED', `${field}: the account may have ${cap}, and has ${have}`);
}

/**
 * Adds a domain to `account` inside the caller's transaction: the name checks, the domain row and its
 * zone. Used for new domains and for the main domain an account is created with.
 */
export async function insertDomain(
  trx: Executor,
  services: Services,
  account: Account,
  name: string,
  kind: 'main' | 'additional',
  settings: DomainSettings,
  now: number,
): Promise<string> {
  await checkFreeName(trx, name, account);
  const id = newId(services.random);
  await trx
    .insertInto('domains')
    .values({ id, account_id: account.id, name, created_at: now, updated_at: now, kind, ...settings })
    .execute();
  await createZone(trx, services, name, account, id, now);
  return id;
}

/** Runs `fn` in a transaction, turning a lost race on a unique name into DOMAIN_TAKEN. */
async function inTransaction<T>(
  services: Services,
  name: string,
  fn: (trx: Executor) => Promise<T>,
): Promise<T> {
  try {
    return await services.db.transaction().execute(fn);
  } catch (e) {
    if (isUniqueViolation(e)) fail('DOMAIN_TAKEN', `${name} already exists`);
    throw e;
  }
}

/** Creates an additional domain of the actor's account, within its `vdomains` limit. */
export async function createDomain(
  services: Services,
  actor: Actor,
  rawName: string,
  settings: DomainSettings,
): Promise<string> {
  const name = validateDomain(rawName);
  assertDomainInScope(actor, name);
  const s = checkSettings(settings);
  // Asks the cluster's remote servers before the transaction, so none is held open while they answer.
  await checkDomainOnRemotes(services, name);
  const now = services.clock.now();
  await inTransaction(services, name, async (trx) => {
    const account = actor.account;
    await repo.lockAccount(trx, account.id);
    checkLimit(account, 'vdomains', await repo.countOf(trx, 'domains', account.id));
    const main = !(
      await trx.selectFrom('accounts').select('domain').where('id', '=', account.id).executeTakeFirst()
    )?.domain;
    await insertDomain(trx, services, account, name, main ? 'main' : 'additional', s, now);
    if (main)
      await trx
        .updateTable('accounts')
        .set({ domain: name, updated_at: now })
        .where('id', '=', account.id)
        .execute();
    await record(trx, actor, { command: 'domain.create', target: name, details: { ...s } }, now);
  });
  kickApplier(services);
  return name;
}

/** A domain of the actor's account; another account's answers exactly like a missing one. */
export async function ownDomain(db: Executor, actor: Actor, rawName: string): Promise<DomainRow> {
  let name: string;
  try {
    name = validateDomain(rawName);
  } catch {
    return fail('DOMAIN_NOT_FOUND', `You have no domain named ${printable(rawName)}`);
  }
  assertDomainInScope(actor, name);
  const d = await repo.domainByName(db, name);
  if (!d || d.account_id !== actor.account.id) fail('DOMAIN_NOT_FOUND', `You have no domain named ${name}`);
  return d;
}

/** Changes a domain's limits and switches. */
export async function modifyDomain(
  services: Services,
  actor: Actor,
  rawName: string,
  settings: DomainSettings,
): Promise<void> {
  const s = checkSettings(settings);
  if (Object.keys(s).length === 0) fail('MISSING_PARAMETER', 'Give bandwidth, quota, php, ssl or cgi');
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const d = await ownDomain(trx, actor, rawName);
    await trx
      .updateTable('domains')
      .set({ ...s, updated_at: now })
      .where('id', '=', d.id)
      .execute();
    await record(trx, actor, { command: 'domain.modify', target: d.name, details: { ...s } }, now);
  });
}

/** Removes a domain's subdomains, pointers, zones and row (inside the caller's transaction). */
async function removeDomain(trx: Executor, d: DomainRow, now: number): Promise<void> {
  const pointers = await repo.pointersOf(trx, d.id);
  await trx.deleteFrom('subdomains').where('domain_id', '=', d.id).execute();
  await trx.deleteFrom('domain_pointers').where('domain_id', '=', d.id).execute();
  await deleteZonesByOrigin(trx, [d.name, ...pointers.map((p) => p.name)], now);
  await deleteCertificateOfDomain(trx, d.id);
  await trx.deleteFrom('domains').where('id', '=', d.id).execute();
}

/** Deletes domains of the actor's account, all or none; the default domain must be changed first. */
export async function deleteDomains(services: Services, actor: Actor, names: string[]): Promise<string[]> {
  if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one domain');
  const now = services.clock.now();
  const done: string[] = [];
  await services.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('accounts')
      .select('domain')
      .where('id', '=', actor.account.id)
      .executeTakeFirst();
    const targets: DomainRow[] = [];
    for (const n of new Set(names)) {
      const d = await ownDomain(trx, actor, n);
      if (d.name === current?.domain)
        fail('INVALID_PARAMETER', `${d.name} is the default domain; make another domain the default first`);
      if (!targets.some((t) => t.id === d.id)) targets.push(d);
    }
    for (const d of targets) {
      await removeDomain(trx, d, now);
      await record(trx, actor, { command: 'domain.delete', target: d.name }, now);
      done.push(d.name);
    }
  });
  kickApplier(services);
  services.certificates.invalidate();
  return done;
}

/** Makes one of the account's domains its default (main) domain. */
export async function setDefaultDomain(services: Services, actor: Actor, rawName: string): Promise<void> {
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const d = await ownDomain(trx, actor, rawName);
    await trx
      .updateTable('domains')
      .set({ kind: 'additional' })
      .where('account_id', '=', actor.account.id)
      .where('kind', '=', 'main')
      .execute();
    await trx.updateTable('domains').set({ kind: 'main', updated_at: now }).where('id', '=', d.id).execute();
    await trx
      .updateTable('accounts')
      .set({ domain: d.name, updated_at: now })
      .where('id', '=', actor.account.id)
      .execute();
    await record(trx, actor, { command: 'domain.default', target: d.name }, now);
  });
}

/** What CMD_API_ADDITIONAL_DOMAINS shows of each domain of the account (DA's per-domain config keys). */
export async function domainDetails(
  services: Services,
  actor: Actor,
  only?: string,
): Promise<Record<string, Record<string, string>>> {
  const db = services.db;
  const rows = only ? [await ownDomain(db, actor, only)] : await repo.domainsOfAccount(db, actor.account.id);
  const visible = new Set(
    filterDomains(
      actor,
      rows.map((r) => r.name),
    ),
  );
  const out: Record<string, Record<string, string>> = {};
  for (const d of rows) {
    if (!visible.has(d.name)) continue;
    const pointers = await repo.pointersOf(db, d.id);
    out[d.name] = {
      active: 'yes',
      bandwidth: `0 / ${d.bandwidth}`,
      cgi: d.cgi,
      defaultdomain: d.name === actor.account.domain ? 'yes' : 'no',
      domain: d.name,
      php: d.php,
      quota: `0 / ${d.quota}`,
      ssl: d.ssl,
      suspended: 'no',
      username: actor.account.username,
      alias_pointers: pointers
        .filter((p) => p.alias)
        .map((p) => p.name)
        .join('|'),
      pointers: pointers
        .filter((p) => !p.alias)
        .map((p) => p.name)
        .join('|'),
    };
  }
  return out;
}

/** One of the account's domains with its subdomains (labels) and pointers (name → `alias` or `pointer`). */
export interface DomainBranch {
  domain: string;
  subdomains: string[];
  pointers: Record<string, string>;
}

/**
 * Every domain of the account the credential's scope covers, by name, with its subdomains and pointers:
 * what cPanel's domain listings show, read in one command rather than one per domain and list.
 */
export async function domainTree(services: Services, actor: Actor): Promise<DomainBranch[]> {
  const db = services.db;
  const out: DomainBranch[] = [];
  for (const d of await repo.domainsOfAccount(db, actor.account.id)) {
    if (!domainInScope(actor.credential.scope, d.name)) continue;
    const pointers: Record<string, string> = {};
    for (const p of await repo.pointersOf(db, d.id)) pointers[p.name] = p.alias ? 'alias' : 'pointer';
    out.push({
      domain: d.name,
      subdomains: (await repo.subdomainsOf(db, d.id)).map((s) => s.label),
      pointers,
    });
  }
  return out;
}

const SUB_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function subLabel(raw: string, domain: string): string {
  const v = raw.trim().toLowerCase();
  if (hasControlChars(v) || v === '' || !v.split('.').every((l) => SUB_LABEL_RE.test(l)))
    fail('INVALID_PARAMETER', `${printable(raw)} is not a valid subdomain name`);
  if (v.length + domain.length + 1 > 253) fail('INVALID_PARAMETER', `${printable(raw)} is too long`);
  return v;
}

/** The subdomains (labels) of one of the account's domains. */
export async function listSubdomains(services: Services, actor: Actor, domain: string): Promise<string[]> {
  const d = await ownDomain(services.db, actor, domain);
  return (await repo.subdomainsOf(services.db, d.id)).map((s) => s.label);
}

/** Adds a subdomain, within the account's `nsubdomains` limit. */
export async function createSubdomain(
  services: Services,
  actor: Actor,
  domain: string,
  rawLabel: string,
): Promise<string> {
  const now = services.clock.now();
  let fqdn = '';
  await inTransaction(services, rawLabel, async (trx) => {
    const d = await ownDomain(trx, actor, domain);
    const label = subLabel(rawLabel, d.name);
    fqdn = `${label}.${d.name}`;
    await repo.lockAccount(trx, actor.account.id);
    checkLimit(actor.account, 'nsubdomains', await repo.countOf(trx, 'subdomains', actor.account.id));
    await repo.lockNameClaims(trx);
    if (await repo.holderOf(trx, fqdn)) fail('DOMAIN_TAKEN', `${fqdn} already exists`);
    await trx
      .insertInto('subdomains')
      .values({
        id: newId(services.random),
        domain_id: d.id,
        account_id: actor.account.id,
        label,
        fqdn,
        created_at: now,
      })
      .execute();
    await record(trx, actor, { command: 'domain.subdomain.create', target: fqdn }, now);
  });
  return fqdn;
}

/** Deletes subdomains of one domain, all or none. */
export async function deleteSubdomains(
  services: Services,
  actor: Actor,
  domain: string,
  labels: string[],
): Promise<string[]> {
  if (labels.length === 0) fail('MISSING_PARAMETER', 'Select at least one subdomain');
  const now = services.clock.now();
  const done: string[] = [];
  await services.db.transaction().execute(async (trx) => {
    const d = await ownDomain(trx, actor, domain);
    const existing = new Map((await repo.subdomainsOf(trx, d.id)).map((s) => [s.label, s]));
    const targets = [...new Set(labels.map((l) => l.trim().toLowerCase()))].map((l) => {
      const s = existing.get(l);
      if (!s) fail('DOMAIN_NOT_FOUND', `${d.name} has no subdomain ${printable(l)}`);
      return s;
    });
    for (const s of targets) {
      await trx.deleteFrom('subdomains').where('id', '=', s.id).execute();
      await record(trx, actor, { command: 'domain.subdomain.delete', target: s.fqdn }, now);
      done.push(s.label);
    }
  });
  return done;
}

/** The pointers of a domain: name → `alias` or `pointer`. */
export async function listPointers(
  services: Services,
  actor: Actor,
  domain: string,
): Promise<Record<string, string>> {
  const d = await ownDomain(services.db, actor, domain);
  const out: Record<string, string> = {};
  for (const p of await repo.pointersOf(services.db, d.id)) out[p.name] = p.alias ? 'alias' : 'pointer';
  return out;
}

/** Adds a pointer to a domain, within `domainptr`; an alias gets a zone of its own. */
export async function createPointer(
  services: Services,
  actor: Actor,
  domain: string,
  rawFrom: string,
  alias: boolean,
): Promise<string> {
  const from = validateDomain(rawFrom);
  assertDomainInScope(actor, from);
  // A pointer's name is a domain too, and an alias's zone is pushed: Domain Check it like a domain.
  await checkDomainOnRemotes(services, from);
  const now = services.clock.now();
  await inTransaction(services, from, async (trx) => {
    const d = await ownDomain(trx, actor, domain);
    await repo.lockAccount(trx, actor.account.id);
    checkLimit(actor.account, 'domainptr', await repo.countOf(trx, 'domain_pointers', actor.account.id));
    await checkFreeName(trx, from, actor.account);
    const id = newId(services.random);
    await trx
      .insertInto('domain_pointers')
      .values({
        id,
        domain_id: d.id,
        account_id: actor.account.id,
        name: from,
        alias: alias ? 1 : 0,
        created_at: now,
      })
      .execute();
    if (alias) await createZone(trx, services, from, actor.account, id, now);
    await record(
      trx,
      actor,
      { command: 'domain.pointer.create', target: from, details: { domain: d.name, alias } },
      now,
    );
  });
  kickApplier(services);
  return from;
}

/** Deletes pointers of a domain (and the zones of aliases), all or none. */
export async function deletePointers(
  services: Services,
  actor: Actor,
  domain: string,
  names: string[],
): Promise<string[]> {
  if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one pointer');
  const now = services.clock.now();
  const done: string[] = [];
  await services.db.transaction().execute(async (trx) => {
    const d = await ownDomain(trx, actor, domain);
    const existing = new Map((await repo.pointersOf(trx, d.id)).map((p) => [p.name, p]));
    const targets = [...new Set(names.map((n) => n.trim().toLowerCase().replace(/\.$/, '')))].map((n) => {
      const p = existing.get(n);
      if (!p) fail('DOMAIN_NOT_FOUND', `${d.name} has no pointer ${printable(n)}`);
      return p;
    });
    for (const p of targets) {
      await trx.deleteFrom('domain_pointers').where('id', '=', p.id).execute();
      if (p.alias) await deleteZonesByOrigin(trx, [p.name], now);
      await record(trx, actor, { command: 'domain.pointer.delete', target: p.name }, now);
      done.push(p.name);
    }
  });
  kickApplier(services);
  return done;
}

/** Which account owns each domain (admins): every domain, or the one asked for. */
export async function domainOwners(services: Services, domain?: string): Promise<Record<string, string>> {
  let q = services.db
    .selectFrom('domains')
    .innerJoin('accounts', 'accounts.id', 'domains.account_id')
    .select(['domains.name as name', 'accounts.username as username'])
    .orderBy('domains.name');
  if (domain !== undefined) {
    let name: string;
    try {
      name = validateDomain(domain);
    } catch {
      return fail('DOMAIN_NOT_FOUND', `There is no domain ${printable(domain)}`);
    }
    q = q.where('domains.name', '=', name);
  }
  const rows = await q.execute();
  if (domain !== undefined && rows.length === 0)
    fail('DOMAIN_NOT_FOUND', `There is no domain ${printable(domain)}`);
  return Object.fromEntries(rows.map((r) => [r.name, r.username]));
}

/**
 * Removes everything an account holds under its domains (inside the account deletion's transaction):
 * subdomains, pointers, every zone it owns with an outbox row each, and the domains.
 */
export async function deleteAccountDomains(trx: Executor, accountId: string, now: number): Promise<void> {
  await trx.deleteFrom('subdomains').where('account_id', '=', accountId).execute();
  await trx.deleteFrom('domain_pointers').where('account_id', '=', accountId).execute();
  const zones = await trx
    .selectFrom('dns_zones')
    .select('origin')
    .where('account_id', '=', accountId)
    .execute();
  await deleteZonesByOrigin(
    trx,
    zones.map((z) => z.origin),
    now,
  );
  await deleteCertificatesOfAccount(trx, accountId);
  await trx.deleteFrom('domains').where('account_id', '=', accountId).execute();
}
