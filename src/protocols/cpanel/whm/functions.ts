import type { Actor } from '../../../auth/actor.js';
import { AppError, fail } from '../../../core/errors.js';
import { randomString } from '../../../core/random.js';
import { printable } from '../../../core/validation.js';
import type { Account, ApiToken, Level } from '../../../db/database.js';
import {
  LIMIT_FIELDS,
  limitValue,
  type PackageKind,
  parseSettings,
  type Settings,
} from '../../../modules/packages/limits.js';
import type { CertificateInfo } from '../../../modules/ssl/ssl.service.js';
import { type TokenCreated, tokenLists } from '../../../modules/tokens/tokens.service.js';
import type { Services } from '../../../services.js';
import type { Params } from '../../params.js';
import { aclAllows, WHM_ACLS, WHM_FUNCTION_ACLS } from '../whm-acls.js';
import { WHM_DNS_FUNCTIONS } from './dns.js';
import type { WhmAnswer } from './envelope.js';
import { applyListArgs } from './list-args.js';

/** What a WHM function receives. */
export interface WhmContext {
  services: Services;
  actor: Actor;
  params: Params;
  /** The privileges this request holds (the owner's, narrowed by its token). */
  acls: ReadonlySet<string>;
}

export interface WhmFunction {
  /** The registry commands it runs (the same ones the DirectAdmin adapter maps its commands onto). */
  uses: string[];
  run(ctx: WhmContext): Promise<WhmAnswer>;
}

/**
 * The cPanel version whose WHM API 1 this adapter follows. Clients gate features on it (tokens since 64,
 * api_token_update since 68, api_token_get_details since 98), so it must be a cPanel number, not hostdeck's.
 */
export const EMULATED_CPANEL_VERSION = '11.126.0.0';

function exec<O>(ctx: WhmContext, id: string, input: unknown): Promise<O> {
  return ctx.services.registry.execute<O>({ services: ctx.services, actor: ctx.actor }, id, input);
}

/**
 * A parameter by any of its names, case-insensitively: WHM spells the same field `QUOTA` in one function
 * and `quota` in another, and clients send either. The last value sent wins; empty counts as absent.
 */
function opt(p: Params, ...names: string[]): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  let found: string | undefined;
  for (const k of p.keys()) if (wanted.has(k.toLowerCase())) found = p.get(k);
  return found === '' ? undefined : found;
}

function req(p: Params, ...names: string[]): string {
  const v = opt(p, ...names);
  if (v === undefined) fail('MISSING_PARAMETER', `${names[0]} is required`);
  return v;
}

/** WHM's booleans: 1/0, y/n, yes/no, on/off, true/false. */
function bool(name: string, v: string): boolean {
  const t = v.trim().toLowerCase();
  if (['1', 'y', 'yes', 'on', 'true'].includes(t)) return true;
  if (['0', 'n', 'no', 'off', 'false', ''].includes(t)) return false;
  return fail('INVALID_PARAMETER', `${name} must be 1 or 0`);
}

function flag(p: Params, name: string): boolean {
  const v = opt(p, name);
  return v !== undefined && bool(name, v);
}

/*
 * cPanel's package and account limits against hostdeck's (DirectAdmin's) settings. cPanel's MAXADDON
 * counts addon domains beside the main one, DirectAdmin's `vdomains` counts every domain, so they differ
 * by one. A disk quota or bandwidth of 0 is unlimited in cPanel.
 */
interface LimitMap {
  cp: string[];
  da: string;
  zeroUnlimited?: boolean;
  plusMain?: boolean;
}
const LIMITS: LimitMap[] = [
  { cp: ['quota'], da: 'quota', zeroUnlimited: true },
  { cp: ['bwlimit'], da: 'bandwidth', zeroUnlimited: true },
  { cp: ['maxpop'], da: 'nemails' },
  { cp: ['maxsql'], da: 'mysql' },
  { cp: ['maxftp'], da: 'ftp' },
  { cp: ['maxsub'], da: 'nsubdomains' },
  { cp: ['maxpark'], da: 'domainptr' },
  { cp: ['maxaddon'], da: 'vdomains', plusMain: true },
  { cp: ['maxlst', 'maxlists'], da: 'nemailml' },
];
const SWITCHES = [
  { cp: ['cgi', 'hascgi'], da: 'cgi' },
  { cp: ['hasshell'], da: 'ssh' },
];
const TEXTS = [
  { cp: ['cpmod', 'rs'], da: 'skin' },
  { cp: ['language', 'lang'], da: 'language' },
];

