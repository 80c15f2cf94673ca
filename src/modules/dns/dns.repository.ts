import { sql } from 'kysely';
import type { DnsRecordRow, DnsZoneRow, Executor } from '../../db/database.js';
import { hotQuery, hotWrite } from '../../db/hot-query.js';
import { queueZonePush } from '../cluster/cluster.repository.js';
import type { DnsRecord, RecordType, Zone } from './zone.types.js';

/** A stored record with its stable id. */
export interface StoredRecord extends DnsRecord {
  id: number;
}

function toRecord(r: DnsRecordRow): StoredRecord {
  let data: string[] = [];
  try {
    const v: unknown = JSON.parse(r.data);
    if (Array.isArray(v)) data = v.map(String);
  } catch {
    // A corrupt row renders as no data rather than failing every reader of the zone.
  }
  return { id: Number(r.id), name: r.name, type: r.type as RecordType, ttl: r.ttl, data };
}

// The statements of every record change (CMD_API_DNS_CONTROL, DNS::mass_edit_zone, …), compiled once:
// building and compiling them with Kysely on every change cost more than running them.
const zoneByOrigin = hotQuery((db: Executor, origin: string) =>
  db.selectFrom('dns_zones').selectAll().where('origin', '=', origin),
);
const recordsAtName = hotQuery((db: Executor, zoneId: string, name: string) =>
  db.selectFrom('dns_records').selectAll().where('zone_id', '=', zoneId).where('name', '=', name),
);
const recordsAtNameType = hotQuery((db: Executor, zoneId: string, name: string, type: string) =>
  db
    .selectFrom('dns_records')
    .selectAll()
    .where('zone_id', '=', zoneId)
    .where('name', '=', name)
    .where('type', '=', type),
);
const moveCount = hotWrite((db: Executor, zoneId: string, delta: number) =>
  db
    .updateTable('dns_zones')
    .set((eb) => ({ record_count: eb('record_count', '+', delta) }))
    .where('id', '=', zoneId),
);
const insertRecord = hotWrite(
  (db: Executor, zoneId: string, name: string, type: string, ttl: number | null, data: string) =>
    db.insertInto('dns_records').values({ zone_id: zoneId, name, type, ttl, data }),
);
// A change's one write to its zone row: the record count and the serial together.
const countAndSerial = hotWrite(
  (db: Executor, zoneId: string, delta: number, dayBase: number, next: number, now: number) =>
    db
      .updateTable('dns_zones')
      .set((eb) => ({
        record_count: eb('record_count', '+', delta),
        serial: sql<number>`case when serial >= ${dayBase} then serial + 1 else ${next} end`,
        updated_at: now,
      }))
      .where('id', '=', zoneId),
);
/** What a record change reads of its zone row. */
export type ZoneHead = Pick<DnsZoneRow, 'id' | 'account_id' | 'serial' | 'record_count'>;
const zoneHeadByOrigin = hotQuery((db: Executor, origin: string) =>
  db
    .selectFrom('dns_zones')
    .select(['id', 'account_id', 'serial', 'record_count'])
    .where('origin', '=', origin),
);
const insertOutbox = hotWrite((db: Executor, payload: string, now: number) =>
  db
    .insertInto('outbox')
    .values({ topic: 'dns.zone', payload, created_at: now, attempts: 0, last_error: '' }),
);

export async function findZone(db: Executor, origin: string): Promise<DnsZoneRow | undefined> {
  return (await zoneByOrigin(db, origin))[0];
}

/** The zone row's columns a record change needs (a record change runs on every add: read no more). */
export async function findZoneHead(db: Executor, origin: string): Promise<ZoneHead | undefined> {
  return (await zoneHeadByOrigin(db, origin))[0];
}

/** Every record of a zone in insertion order. */
export async function zoneRecords(db: Executor, zoneId: string): Promise<StoredRecord[]> {
  const rows = await db
    .selectFrom('dns_records')
    .selectAll()
    .where('zone_id', '=', zoneId)
    .orderBy('id')
    .execute();
  return rows.map(toRecord);
}

/** The records at one name (optionally of one type): what adding or deleting there must look at. */
export async function recordsAt(
  db: Executor,
  zoneId: string,
  name: string,
  type?: string,
): Promise<StoredRecord[]> {
  const rows = type ? await recordsAtNameType(db, zoneId, name, type) : await recordsAtName(db, zoneId, name);
  // Sorted here, not by ORDER BY id: with that clause SQLite may walk the whole zone in id order
  // instead of seeking (zone_id, name, type), which costs O(zone size) on every add and delete.
  return rows.map(toRecord).sort((a, b) => a.id - b.id);
}

// Every write of a zone's records goes through the functions below, which keep the zone's
// record_count in the same transaction.

