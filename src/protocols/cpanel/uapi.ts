import type { Actor } from '../../auth/actor.js';
import type { CommandCatalog, Level } from '../../auth/command-policy.js';
import type { HistoryEntry } from '../../auth/key-usage.js';
import { fail } from '../../core/errors.js';
import type { ApiToken } from '../../db/database.js';
import type { DomainBranch } from '../../modules/domains/domains.service.js';
import { featureOn, limitValue, readSettings, SWITCH_FIELDS } from '../../modules/packages/limits.js';
import { isLimited, type TokenCreated, tokenLists } from '../../modules/tokens/tokens.service.js';
import type { Services } from '../../services.js';
import type { Params } from '../params.js';
import { exec, required } from './call.js';
import { DNS_API2_FUNCTIONS, DNS_UAPI_FUNCTIONS } from './dns.js';
import { DOMAIN_API2_FUNCTIONS, DOMAIN_UAPI_FUNCTIONS } from './domains.js';
import type { UapiExtras } from './envelope.js';
import { SSL_API2_FUNCTIONS, SSL_UAPI_FUNCTIONS } from './ssl.js';

/** What a UAPI (or API 2) function gets. */
export interface UapiContext {
  services: Services;
  actor: Actor;
  params: Params;
  /** The catalog token function lists are written in (see uapiCatalog). */
  catalog: CommandCatalog;
}

export interface UapiResult extends UapiExtras {
  data: unknown;
}

/** One UAPI function: the registry commands it runs, whether it changes anything, and its handler. */
export interface UapiFunction {
  uses: string[];
  mutates: boolean;
  run(ctx: UapiContext): Promise<UapiResult>;
}

/** Values of a list parameter: repeated keys (`k=a&k=b`), indexed keys (`k-0`, `k-1`) or both. */
export function listParam(p: Params, key: string): string[] {
  return [...p.all(key), ...p.indexed(`${key}-`)];
}

/** Seconds since the epoch, as cPanel writes times. */
const secs = (ms: number) => Math.floor(ms / 1000);

function intParam(p: Params, key: string): number | undefined {
  const v = p.get(key);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d{1,15}$/.test(v.trim()))
    fail('INVALID_PARAMETER', `The “${key}” parameter must be a whole number.`);
  return Number(v.trim());
}

function boolParam(p: Params, key: string): boolean | undefined {
  const v = p.get(key);
  if (v === undefined || v === '') return undefined;
  if (v === '1') return true;
  if (v === '0') return false;
  return fail('INVALID_PARAMETER', `The “${key}” parameter must be 1 or 0.`);
}

// ------------------------------------------------------------------------- token function lists

/**
 * The spelling of `Module::function` in a token's allow / deny lists as the command policy stores it
 * (upper case, `::` as `__`), so login keys and tokens share one policy engine.
 */
export function policyName(fn: string): string {
  return fn.replace('::', '__').toUpperCase();
}

/** The catalog of UAPI and API 2 function names for token lists (every one at user level). */
export function uapiCatalog(): CommandCatalog {
  const levels = new Map<string, Level>();
  for (const name of [...Object.keys(UAPI_FUNCTIONS), ...API2_NAMES]) levels.set(policyName(name), 'user');
  return { levelOf: (c) => levels.get(c.toUpperCase()), all: () => [...levels.keys()] };
}

/** `DOMAININFO__LIST_DOMAINS` back to `DomainInfo::list_domains` for listings. */
function displayName(stored: string): string {
  for (const name of [...Object.keys(UAPI_FUNCTIONS), ...API2_NAMES])
    if (policyName(name) === stored) return name;
  return stored;
}

/** API 2 functions served (their token-list names). */
export const API2_NAMES = [
  ...Object.keys(SSL_API2_FUNCTIONS),
  ...Object.keys(DNS_API2_FUNCTIONS),
  ...Object.keys(DOMAIN_API2_FUNCTIONS),
  'CustInfo::displaycontactinfo',
];

// --------------------------------------------------------------------------------- presenters