/** The limits and switches a request gives, in hostdeck's settings vocabulary; only fields sent. */
function settingsFrom(p: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of LIMITS) {
    const v = opt(p, ...l.cp)
      ?.trim()
      .toLowerCase();
    if (v === undefined) continue;
    const name = l.cp[0] as string;
    if (v === 'unlimited') {
      out[l.da] = 'unlimited';
      continue;
    }
    if (!/^\d{1,12}$/.test(v)) fail('INVALID_PARAMETER', `${name} must be a whole number or "unlimited"`);
    const n = Number(v);
    out[l.da] = l.zeroUnlimited && n === 0 ? 'unlimited' : String(l.plusMain ? n + 1 : n);
  }
  for (const s of SWITCHES) {
    const v = opt(p, ...s.cp);
    if (v !== undefined) out[s.da] = bool(s.cp[0] as string, v) ? 'ON' : 'OFF';
  }
  for (const t of TEXTS) {
    const v = opt(p, ...t.cp);
    if (v !== undefined) out[t.da] = v;
  }
  return out;
}

/** A limit as WHM lists it: a number, or "unlimited". */
function cpLimit(settings: Settings, l: LimitMap): number | 'unlimited' {
  const v = limitValue(settings, l.da);
  if (v === Number.POSITIVE_INFINITY) return 'unlimited';
  return l.plusMain ? Math.max(0, v - 1) : v;
}

function limitOf(settings: Settings, da: string): number | 'unlimited' {
  return cpLimit(settings, LIMITS.find((l) => l.da === da) as LimitMap);
}

/**
 * Full settings for a new package or custom account: what the request gives, every limit it leaves out
 * unlimited (cPanel's default), every feature switch as the creator has it, since a reseller cannot
 * give a feature it lacks.
 */
