import type { CommandPolicy } from '../../auth/command-policy.js';
import type { HistoryEntry } from '../../auth/key-usage.js';
import { fail } from '../../core/errors.js';
import type { LoginKey } from '../../db/database.js';
import {
  KEY_MANAGEMENT_WARNING,
  type KeyCreated,
  type KeyInput,
  presentKey,
} from '../../modules/keys/keys.service.js';
import type { Params } from '../params.js';
import { checked, type DaCommand, type DaContext, exec, need } from './context.js';
import { daEncode } from './encode.js';
import { oneTimeUrlAnswer } from './session-routes.js';

function int(p: Params, key: string, min: number, max: number): number | undefined {
  const v = p.get(key);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,12}$/.test(v.trim()) || Number(v) < min || Number(v) > max)
    fail('INVALID_PARAMETER', `${key} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

/**
 * The expiry of DA's form: never_expires=yes, or hour/minute/month/day/year (UTC). Undefined when
 * neither is given (modify keeps the old one; create refuses).
 */
function expiryFrom(p: Params): number | null | undefined {
  if (checked(p, 'never_expires')) return null;
  const year = int(p, 'year', 1970, 9999);
  const month = int(p, 'month', 1, 12);
  const day = int(p, 'day', 1, 31);
  const hour = int(p, 'hour', 0, 23) ?? 0;
  const minute = int(p, 'minute', 0, 59) ?? 0;
  if (year === undefined && month === undefined && day === undefined) return undefined;
  if (year === undefined || month === undefined || day === undefined)
    fail(
      'MISSING_PARAMETER',
      'An expiry needs year, month and day (and optionally hour and minute), or never_expires=yes',
    );
  const ms = Date.UTC(year, month - 1, day, hour, minute);
  if (new Date(ms).getUTCDate() !== day) fail('INVALID_PARAMETER', `${year}-${month}-${day} is not a date`);
  return ms;
}

/** `not_before`: Unix seconds or an ISO 8601 time. */
function instant(p: Params, key: string): number | null | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  if (v === '') return null;
  const ms = /^\d{1,12}$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) fail('INVALID_PARAMETER', `${key} must be Unix seconds or an ISO 8601 time`);
  return ms;
}

function listFrom(p: Params, key: string): string[] | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  return v
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

function policyFrom(p: Params): CommandPolicy | undefined {
  const allow = p.indexed('select_allow');
  const deny = p.indexed('select_deny');
  if (allow.length === 0 && deny.length === 0 && !p.has('clear_commands')) return undefined;
  return { allow, deny };
}

/**
 * A KeyInput from DA's form fields (plus hostdeck's: not_before, rate_limit, rate_window, and the scope:
 * domains, dns_names, dns_types). Any scope field present replaces the whole stored scope.
 */
function keyInputFrom(p: Params, creating: boolean): KeyInput {
  const value = p.get('key') ?? '';
  const value2 = p.get('key2');
  if (value2 !== undefined && value2 !== value) fail('PASSWORDS_DIFFER', 'key and key2 differ');
  const rate = int(p, 'rate_limit', 0, 1_000_000_000);
  const domains = listFrom(p, 'domains');
  const dnsNames = listFrom(p, 'dns_names');
  const dnsTypes = listFrom(p, 'dns_types');
  const policy = policyFrom(p);
  const input: KeyInput = {
    name: need(p, 'keyname'),
    value,
    currentPassword: p.get('passwd') ?? '',
  };
  const expiresAt = expiryFrom(p);
  if (expiresAt !== undefined) input.expiresAt = expiresAt;
  const notBefore = instant(p, 'not_before');
  if (notBefore !== undefined) input.notBefore = notBefore;
  const maxUses = int(p, 'max_uses', 0, 1_000_000_000);
  if (maxUses !== undefined) input.maxUses = maxUses;
  else if (creating) input.maxUses = 0;
  // DA checkboxes: absent means off when the form is submitted, so both create and modify read them.
  input.clearKey = checked(p, 'clear_key');
  input.allowHtm = checked(p, 'allow_htm');
  if (policy) input.policy = policy;
  if (p.has('ips')) input.ips = p.get('ips') ?? '';
  if (domains || dnsNames || dnsTypes) {
    input.scope = domains ? { domains } : {};
    if (dnsNames?.length || dnsTypes?.length)
      input.scope.dns = { names: dnsNames ?? [], types: dnsTypes ?? [] };
  }
  if (rate !== undefined)
    input.rateLimit =
      rate === 0 ? null : { count: rate, windowSeconds: int(p, 'rate_window', 1, 31_536_000) ?? 60 };
  return input;
}

/**
 * The answer that carries a new key value. The value goes only in `key`: debug mode logs answers with
 * fields named like secrets hidden, but `details` is free text it logs as is, and a generated value is
 * no secret of the request that it could know to hide.
 */
function created(
  c: KeyCreated,
  text: string,
): { kind: 'action'; text: string; details: string; extra: Record<string, string> } {
  return {
    kind: 'action',
    text,
    details: `The value of key ${c.key.name} is in key=; it is shown only this once`,
    extra: {
      keyname: c.key.name,
      key: c.value,
      manages_keys: c.managesKeys ? 'yes' : 'no',
      ...(c.managesKeys ? { warning: KEY_MANAGEMENT_WARNING } : {}),
    },
  };
}

function nested(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${daEncode(k)}=${daEncode(v)}`)
    .join('&');
}

