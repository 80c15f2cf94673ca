import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** A listen address, `HOST:PORT`; IPv6 hosts in brackets (`[::1]:2222`). */
export interface Listen {
  host: string;
  port: number;
}

/** Every setting of the server, parsed once. Each field is documented in SETTINGS below. */
export interface Config {
  dataDir: string;
  databaseUrl: string;
  tls: boolean;
  daListen: Listen;
  cpanelListen: Listen;
  webmailListen: Listen;
  whmListen: Listen;
  debug: number;
  debugOnlyCmd: string;
  hostname: string;
  trustedProxies: string[];
  sqliteSynchronous: 'FULL' | 'NORMAL';
  usernameMaxLength: number;
  bfmIpThreshold: number;
  bfmAccountThreshold: number;
  bfmWindowSeconds: number;
  bfmBlockSeconds: number;
  bfmWhitelist: string[];
  credentialCacheSeconds: number;
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  apiTokenPurgeDays: number;
  credentialHistoryDays: number;
  loginRedirectOrigins: string[];
  passwordHashMemoryKiB: number;
  passwordHashTimeCost: number;
  shutdownGraceSeconds: number;
  secret: string;
  dnsDefaultTtl: number;
  dnsServerIp: string;
  dnsServerIpv6: string;
  dnsSoa: string;
  dnsZoneTemplate: string;
  dnsClusterAccount: string;
  clusterCheckUnreachable: 'REFUSE' | 'ALLOW';
  clusterTimeoutSeconds: number;
  dnsApply: 'AUTO' | 'ON' | 'OFF';
  bindZoneDir: string;
  bindInclude: string;
  bindCheckzone: string;
  bindCheckconf: string;
  bindReloadCommand: string;
  bindReconfigCommand: string;
}

type Kind = 'string' | 'int' | 'bool' | 'listen' | 'list' | 'enum';

interface Setting {
  key: keyof Config;
  kind: Kind;
  flag?: string;
  env: string;
  default: (dataDir: string) => unknown;
  doc: string;
  min?: number;
  max?: number;
  values?: readonly string[];
}

/**
 * The settings table: one row per setting, with its command-line flag, environment variable, config-file
 * key (the `key` itself, in `<data-dir>/hostdeck.json`) and default. Precedence: flag > environment >
 * config file > default. The README's table is written from this list.
 */