/** A token as Tokens::list shows it: cPanel's fields, then the hostdeck limits that are set. */
export function presentCpanelToken(t: ApiToken): Record<string, unknown> {
  const lists = tokenLists(t);
  const out: Record<string, unknown> = {
    create_time: secs(t.created_at),
    expires_at: t.expires_at === null ? null : secs(t.expires_at),
    features: [],
    has_full_access: lists.allow.length === 0 && lists.deny.length === 0 ? 1 : 0,
    name: t.name,
  };
  if (t.readonly) out.readonly = 1;
  if (!isLimited(t)) return out;
  if (t.ips) out.ips = t.ips.split('\n');
  if (t.max_uses > 0) {
    out.max_uses = t.max_uses;
    out.uses_left = t.uses_left;
  }
  if (t.rate_limit > 0) {
    out.rate_limit = t.rate_limit;
    out.rate_window = t.rate_window_ms / 1000;
  }
  const domains = (JSON.parse(t.scope || '{}') as { domains?: string[] }).domains;
  if (domains?.length) out.domains = domains;
  if (lists.allow.length) out.allow = lists.allow.map(displayName);
  if (lists.deny.length) out.deny = lists.deny.map(displayName);
  return out;
}

// -------------------------------------------------------------------------------- account data

interface AccountView {
  config: Record<string, string>;
  domains: string[];
}

async function accountView(ctx: UapiContext): Promise<AccountView> {
  const config = await exec<Record<string, string>>(ctx, 'account.config.show', {});
  const domains = await exec<string[]>(ctx, 'domain.list', {});
  return { config, domains };
}

/** A limit as cPanel shows maximums: `unlimited` or a whole number. */
function maximum(settings: Record<string, string>, field: string): string | number {
  const v = limitValue(settings, field);
  return v === Number.POSITIVE_INFINITY ? 'unlimited' : v;
}

/** cPanel's home directory of an account (hostdeck keeps no system users; this is the conventional path). */
function homeOf(username: string): string {
  return `/home/${username}`;
}

function mainAndOthers(v: AccountView): { main: string; others: string[] } {
  const main = v.domains.includes(v.config.domain ?? '') ? (v.config.domain ?? '') : '';
  return { main, others: v.domains.filter((d) => d !== main) };
}

async function getUserInformation(ctx: UapiContext): Promise<UapiResult> {
  const v = await accountView(ctx);
  const c = v.config;
  const settings = readSettings(ctx.actor.account.settings);
  const feature: Record<string, number> = {};
  for (const f of SWITCH_FIELDS) if (f !== 'suspend_at_limit') feature[f] = featureOn(settings, f) ? 1 : 0;
  const { main } = mainAndOthers(v);
  const all: Record<string, unknown> = {
    contact_email: c.email ?? '',
    contact_email_2: '',
    created: secs(ctx.actor.account.created_at),
    domain: main,
    domains: v.domains,
    feature,
    home: homeOf(ctx.actor.account.username),
    ip: c.ip ?? '',
    last_modified: secs(ctx.actor.account.updated_at),
    lang: settings.language ?? 'en',
    maximum_addon_domains: maximum(settings, 'vdomains'),
    maximum_bandwidth_megabytes: maximum(settings, 'bandwidth'),
    maximum_databases: maximum(settings, 'mysql'),
    maximum_disk_megabytes: maximum(settings, 'quota'),
    maximum_ftp_accounts: maximum(settings, 'ftp'),
    maximum_mail_accounts: maximum(settings, 'nemails'),
    maximum_mailing_lists: maximum(settings, 'nemailml'),
    maximum_parked_domains: maximum(settings, 'domainptr'),
    maximum_subdomains: maximum(settings, 'nsubdomains'),
    owner: c.creator ?? '',
    plan: c.package ?? '',
    suspended: ctx.actor.account.suspended ? 1 : 0,
    theme: settings.skin ?? '',
    user: ctx.actor.account.username,
  };
  const names = listParam(ctx.params, 'name');
  if (names.length === 0) return { data: all };
  const picked: Record<string, unknown> = {};
  for (const n of names) if (Object.hasOwn(all, n)) picked[n] = all[n];
  return { data: picked };
}

/**
 * Subdomains (as full names) and pointers of the account's domains. cPanel's parked domains are
 * DirectAdmin's domain pointers: another name for a domain's site.
 */
function subsAndParked(tree: DomainBranch[]): { subs: string[]; parked: string[] } {
  const subs: string[] = [];
  const parked: string[] = [];
  for (const b of tree) {
    for (const label of b.subdomains) subs.push(`${label}.${b.domain}`);
    parked.push(...Object.keys(b.pointers));
  }
  return { subs, parked };
}

