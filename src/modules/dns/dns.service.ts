import { isIPv4, isIPv6 } from 'node:net';
import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope, dnsRecordInScope } from '../../auth/scope.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { printable, validateDomain } from '../../core/validation.js';
import type { Account, DnsZoneRow, Executor } from '../../db/database.js';
import type { Services } from '../../services.js';
import { holderOf, lockNameClaims } from '../domains/domains.repository.js';
import { featureOn, settingsView } from '../packages/limits.js';
import * as repo from './dns.repository.js';
import {
  conflictProblem,
  MAX_TTL,
  nextSerial,
  normalizeName,
  normalizeTarget,
  parseData,
  parseType,
  sameRecord,
} from './records.js';
import type { DnsRecord, RecordType } from './zone.types.js';
import { parseZoneFile } from './zone-file.js';

/** Records one zone may hold: far above any real zone, low enough that one account cannot fill the disk. */
export const MAX_RECORDS_PER_ZONE = 5000;

/** One change of a record set, as the protocols describe it. */
export interface RecordOp {
  op: 'add' | 'delete';
  name: string;
  type: string;
  /** For delete: absent removes every record of that name and type. */
  value?: string;
  /** MX host when `value` is only the preference (DA's `mx_value`). */
  mxValue?: string;
  ttl?: number;
}

/**
 * Who may touch a zone: its owner; an admin acting as DNS administrator; or (`managed`, WHM's zone
 * functions) a reseller on its own zones and its users', an admin on any.
 */
export type ZoneAccess = 'owner' | 'admin' | 'managed';

function dayBase(nowMs: number): number {
  return nextSerial(0, nowMs) - 1;
}

/** What a zone's template placeholders stand for, for one account. */
function placeholders(services: Services, origin: string, owner: Account): Record<string, string> {
  const c = services.config;
  return {
    domain: origin,
    ip: isIPv4(owner.ip) ? owner.ip : c.dnsServerIp,
    ip6: isIPv6(owner.ip) ? owner.ip : c.dnsServerIpv6,
    ns1: owner.ns1 || `ns1.${c.hostname}`,
    ns2: owner.ns2 || `ns2.${c.hostname}`,
    hostname: c.hostname,
  };
}

function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(domain|ip6|ip|ns1|ns2|hostname)\}/g, (_m, k: string) => vars[k] ?? '');
}

/** The records and SOA a new zone gets from the configured template. */
export function templateZone(
  services: Services,
  origin: string,
  owner: Account,
): { records: DnsRecord[]; soa: { mname: string; rname: string; timers: number[] } } {
  const vars = placeholders(services, origin, owner);
  const records: DnsRecord[] = [];
  for (const line of services.config.dnsZoneTemplate.split('|')) {
    if (line.trim() === '') continue;
    if (line.includes('{ip6}') && !vars.ip6) continue;
    const m = /^\s*(\S+)\s+(\S+)\s+(.+?)\s*$/.exec(fill(line, vars));
    if (!m) throw new Error(`dnsZoneTemplate line ${line} is not NAME TYPE VALUE`);
    const type = parseType(m[2] ?? '');
    const rec: DnsRecord = {
      name: normalizeName(m[1] ?? '', origin),
      type,
      ttl: null,
      data: parseData(type, m[3] ?? '', origin),
    };
    if (!conflictProblem(rec, records) && !records.some((r) => sameRecord(r, rec))) records.push(rec);
  }
  const soa = fill(services.config.dnsSoa, vars).trim().split(/\s+/);
  if (soa.length !== 6) throw new Error('dnsSoa must be: MNAME RNAME REFRESH RETRY EXPIRE MINIMUM');
  return {
    records,
    soa: {
      mname: normalizeTarget(soa[0] ?? '', origin),
      rname: normalizeTarget(soa[1] ?? '', origin),
      timers: soa.slice(2).map((t) => {
        const n = Number(t);
        if (!Number.isSafeInteger(n) || n < 0 || n > MAX_TTL)
          throw new Error(`dnsSoa timer ${t} is not a number`);
        return n;
      }),
    },
  };
}

/**
 * Creates the zone of a new domain or alias from the template, inside the caller's transaction, with
 * the outbox row for the applier.
 */
