import { type Kysely, sql } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

/**
 * Appliers poll for pending rows of their topic in id order; done rows pile up behind them, so the
 * index holds only the pending ones (both SQLite and PostgreSQL support partial indexes).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index outbox_pending_idx on outbox (topic, id) where done_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbox_pending_idx').execute();
}
