import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Deleting the account deletes its tokens (cPanel: account removal revokes them); history stays.
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    // 'cpanel' (UAPI / API 2 on 2083) or 'whm' (WHM API 1 on 2087).
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    // Keyed digest of the value; the value itself is shown once and never stored.
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('created_ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('expires_at', bigint)
    // cPanel tokens: read-only (11.137 `readonly`).
    .addColumn('readonly', 'integer', (c) => c.notNull().defaultTo(0))
    // WHM tokens: JSON list of ACL names (empty = everything the owner has) and of allowed addresses.
    .addColumn('acls', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('whitelist_ips', 'text', (c) => c.notNull().defaultTo('[]'))
    // The limits login keys have, same names and meaning, so both are spent by the same guarded UPDATE.
    .addColumn('ips', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scope', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('allow_commands', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('deny_commands', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('max_uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('uses_left', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('clear_key', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_limit', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_window_ms', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('rate_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_window_start', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('use_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', bigint)
    .addColumn('last_used_ip', 'text', (c) => c.notNull().defaultTo(''))
    // Revoked (or purged after expiry): out of use and out of listings, its name free, its history kept.
    .addColumn('cleared_at', bigint)
    .execute();
  await db.schema.createIndex('api_tokens_digest_idx').on('api_tokens').column('digest').execute();
  // One live token per name, account and kind; revoked ones keep their name without blocking it.
  await db.schema
    .createIndex('api_tokens_name_idx')
    .on('api_tokens')
    .columns(['account_id', 'kind', 'name'])
    .unique()
    .where(sql.ref('cleared_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_tokens').execute();
}