export async function createZone(
  trx: Executor,
  services: Services,
  origin: string,
  owner: Account,
  domainId: string | null,
  now: number,
): Promise<void> {
  const t = templateZone(services, origin, owner);
  const [refresh, retry, expire, minimum] = t.soa.timers as [number, number, number, number];
  const id = newId(services.random);
  await trx
    .insertInto('dns_zones')
    .values({
      id,
      origin,
      account_id: owner.id,
      domain_id: domainId,
      ttl: services.config.dnsDefaultTtl,
      mname: t.soa.mname,
      rname: t.soa.rname,
      serial: nextSerial(0, now),
      refresh,
      retry,
      expire,
      minimum,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await repo.insertRecords(trx, id, t.records);
  await repo.queueZone(trx, origin, 'upsert', now);
}

/** Deletes the zones of these origins (those that exist), each with its outbox row (and, unless `push` is false, its cluster pushes). */
export async function deleteZonesByOrigin(
  trx: Executor,
  origins: string[],
  now: number,
  push = true,
): Promise<void> {
  const zones: { id: string; origin: string }[] = [];
  for (let i = 0; i < origins.length; i += 500)
    zones.push(
      ...(await trx
        .selectFrom('dns_zones')
        .select(['id', 'origin'])
        .where('origin', 'in', origins.slice(i, i + 500))
        .execute()),
    );
  await repo.deleteZones(
    trx,
    zones.map((z) => z.id),
  );
  for (const z of zones) await repo.queueZone(trx, z.origin, 'delete', now, push);
}

/** Tells the applier (when the server runs one) that the outbox has work. */
export function kickApplier(services: Services): void {
  services.applier?.kick();
  services.cluster.pusher.kick();
}

/** The zone name a request gives, or the DA error clients expect when there is none. */
export function zoneName(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') fail('ZONE_NOT_FOUND', 'No domain provided');
  return validateDomain(raw);
}

/** A record operation with its name made relative and its type checked (no database needed). */
function normalizeOp(op: RecordOp, origin: string): RecordOp & { type: RecordType } {
  return { ...op, name: normalizeName(op.name, origin), type: parseType(op.type) };
}

/**
 * Refuses, before anything is spent, a change the credential's scope does not cover: the zone outside
 * its domains, or a record name or type outside its DNS patterns.
 */
export function authorizeChange(actor: Actor, domain: string, ops: RecordOp[]): void {
  const origin = zoneName(domain);
  assertDomainInScope(actor, origin);
  for (const op of ops) {
    const n = normalizeOp(op, origin);
    if (!dnsRecordInScope(actor.credential.scope, n.name, n.type))
      fail(
        'PERMISSION_DENIED',
        `${n.type} records at ${printable(n.name)} are outside this credential's scope`,
      );
  }
}

/** Refuses an account whose package has DNS control switched off (admins acting as such excepted). */
function checkDnsFeature(actor: Actor, access: ZoneAccess): void {
  if (access !== 'owner') return;
  const s = settingsView(actor.account.settings);
  if (s.dnscontrol !== undefined && !featureOn(s, 'dnscontrol'))
    fail('FEATURE_DISABLED', 'DNS control is not enabled for this account');
}

/** The zone the actor may use; another account's zone answers exactly like a missing one. */
async function accessibleZone(
  db: Executor,
  actor: Actor,
  origin: string,
  access: ZoneAccess,
): Promise<DnsZoneRow> {
  return checkZoneAccess(db, actor, origin, await repo.findZone(db, origin), access);
}

/** `z` when the actor may use it; a missing zone and another account's answer alike. */
async function checkZoneAccess<Z extends Pick<DnsZoneRow, 'account_id'>>(
  db: Executor,
  actor: Actor,
  origin: string,
  z: Z | undefined,
  access: ZoneAccess,
): Promise<Z> {
  if (!z || (access !== 'admin' && !(await mayManageZone(db, actor, z, access))))
    fail('ZONE_NOT_FOUND', `There is no zone ${printable(origin)} on this account`);
  return z;
}

async function mayManageZone(
  db: Executor,
  actor: Actor,
  z: Pick<DnsZoneRow, 'account_id'>,
  access: ZoneAccess,
): Promise<boolean> {
  if (z.account_id === actor.account.id) return true;
  if (access !== 'managed') return false;
  if (actor.account.level === 'admin') return true;
  if (actor.account.level !== 'reseller') return false;
  const owner = await db
    .selectFrom('accounts')
    .select('creator_id')
    .where('id', '=', z.account_id)
    .executeTakeFirst();
  return owner?.creator_id === actor.account.id;
}

/** The zones the actor manages (`managed` access): an admin's are all of them, a reseller's its own and its users'. */
export async function managedZones(services: Services, actor: Actor): Promise<string[]> {
  if (actor.account.level === 'admin') return repo.listZoneOrigins(services.db);
  const rows = await services.db
    .selectFrom('dns_zones')
    .innerJoin('accounts', 'accounts.id', 'dns_zones.account_id')
    .select('dns_zones.origin')
    .where((eb) =>
      eb.or([eb('accounts.id', '=', actor.account.id), eb('accounts.creator_id', '=', actor.account.id)]),
    )
    .orderBy('dns_zones.origin')
    .execute();
  return rows.map((r) => r.origin);
}

export interface ZoneListing {
  zone: DnsZoneRow;
  records: repo.StoredRecord[];
}

/** A zone with its records, for listings. */
export async function showZone(
  services: Services,
  actor: Actor,
  domain: string,
  access: ZoneAccess,
): Promise<ZoneListing> {
  const origin = zoneName(domain);
  assertDomainInScope(actor, origin);
  checkDnsFeature(actor, access);
  const zone = await accessibleZone(services.db, actor, origin, access);
  return {
    zone: { ...zone, serial: Number(zone.serial) },
    records: await repo.zoneRecords(services.db, zone.id),
  };
}

export interface ChangeResult {
  added: number;
  deleted: number;
  /** The zone's serial after the change (unchanged when nothing changed). */
  serial: number;
}

/** Raised inside changeRecords when the zone's serial is not the one the caller based its change on. */
export function serialMismatch(given: number, current: number): never {
  return fail(
    'RECORD_CONFLICT',
    `The given serial number (${given}) does not match the DNS zone’s serial number (${current}). Refresh your view of the DNS zone, then resubmit.`,
  );
}

/**
 * Applies record operations to one zone in one transaction: deletions match by content (name, type and
 * data; the TTL is not part of a record's identity) and each must find a record; additions are
 * validated per type, refused beside a CNAME, and an exact duplicate is left as it is. The serial moves
 * on when anything changed; the audit and outbox rows commit with the change.
 */
export async function changeRecords(
  services: Services,
  actor: Actor,
  domain: string,
  ops: RecordOp[],
  access: ZoneAccess,
  command: string,
  /** When given, the change applies only while the zone's serial is still this one (cPanel's mass edit). */
  expectSerial?: number,
): Promise<ChangeResult> {
  if (ops.length === 0) fail('MISSING_PARAMETER', 'No record to change');
  const origin = zoneName(domain);
  authorizeChange(actor, origin, ops);
  checkDnsFeature(actor, access);
  // Parse everything before the transaction: bad input is refused without touching the database.
  const parsed = ops.map((o) => {
    const n = normalizeOp(o, origin);
    const ttl = n.ttl;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 0 || ttl > MAX_TTL))
      fail('INVALID_PARAMETER', `ttl must be a whole number from 0 to ${MAX_TTL}`);
    const data =
      n.op === 'add' || n.value !== undefined
        ? parseData(n.type, n.value ?? '', origin, n.mxValue)
        : undefined;
    return { ...n, data };
  });
  const now = services.clock.now();
  const change = async (trx: Executor): Promise<ChangeResult> => {
    // On PostgreSQL the row is locked and read in one statement, so the serial compared with is the one
    // the previous writer committed. On SQLite every change runs alone on the single connection, so
    // a plain read is already current.
    const row =
      services.dialect === 'postgres'
        ? await repo.lockZoneByOrigin(trx, origin)
        : await repo.findZoneHead(trx, origin);
    const zone = await checkZoneAccess(trx, actor, origin, row, access);
    const current = Number(zone.serial);
    if (expectSerial !== undefined && expectSerial !== current) serialMismatch(expectSerial, current);
    const removedIds = new Set<number>();
    const pending: DnsRecord[] = [];
    let added = 0;
    for (const p of parsed) {
      // The records at this name as they stand after the operations before this one.
      const stored = (await repo.recordsAt(trx, zone.id, p.name)).filter((r) => !removedIds.has(r.id));
      const here: DnsRecord[] = [...stored, ...pending.filter((r) => r.name === p.name)];
      if (p.op === 'delete') {
        const probe = { name: p.name, type: p.type, ttl: null, data: p.data ?? [] };
        const hits = stored.filter(
          (r) => r.type === p.type && (p.data === undefined || sameRecord(r, probe)),
        );
        const pendingHits = pending.filter(
          (r) => r.name === p.name && r.type === p.type && (p.data === undefined || sameRecord(r, probe)),
        );
        if (hits.length === 0 && pendingHits.length === 0)
          fail('RECORD_NOT_FOUND', `No ${p.type} record ${printable(p.name)} with that value`);
        for (const h of hits) removedIds.add(h.id);
        for (const h of pendingHits) pending.splice(pending.indexOf(h), 1);
        continue;
      }
      const rec: DnsRecord = { name: p.name, type: p.type, ttl: p.ttl ?? null, data: p.data ?? [] };
      if (here.some((r) => sameRecord(r, rec))) continue;
      const problem = conflictProblem(rec, here);
      if (problem) fail('RECORD_CONFLICT', problem);
      pending.push(rec);
      added++;
    }
    if (removedIds.size === 0 && added === 0) return { added: 0, deleted: 0, serial: current };
    if (added > 0) {
      if (Number(zone.record_count) - removedIds.size + pending.length > MAX_RECORDS_PER_ZONE)
        fail('LIMIT_EXCEEDED', `A zone may hold at most ${MAX_RECORDS_PER_ZONE} records`);
    }
    const base = dayBase(now);
    await repo.changeZoneRecords(trx, zone.id, [...removedIds], pending, base, now);
    await repo.queueZone(trx, origin, 'upsert', now);
    await record(
      trx,
      actor,
      {
        command,
        target: origin,
        details: {
          added: pending.map((r) => `${r.name} ${r.type}`),
          deleted: removedIds.size,
        },
      },
      now,
    );
    // What changeZoneRecords wrote: the row is this change's alone until it commits.
    const serial = current >= base ? current + 1 : base + 1;
    return { added, deleted: removedIds.size, serial };
  };
  // On SQLite concurrent changes share one transaction and one fsync (see WriteBatcher).
  const result = services.dnsBatch
    ? await services.dnsBatch.submit(change)
    : await services.db.transaction().execute(change);
  if (result.added + result.deleted > 0) kickApplier(services);
  return result;
}

