import { isIPv4, isIPv6 } from 'node:net';
import { fail } from '../../core/errors.js';
import { hasControlChars, printable } from '../../core/validation.js';
import { type DnsRecord, RECORD_TYPES, type RecordType } from './zone.types.js';

/**
 * Pure validation and presentation of DNS records. Everything a user sends passes through here before
 * it is stored, so a stored record can never carry a zone-file directive, a line break or an unbalanced
 * quote: names are restricted to letters, digits, `-`, `_` and a leading `*`, and only TXT and CAA values
 * may hold free text (without control characters; the renderer quotes and escapes them).
 */

export const MAX_TTL = 2_147_483_647;
/** A TXT record's text, all strings together: room for the longest DKIM keys. */
export const MAX_TXT_LENGTH = 8192;

const LABEL_RE = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Parses a record type (case-insensitive) or refuses it. */
export function parseType(raw: string): RecordType {
  const t = raw.trim().toUpperCase();
  if (!(RECORD_TYPES as readonly string[]).includes(t))
    fail('INVALID_PARAMETER', `type must be one of ${RECORD_TYPES.join(', ')}`);
  return t as RecordType;
}

function checkLabels(labels: string[], what: string, raw: string, wildcard: boolean): void {
  labels.forEach((l, i) => {
    if (wildcard && i === 0 && l === '*') return;
    if (!LABEL_RE.test(l)) fail('INVALID_PARAMETER', `${what} ${printable(raw)} is not a valid DNS name`);
  });
}

/**
 * An owner name relative to `origin`: `@`, empty or the origin itself (absolute, with a trailing dot)
 * is the apex; an absolute name must end in the origin; anything else is taken as relative.
 */
export function normalizeName(raw: string, origin: string): string {
  if (hasControlChars(raw)) fail('INVALID_PARAMETER', 'name must not contain control characters');
  const v = raw.trim().toLowerCase();
  if (v === '' || v === '@' || v === `${origin}.`) return '@';
  let rel: string;
  if (v.endsWith('.')) {
    const abs = v.slice(0, -1);
    if (!abs.endsWith(`.${origin}`))
      fail('INVALID_PARAMETER', `name ${printable(raw)} is not inside the zone ${origin}`);
    rel = abs.slice(0, -(origin.length + 1));
  } else rel = v;
  checkLabels(rel.split('.'), 'name', raw, true);
  if (rel.length + origin.length + 1 > 253) fail('INVALID_PARAMETER', `name ${printable(raw)} is too long`);
  return rel;
}

/** A host name as an absolute name with a trailing dot: relative ones are completed with the origin. */
export function normalizeTarget(raw: string, origin: string, field = 'value'): string {
  if (hasControlChars(raw)) fail('INVALID_PARAMETER', `${field} must not contain control characters`);
  const v = raw.trim().toLowerCase();
  if (v === '@') return `${origin}.`;
  const abs = v.endsWith('.') ? v.slice(0, -1) : `${v}.${origin}`;
  if (abs === '' || abs.length > 253)
    fail('INVALID_PARAMETER', `${field} ${printable(raw)} is not a host name`);
  checkLabels(abs.split('.'), field, raw, false);
  return `${abs}.`;
}

function uint(raw: string, field: string, max: number): string {
  const v = raw.trim();
  if (!/^\d{1,10}$/.test(v) || Number(v) > max)
    fail('INVALID_PARAMETER', `${field} must be a whole number from 0 to ${max}`);
  return String(Number(v));
}

/** A TTL in seconds, or undefined when not given. */
export function parseTtl(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return Number(uint(raw, 'ttl', MAX_TTL));
}

/**
 * TXT text as sent by clients: plain (`tok`), quoted (`"tok"`) or several quoted strings (`"a" "b"`).
 * Inside quotes `\"` and `\\` stand for `"` and `\`. Returns the strings, unquoted and unescaped.
 */
export function parseTxt(raw: string): string[] {
  if (hasControlChars(raw)) fail('INVALID_PARAMETER', 'TXT value must not contain control characters');
  const v = raw.trim();
  let strings: string[];
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) {
    strings = [];
    let i = 0;
    while (i < v.length) {
      if (v[i] === ' ') {
        i++;
        continue;
      }
      if (v[i] !== '"') return [v];
      let s = '';
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length) i++;
        s += v[i];
        i++;
      }
      // An unterminated quote: the value is not a quoted list after all, keep it as text.
      if (i >= v.length) return [v];
      strings.push(s);
      i++;
    }
  } else strings = [v];
  const total = strings.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (total === 0) fail('INVALID_PARAMETER', 'TXT value is empty');
  if (total > MAX_TXT_LENGTH) fail('INVALID_PARAMETER', `TXT value is longer than ${MAX_TXT_LENGTH} bytes`);
  return strings;
}

