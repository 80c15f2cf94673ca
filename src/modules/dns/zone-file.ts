import { AppError, fail } from '../../core/errors.js';
import { hasControlChars, printable } from '../../core/validation.js';
import {
  conflictProblem,
  MAX_TTL,
  normalizeName,
  normalizeTarget,
  parseData,
  parseType,
  sameRecord,
} from './records.js';
import type { DnsRecord, Soa } from './zone.types.js';

/**
 * A parser for the zone files a DirectAdmin master pushes (`CMD_API_DNS_ADMIN action=rawsave`): BIND's
 * master-file format as DA writes it (`$TTL`, `$ORIGIN` of the zone itself, parenthesised SOA, an empty
 * owner meaning the previous one, optional TTL and class, comments). Every record goes through the same
 * validation as one added through the API; `$INCLUDE`, `$GENERATE`, another `$ORIGIN`, unknown types and
 * anything malformed refuse the whole zone, naming the line.
 */

export interface ParsedZone {
  ttl: number;
  soa: Soa;
  records: DnsRecord[];
}

/** Zone files larger than this are refused before parsing. */
export const MAX_ZONE_FILE_BYTES = 1 << 20;

interface Line {
  no: number;
  /** The line began with white space: its owner is the previous record's. */
  inherits: boolean;
  tokens: string[];
}

function bad(no: number, why: string): never {
  return fail('INVALID_PARAMETER', `zone file line ${no}: ${why}`);
}

/**
 * Splits the text into logical lines of tokens: comments removed, parenthesised groups joined, quoted
 * strings kept whole with their quotes (and backslash escapes) so TXT data can be read back exactly.
 */
function logicalLines(text: string): Line[] {
  const out: Line[] = [];
  let tokens: string[] = [];
  let depth = 0;
  let startNo = 1;
  let inherits = false;
  let no = 1;
  let atLineStart = true;
  let i = 0;
  const flush = () => {
    if (tokens.length > 0) out.push({ no: startNo, inherits, tokens });
    tokens = [];
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      no++;
      i++;
      if (depth === 0) {
        flush();
        atLineStart = true;
      }
      continue;
    }
    if (atLineStart) {
      startNo = no;
      inherits = c === ' ' || c === '\t';
      atLineStart = false;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) bad(no, 'unbalanced ")"');
      depth--;
      i++;
      continue;
    }
    let tok = '';
    if (c === '"') {
      tok = '"';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') bad(no, 'a quoted string runs past the end of the line');
        if (text[i] === '\\' && i + 1 < text.length) {
          tok += text.slice(i, i + 2);
          i += 2;
          continue;
        }
        tok += text[i];
        i++;
      }
      if (i >= text.length) bad(no, 'unterminated quoted string');
      tok += '"';
      i++;
    } else {
      while (i < text.length && !' \t\r\n;()"'.includes(text[i] as string)) {
        tok += text[i];
        i++;
      }
    }
    tokens.push(tok);
  }
  if (depth !== 0) bad(no, 'unbalanced "("');
  flush();
  return out;
}

/** Runs a validation, naming the zone-file line in its error. */
function atLine<T>(no: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AppError) bad(no, e.details || e.text);
    throw e;
  }
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A TTL in seconds, plain or with BIND's units (`1h30m`); undefined when the token is not one. */
function ttlToken(tok: string): number | undefined {
  const t = tok.toLowerCase();
  if (/^\d{1,10}$/.test(t)) return Number(t);
  if (!/^(\d{1,7}[smhdw])+$/.test(t)) return undefined;
  let n = 0;
  for (const m of t.matchAll(/(\d+)([smhdw])/g)) n += Number(m[1]) * (UNIT[m[2] as string] ?? 0);
  return n;
}

function checkTtl(no: number, n: number): number {
  if (n > MAX_TTL) bad(no, `TTL ${n} is too large`);
  return n;
}

/** Parses and validates a zone file for `origin` (lowercase ASCII, no trailing dot). */
export function parseZoneFile(text: string, origin: string, defaultTtl: number): ParsedZone {
  if (Buffer.byteLength(text) > MAX_ZONE_FILE_BYTES)
    fail('PAYLOAD_TOO_LARGE', 'The zone file is larger than 1 MB');
  if (hasControlChars(text.replace(/[\n\r\t]/g, '')))
    fail('INVALID_PARAMETER', 'The zone file holds control characters');
  let ttl: number | undefined;
  let soa: Soa | undefined;
  let owner: string | undefined;
  const records: DnsRecord[] = [];
  for (const line of logicalLines(text)) {
    const [first, ...rest] = line.tokens as [string, ...string[]];
    if (first.startsWith('$')) {
      const d = first.toUpperCase();
      if (d === '$TTL') {
        const n = rest.length === 1 ? ttlToken(rest[0] ?? '') : undefined;
        if (n === undefined) bad(line.no, '$TTL needs one TTL');
        ttl = checkTtl(line.no, n);
      } else if (d === '$ORIGIN') {
        if (rest.length !== 1 || (rest[0] ?? '').toLowerCase() !== `${origin}.`)
          bad(line.no, `$ORIGIN may only name the zone itself (${origin}.)`);
      } else bad(line.no, `${printable(first)} is not accepted`);
      continue;
    }
    const tokens = line.inherits ? line.tokens : rest;
    if (!line.inherits) owner = atLine(line.no, () => normalizeName(first, origin));
    if (owner === undefined) bad(line.no, 'the first record has no owner name');
    let recTtl: number | null = null;
    let k = 0;
    // TTL and class may come in either order before the type.
    for (let n = 0; n < 2 && k < tokens.length; n++) {
      const t = tokens[k] as string;
      if (t.toUpperCase() === 'IN') k++;
      else if (ttlToken(t) !== undefined) {
        recTtl = checkTtl(line.no, ttlToken(t) as number);
        k++;
      }
    }
    const typeTok = tokens[k];
    if (typeTok === undefined) bad(line.no, 'no record type');
    const data = tokens.slice(k + 1);
    if (typeTok.toUpperCase() === 'SOA') {
      if (owner !== '@') bad(line.no, 'the SOA must be at the zone apex');
      if (soa) bad(line.no, 'a second SOA');
      if (data.length !== 7) bad(line.no, 'the SOA needs 7 fields');
      const nums = data.slice(2).map((t) => ttlToken(t));
      if (nums.some((n) => n === undefined || n > 4294967295)) bad(line.no, 'SOA numbers are not valid');
      const [serial, refresh, retry, expire, minimum] = nums as [number, number, number, number, number];
      soa = {
        mname: normalizeTarget(data[0] ?? '', origin, 'SOA mname'),
        rname: normalizeTarget(data[1] ?? '', origin, 'SOA rname'),
        serial,
        refresh,
        retry,
        expire,
        minimum,
      };
      continue;
    }
    const name = owner;
    const rec: DnsRecord = atLine(line.no, () => {
      const type = parseType(typeTok);
      return { name, type, ttl: recTtl, data: parseData(type, data.join(' '), origin) };
    });
    if (records.some((r) => sameRecord(r, rec))) continue;
    const problem = conflictProblem(rec, records);
    if (problem) bad(line.no, problem);
    records.push(rec);
  }
  if (!soa) fail('INVALID_PARAMETER', 'The zone file has no SOA record');
  return { ttl: ttl ?? defaultTtl, soa, records };
}
