import { type Kysely, sql } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

/**
 * Each zone keeps how many records it holds, moved in the transaction of every change of its records:
 * the per-zone limit is checked on every add, and counting the rows cost time in proportion to the zone.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('dns_zones')
    .addColumn('record_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update dns_zones set record_count = (select count(*) from dns_records where dns_records.zone_id = dns_zones.id)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('dns_zones').dropColumn('record_count').execute();
}