const FORBIDDEN_PLAIN = /["\\;()\s]/;

function plain(raw: string, field: string): string {
  const v = raw.trim();
  if (hasControlChars(v) || FORBIDDEN_PLAIN.test(v))
    fail('INVALID_PARAMETER', `${field} must not contain quotes, semicolons, backslashes or spaces`);
  return v;
}

/**
 * The RDATA of a record from DA-style input: `value` (and `mx_value`, the MX host when `value` is only
 * the preference). Throws INVALID_PARAMETER naming the problem.
 */
export function parseData(type: RecordType, value: string, origin: string, mxValue?: string): string[] {
  if (value.trim() === '' && !(type === 'MX' && mxValue)) fail('MISSING_PARAMETER', 'value is required');
  switch (type) {
    case 'A': {
      const v = value.trim();
      if (!isIPv4(v)) fail('INVALID_PARAMETER', `${printable(value)} is not an IPv4 address`);
      return [v];
    }
    case 'AAAA': {
      const v = value.trim().toLowerCase();
      if (!isIPv6(v) || v.includes('%'))
        fail('INVALID_PARAMETER', `${printable(value)} is not an IPv6 address`);
      return [v];
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return [normalizeTarget(plain(value, 'value'), origin)];
    case 'MX': {
      const parts = value.trim().split(/\s+/);
      if (mxValue !== undefined && mxValue.trim() !== '' && parts.length === 1)
        return [
          uint(parts[0] ?? '', 'MX priority', 65535),
          normalizeTarget(plain(mxValue, 'mx_value'), origin, 'mx_value'),
        ];
      if (parts.length !== 2)
        fail('INVALID_PARAMETER', 'MX needs a priority and a host (value and mx_value)');
      return [
        uint(parts[0] ?? '', 'MX priority', 65535),
        normalizeTarget(plain(parts[1] ?? '', 'MX host'), origin, 'MX host'),
      ];
    }
    case 'TXT':
      return parseTxt(value);
    case 'SRV': {
      const raw = value.trim().split(/\s+/);
      if (raw.length !== 4)
        fail(
          'INVALID_PARAMETER',
          'SRV needs priority, weight, port and target ("10 5 5060 sip.example.com.")',
        );
      const target =
        raw[3] === '.' ? '.' : normalizeTarget(plain(raw[3] ?? '', 'SRV target'), origin, 'SRV target');
      return [
        uint(raw[0] ?? '', 'SRV priority', 65535),
        uint(raw[1] ?? '', 'SRV weight', 65535),
        uint(raw[2] ?? '', 'SRV port', 65535),
        target,
      ];
    }
    case 'CAA': {
      if (hasControlChars(value)) fail('INVALID_PARAMETER', 'CAA value must not contain control characters');
      const m = /^\s*(\d{1,3})\s+([A-Za-z0-9]{1,15})\s+(?:"([^"\\]*)"|([^"\\\s]+))\s*$/.exec(value);
      if (!m || Number(m[1]) > 255)
        fail('INVALID_PARAMETER', 'CAA needs flags, a tag and a value ("0 issue letsencrypt.org")');
      return [String(Number(m[1])), (m[2] ?? '').toLowerCase(), m[3] ?? m[4] ?? ''];
    }
  }
}

/** Refuses a record that cannot stand beside the others at its name (CNAME exclusivity, apex CNAME). */
export function conflictProblem(rec: DnsRecord, others: DnsRecord[]): string | null {
  const same = others.filter((o) => o.name === rec.name);
  if (rec.type === 'CNAME') {
    if (rec.name === '@') return 'A CNAME cannot be at the zone apex';
    if (same.length > 0) return `${rec.name} already has other records; a CNAME must stand alone`;
  } else if (same.some((o) => o.type === 'CNAME'))
    return `${rec.name} has a CNAME; no other record may be added there`;
  return null;
}

/** Whether two records carry the same data (the TTL is not part of a record's identity). */
export function sameRecord(a: DnsRecord, b: DnsRecord): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    a.data.length === b.data.length &&
    a.data.every((d, i) => d === b.data[i])
  );
}

/**
 * The next SOA serial, `YYYYMMDDnn` of the clock's UTC day: the day's first number, or one more than
 * the current serial when that is already today's or later, so it never goes backwards.
 */
export function nextSerial(current: number, nowMs: number): number {
  const d = new Date(nowMs);
  const base = (d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
  return current >= base ? current + 1 : base + 1;
}

function quoteTxt(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A record's name as DirectAdmin lists it: the apex as the absolute origin, others relative. */
export function displayName(name: string, origin: string): string {
  return name === '@' ? `${origin}.` : name;
}

/** A host inside the zone relative to it (DA lists MX hosts so), else absolute. */
function relativeHost(target: string, origin: string): string {
  if (target === `${origin}.`) return `${origin}.`;
  return target.endsWith(`.${origin}.`) ? target.slice(0, -(origin.length + 2)) : target;
}

/** A record's value in DirectAdmin's presentation (what `value` shows and `combined` carries). */
export function displayValue(r: DnsRecord, origin: string): string {
  switch (r.type) {
    case 'TXT': {
      // One plain string is shown as sent (lexicon compares it with what it created); several strings,
      // or one that starts or ends with a quote, are shown quoted so that reading the value back gives
      // the same strings.
      const only = r.data.length === 1 ? (r.data[0] ?? '') : undefined;
      if (only !== undefined && !/^"|"$/.test(only)) return only;
      return r.data.map(quoteTxt).join(' ');
    }
    case 'MX':
      return `${r.data[0]} ${relativeHost(r.data[1] ?? '', origin)}`;
    case 'CAA':
      return `${r.data[0]} ${r.data[1]} ${quoteTxt(r.data[2] ?? '')}`;
    default:
      return r.data.join(' ');
  }
}
