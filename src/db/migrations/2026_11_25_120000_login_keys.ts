import { type Kysely, PostgresAdapter } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';
  const serial = pg ? 'bigserial' : 'integer';

  await db.schema
    .createTable('login_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    // 'key' (made by the owner), 'one_time_url' (a browser login link), 'api_url' (made by the CLI).
    .addColumn('type', 'text', (c) => c.notNull().defaultTo('key'))
    .addColumn('digest', 'text', (c) => c.notNull())
    // Rotation: the previous value keeps working until prev_valid_until.
    .addColumn('prev_digest', 'text')
    .addColumn('prev_valid_until', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('created_ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('not_before', bigint)
    .addColumn('expires_at', bigint)
    .addColumn('max_uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('uses_left', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('clear_key', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('allow_htm', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('allow_commands', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('deny_commands', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('ips', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scope', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('rate_limit', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_window_ms', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('rate_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_window_start', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('redirect', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('use_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', bigint)
    .addColumn('last_used_ip', 'text', (c) => c.notNull().defaultTo(''))
    // Set when clear_key removed a spent or expired key: out of use and out of listings, history kept.
    .addColumn('cleared_at', bigint)
    .execute();
  await db.schema.createIndex('login_keys_digest_idx').on('login_keys').column('digest').execute();
  await db.schema.createIndex('login_keys_prev_digest_idx').on('login_keys').column('prev_digest').execute();
  await db.schema
    .createIndex('login_keys_account_idx')
    .on('login_keys')
    .columns(['account_id', 'name'])
    .execute();

  await db.schema
    .createTable('login_key_history')
    .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('at', bigint, (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('login_key_history_key_idx')
    .on('login_key_history')
    .columns(['key_id', 'at'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('at', bigint, (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('is_read', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('messages_account_idx').on('messages').columns(['account_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['messages', 'login_key_history', 'login_keys']) await db.schema.dropTable(t).execute();
}
