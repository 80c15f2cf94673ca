import { isIPv4, isIPv6 } from 'node:net';
import { fail } from '../../../core/errors.js';
import { type DnsRecord, RECORD_TYPES, type RecordType, type Soa, type Zone } from '../zone.types.js';

/*
 * Zone data is stored already validated, but this renderer trusts none of it: every name is checked
 * against a strict label grammar and every free-text field is quoted and escaped, so no stored value can
 * end a line, start a comment, open a parenthesised group or become a `$` directive in the file BIND
 * reads. Anything that does not fit is thrown, never written.
 */

/** One label: letters, digits, hyphen and underscore (for `_acme-challenge`, `_sip._tcp`), 1–63 bytes. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const MAX_NAME = 253;
const MAX_U16 = 65535;
const MAX_U32 = 4294967295;
const MAX_TTL = 2147483647;

function bad(what: string): never {
  return fail('INVALID_PARAMETER', what);
}

/** A quoted form of a value for error messages that cannot itself break a log or error line. */
function show(v: unknown): string {
  return JSON.stringify(String(v)).slice(0, 80);
}

function checkLabels(labels: string[], what: string, value: string, wildcard: boolean): void {
  labels.forEach((l, i) => {
    if (l === '*' && wildcard && i === 0) return;
    if (!LABEL.test(l)) bad(`${what} ${show(value)} is not a valid DNS name`);
  });
}

/** Validates a zone origin (lowercase ASCII, no trailing dot) and returns it. */
export function checkOrigin(origin: string): string {
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > MAX_NAME)
    bad(`zone origin ${show(origin)} is not a valid domain`);
  const labels = origin.split('.');
  checkLabels(labels, 'zone origin', origin, false);
  // A zone with a single label (a TLD) or all-numeric last label is never a hosted domain.
  if (labels.length < 2 || /^[0-9]+$/.test(labels[labels.length - 1] ?? ''))
    bad(`zone origin ${show(origin)} is not a valid domain`);
  return origin;
}

/**
 * An owner name in presentation form relative to the fixed `$ORIGIN`: `@` for the apex, otherwise its
 * labels. Absolute names inside the zone are accepted and made relative; names outside it are refused.
 */
function ownerName(name: string, origin: string): string {
  if (typeof name !== 'string') bad(`record name ${show(name)} is not a string`);
  let rel = name.toLowerCase();
  if (rel === '@' || rel === `${origin}.`) return '@';
  if (rel.endsWith('.')) {
    if (!rel.endsWith(`.${origin}.`)) bad(`record name ${show(name)} is outside the zone ${origin}`);
    rel = rel.slice(0, -(origin.length + 2));
  }
  if (rel.length === 0 || rel.length + origin.length + 1 > MAX_NAME)
    bad(`record name ${show(name)} is not a valid DNS name`);
  checkLabels(rel.split('.'), 'record name', name, true);
  return rel;
}

/**
 * A domain name in RDATA (targets of CNAME, NS, PTR, MX, SRV, and SOA names): absolute with a trailing
 * dot, relative to the origin, `@`, or `.` (the root, for "no service" SRV and null MX).
 */
function targetName(name: string, what: string): string {
  if (typeof name !== 'string') bad(`${what} ${show(name)} is not a string`);
  const n = name.toLowerCase();
  if (n === '.' || n === '@') return n;
  const body = n.endsWith('.') ? n.slice(0, -1) : n;
  if (body.length === 0 || body.length > MAX_NAME) bad(`${what} ${show(name)} is not a valid DNS name`);
  checkLabels(body.split('.'), what, name, false);
  return n;
}

function int(v: unknown, min: number, max: number, what: string): string {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) bad(`${what} ${show(v)} must be ${min}–${max}`);
  return String(n);
}

const encoder = new TextEncoder();

/**
 * One character-string (RFC 1035 §5.1) in quotes: `"` and `\` escaped with a backslash, every byte
 * outside printable ASCII as `\DDD`. Nothing in the result can end the line or the quoted string.
 */
function quoteBytes(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) s += `\\${String(b).padStart(3, '0')}`;
    else s += String.fromCharCode(b);
  }
  return `${s}"`;
}

/** A text value as one or more quoted character-strings of at most 255 bytes each. */
export function txtStrings(text: string): string[] {
  if (typeof text !== 'string') bad(`TXT value ${show(text)} is not a string`);
  const bytes = encoder.encode(text);
  if (bytes.length === 0) return ['""'];
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(quoteBytes(bytes.subarray(i, i + 255)));
  return out;
}

function arity(r: DnsRecord, n: number): string[] {
  if (!Array.isArray(r.data) || r.data.length !== n)
    bad(`${r.type} record ${show(r.name)} needs ${n} data field${n === 1 ? '' : 's'}`);
  return r.data;
}

