import { isIP, SocketAddress } from 'node:net';

/*
 * The "Allowed IPs" list of a login key. Every entry is compiled to one closed interval of addresses in one
 * family, and a client matches when its address lies in an interval of its own family:
 *
 * - The syntax gate is node:net `isIP` (the parser Node itself uses): it accepts only strict dotted-decimal
 *   IPv4 (no `010.0.0.1` octal, `0x0a` hex or `10.1` short forms, which other parsers quietly accept and read
 *   differently) and RFC 4291 IPv6 text. Canonical IPv6 text comes from `SocketAddress` (libuv's inet_ntop).
 *   ipaddr.js was considered and set aside: 2.5.0 (the copy fastify ships) parses `::1.2.3.4` as the mapped
 *   `::ffff:1.2.3.4`, and its IPv4 parser accepts octal and hex octets. `BlockList` was set aside for matching
 *   because its cross-family behaviour is uneven (an IPv4 subnet matches `::ffff:` clients and `::/0` matches
 *   IPv4 clients, but ranges do neither), and the numbers are needed anyway to check range order and host bits.
 * - IPv4 and IPv6 are separate worlds: an IPv4 client, also when it arrives as `::ffff:a.b.c.d` from a
 *   dual-stack socket, is matched only by IPv4 entries, and `::/0` means every IPv6 address, not every address.
 *   An entry written in `::ffff:` form is therefore an IPv4 entry and is normalised to dotted form.
 * - Anything doubtful is refused when the list is saved, so that at request time a stored entry either matches
 *   or (if the stored text was somehow damaged) matches nothing: the check fails closed.
 */

/** One entry of a key's allowed-IP list, in normalised text (as stored). */
export interface IpRule {
  text: string;
}

/** The outcome of parsing an "Allowed IPs" field: normalised rules, or one sentence per bad line. */
export type ParseIpRulesResult =
  | { ok: true; rules: IpRule[]; normalized: string }
  | { ok: false; errors: string[] };

/** Default cap on the number of entries in one list. */
export const MAX_IP_RULES = 100;

interface Interval {
  family: 4 | 6;
  lo: bigint;
  hi: bigint;
}

interface Address {
  family: 4 | 6;
  value: bigint;
}

// `text` is lazy: only saving a list needs the normal text, and formatting IPv6 is most of the cost of a check.
type Compiled = { ok: true; interval: Interval; text: () => string } | { ok: false; why: string };

// The longest valid entry is an IPv6 full range with embedded IPv4 ends (45 + 1 + 45 characters).
const MAX_ENTRY_LENGTH = 100;
// Enough to point the user at the problem without echoing an unbounded paste back into an error answer.
const MAX_ERRORS = 20;
const MAPPED_HIGH = 0xffffn; // the 96-bit prefix of ::ffff:0:0/96, shifted down by 32 bits
const DECIMAL = /^(0|[1-9][0-9]{0,2})$/;

/** Parses an "Allowed IPs" field (one entry per line); invalid entries are refused here, never at use time. */
export function parseIpRules(input: string, maxRules: number = MAX_IP_RULES): ParseIpRulesResult {
  if (typeof input !== 'string') return { ok: false, errors: ['The IP list must be text.'] };
  const errors: string[] = [];
  let bad = 0;
  const seen = new Set<string>();
  const rules: IpRule[] = [];
  const lines = input.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const entry = line.trim();
    if (entry === '') continue;
    const c = compile(entry);
    if (!c.ok) {
      bad++;
      if (errors.length < MAX_ERRORS) errors.push(`Line ${i + 1} (${quote(entry)}): ${c.why}.`);
      continue;
    }
    const text = c.text();
    if (seen.has(text)) continue;
    seen.add(text);
    rules.push({ text });
  }
  if (bad > errors.length) errors.push(`${bad - errors.length} more lines are invalid.`);
  if (rules.length > maxRules)
    errors.push(`At most ${maxRules} IP entries are allowed and ${rules.length} were given.`);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, rules, normalized: rules.map((r) => r.text).join('\n') };
}

