import type { Actor } from '../../auth/actor.js';
import { AppError, fail, isAppError } from '../../core/errors.js';
import type { StoredRecord } from '../../modules/dns/dns.repository.js';
import {
  type ChangeResult,
  type RecordOp,
  serialMismatch,
  type ZoneListing,
} from '../../modules/dns/dns.service.js';
import type { Services } from '../../services.js';
import type { Params } from '../params.js';
import type { Api2Function } from './api2.js';
import { exec, required as need, opt, peek } from './call.js';
import type { UapiContext, UapiFunction } from './uapi.js';

/*
 * cPanel's DNS functions over hostdeck's DNS commands: UAPI DNS::parse_zone and DNS::mass_edit_zone, and
 * API 2 ZoneEdit (fetchzones, fetchzone_records, add/edit/remove_zone_record). cPanel addresses records
 * by their line in the zone file, so each zone is presented as a fixed layout of lines (two comments, the
 * `$TTL` control, the SOA on one line, then one line per record in the order they were stored); a line
 * index is valid for as long as the zone keeps its serial, which is why mass_edit_zone takes the serial
 * and every change by line is applied only while the serial is still the one the lines were read at.
 * Only types come from uapi.ts and api2.ts, so their function tables can include these without a cycle.
 */

/** The cPanel version the first comment line names (the same one WHM's `version` reports). */
const CPANEL_VERSION = '11.126.0.0';

/** Registry command prefix: a cPanel account's own zones, or those a WHM caller manages. */
export type ZonePrefix = 'dns' | 'dns.managed';

/** What a zone function needs: the services, the caller and the request's parameters. */
export interface DnsCallContext {
  services: Services;
  actor: Actor;
  params: Params;
}

const secs = (ms: number) => Math.floor(ms / 1000);
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

// ------------------------------------------------------------------------------ the line model

/** One line of a zone as cPanel numbers them. */
export interface ZoneLine {
  type: 'comment' | 'control' | 'record';
  text: string;
  /** Record lines: absolute owner name with a trailing dot, TTL, type and RDATA fields. */
  dname?: string;
  ttl?: number;
  recordType?: string;
  data?: string[];
  /** The stored record behind a record line (absent for the SOA). */
  stored?: StoredRecord;
}

function absolute(name: string, origin: string): string {
  return name === '@' ? `${origin}.` : `${name}.${origin}.`;
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** RDATA in zone-file presentation: TXT strings and the CAA value quoted and escaped. */
function rdataText(type: string, data: string[]): string {
  if (type === 'TXT') return data.map(quote).join(' ');
  if (type === 'CAA') return `${data[0]} ${data[1]} ${quote(data[2] ?? '')}`;
  return data.join(' ');
}

/** The zone as numbered lines (index = cPanel's `line_index`). */
export function zoneLines(l: ZoneListing, hostname: string): ZoneLine[] {
  const z = l.zone;
  const origin = z.origin;
  const soaData = [
    z.mname,
    z.rname,
    String(z.serial),
    String(z.refresh),
    String(z.retry),
    String(z.expire),
    String(z.minimum),
  ];
  const line = (dname: string, ttl: number, type: string, data: string[], stored?: StoredRecord) => {
    const out: ZoneLine = {
      type: 'record',
      text: `${dname}\t${ttl}\tIN\t${type}\t${rdataText(type, data)}`,
      dname,
      ttl,
      recordType: type,
      data,
    };
    if (stored) out.stored = stored;
    return out;
  };
  return [
    {
      type: 'comment',
      text: `; cPanel first:${CPANEL_VERSION} (update_time):${secs(z.updated_at)} Cpanel::ZoneFile::VERSION:1.3 hostname:${hostname} latest:${CPANEL_VERSION}`,
    },
    { type: 'comment', text: `; Zone file for ${origin}` },
    { type: 'control', text: `$TTL ${z.ttl}` },
    line(`${origin}.`, z.ttl, 'SOA', soaData),
    ...l.records.map((r) => line(absolute(r.name, origin), r.ttl ?? z.ttl, r.type, r.data, r)),
  ];
}

/** parse_zone's item for a line: comments and controls carry `text_b64`, records their fields in base64. */
export function parseZoneItem(l: ZoneLine, index: number): Record<string, unknown> {
  if (l.type !== 'record') return { line_index: index, text_b64: b64(l.text), type: l.type };
  return {
    line_index: index,
    type: 'record',
    record_type: l.recordType,
    dname_b64: b64(l.dname ?? ''),
    ttl: l.ttl,
    data_b64: (l.data ?? []).map(b64),
  };
}

/** A zone's lines read with a prefix's list command; `free` reads without spending a use. */
async function readLines(
  ctx: DnsCallContext,
  prefix: ZonePrefix,
  zone: string,
  free: boolean,
): Promise<{ listing: ZoneListing; lines: ZoneLine[] }> {
  const read = free ? peek : exec;
  const listing = await missingAsCpanel(zone, () =>
    read<ZoneListing>(ctx, `${prefix}.records.list`, { domain: zone }),
  );
  return { listing, lines: zoneLines(listing, ctx.services.config.hostname) };
}

/** cPanel's answer for a zone the caller has not got (another account's zone answers exactly the same). */
async function missingAsCpanel<T>(zone: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isAppError(e) && e.code === 'ZONE_NOT_FOUND')
      throw new AppError(
        'ZONE_NOT_FOUND',
        `You do not control a DNS zone named ${zone.slice(0, 255).replace(/[^\x21-\x7e]/g, '?')}.`,
      );
    throw e;
  }
}