/** Sets a zone's default TTL (`$TTL`); null returns it to the configured default. */
export async function setZoneTtl(
  services: Services,
  actor: Actor,
  domain: string,
  ttl: number | null,
  access: ZoneAccess,
): Promise<number> {
  const origin = zoneName(domain);
  assertDomainInScope(actor, origin);
  checkDnsFeature(actor, access);
  const value = ttl ?? services.config.dnsDefaultTtl;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_TTL)
    fail('INVALID_PARAMETER', `ttl must be a whole number from 0 to ${MAX_TTL}`);
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const zone = await accessibleZone(trx, actor, origin, access);
    await trx.updateTable('dns_zones').set({ ttl: value }).where('id', '=', zone.id).execute();
    await repo.bumpSerial(trx, zone.id, dayBase(now), now);
    await repo.queueZone(trx, origin, 'upsert', now);
    await record(trx, actor, { command: 'dns.zone.ttl', target: origin, details: { ttl: value } }, now);
  });
  kickApplier(services);
  return value;
}

/**
 * Whether a zone exists (DA `action=exists`): 1 when it does, 2 when it does not but a parent domain of
 * it does (DA 1.53+ answers so, for a cluster that must not split a domain's subdomains off), else 0.
 */
export async function zoneExists(services: Services, domain: string): Promise<0 | 1 | 2> {
  const origin = zoneName(domain);
  if (await repo.findZone(services.db, origin)) return 1;
  const labels = origin.split('.');
  const parents: string[] = [];
  for (let i = 1; i < labels.length - 1; i++) parents.push(labels.slice(i).join('.'));
  if (parents.length === 0) return 0;
  const hit = await services.db
    .selectFrom('dns_zones')
    .select('origin')
    .where('origin', 'in', parents)
    .executeTakeFirst();
  return hit ? 2 : 0;
}

