import { fail } from '../../core/errors.js';

/**
 * Limits and feature switches of an account or package, in DirectAdmin's own vocabulary so they map
 * one-to-one onto the API fields: numbers as decimal strings or `unlimited`, switches `ON`/`OFF`.
 */
export type Settings = Record<string, string>;

/** Countable limits shared by user and reseller packages (bandwidth and quota in MB). */
export const LIMIT_FIELDS = [
  'bandwidth',
  'quota',
  'inode',
  'vdomains',
  'nsubdomains',
  'nemails',
  'nemailf',
  'nemailml',
  'nemailr',
  'mysql',
  'domainptr',
  'ftp',
] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];

/** Limits that may be fractional (megabytes). */
const DECIMAL_LIMITS = new Set<string>(['bandwidth', 'quota']);

/** ON/OFF feature switches of user packages. `login_keys`, `apitokens` and `dnscontrol` gate credentials and DNS. */
export const SWITCH_FIELDS = [
  'aftp',
  'cgi',
  'php',
  'spam',
  'cron',
  'catchall',
  'ssl',
  'ssh',
  'sysinfo',
  'dnscontrol',
  'login_keys',
  'apitokens',
  'suspend_at_limit',
] as const;

/** Extra fields of reseller packages. */
export const RESELLER_LIMIT_FIELDS = ['ips'] as const;
export const RESELLER_SWITCH_FIELDS = ['userssh', 'serverip', 'oversell'] as const;
const DNS_VALUES = ['OFF', 'TWO', 'THREE'];

const TEXT_FIELDS = ['skin', 'language'] as const;

export type PackageKind = 'user' | 'reseller';

export function limitFieldsFor(kind: PackageKind): readonly string[] {
  return kind === 'reseller' ? [...LIMIT_FIELDS, ...RESELLER_LIMIT_FIELDS] : LIMIT_FIELDS;
}
export function switchFieldsFor(kind: PackageKind): readonly string[] {
  return kind === 'reseller' ? [...SWITCH_FIELDS, ...RESELLER_SWITCH_FIELDS] : SWITCH_FIELDS;
}

/** Every setting an unrestricted account has: the admin's own, and the `default` package made at init. */
export function unlimitedSettings(kind: PackageKind): Settings {
  const s: Settings = {};
  for (const f of limitFieldsFor(kind)) s[f] = 'unlimited';
  for (const f of switchFieldsFor(kind)) s[f] = f === 'suspend_at_limit' || f === 'oversell' ? 'OFF' : 'ON';
  if (kind === 'reseller') s.dns = 'OFF';
  s.skin = 'evolution';
  s.language = 'en';
  return s;
}

function parseSwitch(field: string, v: string): 'ON' | 'OFF' {
  const t = v.trim().toLowerCase();
  if (t === 'on' || t === 'yes' || t === '1' || t === 'true') return 'ON';
  if (t === 'off' || t === 'no' || t === '0' || t === 'false' || t === '') return 'OFF';
  return fail('INVALID_PARAMETER', `${field} must be ON or OFF`);
}

function parseLimit(field: string, v: string): string {
  const t = v.trim().toLowerCase();
  if (t === 'unlimited') return 'unlimited';
  const re = DECIMAL_LIMITS.has(field) ? /^\d{1,12}(\.\d{1,2})?$/ : /^\d{1,12}$/;
  if (!re.test(t))
    fail(
      'INVALID_PARAMETER',
      `${field} must be a non-negative ${DECIMAL_LIMITS.has(field) ? 'number' : 'whole number'} or "unlimited"`,
    );
  return String(Number(t));
}

export interface ParseOptions {
  kind: PackageKind;
  /** Every limit must be given (creation); otherwise only given fields are read (modification). */
  requireAll: boolean;
  /**
   * For creation, a switch that is not sent is OFF (DA's checkbox rule). For modification, an absent
   * switch keeps its value.
   */
  absentSwitchesOff: boolean;
}

/**
 * Reads limits and switches from DA-style parameters: `bandwidth=500` or `ubandwidth=ON` for unlimited,
 * `login_keys=ON`, `skin=…`. Returns only the fields it found (all fields when requireAll). Throws
 * INVALID_PARAMETER / MISSING_PARAMETER listing the problem.
 */