// ----------------------------------------------------------------------------- record values

/** The value string the DNS commands take, from RDATA fields as cPanel sends them. */
function recordValue(type: string, data: string[]): string {
  const want: Record<string, number> = { MX: 2, SRV: 4, CAA: 3 };
  const n = want[type] ?? (type === 'TXT' ? -1 : 1);
  if (type === 'TXT' ? data.length === 0 : data.length !== n)
    fail(
      'INVALID_PARAMETER',
      `A ${type} record needs ${n === -1 ? 'at least one' : n} data value${n === 1 ? '' : 's'}.`,
    );
  if (type === 'TXT') return data.map(quote).join(' ');
  if (type === 'CAA') return `${data[0]} ${data[1]} ${quote(data[2] ?? '')}`;
  return data.join(' ');
}

/** The delete operation that removes exactly the record of a line. */
function deleteOpOf(l: ZoneLine, index: number): RecordOp {
  if (l.type !== 'record' || !l.stored)
    fail(
      'INVALID_PARAMETER',
      l.recordType === 'SOA'
        ? `Line ${index} is the SOA record, which the server maintains.`
        : `Line ${index} is not a record.`,
    );
  const r = l.stored;
  return { op: 'delete', name: l.dname ?? '', type: r.type, value: recordValue(r.type, r.data) };
}

/** The line a request names, or cPanel's error for a line the zone does not have. */
function lineAt(lines: ZoneLine[], raw: unknown): { line: ZoneLine; index: number } {
  const index =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(index) || index < 0)
    fail('INVALID_PARAMETER', `The line index “${String(raw).slice(0, 20)}” is not a whole number.`);
  const line = lines[index];
  if (!line) fail('RECORD_NOT_FOUND', `The zone has no line ${index}.`);
  return { line, index };
}

interface RecordSpec {
  dname: string;
  ttl?: number;
  record_type: string;
  data: string[];
  /** API 2 TXT text as sent (plain, or quoted strings), rather than a list of strings. */
  rawTxt?: string;
}

/** One `add` or `edit` value of mass_edit_zone: a JSON object, checked field by field. */
function recordSpec(raw: string, key: 'add' | 'edit'): RecordSpec & { line_index?: unknown } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return fail('INVALID_PARAMETER', `The “${key}” value is not valid JSON: ${raw.slice(0, 60)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('INVALID_PARAMETER', `The “${key}” value must be a JSON object.`);
  const o = v as Record<string, unknown>;
  if (typeof o.dname !== 'string') fail('INVALID_PARAMETER', `The “${key}” value needs a “dname” string.`);
  if (typeof o.record_type !== 'string')
    fail('INVALID_PARAMETER', `The “${key}” value needs a “record_type” string.`);
  if (!Array.isArray(o.data) || !o.data.every((d) => typeof d === 'string'))
    fail('INVALID_PARAMETER', `The “${key}” value needs “data”, an array of strings.`);
  let ttl: number | undefined;
  if (o.ttl !== undefined && o.ttl !== null && o.ttl !== '') {
    ttl = typeof o.ttl === 'number' ? o.ttl : /^\d{1,10}$/.test(String(o.ttl)) ? Number(o.ttl) : NaN;
    if (!Number.isSafeInteger(ttl) || ttl < 0 || ttl > 2_147_483_647)
      fail('INVALID_PARAMETER', `The “${key}” value's “ttl” must be a whole number of seconds.`);
  }
  const spec: RecordSpec & { line_index?: unknown } = {
    dname: o.dname,
    record_type: o.record_type.toUpperCase(),
    data: o.data as string[],
  };
  if (ttl !== undefined) spec.ttl = ttl;
  if (key === 'edit') spec.line_index = o.line_index;
  return spec;
}