async function newSettings(ctx: WhmContext, given: Record<string, string>): Promise<Settings> {
  const own = await exec<Record<string, string>>(ctx, 'account.config.show', {});
  const base: Record<string, string> = {};
  for (const f of LIMIT_FIELDS) base[f] = 'unlimited';
  for (const [k, v] of Object.entries(own)) if (v === 'ON' || v === 'OFF') base[k] = v;
  return parseSettings({ ...base, ...given }, { kind: 'user', requireAll: true, absentSwitchesOff: true });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Seconds since the epoch of DirectAdmin's `date_created` (`Tue Nov 24 10:11:12 2026`, UTC). */
function epochOf(daDate: string | undefined): number | null {
  const m = /^\w{3} (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(daDate ?? '');
  if (!m) return null;
  const month = MONTHS.indexOf(m[1] as string);
  if (month < 0) return null;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
}

/** WHM's `startdate`, `13 May 22 16:03` (UTC). */
function startDate(epoch: number | null): string {
  if (epoch === null) return '';
  const d = new Date(epoch * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

function str(v: number | 'unlimited'): string {
  return String(v);
}

/**
 * One account as listaccts and accountsummary show it, from the configuration and usage the DirectAdmin
 * commands show. Fields hostdeck has no notion of (mail hold, backups, mailbox format) carry cPanel's
 * value for "none/off"; `suspendtime` is not recorded and is null.
 */
function acctRecord(cfg: Record<string, string>, usage: Record<string, string>, summary: boolean) {
  const suspended = cfg.suspended === 'yes';
  const start = epochOf(cfg.date_created);
  const quotaUsed = Number(usage.quota ?? '0');
  const inodeLimit = limitValue(cfg, 'inode');
  const disk = limitOf(cfg, 'quota');
  return {
    user: cfg.username ?? '',
    domain: cfg.domain ?? '',
    ip: cfg.ip ?? '',
    ipv6: [],
    owner: cfg.creator ?? '',
    email: cfg.email ?? '',
    plan: cfg.package ?? '',
    theme: cfg.skin ?? '',
    shell: cfg.ssh === 'ON' ? '/bin/bash' : '/usr/local/cpanel/bin/noshell',
    partition: 'home',
    startdate: startDate(start),
    unix_startdate: start,
    suspended: suspended ? 1 : 0,
    suspendreason: suspended ? cfg.suspended_reason || 'Unknown' : summary ? null : 'not suspended',
    suspendtime: null,
    is_locked: 0,
    disklimit: disk === 'unlimited' ? 'unlimited' : `${disk}M`,
    diskused: `${Number.isFinite(quotaUsed) ? Math.round(quotaUsed) : 0}M`,
    inodeslimit: inodeLimit === Number.POSITIVE_INFINITY ? 'unlimited' : String(inodeLimit),
    inodesused: Number(usage.inode ?? '0'),
    maxpop: str(limitOf(cfg, 'nemails')),
    maxsql: str(limitOf(cfg, 'mysql')),
    maxftp: str(limitOf(cfg, 'ftp')),
    maxsub: str(limitOf(cfg, 'nsubdomains')),
    maxparked: str(limitOf(cfg, 'domainptr')),
    maxaddons: str(limitOf(cfg, 'vdomains')),
    maxlst: str(limitOf(cfg, 'nemailml')),
    max_email_per_hour: 'unlimited',
    max_defer_fail_percentage: 'unlimited',
    max_emailacct_quota: 'unlimited',
    outgoing_mail_hold: 0,
    outgoing_mail_suspended: 0,
    backup: 0,
    legacy_backup: 0,
    mailbox_format: 'maildir',
    temporary: 0,
    child_nodes: [],
  };
}

/**
 * The configurations of the accounts WHM lists for the caller: an admin sees every user and reseller, a
 * reseller its own users. Admin accounts are no cPanel accounts and are left out.
 */
async function visibleConfigs(ctx: WhmContext): Promise<Record<string, string>[]> {
  const admin = ctx.actor.account.level === 'admin';
  let names: string[];
  if (admin) {
    const admins = new Set(await exec<string[]>(ctx, 'account.list', { scope: 'admins' }));
    names = (await exec<string[]>(ctx, 'account.list', { scope: 'all' })).filter((n) => !admins.has(n));
  } else names = await exec<string[]>(ctx, 'account.list', { scope: 'users' });
  const out: Record<string, string>[] = [];
  for (const username of names)
    out.push(await exec<Record<string, string>>(ctx, 'account.config.show', { username }));
  return out;
}

async function withUsage(ctx: WhmContext, cfg: Record<string, string>, summary: boolean) {
  const usage = await exec<Record<string, string>>(ctx, 'account.usage.show', { username: cfg.username });
  return acctRecord(cfg, usage, summary);
}

const SEARCH_TYPES: Record<string, string> = {
  domain: 'domain',
  owner: 'creator',
  user: 'username',
  ip: 'ip',
  package: 'package',
};

/** listaccts' `search`/`searchtype`/`searchmethod` as a test on an account's configuration. */
function searchFilter(p: Params): ((cfg: Record<string, string>) => boolean) | null {
  const search = opt(p, 'search');
  if (search === undefined) return null;
  const type = (opt(p, 'searchtype') ?? 'domain').toLowerCase();
  const field = SEARCH_TYPES[type];
  if (!field) fail('INVALID_PARAMETER', 'searchtype must be domain, owner, user, ip or package');
  const method = (opt(p, 'searchmethod') ?? 'regex').toLowerCase();
  if (method === 'exact') return (cfg) => (cfg[field] ?? '').toLowerCase() === search.toLowerCase();
  if (method !== 'regex') fail('INVALID_PARAMETER', 'searchmethod must be exact or regex');
  // The values searched are names of at most a few hundred characters; a bounded pattern keeps a
  // pathological one from holding the event loop for long.
  if (search.length > 256) fail('INVALID_PARAMETER', 'search may be at most 256 characters');
  let re: RegExp;
  try {
    re = new RegExp(search, 'i');
  } catch {
    return fail('INVALID_PARAMETER', `search is not a valid regular expression: ${printable(search)}`);
  }
  return (cfg) => re.test(cfg[field] ?? '');
}

/** `want`: the comma-separated fields to return (all when absent). */
function pick<T extends Record<string, unknown>>(p: Params, rows: T[]): Record<string, unknown>[] {
  const want = opt(p, 'want');
  if (!want) return rows;
  const keys = want
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return rows.map((r) => Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]])));
}

