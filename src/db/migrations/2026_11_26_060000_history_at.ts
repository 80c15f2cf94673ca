import type { Kysely } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

/** Credential history is purged by age (credentialHistoryDays): the purge finds old rows by `at`. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('login_key_history_at_idx').on('login_key_history').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('login_key_history_at_idx').execute();
}