export const SETTINGS: readonly Setting[] = [
  {
    key: 'dataDir',
    kind: 'string',
    flag: '--data-dir',
    env: 'HOSTDECK_DATA_DIR',
    default: () => './data',
    doc: 'Data directory: database, TLS certificate, config file, rendered daemon files',
  },
  {
    key: 'databaseUrl',
    kind: 'string',
    env: 'DATABASE_URL',
    default: (d) => `sqlite:${join(d, 'hostdeck.sqlite')}`,
    doc: '`sqlite:PATH` (default) or `postgres://user@host:port/db` to share one database between several API nodes',
  },
  {
    key: 'tls',
    kind: 'bool',
    flag: '--no-tls',
    env: 'HOSTDECK_TLS',
    default: () => true,
    doc: 'Serve HTTPS with the certificate in `<data-dir>/tls/` (`HOSTDECK_TLS=off` or `--no-tls` for plain HTTP)',
  },
  {
    key: 'daListen',
    kind: 'listen',
    flag: '--da-listen',
    env: 'HOSTDECK_DA_LISTEN',
    default: () => '0.0.0.0:2222',
    doc: 'DirectAdmin API listener',
  },
  {
    key: 'cpanelListen',
    kind: 'listen',
    flag: '--cpanel-listen',
    env: 'HOSTDECK_CPANEL_LISTEN',
    default: () => '0.0.0.0:2083',
    doc: 'cPanel UAPI / API 2 listener',
  },
  {
    key: 'webmailListen',
    kind: 'listen',
    flag: '--webmail-listen',
    env: 'HOSTDECK_WEBMAIL_LISTEN',
    default: () => '0.0.0.0:2096',
    doc: 'Webmail (mailbox user) cPanel listener',
  },
  {
    key: 'whmListen',
    kind: 'listen',
    flag: '--whm-listen',
    env: 'HOSTDECK_WHM_LISTEN',
    default: () => '0.0.0.0:2087',
    doc: 'WHM API 1 listener',
  },
  {
    key: 'debug',
    kind: 'int',
    flag: '--debug',
    env: 'HOSTDECK_DEBUG',
    default: () => 0,
    min: 0,
    max: 100000,
    doc: 'Debug level: 0 off; 188 request lines only; above 188 adds parsed parameters and answers; 2000 adds why a login was refused. Secrets are always redacted',
  },
  {
    key: 'debugOnlyCmd',
    kind: 'string',
    flag: '--debug-only-cmd',
    env: 'HOSTDECK_DEBUG_ONLY_CMD',
    default: () => '',
    doc: 'Limit debug output to one command (e.g. `CMD_API_SHOW_USER_CONFIG`)',
  },
  {
    key: 'hostname',
    kind: 'string',
    flag: '--hostname',
    env: 'HOSTDECK_HOSTNAME',
    default: () => hostname(),
    doc: 'Host name used in generated URLs and the TLS certificate',
  },
  {
    key: 'trustedProxies',
    kind: 'list',
    env: 'HOSTDECK_TRUSTED_PROXIES',
    default: () => [],
    doc: 'Comma-separated proxy addresses whose `X-Forwarded-For` is believed; empty = use the peer address only',
  },
  {
    key: 'sqliteSynchronous',
    kind: 'enum',
    values: ['FULL', 'NORMAL'],
    env: 'HOSTDECK_SQLITE_SYNCHRONOUS',
    default: () => 'FULL',
    doc: 'SQLite durability: FULL survives power loss; NORMAL may lose the last commits on power loss',
  },
  {
    key: 'usernameMaxLength',
    kind: 'int',
    env: 'HOSTDECK_USERNAME_MAX_LENGTH',
    default: () => 16,
    min: 3,
    max: 32,
    doc: 'Longest username accepted for new accounts',
  },
  {
    key: 'bfmIpThreshold',
    kind: 'int',
    env: 'HOSTDECK_BFM_IP_THRESHOLD',
    default: () => 10,
    min: 1,
    max: 1_000_000,
    doc: 'Failed logins from one IP within the window before that IP is blocked',
  },
  {
    key: 'bfmAccountThreshold',
    kind: 'int',
    env: 'HOSTDECK_BFM_ACCOUNT_THRESHOLD',
    default: () => 10,
    min: 1,
    max: 1_000_000,
    doc: 'Failed logins for one account within the window before the account is blocked',
  },
  {
    key: 'bfmWindowSeconds',
    kind: 'int',
    env: 'HOSTDECK_BFM_WINDOW_SECONDS',
    default: () => 1200,
    min: 1,
    max: 31_536_000,
    doc: 'Window in which failures are counted',
  },
  {
    key: 'bfmBlockSeconds',
    kind: 'int',
    env: 'HOSTDECK_BFM_BLOCK_SECONDS',
    default: () => 3600,
    min: 1,
    max: 31_536_000,
    doc: 'How long a block lasts',
  },
  {
    key: 'bfmWhitelist',
    kind: 'list',
    env: 'HOSTDECK_BFM_WHITELIST',
    default: () => [],
    doc: 'Comma-separated IPs never blocked (failures are still logged)',
  },
  {
    key: 'credentialCacheSeconds',
    kind: 'int',
    env: 'HOSTDECK_CREDENTIAL_CACHE_SECONDS',
    default: () => 300,
    min: 0,
    max: 86400,
    doc: 'How long a verified password is remembered (by keyed digest) to skip re-hashing; 0 disables',
  },
  {
    key: 'sessionIdleSeconds',
    kind: 'int',
    env: 'HOSTDECK_SESSION_IDLE_SECONDS',
    default: () => 3600,
    min: 60,
    max: 31_536_000,
    doc: 'A browser session (CMD_LOGIN, one-time login URL) ends after this long without a request',
  },
  {
    key: 'sessionAbsoluteSeconds',
    kind: 'int',
    env: 'HOSTDECK_SESSION_ABSOLUTE_SECONDS',
    default: () => 43200,
    min: 60,
    max: 31_536_000,
    doc: 'A browser session ends this long after login, however active it is',
  },
  {
    key: 'apiTokenPurgeDays',
    kind: 'int',
    env: 'HOSTDECK_API_TOKEN_PURGE_DAYS',
    default: () => 0,
    min: 0,
    max: 36500,
    doc: 'Remove cPanel and WHM API tokens this many days after they expired; 0 keeps them listed (as expired) until revoked, as cPanel does',
  },
  {
    key: 'credentialHistoryDays',
    kind: 'int',
    env: 'HOSTDECK_CREDENTIAL_HISTORY_DAYS',
    default: () => 90,
    min: 0,
    max: 36500,
    doc: 'Delete the use history of login keys and API tokens (CMD_API_LOGIN_KEYS action=history, Tokens::history) older than this many days, checked hourly; 0 keeps it for good',
  },
  {
    key: 'loginRedirectOrigins',
    kind: 'list',
    env: 'HOSTDECK_LOGIN_REDIRECT_ORIGINS',
    default: () => [],
    doc: 'Comma-separated origins (`https://www.example.com`) that `FAIL_URL` and `LOGOUT_URL` of CMD_LOGIN may send the browser to; empty = paths on this server only',
  },
  {
    key: 'passwordHashMemoryKiB',
    kind: 'int',
    env: 'HOSTDECK_PASSWORD_HASH_MEMORY_KIB',
    default: () => 19456,
    min: 1024,
    max: 1_048_576,
    doc: 'argon2id memory cost for new password hashes',
  },
  {
    key: 'passwordHashTimeCost',
    kind: 'int',
    env: 'HOSTDECK_PASSWORD_HASH_TIME_COST',
    default: () => 2,
    min: 1,
    max: 10,
    doc: 'argon2id time cost for new password hashes',
  },
  {
    key: 'shutdownGraceSeconds',
    kind: 'int',
    env: 'HOSTDECK_SHUTDOWN_GRACE_SECONDS',
    default: () => 10,
    min: 0,
    max: 3600,
    doc: 'On SIGTERM/SIGINT, how long in-flight requests may run before connections are closed',
  },
  {
    key: 'secret',
    kind: 'string',
    env: 'HOSTDECK_SECRET',
    default: () => '',
    doc: 'Installation secret (64 hex characters) under which login keys are digested; empty = `<data-dir>/secret.key`, made on first start. Every node sharing a database needs the same one',
  },
  {
    key: 'dnsDefaultTtl',
    kind: 'int',
    env: 'HOSTDECK_DNS_DEFAULT_TTL',
    default: () => 14400,
    min: 60,
    max: 2_147_483_647,
    doc: 'Default TTL (`$TTL`) of a new zone, in seconds; `action=ttl&ttl_select=default` returns a zone to it',
  },
  {
    key: 'dnsServerIp',
    kind: 'string',
    env: 'HOSTDECK_DNS_SERVER_IP',
    default: () => '127.0.0.1',
    doc: 'IPv4 address `{ip}` stands for in the zone template when the account has a shared IP rather than its own',
  },
  {
    key: 'dnsServerIpv6',
    kind: 'string',
    env: 'HOSTDECK_DNS_SERVER_IPV6',
    default: () => '',
    doc: 'IPv6 address `{ip6}` stands for in the zone template; empty leaves out the template lines that use it',
  },
  {
    key: 'dnsSoa',
    kind: 'string',
    env: 'HOSTDECK_DNS_SOA',
    default: () => '{ns1}. hostmaster.{domain}. 3600 1800 1209600 86400',
    doc: 'SOA of a new zone: primary name server, responsible mailbox, refresh, retry, expire, minimum (placeholders as in the zone template)',
  },
  {
    key: 'dnsZoneTemplate',
    kind: 'string',
    env: 'HOSTDECK_DNS_ZONE_TEMPLATE',
    default: () =>
      '@ NS {ns1}.|@ NS {ns2}.|@ A {ip}|www A {ip}|mail A {ip}|ftp A {ip}|@ AAAA {ip6}|www AAAA {ip6}|mail AAAA {ip6}|ftp AAAA {ip6}|@ MX 10 mail|@ TXT "v=spf1 a mx ip4:{ip} ~all"',
    doc: 'Records of a new zone, `NAME TYPE VALUE` separated by `|`; `{domain}`, `{ip}`, `{ip6}`, `{ns1}`, `{ns2}` and `{hostname}` are replaced, and lines using `{ip6}` are left out when there is no IPv6 address',
  },
  {
    key: 'dnsClusterAccount',
    kind: 'string',
    env: 'HOSTDECK_DNS_CLUSTER_ACCOUNT',
    default: () => '',
    doc: 'Local account that owns zones a DirectAdmin master pushes with `CMD_API_DNS_ADMIN action=rawsave`; empty = the admin whose credential the master uses',
  },
  {
    key: 'clusterCheckUnreachable',
    kind: 'enum',
    values: ['REFUSE', 'ALLOW'],
    env: 'HOSTDECK_CLUSTER_CHECK_UNREACHABLE',
    default: () => 'REFUSE',
    doc: 'When a remote server with Domain Check or User Check cannot be asked: REFUSE the new domain or account (the name might exist there), or ALLOW it',
  },
  {
    key: 'clusterTimeoutSeconds',
    kind: 'int',
    env: 'HOSTDECK_CLUSTER_TIMEOUT_SECONDS',
    default: () => 10,
    min: 1,
    max: 300,
    doc: 'Time limit of one request to a remote server of the DNS cluster (a zone push, a Domain or User Check)',
  },
  {
    key: 'dnsApply',
    kind: 'enum',
    values: ['AUTO', 'ON', 'OFF'],
    env: 'HOSTDECK_DNS_APPLY',
    default: () => 'AUTO',
    doc: 'Write zone files and reload BIND on every DNS change: AUTO = on when named-checkzone and named-checkconf run on this machine (otherwise off, said once in the log), ON, OFF',
  },
  {
    key: 'bindZoneDir',
    kind: 'string',
    env: 'HOSTDECK_BIND_ZONE_DIR',
    default: (d) => join(d, 'bind', 'zones'),
    doc: "Directory of hostdeck's zone files, `<domain>.db`, used by hostdeck alone (a system BIND: `/etc/bind/hostdeck`)",
  },
  {
    key: 'bindInclude',
    kind: 'string',
    env: 'HOSTDECK_BIND_INCLUDE',
    default: (d) => join(d, 'bind', 'hostdeck-zones.conf'),
    doc: 'The named.conf include listing the zones, for `include "…";` in named.conf (a system BIND: `/etc/bind/named.conf.hostdeck`)',
  },
  {
    key: 'bindCheckzone',
    kind: 'string',
    env: 'HOSTDECK_BIND_CHECKZONE',
    default: () => 'named-checkzone',
    doc: 'named-checkzone program (name in PATH or absolute path); each zone file is checked with it before it replaces the live one',
  },
  {
    key: 'bindCheckconf',
    kind: 'string',
    env: 'HOSTDECK_BIND_CHECKCONF',
    default: () => 'named-checkconf',
    doc: 'named-checkconf program; the include is checked with it before it replaces the live one',
  },
  {
    key: 'bindReloadCommand',
    kind: 'string',
    env: 'HOSTDECK_BIND_RELOAD_COMMAND',
    default: () => 'rndc reload {zone}',
    doc: 'Command reloading one changed zone, words separated by spaces (run without a shell); `{zone}` is the domain',
  },
  {
    key: 'bindReconfigCommand',
    kind: 'string',
    env: 'HOSTDECK_BIND_RECONFIG_COMMAND',
    default: () => 'rndc reconfig',
    doc: 'Command making BIND re-read its configuration after zones were added or removed (run without a shell)',
  },
];