/** True when `clientIp` may use the key: any address for an empty list, else one entry must contain it. */
export function ipAllowed(rules: IpRule[], clientIp: string | undefined): boolean {
  if (rules.length === 0) return true;
  if (typeof clientIp !== 'string' || clientIp.length > 64 || clientIp.includes('%')) return false;
  const client = parseAddress(clientIp);
  if (!client) return false;
  for (const rule of rules) {
    const interval = typeof rule?.text === 'string' ? intervalOf(rule.text) : null;
    if (interval === null) continue; // a damaged stored entry grants nothing
    const { family, lo, hi } = interval;
    if (family === client.family && lo <= client.value && client.value <= hi) return true;
  }
  return false;
}

// Checks run on every request and compiling an entry costs microseconds, so compiled entries are remembered.
// The map holds only the pure result for a text, so it can never disagree with `compile`; it is emptied when
// full rather than tracked as an LRU, which keeps it bounded whatever texts arrive.
const intervals = new Map<string, Interval | null>();
const MAX_REMEMBERED = 4096;

function intervalOf(text: string): Interval | null {
  let interval = intervals.get(text);
  if (interval === undefined) {
    const c = compile(text);
    interval = c.ok ? c.interval : null;
    if (intervals.size >= MAX_REMEMBERED) intervals.clear();
    intervals.set(text, interval);
  }
  return interval;
}

function compile(entry: string): Compiled {
  if (entry.length > MAX_ENTRY_LENGTH) return fail('it is too long to be an IP address, range or CIDR block');
  if (/\s/.test(entry))
    return fail('an entry may not contain spaces or tabs; put each entry on its own line');
  if (entry.includes('%'))
    return fail('zone ids (%eth0) are not allowed, and a client address that carries one is never matched');
  const slash = entry.split('/');
  const dash = entry.split('-');
  if (slash.length === 2 && dash.length === 1) return compileCidr(slash[0]!, slash[1]!);
  if (dash.length === 2 && slash.length === 1) return compileRange(dash[0]!, dash[1]!);
  if (slash.length === 1 && dash.length === 1) {
    const a = readAddress(entry, SHAPES);
    if (typeof a === 'string') return fail(a);
    return { ok: true, interval: { family: a.family, lo: a.value, hi: a.value }, text: () => format(a) };
  }
  return fail(SHAPES);
}

const SHAPES =
  'it is not an IP address, a range (1.2.3.4-50 or 1.2.3.4-1.2.3.50) or a CIDR block (10.0.0.0/8, 2001:db8::/32)';

function compileCidr(addrText: string, prefixText: string): Compiled {
  const a = readAddress(addrText);
  if (typeof a === 'string') return fail(a);
  if (/^0[0-9]/.test(prefixText)) return fail(`the prefix length ${quote(prefixText)} has a leading zero`);
  if (!DECIMAL.test(prefixText)) return fail(`${quote(prefixText)} is not a prefix length`);
  const written = Number(prefixText);
  const bitsWritten = isIP(addrText) === 4 ? 32 : 128;
  if (written > bitsWritten)
    return fail(
      `/${written} is longer than an IPv${bitsWritten === 32 ? 4 : 6} address (at most /${bitsWritten})`,
    );
  // A `::ffff:` block of at least /96 lies inside the IPv4 world; a shorter one keeps its IPv6 meaning.
  const mappedBlock = a.family === 4 && bitsWritten === 128;
  if (mappedBlock && written < 96) return compileCidrIn(6, (MAPPED_HIGH << 32n) | a.value, written, addrText);
  const prefix = mappedBlock ? written - 96 : written;
  return compileCidrIn(a.family, a.value, prefix, addrText);
}