function addOpOf(s: RecordSpec): RecordOp {
  const op: RecordOp = {
    op: 'add',
    name: s.dname,
    type: s.record_type,
    value: recordValue(s.record_type, s.data),
  };
  if (s.ttl !== undefined) op.ttl = s.ttl;
  return op;
}

/** A serial parameter: the digits of a `YYYYMMDDnn`. */
function serialParam(p: Params): number {
  const raw = need(p, 'serial').trim();
  if (!/^\d{1,10}$/.test(raw))
    fail('INVALID_PARAMETER', `The serial number “${raw.slice(0, 20)}” is not valid.`);
  return Number(raw);
}

/**
 * DNS::mass_edit_zone (and WHM's mass_edit_dns_zone): removals, edits and additions, all or none, while
 * the zone still has `serial`. Answers the new serial.
 */
export async function massEditZone(ctx: DnsCallContext, prefix: ZonePrefix): Promise<string> {
  const p = ctx.params;
  const zone = need(p, 'zone');
  const serial = serialParam(p);
  const adds = [...p.all('add'), ...p.indexed('add-')].map((a) => recordSpec(a, 'add'));
  const edits = [...p.all('edit'), ...p.indexed('edit-')].map((e) => recordSpec(e, 'edit'));
  const removes = [...p.all('remove'), ...p.indexed('remove-')];
  if (adds.length + edits.length + removes.length === 0)
    fail('MISSING_PARAMETER', 'You must specify at least one “add”, “edit” or “remove”.');
  const ops: RecordOp[] = [];
  if (edits.length + removes.length > 0) {
    const { listing, lines } = await readLines(ctx, prefix, zone, true);
    if (Number(listing.zone.serial) !== serial) serialMismatch(serial, Number(listing.zone.serial));
    const seen = new Set<number>();
    const take = (raw: unknown) => {
      const at = lineAt(lines, raw);
      if (seen.has(at.index)) fail('INVALID_PARAMETER', `Line ${at.index} is named more than once.`);
      seen.add(at.index);
      return at;
    };
    for (const r of removes) {
      const { line, index } = take(r.trim());
      ops.push(deleteOpOf(line, index));
    }
    for (const e of edits) {
      const { line, index } = take(e.line_index);
      ops.push(deleteOpOf(line, index), addOpOf(e));
    }
  }
  ops.push(...adds.map(addOpOf));
  const r = await missingAsCpanel(zone, () =>
    exec<ChangeResult>(ctx, `${prefix}.records.change`, { domain: zone, ops, serial }),
  );
  return String(r.serial);
}

/** DNS::parse_zone (and WHM's parse_dns_zone): every line of the zone as cPanel's items. */
export async function parseZone(ctx: DnsCallContext, prefix: ZonePrefix): Promise<Record<string, unknown>[]> {
  const { lines } = await readLines(ctx, prefix, need(ctx.params, 'zone'), false);
  return lines.map(parseZoneItem);
}

// ------------------------------------------------------------------------------------- API 2

/** API 2's view of one record line: the fields ZoneEdit clients read, by record type. */
function api2Record(l: ZoneLine, index: number): Record<string, unknown> {
  const d = l.data ?? [];
  const type = l.recordType ?? '';
  // API 2 numbers lines from 1; clients hand `line` (or `Line`) back unchanged.
  const out: Record<string, unknown> = {
    Line: index + 1,
    line: index + 1,
    class: 'IN',
    name: l.dname,
    ttl: l.ttl,
    type,
    record: rdataText(type, d),
  };
  switch (type) {
    case 'A':
    case 'AAAA':
      out.address = d[0];
      break;
    case 'CNAME':
      out.cname = d[0];
      break;
    case 'NS':
      out.nsdname = d[0];
      break;
    case 'PTR':
      out.ptrdname = d[0];
      break;
    case 'MX':
      out.preference = Number(d[0]);
      out.exchange = d[1];
      break;
    case 'TXT':
      out.txtdata = d.join('');
      break;
    case 'SRV':
      out.priority = Number(d[0]);
      out.weight = Number(d[1]);
      out.port = Number(d[2]);
      out.target = d[3];
      break;
    case 'CAA':
      out.flag = Number(d[0]);
      out.tag = d[1];
      out.value = d[2];
      break;
    case 'SOA':
      Object.assign(out, {
        mname: d[0],
        rname: d[1],
        serial: d[2],
        refresh: Number(d[3]),
        retry: Number(d[4]),
        expire: Number(d[5]),
        minimum: Number(d[6]),
      });
      break;
  }
  return out;
}