async function listaccts(ctx: WhmContext): Promise<WhmAnswer> {
  const filter = searchFilter(ctx.params);
  const configs = (await visibleConfigs(ctx)).filter((c) => !filter || filter(c));
  const acct = [];
  for (const cfg of configs) acct.push(await withUsage(ctx, cfg, false));
  const listed = applyListArgs(ctx.params, acct);
  return { data: { acct: pick(ctx.params, listed.rows) }, metadata: listed.metadata };
}

async function accountsummary(ctx: WhmContext): Promise<WhmAnswer> {
  const user = opt(ctx.params, 'user');
  const domain = opt(ctx.params, 'domain');
  let cfg: Record<string, string> | undefined;
  if (user !== undefined) {
    cfg = await exec<Record<string, string>>(ctx, 'account.config.show', { username: user });
    if (cfg.usertype === 'admin') cfg = undefined;
  } else if (domain !== undefined) {
    const d = domain.trim().toLowerCase().replace(/\.$/, '');
    cfg = (await visibleConfigs(ctx)).find((c) => c.domain === d);
  } else fail('MISSING_PARAMETER', 'user or domain is required');
  if (!cfg) fail('ACCOUNT_NOT_FOUND', `There is no account for ${printable(user ?? domain ?? '')}`);
  return { data: { acct: [await withUsage(ctx, cfg, true)] } };
}

async function createacct(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  const username = req(p, 'username');
  const level: Level = flag(p, 'reseller') ? 'reseller' : 'user';
  const owner = opt(p, 'owner');
  if (owner !== undefined && owner.toLowerCase() !== ctx.actor.account.username)
    fail('INVALID_PARAMETER', 'owner: an account is owned by the account that creates it on this server');
  if (opt(p, 'ip')?.toLowerCase() === 'y')
    fail('INVALID_PARAMETER', 'ip=y: this server does not assign dedicated IP addresses');
  const plan = opt(p, 'plan', 'pkgname');
  const given = settingsFrom(p);
  let pkg: string | undefined;
  let settings: Settings | undefined;
  if (plan !== undefined) pkg = plan;
  else if (Object.keys(given).length > 0) {
    if (level === 'reseller')
      fail('MISSING_PARAMETER', 'A reseller account needs a plan (a reseller package)');
    settings = await newSettings(ctx, given);
  } else pkg = 'default';
  // cPanel makes up a password when none is sent; nobody learns it, so the account is reached through
  // create_user_session or a later passwd.
  const password = opt(p, 'password', 'pass') ?? randomString(ctx.services.random, 24);
  const created = await exec<Account>(ctx, `account.${level}.create`, {
    username,
    email: req(p, 'contactemail'),
    password: { plain: password },
    domain: opt(p, 'domain'),
    package: pkg,
    settings,
    ip: opt(p, 'customip'),
  });
  const plainName = created.package || 'custom';
  return {
    data: {
      ip: created.ip,
      nameserver: created.ns1,
      nameserver2: created.ns2,
      nameserver3: null,
      nameserver4: null,
      nameservera: null,
      nameservera2: null,
      nameservera3: null,
      nameservera4: null,
      nameserverentry: null,
      nameserverentry2: null,
      nameserverentry3: null,
      nameserverentry4: null,
      package: plainName,
    },
    reason: 'Account Creation Ok',
    output: `Account ${created.username} (${created.level}) created with domain ${created.domain || '(none)'} on package ${plainName}.`,
  };
}