/** The RDATA of one record in presentation form. */
function rdata(r: DnsRecord): string {
  switch (r.type) {
    case 'A': {
      const [a] = arity(r, 1);
      if (typeof a !== 'string' || !isIPv4(a)) bad(`A record address ${show(a)} is not an IPv4 address`);
      return a;
    }
    case 'AAAA': {
      const [a] = arity(r, 1);
      // isIPv6 accepts a zone index (`fe80::1%eth0`), which is not an address a zone can hold.
      if (typeof a !== 'string' || !/^[0-9a-fA-F:.]+$/.test(a) || !isIPv6(a))
        bad(`AAAA record address ${show(a)} is not an IPv6 address`);
      return a.toLowerCase();
    }
    case 'CNAME':
    case 'NS':
    case 'PTR': {
      const [t] = arity(r, 1);
      return targetName(t as string, `${r.type} target`);
    }
    case 'MX': {
      const [pref, exchange] = arity(r, 2);
      return `${int(pref, 0, MAX_U16, 'MX preference')} ${targetName(exchange as string, 'MX exchange')}`;
    }
    case 'SRV': {
      const [prio, weight, port, target] = arity(r, 4);
      return [
        int(prio, 0, MAX_U16, 'SRV priority'),
        int(weight, 0, MAX_U16, 'SRV weight'),
        int(port, 0, MAX_U16, 'SRV port'),
        targetName(target as string, 'SRV target'),
      ].join(' ');
    }
    case 'CAA': {
      const [flags, tag, value] = arity(r, 3);
      if (typeof tag !== 'string' || !/^[a-zA-Z0-9]{1,15}$/.test(tag))
        bad(`CAA tag ${show(tag)} is not valid`);
      if (typeof value !== 'string') bad(`CAA value ${show(value)} is not a string`);
      const bytes = encoder.encode(value);
      if (bytes.length > 255) bad('CAA value is longer than 255 bytes');
      return `${int(flags, 0, 255, 'CAA flags')} ${tag.toLowerCase()} ${quoteBytes(bytes)}`;
    }
    case 'TXT': {
      if (!Array.isArray(r.data) || r.data.length === 0) bad(`TXT record ${show(r.name)} has no text`);
      const parts = r.data.flatMap(txtStrings);
      // Each quoted string carries a length byte; the whole RDATA must fit in 65535 bytes.
      const wire = r.data.reduce((n, t) => n + encoder.encode(t).length, 0) + parts.length;
      if (wire > MAX_U16) bad(`TXT record ${show(r.name)} is longer than 65535 bytes`);
      return parts.join(' ');
    }
    default:
      return bad(`record type ${show((r as { type: unknown }).type)} is not supported`);
  }
}

function soaLine(soa: Soa): string {
  return [
    '@',
    'IN',
    'SOA',
    targetName(soa.mname, 'SOA mname'),
    targetName(soa.rname, 'SOA rname'),
    int(soa.serial, 0, MAX_U32, 'SOA serial'),
    int(soa.refresh, 0, MAX_U32, 'SOA refresh'),
    int(soa.retry, 0, MAX_U32, 'SOA retry'),
    int(soa.expire, 0, MAX_U32, 'SOA expire'),
    int(soa.minimum, 0, MAX_U32, 'SOA minimum'),
  ].join(' ');
}

const HEADER_TAIL = ', written by hostdeck from its database; changes made here are overwritten';

/** True when a file's text starts like a zone this renderer wrote (reconcile removes only those). */
export function isRenderedZone(text: string): boolean {
  const first = text.slice(0, text.indexOf('\n'));
  return first.startsWith('; zone ') && first.endsWith(HEADER_TAIL);
}

const TYPE_ORDER = new Map<RecordType, number>(RECORD_TYPES.map((t, i) => [t, i]));

/** Apex first, then names in byte order; within a name the types in RECORD_TYPES order. */
function compareRecords(a: { owner: string; type: RecordType }, b: { owner: string; type: RecordType }) {
  if (a.owner !== b.owner) {
    if (a.owner === '@') return -1;
    if (b.owner === '@') return 1;
    return a.owner < b.owner ? -1 : 1;
  }
  return (TYPE_ORDER.get(a.type) ?? 0) - (TYPE_ORDER.get(b.type) ?? 0);
}

/**
 * Renders a zone as a BIND zone file: a comment naming it, one `$ORIGIN`, one `$TTL`, the SOA, then one
 * line per record sorted by owner name and type (records of equal name and type keep their given order).
 * Throws an INVALID_PARAMETER AppError naming the first field that is not valid.
 */
export function renderZone(zone: Zone): string {
  const origin = checkOrigin(zone.origin);
  const ttl = int(zone.ttl, 0, MAX_TTL, 'zone TTL');
  const lines = zone.records
    .map((r) => {
      if (!TYPE_ORDER.has(r.type)) bad(`record type ${show(r.type)} is not supported`);
      const owner = ownerName(r.name, origin);
      const t = r.ttl === null ? '' : `${int(r.ttl, 0, MAX_TTL, 'record TTL')} `;
      return { owner, type: r.type, line: `${owner} ${t}IN ${r.type} ${rdata(r)}` };
    })
    .sort(compareRecords)
    .map((r) => r.line);
  return [
    `; zone ${origin}${HEADER_TAIL}`,
    `$ORIGIN ${origin}.`,
    `$TTL ${ttl}`,
    soaLine(zone.soa),
    ...lines,
    '',
  ].join('\n');
}