/** The API 2 line number a request names (`line` or `Line`), as a line index. */
function api2Line(p: Params, lines: ZoneLine[]): { line: ZoneLine; index: number } {
  const raw = opt(p, 'line') ?? opt(p, 'Line');
  if (raw === undefined) fail('MISSING_PARAMETER', 'You must specify the “line” parameter.');
  if (!/^\d{1,9}$/.test(raw.trim()) || Number(raw) < 1)
    fail('INVALID_PARAMETER', `The line “${raw.slice(0, 20)}” is not a whole number.`);
  return lineAt(lines, Number(raw) - 1);
}

/** The record an API 2 add or edit describes (`txtdata`, `address`, `cname`, `exchange`…), else `base`'s. */
function api2Spec(p: Params, base?: ZoneLine): RecordSpec {
  const type = (opt(p, 'type') ?? base?.recordType ?? '').toUpperCase();
  if (type === '') fail('MISSING_PARAMETER', 'You must specify the “type” parameter.');
  const old = base && base.recordType === type ? (base.data ?? []) : [];
  const field = (key: string, i: number) => opt(p, key) ?? old[i] ?? '';
  let data: string[];
  let rawTxt: string | undefined;
  switch (type) {
    case 'A':
    case 'AAAA':
      data = [field('address', 0)];
      break;
    case 'CNAME':
      data = [field('cname', 0)];
      break;
    case 'NS':
      data = [field('nsdname', 0)];
      break;
    case 'PTR':
      data = [field('ptrdname', 0)];
      break;
    case 'MX':
      data = [field('preference', 0), field('exchange', 1)];
      break;
    case 'TXT': {
      data = old;
      const t = opt(p, 'txtdata');
      // Plain text is one string; a client that quotes gets its quoted strings.
      if (t !== undefined) {
        data = [t];
        rawTxt = t;
      }
      break;
    }
    case 'SRV':
      data = [field('priority', 0), field('weight', 1), field('port', 2), field('target', 3)];
      break;
    case 'CAA':
      data = [field('flag', 0), field('tag', 1), field('value', 2)];
      break;
    default:
      data = [];
  }
  if (data.length === 0 || data.every((d) => d === ''))
    fail('MISSING_PARAMETER', `The ${type} record's data is missing.`);
  const name = opt(p, 'name') ?? base?.dname;
  if (name === undefined) fail('MISSING_PARAMETER', 'You must specify the “name” parameter.');
  const ttlRaw = opt(p, 'ttl');
  const spec: RecordSpec = { dname: name, record_type: type, data };
  if (rawTxt !== undefined) spec.rawTxt = rawTxt;
  if (ttlRaw !== undefined) {
    if (!/^\d{1,10}$/.test(ttlRaw.trim())) fail('INVALID_PARAMETER', 'The “ttl” must be a whole number.');
    spec.ttl = Number(ttlRaw);
  } else if (base?.stored?.ttl != null) spec.ttl = base.stored.ttl;
  return spec;
}

/** TXT from API 2 is sent as text, not as a list of strings: it is read the way DA values are. */
function api2AddOp(s: RecordSpec): RecordOp {
  if (s.rawTxt === undefined) return addOpOf(s);
  const op: RecordOp = { op: 'add', name: s.dname, type: 'TXT', value: s.rawTxt };
  if (s.ttl !== undefined) op.ttl = s.ttl;
  return op;
}

function api2Changed(r: ChangeResult, text: string): unknown[] {
  return [{ result: { newserial: String(r.serial), status: 1, statusmsg: text } }];
}

/** The UAPI DNS functions. */
export const DNS_UAPI_FUNCTIONS: Record<string, UapiFunction> = {
  'DNS::parse_zone': {
    uses: ['dns.records.list'],
    mutates: false,
    run: async (ctx) => ({ data: await parseZone(ctx, 'dns') }),
  },
  'DNS::mass_edit_zone': {
    uses: ['dns.records.list', 'dns.records.change'],
    mutates: true,
    run: async (ctx) => ({ data: { new_serial: await massEditZone(ctx, 'dns') } }),
  },
};

