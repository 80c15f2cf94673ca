import type { Kysely } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

/**
 * The (zone_id, id) index of dns_records goes: every add paid for one more index insert, and what it
 * served (a zone's records in id order) is served by the (zone_id, name, type) index and a sort of the
 * zone's rows, at most 5,000.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('dns_records_zone_idx').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('dns_records_zone_idx').on('dns_records').columns(['zone_id', 'id']).execute();
}
