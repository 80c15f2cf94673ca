import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen: written against Kysely<any> and never importing app code, so it runs the same forever.

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = pg ? 'bigint' : 'integer';
  const serial = pg ? 'bigserial' : 'integer';

  // Domains get what DirectAdmin keeps per domain. `kind` tells the account's main domain from the
  // additional ones; limits are DA values (a number of MB or `unlimited`), switches ON/OFF.
  await db.schema
    .alterTable('domains')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('additional'))
    .execute();
  await db.schema
    .alterTable('domains')
    .addColumn('bandwidth', 'text', (c) => c.notNull().defaultTo('unlimited'))
    .execute();
  await db.schema
    .alterTable('domains')
    .addColumn('quota', 'text', (c) => c.notNull().defaultTo('unlimited'))
    .execute();
  for (const f of ['php', 'ssl', 'cgi'])
    await db.schema
      .alterTable('domains')
      .addColumn(f, 'text', (c) => c.notNull().defaultTo('ON'))
      .execute();
  await db.schema
    .alterTable('domains')
    .addColumn('updated_at', bigint, (c) => c.notNull().defaultTo(0))
    .execute();
  // Domains made with their account before this migration are the accounts' main domains.
  await sql`update domains set kind = 'main' where name in (select domain from accounts)`.execute(db);

  // Subdomains live in their parent's zone; `fqdn` is unique across the installation.
  await db.schema
    .createTable('subdomains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('fqdn', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('subdomains_domain_idx')
    .on('subdomains')
    .columns(['domain_id', 'label'])
    .execute();
  await db.schema.createIndex('subdomains_account_idx').on('subdomains').column('account_id').execute();

  // Pointers: another name for a domain. An alias gets a zone of its own; a plain pointer redirects.
  await db.schema
    .createTable('domain_pointers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('alias', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('domain_pointers_domain_idx')
    .on('domain_pointers')
    .columns(['domain_id', 'name'])
    .execute();
  await db.schema
    .createIndex('domain_pointers_account_idx')
    .on('domain_pointers')
    .column('account_id')
    .execute();

  // One zone per origin. `account_id` is the owner (for zones received from a cluster master, the
  // configured local account); `domain_id` links a zone to its domain or pointer row, if any.
  await db.schema
    .createTable('dns_zones')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('origin', 'text', (c) => c.notNull().unique())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('domain_id', 'text')
    .addColumn('ttl', 'integer', (c) => c.notNull())
    .addColumn('mname', 'text', (c) => c.notNull())
    .addColumn('rname', 'text', (c) => c.notNull())
    .addColumn('serial', bigint, (c) => c.notNull())
    .addColumn('refresh', 'integer', (c) => c.notNull())
    .addColumn('retry', 'integer', (c) => c.notNull())
    .addColumn('expire', 'integer', (c) => c.notNull())
    .addColumn('minimum', 'integer', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dns_zones_account_idx').on('dns_zones').column('account_id').execute();
  await db.schema.createIndex('dns_zones_domain_idx').on('dns_zones').column('domain_id').execute();

  // Records in insertion order: the id is the stable identity and the ordering. `data` is a JSON array
  // of the RDATA fields (see modules/dns/zone.types.ts).
  await db.schema
    .createTable('dns_records')
    .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('zone_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('ttl', 'integer')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  // Listing a zone walks (zone_id, id); adding checks the name's other records (CNAME rule, duplicates).
  await db.schema.createIndex('dns_records_zone_idx').on('dns_records').columns(['zone_id', 'id']).execute();
  await db.schema
    .createIndex('dns_records_zone_name_idx')
    .on('dns_records')
    .columns(['zone_id', 'name', 'type'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['dns_records', 'dns_zones', 'domain_pointers', 'subdomains'])
    await db.schema.dropTable(t).execute();
  for (const c of ['updated_at', 'cgi', 'ssl', 'php', 'quota', 'bandwidth', 'kind'])
    await db.schema.alterTable('domains').dropColumn(c).execute();
}