/** Raised with every problem found, one per line, so a bad start names them all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6). */
export function parseListen(value: string): Listen | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) return null;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined && isIP(host) !== 6) return null;
  return { host, port };
}

/** True for an http(s) origin written exactly as browsers serialise it: `https://host[:port]`, nothing after. */
export function isOrigin(text: string): boolean {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return false;
  }
  return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === text;
}

/** Formats a Listen back to `HOST:PORT`. */
export function formatListen(l: Listen): string {
  return isIP(l.host) === 6 ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

function convert(s: Setting, raw: unknown, source: string, problems: string[]): unknown {
  const where = `${s.key} (${source})`;
  const bad = (problem: string): undefined => {
    problems.push(problem);
    return undefined;
  };
  switch (s.kind) {
    case 'string':
      if (typeof raw !== 'string') return bad(`${where} must be a string`);
      return raw;
    case 'enum': {
      const v = String(raw).toUpperCase();
      if (!s.values?.includes(v)) return bad(`${where} must be one of ${s.values?.join(', ')}`);
      return v;
    }
    case 'int': {
      const v =
        typeof raw === 'number'
          ? raw
          : /^-?\d+$/.test(String(raw).trim())
            ? Number(String(raw).trim())
            : Number.NaN;
      if (!Number.isSafeInteger(v)) return bad(`${where} must be a whole number, got "${String(raw)}"`);
      if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max))
        return bad(`${where} must be between ${s.min} and ${s.max}, got ${v}`);
      return v;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const v = String(raw).trim().toLowerCase();
      if (['1', 'on', 'yes', 'true'].includes(v)) return true;
      if (['0', 'off', 'no', 'false'].includes(v)) return false;
      return bad(`${where} must be on or off, got "${String(raw)}"`);
    }
    case 'listen': {
      const l = typeof raw === 'string' ? parseListen(raw) : null;
      if (!l) return bad(`${where} must be HOST:PORT, got "${String(raw)}"`);
      return l;
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string'))
        return raw.map((x) => x.trim()).filter(Boolean);
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      return bad(`${where} must be a list of strings`);
    }
  }
}