async function fetchzones(ctx: UapiContext): Promise<unknown[]> {
  const domains = await exec<string[]>(ctx, 'domain.list', {});
  const zones: Record<string, string[]> = {};
  for (const d of domains) {
    const { lines } = await readLines(ctx, 'dns', d, false);
    zones[d] = lines.map((l) => l.text);
  }
  // Scalars before `zones`, none holding a colon: one shell client takes the first zone's name as the
  // tenth colon-separated field of the whole answer.
  return [
    {
      status: 1,
      statusmsg: 'Zones fetched',
      user: ctx.actor.account.username,
      count: domains.length,
      main_domain: domains.includes(ctx.actor.account.domain) ? ctx.actor.account.domain : '',
      zones,
    },
  ];
}

/** fetchzone_records' filters: `name` (with or without the trailing dot), `type`, values, `line`. */
function api2Filter(p: Params): (r: Record<string, unknown>) => boolean {
  const eq = (key: string, norm: (s: string) => string = (s) => s) => {
    const want = opt(p, key);
    return (r: Record<string, unknown>) => want === undefined || norm(String(r[key] ?? '')) === norm(want);
  };
  const dotted = (s: string) => (s.endsWith('.') ? s : `${s}.`).toLowerCase();
  const tests = [
    eq('name', dotted),
    eq('type', (s) => s.toUpperCase()),
    eq('txtdata'),
    eq('address'),
    eq('cname', dotted),
    eq('ttl'),
    eq('line'),
    eq('class', (s) => s.toUpperCase()),
  ];
  const custom = opt(p, 'customonly') === '1';
  const apex = dotted(p.get('domain') ?? '');
  // customonly leaves out what the server maintains: the SOA and the zone's own NS records.
  return (r) =>
    tests.every((t) => t(r)) && !(custom && (r.type === 'SOA' || (r.type === 'NS' && r.name === apex)));
}

/** The API 2 ZoneEdit functions. */
export const DNS_API2_FUNCTIONS: Record<string, Api2Function> = {
  'ZoneEdit::fetchzones': { uses: ['domain.list', 'dns.records.list'], mutates: false, run: fetchzones },
  'ZoneEdit::fetchzone_records': {
    uses: ['dns.records.list'],
    mutates: false,
    async run(ctx) {
      const { lines } = await readLines(ctx, 'dns', need(ctx.params, 'domain'), false);
      const keep = api2Filter(ctx.params);
      return lines
        .map((l, i) => (l.type === 'record' ? api2Record(l, i) : null))
        .filter((r): r is Record<string, unknown> => r !== null && keep(r));
    },
  },
  'ZoneEdit::add_zone_record': {
    uses: ['dns.records.change'],
    mutates: true,
    async run(ctx) {
      const domain = need(ctx.params, 'domain');
      const op = api2AddOp(api2Spec(ctx.params));
      const r = await missingAsCpanel(domain, () =>
        exec<ChangeResult>(ctx, 'dns.records.change', { domain, ops: [op] }),
      );
      return api2Changed(r, `Added the ${op.type} record.`);
    },
  },
  'ZoneEdit::edit_zone_record': {
    uses: ['dns.records.list', 'dns.records.change'],
    mutates: true,
    async run(ctx) {
      const domain = need(ctx.params, 'domain');
      const { listing, lines } = await readLines(ctx, 'dns', domain, true);
      const { line, index } = api2Line(ctx.params, lines);
      const ops = [deleteOpOf(line, index), api2AddOp(api2Spec(ctx.params, line))];
      const r = await missingAsCpanel(domain, () =>
        exec<ChangeResult>(ctx, 'dns.records.change', {
          domain,
          ops,
          serial: Number(listing.zone.serial),
        }),
      );
      return api2Changed(r, `Edited line ${index + 1}.`);
    },
  },
  'ZoneEdit::remove_zone_record': {
    uses: ['dns.records.list', 'dns.records.change'],
    mutates: true,
    async run(ctx) {
      const domain = need(ctx.params, 'domain');
      const { listing, lines } = await readLines(ctx, 'dns', domain, true);
      const { line, index } = api2Line(ctx.params, lines);
      const r = await missingAsCpanel(domain, () =>
        exec<ChangeResult>(ctx, 'dns.records.change', {
          domain,
          ops: [deleteOpOf(line, index)],
          serial: Number(listing.zone.serial),
        }),
      );
      return api2Changed(r, `Removed line ${index + 1}.`);
    },
  },
};