async function listDomains(ctx: UapiContext): Promise<UapiResult> {
  // The main domain is a field of the account row the request already holds; only the lists are read.
  const tree = await exec<DomainBranch[]>(ctx, 'domain.tree', {});
  const domains = tree.map((b) => b.domain);
  const { main, others } = mainAndOthers({ config: { domain: ctx.actor.account.domain }, domains });
  const { subs, parked } = subsAndParked(tree);
  return { data: { addon_domains: others, main_domain: main, parked_domains: parked, sub_domains: subs } };
}

function domainData(ctx: UapiContext, domain: string, type: 'main_domain' | 'addon_domain' | 'sub_domain') {
  const user = ctx.actor.account.username;
  const home = homeOf(user);
  const settings = readSettings(ctx.actor.account.settings);
  return {
    documentroot: type === 'main_domain' ? `${home}/public_html` : `${home}/${domain}`,
    domain,
    group: user,
    hascgi: featureOn(settings, 'cgi') ? 1 : 0,
    homedir: home,
    ip: ctx.actor.account.ip,
    ipv6: null,
    owner: '',
    serveradmin: `webmaster@${domain}`,
    serveralias: `www.${domain}`,
    servername: domain,
    type,
    user,
    usecanonicalname: 'Off',
    userdirprotect: '',
  };
}

async function domainsData(ctx: UapiContext): Promise<UapiResult> {
  const format = ctx.params.get('format') ?? 'hash';
  if (format !== 'hash' && format !== 'list')
    fail('INVALID_PARAMETER', 'The “format” parameter must be “hash” or “list”.');
  // The tree names the account's domains too: no separate domain list.
  const config = await exec<Record<string, string>>(ctx, 'account.config.show', {});
  const tree = await exec<DomainBranch[]>(ctx, 'domain.tree', {});
  const { main, others } = mainAndOthers({ config, domains: tree.map((b) => b.domain) });
  const owner = config.creator ?? '';
  const mainData = main ? { ...domainData(ctx, main, 'main_domain'), owner } : null;
  const addons = others.map((d) => ({ ...domainData(ctx, d, 'addon_domain'), owner }));
  const { subs } = subsAndParked(tree);
  const subData = subs.map((d) => ({
    ...domainData(ctx, d, 'sub_domain'),
    documentroot: `${homeOf(ctx.actor.account.username)}/public_html/${d.split('.')[0]}`,
    owner,
  }));
  if (format === 'list') return { data: [...(mainData ? [mainData] : []), ...addons, ...subData] };
  return {
    data: { addon_domains: addons, main_domain: mainData ?? {}, parked_domains: [], sub_domains: subData },
  };
}

/** Usage and limit of one resource as numbers (limit 0 = unlimited, cPanel's convention). */
function usageOf(settings: Record<string, string>, usage: Record<string, string>, field: string) {
  const max = limitValue(settings, field);
  const used = Number(usage[field] ?? 0) || 0;
  return { used, max: max === Number.POSITIVE_INFINITY ? 0 : max };
}

async function settingsAndUsage(ctx: UapiContext) {
  const config = await exec<Record<string, string>>(ctx, 'account.config.show', {});
  const usage = await exec<Record<string, string>>(ctx, 'account.usage.show', {});
  return { settings: readSettings(ctx.actor.account.settings), config, usage };
}

async function quotaInfo(ctx: UapiContext): Promise<UapiResult> {
  const { settings, usage } = await settingsAndUsage(ctx);
  const disk = usageOf(settings, usage, 'quota');
  const inode = usageOf(settings, usage, 'inode');
  const remain = (u: { used: number; max: number }) => (u.max === 0 ? 0 : Math.max(0, u.max - u.used));
  const under = (u: { used: number; max: number }) => (u.max === 0 || u.used < u.max ? 1 : 0);
  return {
    data: {
      inode_limit: inode.max,
      inodes_remain: remain(inode),
      inodes_used: inode.used,
      megabyte_limit: disk.max,
      megabytes_remain: remain(disk),
      megabytes_used: disk.used,
      under_inode_limit: under(inode),
      under_megabyte_limit: under(disk),
      under_quota_overall: under(inode) && under(disk) ? 1 : 0,
    },
  };
}