function compileCidrIn(family: 4 | 6, value: bigint, prefix: number, addrText: string): Compiled {
  const hostBits = BigInt((family === 4 ? 32 : 128) - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const network = value & ~hostMask;
  const net = (): string => `${format({ family, value: network })}/${prefix}`;
  if (network !== value)
    return fail(`${addrText} has bits set after the /${prefix} prefix; write ${net()} if the block is meant`);
  return { ok: true, interval: { family, lo: network, hi: network | hostMask }, text: net };
}

function compileRange(startText: string, endText: string): Compiled {
  const start = readAddress(startText);
  if (typeof start === 'string') return fail(start);
  if (!endText.includes('.') && !endText.includes(':')) {
    // DirectAdmin's short form `1.2.3.4-50` ranges over the last octet only.
    if (isIP(startText) !== 4)
      return fail('the short range form (1.2.3.4-50) is for IPv4 only; write the full end address');
    if (/^0[0-9]/.test(endText)) return fail(`the range end ${quote(endText)} has a leading zero`);
    if (!DECIMAL.test(endText) || Number(endText) > 255)
      return fail(`the range end ${quote(endText)} is not a number from 0 to 255`);
    const end = (start.value & ~0xffn) | BigInt(endText);
    if (end < start.value) return fail('the range starts after it ends');
    return {
      ok: true,
      interval: { family: 4, lo: start.value, hi: end },
      text: () => `${format(start)}-${endText}`,
    };
  }
  const end = readAddress(endText);
  if (typeof end === 'string') return fail(end);
  if (start.family !== end.family) {
    const mapped = isIP(startText) === 6 && isIP(endText) === 6;
    return fail(
      mapped
        ? 'the range mixes IPv4-mapped (::ffff:a.b.c.d) and other IPv6 addresses'
        : 'the range mixes IPv4 and IPv6',
    );
  }
  if (start.value > end.value) return fail('the range starts after it ends');
  return {
    ok: true,
    interval: { family: start.family, lo: start.value, hi: end.value },
    text: () => `${format(start)}-${format(end)}`,
  };
}

/** The address in `text`, or why it is not one (for the error sentence). */
function readAddress(
  text: string,
  otherwise = `${quote(text)} is not a valid IPv4 or IPv6 address`,
): Address | string {
  const a = parseAddress(text);
  if (a) return a;
  // isIP refuses these too; the specific sentence saves the user a guess.
  const dotted = text.slice(text.lastIndexOf(':') + 1).split('.');
  const padded = dotted.length === 4 ? dotted.find((p) => /^0[0-9]+$/.test(p)) : undefined;
  if (padded !== undefined)
    return `"${padded}" has a leading zero, which some software reads as octal; write the number without it`;
  return text === '' ? SHAPES : otherwise;
}

/** Parses a strict IP address; IPv4-mapped IPv6 addresses come back as IPv4. */
function parseAddress(text: string): Address | undefined {
  const family = text.includes('%') ? 0 : isIP(text);
  if (family === 4) return { family: 4, value: ipv4Value(text) };
  if (family !== 6) return undefined;
  const value = ipv6Value(text);
  if (value >> 32n === MAPPED_HIGH) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

// Only ever called on text `isIP` has accepted, so the grammar is known and the arithmetic is all that is left.
function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let hex = text;
  const tail: number[] = [];
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':');
    const v4 = Number(ipv4Value(text.slice(cut + 1)));
    tail.push(v4 >>> 16, v4 & 0xffff);
    hex = text.slice(0, cut + 1);
    if (!hex.endsWith('::')) hex = hex.slice(0, -1);
  }
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const halves = hex.split('::');
  const head = groups(halves[0] ?? '');
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const gap = halves.length === 2 ? 8 - head.length - rest.length - tail.length : 0;
  const all = [...head, ...new Array<number>(gap).fill(0), ...rest, ...tail];
  if (all.length !== 8) throw new Error(`ipv6Value: unexpected shape ${text}`);
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function format(a: Address): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const full = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n]
    .map((s) => ((a.value >> s) & 0xffffn).toString(16))
    .join(':');
  return new SocketAddress({ address: full, family: 'ipv6' }).address;
}

function fail(why: string): Compiled {
  return { ok: false, why };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}
