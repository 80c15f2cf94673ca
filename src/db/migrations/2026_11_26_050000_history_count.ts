import type { Kysely } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

/**
 * Credential history groups identical uses: one row per credential, address, command and outcome within
 * the same second, with how many there were. A script calling a thousand times a second then writes one
 * row a second instead of a thousand. Rows written before this have one use each.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('login_key_history')
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('login_key_history').dropColumn('count').execute();
}