export interface ConfigSources {
  /** Values from command-line flags, keyed by setting key (already named by the CLI). */
  flags?: Partial<Record<keyof Config, unknown>>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the Config from flags, environment, `<data-dir>/hostdeck.json` and defaults, validating every
 * value. Throws ConfigError listing all problems.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {};
  const env = sources.env ?? process.env;
  const problems: string[] = [];
  // Defaults may depend on the data directory; its own default does not.
  let dataDirRaw = '';
  const pick = (s: Setting, file: Record<string, unknown>): unknown => {
    if (flags[s.key] !== undefined) return convert(s, flags[s.key], s.flag ?? 'flag', problems);
    const e = env[s.env];
    if (e !== undefined && e !== '') return convert(s, e, s.env, problems);
    if (file[s.key] !== undefined) return convert(s, file[s.key], 'hostdeck.json', problems);
    return convert(s, s.default(dataDirRaw), 'default', problems);
  };
  const dataSetting = SETTINGS[0] as Setting;
  dataDirRaw = resolve(String(pick(dataSetting, {}) ?? './data'));
  let file: Record<string, unknown> = {};
  const filePath = join(dataDirRaw, 'hostdeck.json');
  if (existsSync(filePath)) {
    let text: string | undefined;
    try {
      text = readFileSync(filePath, 'utf8');
    } catch (e) {
      problems.push(`cannot read ${filePath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (text !== undefined) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          file = parsed as Record<string, unknown>;
        else problems.push(`${filePath} must hold a JSON object`);
      } catch (e) {
        problems.push(`${filePath} is not valid JSON: ${(e as Error).message}`);
      }
    }
    const known = new Set(SETTINGS.map((s) => s.key as string));
    for (const k of Object.keys(file))
      if (!known.has(k)) problems.push(`${filePath}: unknown setting "${k}"`);
      // The file lives in the data directory, so it cannot choose it; saying so beats ignoring the key.
      else if (k === 'dataDir')
        problems.push(
          `${filePath}: dataDir cannot be set in the data directory's own file; use --data-dir or HOSTDECK_DATA_DIR`,
        );
  }
  const out: Record<string, unknown> = { dataDir: dataDirRaw };
  for (const s of SETTINGS.slice(1)) out[s.key] = pick(s, file);
  if (problems.length) throw new ConfigError(problems);
  const cfg = out as unknown as Config;
  for (const ip of [...cfg.trustedProxies, ...cfg.bfmWhitelist])
    if (isIP(ip) === 0) problems.push(`"${ip}" in trustedProxies/bfmWhitelist is not an IP address`);
  for (const o of cfg.loginRedirectOrigins)
    if (!isOrigin(o))
      problems.push(
        `"${o}" in loginRedirectOrigins is not an origin (scheme://host[:port], nothing after it)`,
      );
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(cfg.databaseUrl))
    problems.push(
      `DATABASE_URL must start with sqlite: or postgres://, got "${cfg.databaseUrl.replace(/:[^:@/]*@/, ':***@')}"`,
    );
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}