/**
 * `CMD_API_LOGIN_KEYS` (and `CMD_LOGIN_KEYS`): DirectAdmin's login keys. `action=create|modify|select
 * (delete=yes, select0…)|show_modify|history|rotate`; no action lists the keys, one entry per key whose
 * value is the key's fields url-encoded again (`json=yes`: an object keyed by name). The key value is
 * shown once, in `key`, and never again.
 */
export const loginKeysCommand: DaCommand = {
  uses: [
    'loginkey.create',
    'loginkey.modify',
    'loginkey.delete',
    'loginkey.list',
    'loginkey.history',
    'loginkey.rotate',
  ],
  async run(ctx: DaContext) {
    const p = ctx.params;
    const action = (p.get('action') ?? '').toLowerCase();
    const level = ctx.actor.account.level;
    switch (action) {
      case 'create': {
        // DA's newer form: a one-time browser login URL, answered in `details`.
        if ((p.get('type') ?? '').toLowerCase() === 'one_time_url')
          return oneTimeUrlAnswer(ctx.services, ctx.actor, p);
        const c = await exec<KeyCreated>(ctx, 'loginkey.create', {
          catalog: ctx.catalog,
          key: keyInputFrom(p, true),
        });
        return created(c, 'Login Key created');
      }
      case 'modify': {
        await exec<LoginKey>(ctx, 'loginkey.modify', { catalog: ctx.catalog, key: keyInputFrom(p, false) });
        return { kind: 'action', text: 'Login Key modified', details: '' };
      }
      case 'rotate': {
        const c = await exec<KeyCreated>(ctx, 'loginkey.rotate', {
          catalog: ctx.catalog,
          name: need(p, 'keyname'),
          graceSeconds: p.get('grace') ? Number(p.get('grace')) : 0,
          currentPassword: p.get('passwd') ?? '',
        });
        return created(c, 'Login Key rotated');
      }
      case 'select':
      case 'delete': {
        const names = p.indexed('select');
        if (names.length === 0 && p.get('keyname')) names.push(p.get('keyname') as string);
        await exec(ctx, 'loginkey.delete', { names });
        return { kind: 'action', text: 'Login Keys deleted', details: names.join(', ') };
      }
      case 'show_modify': {
        const name = need(p, 'keyname');
        const keys = await exec<LoginKey[]>(ctx, 'loginkey.list', {});
        const k = keys.find((x) => x.name === name);
        if (!k) fail('INVALID_PARAMETER', `There is no key named ${name}`);
        return { kind: 'record', data: presentKey(k, ctx.catalog, level) };
      }
      case 'history': {
        const rows = await exec<HistoryEntry[]>(ctx, 'loginkey.history', { name: need(p, 'keyname') });
        const entries = rows.map((r) => ({
          time: new Date(r.at).toISOString(),
          ip: r.ip,
          command: r.command,
          result: r.outcome,
          count: String(r.count),
        }));
        const data: Record<string, string> = {};
        entries.forEach((e, i) => {
          data[`entry${i}`] = nested(e);
        });
        return { kind: 'record', data, json: entries };
      }
      case '':
      case 'list': {
        const keys = await exec<LoginKey[]>(ctx, 'loginkey.list', {});
        const shown = keys.map((k) => presentKey(k, ctx.catalog, level));
        const data: Record<string, string> = {};
        const json: Record<string, Record<string, string>> = {};
        for (const k of shown) {
          data[k.keyname ?? ''] = nested(k);
          json[k.keyname ?? ''] = k;
        }
        return { kind: 'record', data, json };
      }
      default:
        return fail(
          'INVALID_PARAMETER',
          'action must be create, modify, select, show_modify, history or rotate',
        );
    }
  },
};

/** `CMD_API_SHOW_MESSAGES`: the account's system messages (key creations), newest first. */
export const showMessagesCommand: DaCommand = {
  uses: ['message.list'],
  async run(ctx) {
    const rows = await exec<{ id: number; at: number; subject: string; body: string; is_read: number }[]>(
      ctx,
      'message.list',
      {},
    );
    const list = rows.map((r) => ({
      id: String(r.id),
      time: new Date(r.at).toISOString(),
      subject: r.subject,
      message: r.body,
      read: r.is_read ? 'yes' : 'no',
    }));
    const data: Record<string, string> = {};
    for (const m of list) data[`message${m.id}`] = nested(m);
    return { kind: 'record', data, json: list };
  },
};
