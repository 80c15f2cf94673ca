import { fail } from '../../core/errors.js';
import type { DomainSettings } from '../../modules/domains/domains.service.js';
import type { Params } from '../params.js';
import { checked, type DaCommand, exec, need, requireLevel } from './context.js';
import { encodePairs } from './encode.js';

/** Selected names from `select0…N`. */
function selected(p: Params, what: string): string[] {
  const names = p.indexed('select');
  if (names.length === 0) fail('MISSING_PARAMETER', `Select at least one ${what} (select0=…)`);
  return names;
}

/** A DA ON/OFF checkbox that was sent, as ON or OFF; absent when not sent. */
function switchOf(p: Params, key: string): string | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  return checked(p, key) ? 'ON' : 'OFF';
}

/** `bandwidth=500` or `ubandwidth=ON` (unlimited); absent when neither was sent. */
function amountOf(p: Params, key: 'bandwidth' | 'quota'): string | undefined {
  if (checked(p, `u${key}`)) return 'unlimited';
  const v = p.get(key);
  return v === undefined || v === '' ? undefined : v;
}

function settingsFrom(p: Params): DomainSettings {
  const s: DomainSettings = {};
  for (const f of ['bandwidth', 'quota'] as const) {
    const v = amountOf(p, f);
    if (v !== undefined) s[f] = v;
  }
  for (const f of ['php', 'ssl', 'cgi'] as const) {
    const v = switchOf(p, f);
    if (v !== undefined) s[f] = v;
  }
  return s;
}

/** CMD_API_DOMAIN: create, modify, select (delete or default). */
export const domainCommand: DaCommand = {
  uses: ['domain.create', 'domain.modify', 'domain.delete', 'domain.default'],
  async run(ctx) {
    const p = ctx.params;
    const action = (p.get('action') ?? '').toLowerCase();
    if (action === 'create') {
      const name = await exec<string>(ctx, 'domain.create', {
        domain: need(p, 'domain'),
        settings: settingsFrom(p),
      });
      return { kind: 'action', text: 'Domain Created', details: `${name} created` };
    }
    if (action === 'modify') {
      await exec(ctx, 'domain.modify', { domain: need(p, 'domain'), settings: settingsFrom(p) });
      return { kind: 'action', text: 'The domain has been modified', details: '' };
    }
    if (action === 'select' || action === 'delete') {
      if (checked(p, 'default') || p.get('action2')?.toLowerCase() === 'default') {
        const names = selected(p, 'domain');
        if (names.length !== 1) fail('INVALID_PARAMETER', 'Select exactly one domain to make the default');
        await exec(ctx, 'domain.default', { domain: names[0] });
        return { kind: 'action', text: 'Your default domain has been set', details: '' };
      }
      if (action === 'delete' || checked(p, 'delete')) {
        const done = await exec<string[]>(ctx, 'domain.delete', { domains: selected(p, 'domain') });
        return {
          kind: 'action',
          text: 'Domain Deletion Results',
          details: done.map((d) => `${d} deleted`).join(', '),
        };
      }
      return fail('MISSING_PARAMETER', 'Say what to do with the selection: delete=yes or default=yes');
    }
    return fail('INVALID_PARAMETER', 'action must be create, modify or select');
  },
};

/** CMD_API_ADDITIONAL_DOMAINS: each domain's configuration as a nested url-encoded value (clients.md rule 11). */
export const additionalDomainsCommand: DaCommand = {
  uses: ['domain.details'],
  async run(ctx) {
    const only = ctx.params.get('domain') || undefined;
    const all = await exec<Record<string, Record<string, string>>>(ctx, 'domain.details', { domain: only });
    const data: Record<string, string> = {};
    for (const [name, config] of Object.entries(all)) data[name] = encodePairs(Object.entries(config));
    return { kind: 'record', data, json: all };
  },
};

/** CMD_API_SUBDOMAINS: list, create, delete. */
export const subdomainsCommand: DaCommand = {
  uses: ['domain.subdomain.list', 'domain.subdomain.create', 'domain.subdomain.delete'],
  async run(ctx) {
    const p = ctx.params;
    const domain = need(p, 'domain');
    const action = (p.get('action') ?? '').toLowerCase();
    if (action === 'create') {
      await exec(ctx, 'domain.subdomain.create', { domain, subdomain: need(p, 'subdomain') });
      return { kind: 'action', text: 'Subdomain created', details: 'Subdomain created' };
    }
    if (action === 'delete') {
      await exec(ctx, 'domain.subdomain.delete', { domain, subdomains: selected(p, 'subdomain') });
      return { kind: 'action', text: 'Subdomains deleted', details: '' };
    }
    if (action !== '' && action !== 'list') fail('INVALID_PARAMETER', 'action must be create or delete');
    return { kind: 'list', items: await exec<string[]>(ctx, 'domain.subdomain.list', { domain }) };
  },
};

/** CMD_API_DOMAIN_POINTER: list (an empty body when there are none, rule 6), add, delete. */
export const domainPointerCommand: DaCommand = {
  uses: ['domain.pointer.list', 'domain.pointer.create', 'domain.pointer.delete'],
  async run(ctx) {
    const p = ctx.params;
    const domain = need(p, 'domain');
    const action = (p.get('action') ?? '').toLowerCase();
    if (action === 'add' || action === 'create') {
      // DA makes aliases unless told otherwise: a pointer that only redirects is `alias=no`.
      const alias = p.get('alias') === undefined ? true : checked(p, 'alias');
      await exec(ctx, 'domain.pointer.create', { domain, from: need(p, 'from'), alias });
      return { kind: 'action', text: 'Pointer Created', details: '' };
    }
    if (action === 'delete' || action === 'select') {
      await exec(ctx, 'domain.pointer.delete', { domain, pointers: selected(p, 'pointer') });
      return { kind: 'action', text: 'Pointers Deleted', details: '' };
    }
    if (action !== '') fail('INVALID_PARAMETER', 'action must be add or delete');
    const pointers = await exec<Record<string, string>>(ctx, 'domain.pointer.list', { domain });
    if (Object.keys(pointers).length === 0) return { kind: 'empty' };
    return { kind: 'record', data: pointers };
  },
};

/** CMD_API_DOMAIN_OWNERS: which account owns each domain (admins). */
export const domainOwnersCommand: DaCommand = {
  uses: ['domain.owners'],
  level: 'admin',
  async run(ctx) {
    requireLevel(ctx, 'admin');
    const domain = ctx.params.get('domain') || undefined;
    return { kind: 'record', data: await exec<Record<string, string>>(ctx, 'domain.owners', { domain }) };
  },
};
