import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';

/** Account levels, highest first: an admin is-a reseller is-a user. */
export type Level = 'admin' | 'reseller' | 'user';

export interface AccountsTable {
  id: string;
  username: string;
  level: Level;
  /** The reseller or admin that owns this account; null only for the first admin. */
  creator_id: string | null;
  email: string;
  name: string;
  password_hash: string;
  /** Bumped on password change, suspension and deletion: cached verifications carry it and die with it. */
  auth_version: number;
  suspended: number;
  suspended_reason: string;
  package: string;
  /** Main domain (users and resellers; empty for admins created without one). */
  domain: string;
  ip: string;
  ns1: string;
  ns2: string;
  /** JSON: the resolved limits and feature switches (see modules/packages/limits.ts). */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface PackagesTable {
  id: string;
  owner_id: string;
  kind: 'user' | 'reseller';
  name: string;
  /** JSON: limits and feature switches. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface DomainsTable {
  id: string;
  account_id: string;
  name: string;
  created_at: number;
  /** `main` (the account's domain) or `additional`. */
  kind: Generated<'main' | 'additional'>;
  /** MB or `unlimited`. */
  bandwidth: Generated<string>;
  quota: Generated<string>;
  /** ON/OFF switches. */
  php: Generated<string>;
  ssl: Generated<string>;
  cgi: Generated<string>;
  updated_at: Generated<number>;
}

export interface SubdomainsTable {
  id: string;
  domain_id: string;
  account_id: string;
  /** The label(s) below the domain (`blog`, `a.b`). */
  label: string;
  fqdn: string;
  created_at: number;
}

export interface DomainPointersTable {
  id: string;
  domain_id: string;
  account_id: string;
  name: string;
  /** 1: alias (own zone, same site); 0: a redirecting pointer. */
  alias: number;
  created_at: number;
}

export interface DnsZonesTable {
  id: string;
  origin: string;
  account_id: string;
  domain_id: string | null;
  ttl: number;
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  created_at: number;
  updated_at: number;
  /** How many records the zone holds (kept by dns.repository's record writes). */
  record_count: Generated<number>;
}

export interface DnsRecordsTable {
  id: Generated<number>;
  zone_id: string;
  name: string;
  type: string;
  ttl: number | null;
  /** JSON array of the RDATA fields. */
  data: string;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  actor_id: string | null;
  actor_username: string;
  /** The account the action was done as (login-as), when it differs from the actor. */
  effective_username: string;
  credential_kind: string;
  credential_id: string;
  ip: string;
  command: string;
  target: string;
  outcome: string;
  details: string;
}

/** One installed TLS certificate per domain. `private_key` is a secret: never listed nor logged. */
export interface CertificatesTable {
  id: string;
  domain_id: string;
  account_id: string;
  /** PEM. */
  private_key: string;
  /** PEM of the domain's certificate. */
  certificate: string;
  /** PEM of the intermediate certificates, leaf's issuer first; empty when none. */
  chain: string;
  /** Subject common name (empty when the certificate has none). */
  subject: string;
  /** JSON array of the DNS names the certificate covers. */
  names: string;
  issuer: string;
  not_before: number;
  not_after: number;
  /** SHA-256 of the certificate, colon-separated hex. */
  fingerprint: string;
  created_at: number;
  updated_at: number;
}

/** A remote server of the DNS cluster (Multi-Server Setup). `secret_enc` is never listed nor logged. */
export interface ClusterRemotesTable {
  id: string;
  /** IP address or host name, as DirectAdmin keys its remote servers. */
  host: string;
  port: number;
  username: string;
  /** The login key, AES-256-GCM encrypted (modules/cluster/secret-box.ts). */
  secret_enc: string;
  ssl: number;
  verify_tls: number;
  dns: number;
  domain_check: number;
  user_check: number;
  email: number;
  show_all_users: number;
  created_at: number;
  updated_at: number;
}

/** A zone waiting to be pushed to one remote; one row per remote and zone, however many changes. */
export interface ClusterQueueTable {
  remote_id: string;
  origin: string;
  /** The latest change: 'upsert' or 'delete'. */
  action: string;
  version: number;
  attempts: number;
  queued_at: number;
  next_attempt_at: number;
  /** Lease of the process pushing it now; 0 when nobody is. */
  claimed_until: number;
  last_error: string;
}

export interface BfmEntriesTable {
  /** 'ip' or 'account'. */
  kind: string;
  key: string;
  failures: number;
  window_start: number;
  blocked_until: number;
  last_failure: number;
}

export interface OutboxTable {
  id: Generated<number>;
  topic: string;
  payload: string;
  created_at: number;
  done_at: number | null;
  attempts: number;
  last_error: string;
}

export interface LoginKeysTable {
  id: string;
  account_id: string;
  name: string;
  type: 'key' | 'one_time_url' | 'api_url';
  digest: string;
  prev_digest: string | null;
  prev_valid_until: number | null;
  created_at: number;
  created_ip: string;
  not_before: number | null;
  expires_at: number | null;
  /** 0 = unlimited. */
  max_uses: number;
  uses_left: number;
  clear_key: number;
  allow_htm: number;
  /** JSON arrays of command names or groupings. */
  allow_commands: string;
  deny_commands: string;
  /** Allowed client addresses, one rule per line; empty = any. */
  ips: string;
  /** JSON: { domains?: string[], dns?: { names: string[], types: string[] } }. */
  scope: string;
  rate_limit: number;
  rate_window_ms: number;
  rate_count: number;
  rate_window_start: number;
  redirect: string;
  use_count: number;
  last_used_at: number | null;
  last_used_ip: string;
  cleared_at: number | null;
}

export interface LoginKeyHistoryTable {
  id: Generated<number>;
  key_id: string;
  account_id: string;
  at: number;
  ip: string;
  command: string;
  outcome: string;
  /** Identical uses (same address, command and outcome) within the second starting at `at`. */
  count: ColumnType<number, number | undefined, number>;
}

export interface MessagesTable {
  id: Generated<number>;
  account_id: string;
  at: number;
  subject: string;
  body: string;
  is_read: number;
}

export interface SessionsTable {
  /** Keyed digest (services.keyDigest) of the `session` cookie. */
  id: string;
  /** Keyed digest of the `key` cookie. */
  secret_digest: string;
  /** The effective account (the target of login-as). */
  account_id: string;
  /** The account whose password or key opened the session. */
  authenticated_id: string;
  /** The login key that opened the session (its limits apply to every request); null for the password. */
  key_id: string | null;
  csrf_token: string;
  /** The client address the session is bound to. */
  ip: string;
  /** Where CMD_LOGOUT sends the browser (LOGOUT_URL at login, checked); empty = `/`. */
  logout_url: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute end, whatever the activity. */
  expires_at: number;
  /** accounts.auth_version of the authenticated account at login; any change ends the session. */
  auth_version: number;
}

/** cPanel (UAPI / API 2) and WHM API tokens; the limit columns mean what they mean for login keys. */
export interface ApiTokensTable {
  id: string;
  account_id: string;
  kind: 'cpanel' | 'whm';
  name: string;
  /** Keyed digest (services.keyDigest) of the value. */
  digest: string;
  created_at: number;
  created_ip: string;
  expires_at: number | null;
  readonly: number;
  /** JSON list of WHM ACL names; empty = all the owner has. */
  acls: string;
  /** JSON list of WHM `whitelist_ip` entries (normalised); empty = any address. */
  whitelist_ips: string;
  /** Login-key style IP rules, one per line; empty = any. */
  ips: string;
  /** JSON: { domains?: string[] }. */
  scope: string;
  /** JSON lists of `Module::function` names. */
  allow_commands: string;
  deny_commands: string;
  max_uses: number;
  uses_left: number;
  clear_key: number;
  rate_limit: number;
  rate_window_ms: number;
  rate_count: number;
  rate_window_start: number;
  use_count: number;
  last_used_at: number | null;
  last_used_ip: string;
  /** Revoked or purged: out of use and listings. */
  cleared_at: number | null;
}

export interface DB {
  accounts: AccountsTable;
  packages: PackagesTable;
  domains: DomainsTable;
  audit_events: AuditEventsTable;
  bfm_entries: BfmEntriesTable;
  outbox: OutboxTable;
  login_keys: LoginKeysTable;
  login_key_history: LoginKeyHistoryTable;
  messages: MessagesTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  subdomains: SubdomainsTable;
  domain_pointers: DomainPointersTable;
  dns_zones: DnsZonesTable;
  dns_records: DnsRecordsTable;
  certificates: CertificatesTable;
  cluster_remotes: ClusterRemotesTable;
  cluster_queue: ClusterQueueTable;
}

export type Db = Kysely<DB>;
/** A database handle or an open transaction: repository functions accept either. */
export type Executor = Kysely<DB> | Transaction<DB>;

export type Account = Selectable<AccountsTable>;
export type NewAccount = Insertable<AccountsTable>;
export type AccountUpdate = Updateable<AccountsTable>;
export type PackageRow = Selectable<PackagesTable>;
export type DomainRow = Selectable<DomainsTable>;
export type SubdomainRow = Selectable<SubdomainsTable>;
export type DomainPointerRow = Selectable<DomainPointersTable>;
export type DnsZoneRow = Selectable<DnsZonesTable>;
export type DnsRecordRow = Selectable<DnsRecordsTable>;
export type LoginKey = Selectable<LoginKeysTable>;
export type SessionRow = Selectable<SessionsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type CertificateRow = Selectable<CertificatesTable>;
export type ClusterRemoteRow = Selectable<ClusterRemotesTable>;
