import { fail } from '../../core/errors.js';
import { zoneOf } from '../../modules/dns/dns.repository.js';
import type { ChangeResult, RecordOp, ZoneListing } from '../../modules/dns/dns.service.js';
import { displayName, displayValue, parseTtl } from '../../modules/dns/records.js';
import { renderZone } from '../../modules/dns/render/bind-zone.js';
import type { Params } from '../params.js';
import { type DaCommand, type DaContext, exec, need, requireLevel } from './context.js';
import type { DaAnswer } from './encode.js';

/*
 * CMD_API_DNS_CONTROL and CMD_API_DNS_ADMIN, with every quirk real clients rely on (spec/clients.md DA
 * rule 5): names relative or absolute, TXT values with or without quotes, deletion by content through
 * `<type>recsN=name=…&value=…` selectors whose index means nothing, the `amp;value` form a literal `&amp;`
 * in a body produces, and listing flags that are accepted and ignored.
 */

const SELECTOR_RE = /^(a|aaaa|cname|mx|txt|srv|caa|ns|ptr)recs(\d{1,6})$/;

interface Selector {
  type: string;
  index: number;
  name: string;
  value: string | undefined;
}

/** Splits `name=X&value=Y` (or `name=X&amp;value=Y`) at the first value marker: values may hold `&`. */
function splitSelector(raw: string): { name: string; value: string | undefined } {
  let text = raw;
  // A client that encoded the selector twice sends `name%3D…`; once decoded it reads like the others.
  if (!text.includes('=') && /%3d/i.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      fail('INVALID_PARAMETER', 'A record selector is not name=…&value=…');
    }
  }
  if (!text.startsWith('name=')) fail('INVALID_PARAMETER', 'A record selector must read name=…&value=…');
  const rest = text.slice(5);
  const marks = ['&value=', '&amp;value=']
    .map((m) => ({ m, at: rest.indexOf(m) }))
    .filter((x) => x.at >= 0)
    .sort((a, b) => a.at - b.at);
  const first = marks[0];
  if (!first) return { name: rest, value: undefined };
  return { name: rest.slice(0, first.at), value: rest.slice(first.at + first.m.length) };
}

/** The record selectors of a request, in index order, each with its value. */
function selectors(p: Params): Selector[] {
  const found: Selector[] = [];
  for (const key of p.keys()) {
    const m = SELECTOR_RE.exec(key.toLowerCase());
    if (!m) continue;
    for (const raw of p.all(key)) {
      const { name, value } = splitSelector(raw);
      found.push({ type: (m[1] ?? '').toUpperCase(), index: Number(m[2]), name, value });
    }
  }
  found.sort((a, b) => a.index - b.index);
  // `…&amp;value="x"` in a form body reaches us as a selector without its value plus a key `amp;value`.
  const loose = p.all('amp;value');
  const lacking = found.filter((s) => s.value === undefined);
  if (loose.length > 0 && loose.length === lacking.length)
    lacking.forEach((s, i) => {
      s.value = loose[i];
    });
  for (const s of found)
    if (s.value === undefined) fail('MISSING_PARAMETER', `The ${s.type} record selector has no value`);
  return found;
}

/** A TTL parameter; DA also sends `ttl=yes` as a listing flag, which means no TTL here. */
function ttlOf(p: Params): number | undefined {
  const v = p.get('ttl');
  if (v === undefined || v.toLowerCase() === 'yes' || v.toLowerCase() === 'no') return undefined;
  return parseTtl(v);
}

function addOp(p: Params, typeFallback?: string): RecordOp {
  const name = p.get('name');
  if (name === undefined) fail('MISSING_PARAMETER', 'name is required');
  const op: RecordOp = {
    op: 'add',
    name,
    type: p.get('type') || typeFallback || need(p, 'type'),
    value: p.get('value') ?? '',
  };
  const mx = p.get('mx_value');
  if (mx !== undefined) op.mxValue = mx;
  const ttl = ttlOf(p);
  if (ttl !== undefined) op.ttl = ttl;
  return op;
}

/** The JSON listing: DA's record list (`ttl` a string, `combined` the record's id) and zone flags. */
function jsonListing(l: ZoneListing, defaultTtl: number): unknown {
  const origin = l.zone.origin;
  return {
    records: l.records.map((r) => {
      const name = displayName(r.name, origin);
      const value = displayValue(r, origin);
      return {
        type: r.type,
        name,
        value,
        combined: `name=${name}&value=${value}`,
        ttl: String(r.ttl ?? l.zone.ttl),
      };
    }),
    dnssec: 'no',
    user_dnssec_control: 'no',
    dns_ns: '1',
    dns_ptr: '0',
    dns_spf: '1',
    dns_ttl: '1',
    // Record changes apply to the zone named only; affect_pointers is accepted and ignored (clients.md rule 5).
    DNS_AFFECT_POINTERS_DEFAULT: '0',
    dns_tlsa: '0',
    dns_caa: '1',
    allow_dns_underscore: '1',
    full_mx_records: '1',
    default_ttl: String(defaultTtl),
    allow_ttl_override: 'yes',
    ttl_is_overridden: l.zone.ttl === defaultTtl ? 'no' : 'yes',
    ttl: String(l.zone.ttl),
    ttl_value: String(l.zone.ttl),
  };
}