/** Inserts records of a zone, without touching the zone row. */
async function insertRows(db: Executor, zoneId: string, records: DnsRecord[]): Promise<void> {
  if (records.length === 0) return;
  if (records.length === 1 && records[0]) {
    const r = records[0];
    await insertRecord(db, zoneId, r.name, r.type, r.ttl, JSON.stringify(r.data));
    return;
  }
  await db
    .insertInto('dns_records')
    .values(
      records.map((r) => ({
        zone_id: zoneId,
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        data: JSON.stringify(r.data),
      })),
    )
    .execute();
}

export async function insertRecords(db: Executor, zoneId: string, records: DnsRecord[]): Promise<void> {
  if (records.length === 0) return;
  await moveCount(db, zoneId, records.length);
  await insertRows(db, zoneId, records);
}

/**
 * A record change's writes: deletes the records `removeIds`, inserts `add`, and moves the zone's record
 * count and serial (to the next `YYYYMMDDnn`, see records.nextSerial) in one statement on its row.
 */
export async function changeZoneRecords(
  db: Executor,
  zoneId: string,
  removeIds: number[],
  add: DnsRecord[],
  dayBase: number,
  now: number,
): Promise<void> {
  let delta = add.length;
  for (let i = 0; i < removeIds.length; i += 500) {
    const r = await db
      .deleteFrom('dns_records')
      .where('zone_id', '=', zoneId)
      .where('id', 'in', removeIds.slice(i, i + 500))
      .executeTakeFirst();
    delta -= Number(r.numDeletedRows);
  }
  await insertRows(db, zoneId, add);
  await countAndSerial(db, zoneId, delta, dayBase, dayBase + 1, now);
}

/** Deletes every record of a zone (a zone replaced as a whole), leaving the zone. */
export async function deleteAllRecords(db: Executor, zoneId: string): Promise<void> {
  await db.deleteFrom('dns_records').where('zone_id', '=', zoneId).execute();
  await db.updateTable('dns_zones').set({ record_count: 0 }).where('id', '=', zoneId).execute();
}

/**
 * Locks the zone's row until commit (PostgreSQL; SQLite runs one writer at a time anyway), so changes
 * to one zone queue up and each sees the records the previous one wrote.
 */
export async function lockZone(db: Executor, zoneId: string): Promise<void> {
  await db
    .updateTable('dns_zones')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', zoneId)
    .execute();
}

/**
 * Locks the zone's row until commit and reads it in the same statement (PostgreSQL): changes to one
 * zone queue up and each sees the serial and records the previous one committed.
 */
export function lockZoneByOrigin(db: Executor, origin: string): Promise<ZoneHead | undefined> {
  return db
    .updateTable('dns_zones')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('origin', '=', origin)
    .returning(['id', 'account_id', 'serial', 'record_count'])
    .executeTakeFirst();
}

/** Moves the serial to the next `YYYYMMDDnn` (see records.nextSerial), in one statement on the row. */
export async function bumpSerial(db: Executor, zoneId: string, dayBase: number, now: number): Promise<void> {
  await countAndSerial(db, zoneId, 0, dayBase, dayBase + 1, now);
}

/** Deletes zones with their records. */
export async function deleteZones(db: Executor, zoneIds: string[]): Promise<void> {
  for (let i = 0; i < zoneIds.length; i += 500) {
    const part = zoneIds.slice(i, i + 500);
    await db.deleteFrom('dns_records').where('zone_id', 'in', part).execute();
    await db.deleteFrom('dns_zones').where('id', 'in', part).execute();
  }
}

/**
 * Writes the outbox row the DNS applier acts on and, unless `push` is false (a zone received from a
 * cluster master), the DNS cluster's push rows; call it in the transaction of the change.
 */
export async function queueZone(
  db: Executor,
  origin: string,
  action: 'upsert' | 'delete',
  now: number,
  push = true,
): Promise<void> {
  if (push) await queueZonePush(db, origin, action, now);
  await insertOutbox(db, JSON.stringify({ origin, action }), now);
}

/** A zone row and its stored records in the shape the renderer takes (record ids dropped). */
export function zoneOf(z: DnsZoneRow, records: StoredRecord[]): Zone {
  return {
    origin: z.origin,
    ttl: z.ttl,
    soa: {
      mname: z.mname,
      rname: z.rname,
      serial: Number(z.serial),
      refresh: z.refresh,
      retry: z.retry,
      expire: z.expire,
      minimum: z.minimum,
    },
    records: records.map(({ id: _id, ...r }) => r),
  };
}

/** A zone as the renderer takes it, or null when there is none for `origin`. */
export async function loadZone(db: Executor, origin: string): Promise<Zone | null> {
  const z = await findZone(db, origin);
  return z ? zoneOf(z, await zoneRecords(db, z.id)) : null;
}

/** Every zone origin, sorted. */
export async function listZoneOrigins(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('dns_zones').select('origin').orderBy('origin').execute();
  return rows.map((r) => r.origin);
}
