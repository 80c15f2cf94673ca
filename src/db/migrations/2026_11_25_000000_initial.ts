import { type Kysely, PostgresAdapter } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'text', (c) => c.references('accounts.id'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('auth_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('suspended_reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('package', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('domain', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ns1', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ns2', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('accounts_creator_idx').on('accounts').column('creator_id').execute();

  await db.schema
    .createTable('packages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('packages_owner_kind_name_uq', ['owner_id', 'kind', 'name'])
    .execute();

  await db.schema
    .createTable('domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domains_account_idx').on('domains').column('account_id').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('at', bigint, (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_username', 'text', (c) => c.notNull())
    .addColumn('effective_username', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('credential_kind', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('audit_events_at_idx').on('audit_events').column('at').execute();

  await db.schema
    .createTable('bfm_entries')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_start', bigint, (c) => c.notNull())
    .addColumn('blocked_until', bigint, (c) => c.notNull())
    .addColumn('last_failure', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('bfm_entries_pk', ['kind', 'key'])
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('done_at', bigint)
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['outbox', 'bfm_entries', 'audit_events', 'domains', 'packages', 'accounts'])
    await db.schema.dropTable(t).execute();
}