export function parseSettings(params: Record<string, string>, opts: ParseOptions): Settings {
  const out: Settings = {};
  const missing: string[] = [];
  for (const f of limitFieldsFor(opts.kind)) {
    const unl = params[`u${f}`];
    if (unl !== undefined && parseSwitch(`u${f}`, unl) === 'ON') out[f] = 'unlimited';
    else if (params[f] !== undefined) out[f] = parseLimit(f, params[f] as string);
    else if (opts.requireAll) missing.push(f);
  }
  if (missing.length)
    fail(
      'MISSING_PARAMETER',
      `Missing limits: ${missing.join(', ')} (a number, or u<field>=ON for unlimited)`,
    );
  for (const f of switchFieldsFor(opts.kind)) {
    const v = params[f];
    if (v !== undefined) out[f] = parseSwitch(f, v);
    else if (opts.absentSwitchesOff) out[f] = 'OFF';
  }
  if (opts.kind === 'reseller') {
    const dns = params.dns;
    if (dns !== undefined) {
      const d = dns.toUpperCase();
      if (!DNS_VALUES.includes(d)) fail('INVALID_PARAMETER', 'dns must be OFF, TWO or THREE');
      out.dns = d;
    } else if (opts.absentSwitchesOff) out.dns = 'OFF';
  }
  for (const f of TEXT_FIELDS) {
    const v = params[f];
    if (v === undefined) continue;
    // Skins and languages name directories; a leading "-" would read as an option to any tool given one.
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(v))
      fail(
        'INVALID_PARAMETER',
        `${f} must be 1-32 letters, digits, "_" or "-", starting with a letter or digit`,
      );
    out[f] = v;
  }
  if (opts.requireAll) {
    out.skin ??= 'evolution';
    out.language ??= 'en';
  }
  return out;
}

/** True when the settings contain any limit or switch field (a "custom" account rather than a package). */
export function hasAnySettingField(params: Record<string, string>, kind: PackageKind): boolean {
  return [...limitFieldsFor(kind), ...switchFieldsFor(kind)].some(
    (f) => params[f] !== undefined || params[`u${f}`] !== undefined,
  );
}

/** Numeric value of a limit: Infinity for `unlimited`, 0 when unset. */
export function limitValue(settings: Settings, field: string): number {
  const v = settings[field];
  if (v === undefined) return 0;
  return v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v);
}

/** True when a feature switch is ON. */
export function featureOn(settings: Settings, field: string): boolean {
  return settings[field] === 'ON';
}

/**
 * Whether a reseller's users fit what the reseller has: `current` are the settings of the users that stay
 * as they are, `wanted` those of the users being created or changed. No user may get a feature switch the
 * reseller lacks; unless the reseller may oversell, no user may get an unlimited amount of something the
 * reseller has a limit on, and the users together may not get more than that limit. Returns why not, or
 * null when they fit.
 */
export function allocationProblem(own: Settings, current: Settings[], wanted: Settings[]): string | null {
  for (const f of switchFieldsFor('user')) {
    if (f === 'suspend_at_limit') continue;
    if (!featureOn(own, f) && wanted.some((w) => featureOn(w, f)))
      return `Your account does not have the ${f} feature, so it cannot give it to a user`;
  }
  if (featureOn(own, 'oversell')) return null;
  for (const f of limitFieldsFor('user')) {
    const cap = limitValue(own, f);
    if (cap === Number.POSITIVE_INFINITY) continue;
    if (wanted.some((w) => limitValue(w, f) === Number.POSITIVE_INFINITY))
      return `${f}: you cannot give unlimited ${f}; your own limit is ${cap}`;
    const sum = (list: Settings[]) => list.reduce((n, x) => n + limitValue(x, f), 0);
    const used = sum(current);
    const want = sum(wanted);
    if (used + want > cap)
      return `${f}: ${want} would bring your users to ${used + want}, over your limit of ${cap}`;
  }
  return null;
}

/** Parses a settings JSON column; a corrupt value yields no settings rather than a crash. */
export function readSettings(json: string): Settings {
  try {
    const v: unknown = JSON.parse(json);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: Settings = {};
      for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
      // Keys added one by one leave an object in dictionary mode, which every copy and spread of the
      // settings then pays for (CMD_API_SHOW_USER_CONFIG builds its answer from them on every request);
      // a spread copy has the fast layout.
      return { ...out };
    }
  } catch {
    // fall through
  }
  return {};
}

const sharedSettings = new Map<string, Readonly<Settings>>();

/**
 * readSettings for readers that only look: the parsed settings of a text, frozen and shared between
 * every caller with the same text (an account's settings are read on every request that checks a
 * feature switch, and change only with a new text).
 */
export function settingsView(json: string): Readonly<Settings> {
  let s = sharedSettings.get(json);
  if (!s) {
    s = Object.freeze(readSettings(json));
    if (sharedSettings.size >= 1000) sharedSettings.clear();
    sharedSettings.set(json, s);
  }
  return s;
}