async function removeacct(ctx: WhmContext): Promise<WhmAnswer> {
  // `user` is the deprecated spelling that clients still send, often beside `username`.
  const username = opt(ctx.params, 'username') ?? req(ctx.params, 'user');
  const removed = await exec<string[]>(ctx, 'account.delete', { usernames: [username] });
  const name = printable(username.trim().toLowerCase());
  return { reason: `${name} account removed`, output: `Removed: ${removed.join(', ')}` };
}

async function suspendacct(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  const user = req(p, 'user');
  if (flag(p, 'disallowun'))
    fail('INVALID_PARAMETER', 'disallowun: every account that may suspend may also unsuspend here');
  const reason = opt(p, 'reason') ?? 'Unknown';
  const done = await exec<string[]>(ctx, 'account.suspend', { usernames: [user], reason });
  return { reason: 'OK', output: `Suspended ${done.join(', ')}: ${reason}` };
}

async function unsuspendacct(ctx: WhmContext): Promise<WhmAnswer> {
  const user = req(ctx.params, 'user');
  const done = await exec<string[]>(ctx, 'account.unsuspend', { usernames: [user] });
  return { reason: 'OK', output: `Unsuspended ${done.join(', ')}` };
}

async function passwd(ctx: WhmContext): Promise<WhmAnswer> {
  const user = req(ctx.params, 'user');
  const password = req(ctx.params, 'password', 'pass');
  await exec(ctx, 'account.password.set', { username: user, password: { plain: password } });
  return {
    data: { app: ['system'] },
    reason: `Password changed for user “${printable(user.trim().toLowerCase())}”.`,
  };
}

async function packageNames(ctx: WhmContext): Promise<string[]> {
  return exec<string[]>(ctx, 'package.list', { kind: 'user' });
}

const WANT_PKGS = new Set(['all', 'creatable', 'editable', 'viewable']);

async function listpkgs(ctx: WhmContext): Promise<WhmAnswer> {
  const want = (opt(ctx.params, 'want') ?? 'all').toLowerCase();
  // Every package an account holds is its own: it may view, edit and create accounts on each.
  if (!WANT_PKGS.has(want)) fail('INVALID_PARAMETER', 'want must be all, creatable, editable or viewable');
  const pkg = [];
  for (const name of await packageNames(ctx)) {
    const s = await exec<Settings>(ctx, 'package.show', { kind: 'user', name });
    const yn = (f: string) => (s[f] === 'ON' ? 'y' : 'n');
    pkg.push({
      name,
      QUOTA: limitOf(s, 'quota'),
      BWLIMIT: limitOf(s, 'bandwidth'),
      MAXPOP: limitOf(s, 'nemails'),
      MAXSQL: limitOf(s, 'mysql'),
      MAXFTP: limitOf(s, 'ftp'),
      MAXSUB: limitOf(s, 'nsubdomains'),
      MAXPARK: limitOf(s, 'domainptr'),
      MAXADDON: limitOf(s, 'vdomains'),
      MAXLST: limitOf(s, 'nemailml'),
      MAX_EMAIL_PER_HOUR: 'unlimited',
      MAX_DEFER_FAIL_PERCENTAGE: 'unlimited',
      MAX_EMAILACCT_QUOTA: 'unlimited',
      FEATURELIST: 'default',
      CPMOD: s.skin ?? '',
      LANG: s.language ?? '',
      CGI: yn('cgi'),
      HASSHELL: yn('ssh'),
      IP: 'n',
      DIGESTAUTH: 'n',
      _PACKAGE_EXTENSIONS: '',
    });
  }
  const listed = applyListArgs(ctx.params, pkg);
  return { data: { pkg: listed.rows }, metadata: listed.metadata };
}