/** The resources StatsBar and ResourceUsage report, mapped onto hostdeck's limit fields. */
const RESOURCES: {
  id: string;
  usageId: string;
  field: string;
  name: string;
  units: string;
  feature: string;
  module: string;
}[] = [
  {
    id: 'diskusage',
    usageId: 'disk_usage',
    field: 'quota',
    name: 'Disk Space Usage',
    units: 'MB',
    feature: 'diskusageviewer',
    module: 'Quota',
  },
  {
    id: 'bandwidthusage',
    usageId: 'bandwidth',
    field: 'bandwidth',
    name: 'Monthly Bandwidth Transfer',
    units: 'MB',
    feature: 'bandwidth',
    module: 'Stats',
  },
  {
    id: 'addondomains',
    usageId: 'addon_domains',
    field: 'vdomains',
    name: 'Addon Domains',
    units: '',
    feature: 'addondomains',
    module: 'DomainInfo',
  },
  {
    id: 'subdomains',
    usageId: 'subdomains',
    field: 'nsubdomains',
    name: 'Subdomains',
    units: '',
    feature: 'subdomains',
    module: 'SubDomain',
  },
  {
    id: 'parkeddomains',
    usageId: 'parked_domains',
    field: 'domainptr',
    name: 'Aliases',
    units: '',
    feature: 'parkeddomains',
    module: 'Park',
  },
  {
    id: 'emailaccounts',
    usageId: 'email_accounts',
    field: 'nemails',
    name: 'Email Accounts',
    units: '',
    feature: 'popaccts',
    module: 'Email',
  },
  {
    id: 'emailforwarders',
    usageId: 'email_forwarders',
    field: 'nemailf',
    name: 'Forwarders',
    units: '',
    feature: 'forwarders',
    module: 'Email',
  },
  {
    id: 'autoresponders',
    usageId: 'autoresponders',
    field: 'nemailr',
    name: 'Autoresponders',
    units: '',
    feature: 'autoresponders',
    module: 'Email',
  },
  {
    id: 'mailinglists',
    usageId: 'mailing_lists',
    field: 'nemailml',
    name: 'Mailing Lists',
    units: '',
    feature: 'lists',
    module: 'Email',
  },
  {
    id: 'sqldatabases',
    usageId: 'mysql_databases',
    field: 'mysql',
    name: 'Databases',
    units: '',
    feature: 'mysql',
    module: 'Mysql',
  },
  {
    id: 'ftpaccounts',
    usageId: 'ftp_accounts',
    field: 'ftp',
    name: 'FTP Accounts',
    units: '',
    feature: 'ftpaccts',
    module: 'Ftp',
  },
];

async function getStats(ctx: UapiContext): Promise<UapiResult> {
  const display = required(ctx.params, 'display')
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const { settings, usage } = await settingsAndUsage(ctx);
  const data = [];
  for (const id of display) {
    const r = RESOURCES.find((x) => x.id === id);
    if (!r) continue;
    const { used, max } = usageOf(settings, usage, r.field);
    const percent = max === 0 ? 0 : Math.min(100, Math.round((used / max) * 100));
    const step = (n: number) => Math.floor(percent / n) * n;
    const maxed = max !== 0 && used >= max ? 1 : 0;
    data.push({
      _count: used,
      _max: max === 0 ? 'unlimited' : max,
      _maxed: maxed,
      count: String(used),
      feature: r.feature,
      id: r.id,
      is_maxed: maxed,
      item: r.name,
      max: max === 0 ? 'unlimited' : String(max),
      module: r.module,
      name: r.id,
      percent,
      percent10: step(10),
      percent20: step(20),
      percent5: step(5),
      role: null,
      units: r.units,
      zeroisunlimited: 1,
    });
  }
  return { data };
}

async function getUsages(ctx: UapiContext): Promise<UapiResult> {
  const { settings, usage } = await settingsAndUsage(ctx);
  const data = RESOURCES.map((r) => {
    const { used, max } = usageOf(settings, usage, r.field);
    const bytes = r.units === 'MB';
    return {
      description: r.name,
      error: null,
      formatter: bytes ? 'format_bytes' : null,
      id: r.usageId,
      maximum: max === 0 ? null : bytes ? max * 1024 * 1024 : max,
      url: null,
      usage: bytes ? used * 1024 * 1024 : used,
    };
  });
  return { data };
}

// --------------------------------------------------------------------------------------- Tokens