/** The local account that owns zones received from a cluster master: the configured one, or the caller. */
async function clusterOwner(db: Executor, services: Services, actor: Actor): Promise<Account> {
  const name = services.config.dnsClusterAccount;
  if (!name) return actor.account;
  const a = await db.selectFrom('accounts').selectAll().where('username', '=', name).executeTakeFirst();
  if (!a) throw new Error(`dnsClusterAccount ${name} is not an account of this server`);
  return a;
}

/** A zone a cluster master may replace or delete: its own, never one of this server's domains. */
async function checkReceivable(db: Executor, origin: string, zone: DnsZoneRow | undefined): Promise<void> {
  await lockNameClaims(db);
  if (zone ? zone.domain_id !== null : await holderOf(db, origin))
    fail('DOMAIN_TAKEN', `${origin} is a domain of this server, not a zone a master may push`);
}

/**
 * Stores a zone a DirectAdmin master pushed (`rawsave`): the file is parsed and every record validated,
 * and the zone replaces the previous copy, owned by the cluster account. The serial is the master's, or
 * one more than ours if that would go backwards. Nothing is pushed on (no loops).
 */
export async function saveReceivedZone(
  services: Services,
  actor: Actor,
  domain: string,
  text: string,
): Promise<void> {
  const origin = zoneName(domain);
  const parsed = parseZoneFile(text, origin, services.config.dnsDefaultTtl);
  if (parsed.records.length > MAX_RECORDS_PER_ZONE)
    fail('LIMIT_EXCEEDED', `A zone may hold at most ${MAX_RECORDS_PER_ZONE} records`);
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    const existing = await repo.findZone(trx, origin);
    await checkReceivable(trx, origin, existing);
    const owner = await clusterOwner(trx, services, actor);
    const s = parsed.soa;
    const fields = {
      account_id: owner.id,
      ttl: parsed.ttl,
      mname: s.mname,
      rname: s.rname,
      refresh: s.refresh,
      retry: s.retry,
      expire: s.expire,
      minimum: s.minimum,
      updated_at: now,
    };
    let id: string;
    if (existing) {
      id = existing.id;
      await repo.lockZone(trx, id);
      const current = Number((await repo.findZone(trx, origin))?.serial ?? 0);
      await trx
        .updateTable('dns_zones')
        .set({ ...fields, serial: s.serial > current ? s.serial : current + 1 })
        .where('id', '=', id)
        .execute();
      await repo.deleteAllRecords(trx, id);
    } else {
      id = newId(services.random);
      await trx
        .insertInto('dns_zones')
        .values({ id, origin, domain_id: null, serial: s.serial, created_at: now, ...fields })
        .execute();
    }
    await repo.insertRecords(trx, id, parsed.records);
    // A pushed zone is not pushed on (DirectAdmin: rawsave never triggers clustering, to prevent loops).
    await repo.queueZone(trx, origin, 'upsert', now, false);
    await record(
      trx,
      actor,
      { command: 'dns.admin.zone.rawsave', target: origin, details: { records: parsed.records.length } },
      now,
    );
  });
  kickApplier(services);
}

/** Deletes a zone a cluster master pushed; true when there was one. */
export async function deleteReceivedZone(services: Services, actor: Actor, domain: string): Promise<boolean> {
  const origin = zoneName(domain);
  const now = services.clock.now();
  const done = await services.db.transaction().execute(async (trx) => {
    const existing = await repo.findZone(trx, origin);
    if (!existing) return false;
    await checkReceivable(trx, origin, existing);
    await deleteZonesByOrigin(trx, [origin], now, false);
    await record(trx, actor, { command: 'dns.admin.zone.delete', target: origin }, now);
    return true;
  });
  if (done) kickApplier(services);
  return done;
}