async function addpkg(ctx: WhmContext): Promise<WhmAnswer> {
  const name = req(ctx.params, 'name');
  const settings = await newSettings(ctx, settingsFrom(ctx.params));
  if ((await packageNames(ctx)).includes(name)) fail('PACKAGE_EXISTS', `${printable(name)} already exists`);
  await exec(ctx, 'package.save', { kind: 'user', name, settings });
  return { data: { pkg: name }, reason: `Created the package ${name}.` };
}

async function editpkg(ctx: WhmContext): Promise<WhmAnswer> {
  const name = req(ctx.params, 'name');
  const settings = parseSettings(settingsFrom(ctx.params), {
    kind: 'user',
    requireAll: false,
    absentSwitchesOff: false,
  });
  if (!(await packageNames(ctx)).includes(name))
    fail('PACKAGE_NOT_FOUND', `You have no package named ${printable(name)}`);
  if (Object.keys(settings).length === 0) fail('MISSING_PARAMETER', 'Give at least one limit to change');
  await exec(ctx, 'package.save', { kind: 'user', name, settings });
  return { data: { pkg: name }, reason: `Modified the package ${name}.` };
}

async function killpkg(ctx: WhmContext): Promise<WhmAnswer> {
  const name = req(ctx.params, 'pkgname', 'pkg', 'name');
  await exec(ctx, 'package.delete', { kind: 'user', names: [name] });
  return { reason: `Deleted the package ${name}.` };
}

async function changepackage(ctx: WhmContext): Promise<WhmAnswer> {
  const user = req(ctx.params, 'user');
  const pkg = req(ctx.params, 'pkg', 'plan');
  const a = await exec<Account>(ctx, 'account.modify', { username: user, package: pkg });
  return { reason: 'OK', output: `Changed the package of ${a.username} to ${a.package}.` };
}

async function modifyacct(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  const user = req(p, 'user');
  const cfg = await exec<Record<string, string>>(ctx, 'account.config.show', { username: user });
  if (cfg.usertype === 'admin') fail('ACCOUNT_NOT_FOUND', `There is no account named ${printable(user)}`);
  const newuser = opt(p, 'newuser');
  if (newuser !== undefined && newuser.toLowerCase() !== cfg.username)
    fail('INVALID_PARAMETER', 'newuser: accounts cannot be renamed on this server');
  const domain = opt(p, 'dns', 'domain');
  if (domain !== undefined && domain.toLowerCase() !== cfg.domain)
    fail('INVALID_PARAMETER', 'DNS: the main domain cannot be changed on this server');
  const owner = opt(p, 'owner');
  if (owner !== undefined && owner.toLowerCase() !== cfg.creator)
    fail('INVALID_PARAMETER', 'owner: accounts cannot change owner on this server');
  const kind: PackageKind = cfg.usertype === 'reseller' ? 'reseller' : 'user';
  const settings = parseSettings(settingsFrom(p), { kind, requireAll: false, absentSwitchesOff: false });
  const email = opt(p, 'contactemail');
  const changes = Object.keys(settings).length > 0;
  if (!changes && email === undefined)
    fail('MISSING_PARAMETER', 'Give a limit, a switch or contactemail to change');
  await exec(ctx, 'account.modify', {
    username: cfg.username,
    ...(changes ? { settings } : {}),
    ...(email !== undefined ? { email } : {}),
  });
  return { reason: 'Account Modified', output: `Modified ${cfg.username}.` };
}

const SESSION_SERVICES = new Set(['cpaneld', 'whostmgrd', 'webmaild']);

async function createUserSession(ctx: WhmContext): Promise<WhmAnswer> {
  const user = req(ctx.params, 'user');
  const service = req(ctx.params, 'service').toLowerCase();
  if (!SESSION_SERVICES.has(service))
    fail('INVALID_PARAMETER', 'service must be cpaneld, whostmgrd or webmaild');
  if (service === 'webmaild')
    fail('NOT_IMPLEMENTED', 'Webmail sessions are not served yet; use service=cpaneld');
  // Both services open hostdeck's one browser panel; a WHM session is only for resellers and admins.
  const made = await exec<{ url: string; expiresAt: number }>(ctx, 'account.loginurl.create', {
    username: user,
    minLevel: service === 'whostmgrd' ? 'reseller' : 'user',
  });
  return { data: { expires: Math.floor(made.expiresAt / 1000), service, url: made.url } };
}