function rawListing(l: ZoneListing): string {
  return renderZone(zoneOf(l.zone, l.records));
}

/** The listing or change a DNS_CONTROL-style request asks for, run as `prefix` commands. */
async function dnsControl(ctx: DaContext, prefix: 'dns' | 'dns.admin'): Promise<DaAnswer> {
  const p = ctx.params;
  const domain = p.get('domain');
  if (domain === undefined || domain === '') fail('ZONE_NOT_FOUND', 'No domain provided');
  const action = (p.get('action') ?? '').toLowerCase();
  const change = async (ops: RecordOp[]) =>
    exec<ChangeResult>(ctx, `${prefix}.records.change`, { domain, ops });
  switch (action) {
    case '':
    case 'list':
    case 'view': {
      const l = await exec<ZoneListing>(ctx, `${prefix}.records.list`, { domain });
      if (p.get('json')?.toLowerCase() === 'yes')
        return { kind: 'record', data: {}, json: jsonListing(l, ctx.services.config.dnsDefaultTtl) };
      return { kind: 'text', body: rawListing(l) };
    }
    case 'add':
      await change([addOp(p)]);
      return { kind: 'action', text: 'Record Added', details: '' };
    case 'select': {
      const ops: RecordOp[] = selectors(p).map((s) => ({
        op: 'delete',
        name: s.name,
        type: s.type,
        value: s.value,
      }));
      if (ops.length === 0) fail('MISSING_PARAMETER', 'Select at least one record (arecs0=name=…&value=…)');
      await change(ops);
      return { kind: 'action', text: 'Records Deleted', details: '' };
    }
    case 'delete': {
      const op: RecordOp = { op: 'delete', name: need(p, 'name'), type: need(p, 'type') };
      const value = p.get('value');
      if (value !== undefined && value !== '') op.value = value;
      const mx = p.get('mx_value');
      if (mx !== undefined && op.value !== undefined) op.mxValue = mx;
      await change([op]);
      return { kind: 'action', text: 'Records Deleted', details: '' };
    }
    case 'edit': {
      const old = selectors(p);
      if (old.length !== 1)
        fail('INVALID_PARAMETER', 'Select exactly one record to edit (arecs0=name=…&value=…)');
      const o = old[0] as Selector;
      await change([{ op: 'delete', name: o.name, type: o.type, value: o.value }, addOp(p, o.type)]);
      return { kind: 'action', text: 'Record Edited', details: '' };
    }
    case 'ttl': {
      const custom = (p.get('ttl_select') ?? 'custom').toLowerCase();
      if (custom !== 'custom' && custom !== 'default')
        fail('INVALID_PARAMETER', 'ttl_select must be custom or default');
      const ttl = custom === 'default' ? null : parseTtl(need(p, 'ttl'));
      await exec(ctx, `${prefix}.zone.ttl`, { domain, ttl: ttl ?? null });
      return { kind: 'action', text: 'TTL Saved', details: '' };
    }
    default:
      return fail('INVALID_PARAMETER', 'action must be add, select, delete, edit or ttl');
  }
}

/** CMD_API_DNS_CONTROL: the caller's own zones. */
export const dnsControlCommand: DaCommand = {
  uses: ['dns.records.list', 'dns.records.change', 'dns.zone.ttl'],
  run: (ctx) => dnsControl(ctx, 'dns'),
};

/**
 * CMD_API_DNS_ADMIN: the same on any zone, for admins; with no action and no domain it is the
 * connectivity check of a DirectAdmin master, and `action=exists` tells whether a zone is here.
 */
export const dnsAdminCommand: DaCommand = {
  uses: [
    'dns.admin.records.list',
    'dns.admin.records.change',
    'dns.admin.zone.ttl',
    'dns.admin.zone.exists',
    'dns.admin.zone.rawsave',
    'dns.admin.zone.delete',
  ],
  level: 'admin',
  async run(ctx) {
    requireLevel(ctx, 'admin');
    const p = ctx.params;
    const action = (p.get('action') ?? '').toLowerCase();
    if (action === '' && !p.get('domain'))
      return { kind: 'record', data: { error: '0', text: 'OK' }, json: { success: 'OK', result: '' } };
    if (action === 'exists') {
      const exists = await exec<number>(ctx, 'dns.admin.zone.exists', { domain: need(p, 'domain') });
      return {
        kind: 'record',
        data: { error: '0', exists: String(exists) },
        json: { exists: String(exists) },
      };
    }
    if (action === 'rawsave') {
      const body = ctx.rawBody;
      if (!body || body.length === 0) fail('MISSING_PARAMETER', 'The zone file is the body of the request');
      let zone: string;
      try {
        zone = new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        return fail('BAD_REQUEST', 'The zone file is not valid UTF-8');
      }
      await exec(ctx, 'dns.admin.zone.rawsave', { domain: need(p, 'domain'), zone });
      return { kind: 'action', text: 'Zone saved', details: '' };
    }
    // A master deleting a zone sends no record fields; with them it is a record deletion as in DNS_CONTROL.
    if (action === 'delete' && !p.has('type') && !p.has('name')) {
      await exec(ctx, 'dns.admin.zone.delete', { domain: need(p, 'domain') });
      return { kind: 'action', text: 'Zone deleted', details: '' };
    }
    return dnsControl(ctx, 'dns.admin');
  },
};
