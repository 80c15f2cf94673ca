import { type Kysely, PostgresAdapter } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';

  // Browser sessions (CMD_LOGIN, one-time login URLs). Neither cookie value is stored: the row is found
  // by the keyed digest of the `session` cookie and proved by the keyed digest of the `key` cookie. No
  // foreign keys: a session of a deleted account simply no longer finds its account, and account
  // deletion need not know about sessions.
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret_digest', 'text', (c) => c.notNull())
    // The account the session acts as (the target of `owner|target`) and the one that logged in.
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('authenticated_id', 'text', (c) => c.notNull())
    // The login key the session was opened with: its limits apply to every request. Null: the password.
    .addColumn('key_id', 'text')
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('logout_url', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_seen_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    // accounts.auth_version of the authenticated account at login: a password change or suspension
    // bumps it, which ends the session.
    .addColumn('auth_version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_seen_idx').on('sessions').column('last_seen_at').execute();
  await db.schema
    .createIndex('sessions_authenticated_idx')
    .on('sessions')
    .column('authenticated_id')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
}