/** Every value of a repeatable parameter: `name` repeated, or `name-0`, `name-1`… (cPanel's form). */
function listParam(p: Params, name: string): string[] | undefined {
  const found: [number, string][] = [];
  for (const k of p.keys()) {
    if (k === name) for (const v of p.all(k)) found.push([-1, v]);
    const m = /^(.+)-(\d{1,4})$/.exec(k);
    if (m && m[1] === name) for (const v of p.all(k)) found.push([Number(m[2]), v]);
  }
  if (found.length === 0) return undefined;
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** `expires_at`: Unix seconds, 0 for never; absent stays undefined. */
function expiresParam(p: Params): number | undefined {
  const v = opt(p, 'expires_at');
  if (v === undefined) return undefined;
  if (!/^\d{1,12}$/.test(v.trim()))
    fail('INVALID_PARAMETER', 'The “expires_at” value must be a Unix time in seconds.');
  return Number(v.trim());
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** A token as api_token_create/update/get_details show it (never its value or digest). */
function tokenView(t: ApiToken) {
  const { acls, whitelistIps } = tokenLists(t);
  return {
    name: t.name,
    create_time: seconds(t.created_at),
    expires_at: seconds(t.expires_at),
    acls,
    whitelist_ips: whitelistIps.length ? whitelistIps : null,
  };
}

async function apiTokenCreate(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  const created = await exec<TokenCreated>(ctx, 'token.create', {
    kind: 'whm',
    token: {
      name: req(p, 'token_name'),
      acls: listParam(p, 'acl'),
      expiresAt: expiresParam(p),
      whitelistIps: listParam(p, 'whitelist_ip'),
    },
  });
  return { data: { token: created.token, ...tokenView(created.row) } };
}

async function apiTokenList(ctx: WhmContext): Promise<WhmAnswer> {
  const rows = await exec<ApiToken[]>(ctx, 'token.list', { kind: 'whm' });
  const tokens: Record<string, unknown> = {};
  for (const t of rows) {
    const view = tokenView(t);
    // Here cPanel lists the ACLs as a map of every privilege to 1 or 0, unlike create and update.
    const held = new Set(view.acls);
    tokens[t.name] = { ...view, acls: Object.fromEntries(WHM_ACLS.map((a) => [a, held.has(a) ? 1 : 0])) };
  }
  return { data: { tokens } };
}

async function apiTokenUpdate(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  // An update changes what it is given: omitting `acl` keeps the token's privileges rather than
  // widening them to everything the owner has.
  const row = await exec<ApiToken>(ctx, 'token.update', {
    token: {
      name: req(p, 'token_name'),
      newName: opt(p, 'new_name'),
      acls: listParam(p, 'acl'),
      expiresAt: expiresParam(p),
      whitelistIps: listParam(p, 'whitelist_ip'),
    },
  });
  return { data: tokenView(row) };
}

async function apiTokenRevoke(ctx: WhmContext): Promise<WhmAnswer> {
  const names = listParam(ctx.params, 'token_name') ?? [];
  if (names.length === 0) fail('MISSING_PARAMETER', 'The “token_name” parameter is required.');
  await exec(ctx, 'token.revoke', { kind: 'whm', names, strict: true });
  return {};
}

async function apiTokenGetDetails(ctx: WhmContext): Promise<WhmAnswer> {
  const t = await exec<ApiToken | null>(ctx, 'token.details', { token: req(ctx.params, 'token') });
  // An unknown, expired or revoked value answers with metadata only, like cPanel.
  return t ? { data: tokenView(t) } : {};
}

/** installssl: a certificate for a domain of the caller or of an account it manages (`crt`, `key`, `cabundle`). */
async function installssl(ctx: WhmContext): Promise<WhmAnswer> {
  const p = ctx.params;
  const bundle: Record<string, string> = {};
  for (const [param, part] of [
    ['crt', 'cert'],
    ['key', 'key'],
    ['cabundle', 'chain'],
  ] as const) {
    const v = opt(p, param);
    if (v !== undefined) bundle[part] = v;
  }
  const c = await exec<CertificateInfo>(ctx, 'ssl.install.managed', { domain: req(p, 'domain'), bundle });
  const text = `The SSL certificate is now installed onto the domain “${c.domain}”.`;
  return {
    data: {
      action: 'install',
      domain: c.domain,
      html: text,
      message: text,
      status: 1,
      statusmsg: text,
      fingerprint: c.fingerprint,
      not_after: Math.floor(c.notAfter / 1000),
    },
    reason: text,
  };
}

/** The WHM API 1 functions served, by name. Each needs the privilege WHM_FUNCTION_ACLS gives it. */
export const WHM_FUNCTIONS: Record<string, WhmFunction> = {
  version: {
    uses: [],
    run: async () => ({ data: { version: EMULATED_CPANEL_VERSION } }),
  },
  applist: {
    uses: [],
    async run(ctx) {
      const app = Object.keys(WHM_FUNCTIONS)
        .filter((f) => {
          try {
            checkAcl(ctx.acls, f);
            return true;
          } catch {
            return false;
          }
        })
        .sort();
      return { data: { app } };
    },
  },
  listaccts: { uses: ['account.list', 'account.config.show', 'account.usage.show'], run: listaccts },
  accountsummary: {
    uses: ['account.list', 'account.config.show', 'account.usage.show'],
    run: accountsummary,
  },
  createacct: {
    uses: ['account.user.create', 'account.reseller.create', 'account.config.show'],
    run: createacct,
  },
  removeacct: { uses: ['account.delete'], run: removeacct },
  suspendacct: { uses: ['account.suspend'], run: suspendacct },
  unsuspendacct: { uses: ['account.unsuspend'], run: unsuspendacct },
  passwd: { uses: ['account.password.set'], run: passwd },
  listpkgs: { uses: ['package.list', 'package.show'], run: listpkgs },
  addpkg: { uses: ['package.list', 'package.save', 'account.config.show'], run: addpkg },
  editpkg: { uses: ['package.list', 'package.save'], run: editpkg },
  killpkg: { uses: ['package.delete'], run: killpkg },
  changepackage: { uses: ['account.modify'], run: changepackage },
  modifyacct: { uses: ['account.config.show', 'account.modify'], run: modifyacct },
  create_user_session: { uses: ['account.loginurl.create'], run: createUserSession },
  api_token_create: { uses: ['token.create'], run: apiTokenCreate },
  api_token_list: { uses: ['token.list'], run: apiTokenList },
  api_token_update: { uses: ['token.update'], run: apiTokenUpdate },
  api_token_revoke: { uses: ['token.revoke'], run: apiTokenRevoke },
  api_token_get_details: { uses: ['token.details'], run: apiTokenGetDetails },
  installssl: { uses: ['ssl.install.managed'], run: installssl },
  ...WHM_DNS_FUNCTIONS,
};

/** The function of a name, if served (own properties only: `constructor` is no function). */
export function findWhmFunction(name: string): WhmFunction | undefined {
  return Object.hasOwn(WHM_FUNCTIONS, name) ? WHM_FUNCTIONS[name] : undefined;
}

/** Refuses a request whose privileges do not cover `fn`. */
export function checkAcl(acls: ReadonlySet<string>, fn: string): void {
  // A function missing from the table needs every privilege: forgetting an entry must not open it.
  const needed = Object.hasOwn(WHM_FUNCTION_ACLS, fn) ? (WHM_FUNCTION_ACLS[fn] ?? null) : 'all';
  if (!aclAllows(acls, needed))
    throw new AppError('PERMISSION_DENIED', `${fn} needs the ${needed} privilege`);
}
