import { type Kysely, PostgresAdapter } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';

  // Remote servers of the DNS cluster (DirectAdmin's Multi-Server Setup), one per address. The login
  // key is sent to the remote on every push, so it is stored encrypted (AES-256-GCM under a key derived
  // from the installation secret), not as a digest. Switches are 0/1.
  await db.schema
    .createTable('cluster_remotes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull().unique())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('ssl', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('verify_tls', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dns', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('domain_check', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('user_check', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('email', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('show_all_users', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  // Zone pushes waiting for a remote: one row per remote and zone, whatever the number of changes
  // since the last push (the pusher sends the zone as it is then). `version` grows with every change,
  // so a push only removes the row when no change came in while it was on the wire; `claimed_until` is
  // the lease of the process sending it.
  await db.schema
    .createTable('cluster_queue')
    .addColumn('remote_id', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('queued_at', bigint, (c) => c.notNull())
    .addColumn('next_attempt_at', bigint, (c) => c.notNull())
    .addColumn('claimed_until', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text', (c) => c.notNull().defaultTo(''))
    .addPrimaryKeyConstraint('cluster_queue_pk', ['remote_id', 'origin'])
    .execute();
  await db.schema
    .createIndex('cluster_queue_due_idx')
    .on('cluster_queue')
    .columns(['next_attempt_at', 'queued_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('cluster_queue').execute();
  await db.schema.dropTable('cluster_remotes').execute();
}