/** Reads the hostdeck extras of Tokens::create_full_access (see README "cPanel API and tokens"). */
function tokenLimits(ctx: UapiContext) {
  const p = ctx.params;
  const ips = listParam(p, 'ips')
    .flatMap((v) => v.split(/[\n,]/))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const domains = listParam(p, 'domains')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const names = (key: string) =>
    listParam(p, key)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const allow = names('allow');
  const deny = names('deny');
  const maxUses = intParam(p, 'max_uses');
  const rate = intParam(p, 'rate_limit');
  const windowSeconds = intParam(p, 'rate_window') ?? 3600;
  const out: Record<string, unknown> = {};
  if (ips.length) out.ips = ips.join('\n');
  if (domains.length) out.domains = domains;
  if (allow.length || deny.length) out.policy = { allow: allow.map(policyName), deny: deny.map(policyName) };
  if (maxUses !== undefined) out.maxUses = maxUses;
  if (rate !== undefined && rate !== 0) out.rateLimit = { count: rate, windowSeconds };
  return out;
}

async function createFullAccess(ctx: UapiContext): Promise<UapiResult> {
  const p = ctx.params;
  const name = required(p, 'name');
  const expiresAt = intParam(p, 'expires_at');
  const readonly = boolParam(p, 'readonly');
  const created = await exec<TokenCreated>(ctx, 'token.create', {
    kind: 'cpanel',
    catalog: ctx.catalog,
    token: {
      name,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(readonly !== undefined ? { readonly } : {}),
      ...tokenLimits(ctx),
    },
  });
  // cPanel answers only the value and the time; the rest is in Tokens::list.
  return { data: { create_time: secs(created.row.created_at), token: created.token } };
}

/** Every UAPI function served, by `Module::function`. */
export const UAPI_FUNCTIONS: Record<string, UapiFunction> = {
  ...SSL_UAPI_FUNCTIONS,
  ...DNS_UAPI_FUNCTIONS,
  ...DOMAIN_UAPI_FUNCTIONS,
  'Variables::get_user_information': {
    uses: ['account.config.show', 'domain.list'],
    mutates: false,
    run: getUserInformation,
  },
  'DomainInfo::list_domains': {
    uses: ['domain.tree'],
    mutates: false,
    run: listDomains,
  },
  'DomainInfo::domains_data': {
    uses: ['account.config.show', 'domain.tree'],
    mutates: false,
    run: domainsData,
  },
  'Quota::get_quota_info': {
    uses: ['account.config.show', 'account.usage.show'],
    mutates: false,
    run: quotaInfo,
  },
  'StatsBar::get_stats': {
    uses: ['account.config.show', 'account.usage.show'],
    mutates: false,
    run: getStats,
  },
  'ResourceUsage::get_usages': {
    uses: ['account.config.show', 'account.usage.show'],
    mutates: false,
    run: getUsages,
  },
  'Tokens::create_full_access': { uses: ['token.create'], mutates: true, run: createFullAccess },
  'Tokens::list': {
    uses: ['token.list'],
    mutates: false,
    async run(ctx) {
      const rows = await exec<ApiToken[]>(ctx, 'token.list', { kind: 'cpanel' });
      return { data: rows.map(presentCpanelToken) };
    },
  },
  'Tokens::rename': {
    uses: ['token.rename'],
    mutates: true,
    async run(ctx) {
      const name = required(ctx.params, 'name');
      const newName = required(ctx.params, 'new_name');
      await exec(ctx, 'token.rename', { kind: 'cpanel', name, newName });
      return { data: null };
    },
  },
  // hostdeck's addition: the token's uses and refusals, as CMD_API_LOGIN_KEYS action=history gives a key's.
  'Tokens::history': {
    uses: ['token.history'],
    mutates: false,
    async run(ctx) {
      const name = required(ctx.params, 'name');
      const rows = await exec<HistoryEntry[]>(ctx, 'token.history', { kind: 'cpanel', name });
      return {
        data: rows.map((r) => ({
          time: Math.floor(r.at / 1000),
          ip: r.ip,
          function: r.command,
          outcome: r.outcome,
          count: r.count,
        })),
      };
    },
  },
  'Tokens::revoke': {
    uses: ['token.revoke'],
    mutates: true,
    async run(ctx) {
      const name = required(ctx.params, 'name');
      await exec(ctx, 'token.revoke', { kind: 'cpanel', names: [name], strict: false });
      // cPanel's documentation: 1 when the token was removed or did not exist.
      return { data: 1 };
    },
  },
};

/** Every module that has at least one function here. */
export const UAPI_MODULES = new Set(Object.keys(UAPI_FUNCTIONS).map((n) => n.split('::')[0] as string));
