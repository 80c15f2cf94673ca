import { fail } from '../../core/errors.js';
import { printable } from '../../core/validation.js';
import { featureOn, readSettings } from '../../modules/packages/limits.js';
import type { Api2Function } from './api2.js';
import { exec, required as need, opt } from './call.js';
import type { UapiContext, UapiFunction } from './uapi.js';

/*
 * cPanel's domain functions over hostdeck's domain commands: DomainInfo::single_domain_data,
 * SubDomain::addsubdomain (UAPI and API 2), API 2 SubDomain::delsubdomain, Park (parked domains are
 * DirectAdmin's alias pointers: another name for a domain's site, with a zone of its own) and
 * AddonDomain (addon domains are the account's domains beside the main one). Only types come from
 * uapi.ts and api2.ts, so their function tables can include these without a cycle at load time.
 */

const lower = (s: string) => s.trim().toLowerCase().replace(/\.$/, '');

type DomainType = 'main_domain' | 'addon_domain' | 'sub_domain' | 'parked_domain';

/** Where a name sits in the account: one of its domains, a subdomain of one, or a parked name on one. */
async function locate(
  ctx: UapiContext,
  name: string,
): Promise<{ type: DomainType; base: string; label?: string } | null> {
  const domains = await exec<string[]>(ctx, 'domain.list', {});
  if (domains.includes(name))
    return { type: name === ctx.actor.account.domain ? 'main_domain' : 'addon_domain', base: name };
  // The longest domain the name ends in is the one a subdomain label belongs to.
  for (const d of [...domains].sort((a, b) => b.length - a.length)) {
    if (!name.endsWith(`.${d}`)) continue;
    const label = name.slice(0, -(d.length + 1));
    if ((await exec<string[]>(ctx, 'domain.subdomain.list', { domain: d })).includes(label))
      return { type: 'sub_domain', base: d, label };
  }
  for (const d of domains)
    if (Object.hasOwn(await exec<Record<string, string>>(ctx, 'domain.pointer.list', { domain: d }), name))
      return { type: 'parked_domain', base: d };
  return null;
}

function home(ctx: UapiContext): string {
  return `/home/${ctx.actor.account.username}`;
}

function documentRoot(ctx: UapiContext, type: DomainType, name: string, label?: string): string {
  if (type === 'main_domain' || type === 'parked_domain') return `${home(ctx)}/public_html`;
  if (type === 'sub_domain') return `${home(ctx)}/public_html/${label}`;
  return `${home(ctx)}/${name}`;
}

async function singleDomainData(ctx: UapiContext) {
  const name = lower(need(ctx.params, 'domain'));
  const at = await locate(ctx, name);
  if (!at)
    fail(
      'DOMAIN_NOT_FOUND',
      `The domain “${printable(name)}” does not belong to “${ctx.actor.account.username}”.`,
    );
  const user = ctx.actor.account.username;
  const settings = readSettings(ctx.actor.account.settings);
  return {
    data: {
      documentroot: documentRoot(ctx, at.type, name, at.label),
      domain: name,
      group: user,
      hascgi: featureOn(settings, 'cgi') ? 1 : 0,
      homedir: home(ctx),
      ip: ctx.actor.account.ip,
      ipv6: null,
      owner: (await exec<Record<string, string>>(ctx, 'account.config.show', {})).creator ?? '',
      serveradmin: `webmaster@${name}`,
      serveralias: `www.${name}`,
      servername: name,
      type: at.type,
      user,
      usecanonicalname: 'Off',
      userdirprotect: '',
    },
  };
}

/** SubDomain::addsubdomain: `domain` is the new label (or the full name), `rootdomain` the domain it is under. */
async function addSubdomain(ctx: UapiContext): Promise<string> {
  const p = ctx.params;
  const root = lower(need(p, 'rootdomain'));
  let label = lower(need(p, 'domain'));
  if (label.endsWith(`.${root}`)) label = label.slice(0, -(root.length + 1));
  return exec<string>(ctx, 'domain.subdomain.create', { domain: root, subdomain: label });
}

/** API 2 SubDomain::delsubdomain: `domain` is `sub.example.com` (or cPanel's older `sub_example.com`). */
async function delSubdomain(ctx: UapiContext): Promise<string> {
  const given = lower(need(ctx.params, 'domain'));
  const domains = [...(await exec<string[]>(ctx, 'domain.list', {}))].sort((a, b) => b.length - a.length);
  for (const full of [given, given.replace('_', '.')])
    for (const d of domains) {
      if (!full.endsWith(`.${d}`)) continue;
      const label = full.slice(0, -(d.length + 1));
      await exec(ctx, 'domain.subdomain.delete', { domain: d, subdomains: [label] });
      return full;
    }
  const full = given;
  return fail('DOMAIN_NOT_FOUND', `The subdomain “${printable(full)}” does not exist.`);
}

/** The domain a parked name or addon is attached to: `topdomain` when given, else the main domain. */
function topDomain(ctx: UapiContext): string {
  const top = opt(ctx.params, 'topdomain');
  if (top !== undefined) return lower(top);
  if (!ctx.actor.account.domain) fail('MISSING_PARAMETER', 'You must specify the “topdomain” parameter.');
  return ctx.actor.account.domain;
}

async function parkedDomains(ctx: UapiContext): Promise<{ name: string; on: string }[]> {
  const out: { name: string; on: string }[] = [];
  for (const d of await exec<string[]>(ctx, 'domain.list', {}))
    for (const [name, kind] of Object.entries(
      await exec<Record<string, string>>(ctx, 'domain.pointer.list', { domain: d }),
    ))
      if (kind === 'alias') out.push({ name, on: d });
  return out;
}

const ok = (reason: string) => [{ reason, result: 1 }];

/** The UAPI domain functions. */
export const DOMAIN_UAPI_FUNCTIONS: Record<string, UapiFunction> = {
  'DomainInfo::single_domain_data': {
    uses: ['domain.list', 'domain.subdomain.list', 'domain.pointer.list', 'account.config.show'],
    mutates: false,
    run: singleDomainData,
  },
  'SubDomain::addsubdomain': {
    uses: ['domain.subdomain.create'],
    mutates: true,
    async run(ctx) {
      await addSubdomain(ctx);
      return { data: null };
    },
  },
};

/** The API 2 domain functions. */
export const DOMAIN_API2_FUNCTIONS: Record<string, Api2Function> = {
  'SubDomain::addsubdomain': {
    uses: ['domain.subdomain.create'],
    mutates: true,
    async run(ctx) {
      const full = await addSubdomain(ctx);
      return ok(`The subdomain “${full}” has been added.`);
    },
  },
  'SubDomain::delsubdomain': {
    uses: ['domain.list', 'domain.subdomain.delete'],
    mutates: true,
    async run(ctx) {
      const full = await delSubdomain(ctx);
      return ok(`The subdomain “${full}” has been removed.`);
    },
  },
  'Park::listparkeddomains': {
    uses: ['domain.list', 'domain.pointer.list'],
    mutates: false,
    async run(ctx) {
      return (await parkedDomains(ctx)).map((p) => ({
        basedir: 'public_html',
        dir: `${home(ctx)}/public_html`,
        domain: p.name,
        reldir: 'home:public_html',
        status: 'not redirected',
      }));
    },
  },
  'Park::park': {
    uses: ['domain.pointer.create'],
    mutates: true,
    async run(ctx) {
      const name = lower(need(ctx.params, 'domain'));
      await exec(ctx, 'domain.pointer.create', { domain: topDomain(ctx), from: name, alias: true });
      return ok(`“${name}” is now parked on top of “${topDomain(ctx)}”.`);
    },
  },
  'Park::unpark': {
    uses: ['domain.list', 'domain.pointer.list', 'domain.pointer.delete'],
    mutates: true,
    async run(ctx) {
      const name = lower(need(ctx.params, 'domain'));
      const hit = (await parkedDomains(ctx)).find((p) => p.name === name);
      if (!hit) fail('DOMAIN_NOT_FOUND', `“${printable(name)}” is not a parked domain of this account.`);
      await exec(ctx, 'domain.pointer.delete', { domain: hit.on, pointers: [name] });
      return ok(`“${name}” is no longer parked.`);
    },
  },
  'AddonDomain::listaddondomains': {
    uses: ['domain.list'],
    mutates: false,
    async run(ctx) {
      const main = ctx.actor.account.domain;
      return (await exec<string[]>(ctx, 'domain.list', {}))
        .filter((d) => d !== main)
        .map((d) => ({
          basedir: d,
          dir: `${home(ctx)}/${d}`,
          domain: d,
          fullsubdomain: main ? `${d.split('.')[0]}.${main}` : d,
          reldir: `home:${d}`,
          status: 'not redirected',
          subdomain: d.split('.')[0],
        }));
    },
  },
  'AddonDomain::addaddondomain': {
    uses: ['domain.create'],
    mutates: true,
    async run(ctx) {
      const name = lower(need(ctx.params, 'newdomain'));
      await exec(ctx, 'domain.create', { domain: name, settings: {} });
      return ok(`The addon domain “${name}” has been created.`);
    },
  },
  'AddonDomain::deladdondomain': {
    uses: ['domain.delete'],
    mutates: true,
    async run(ctx) {
      const name = lower(need(ctx.params, 'domain'));
      if (name === ctx.actor.account.domain)
        fail('INVALID_PARAMETER', `“${printable(name)}” is the main domain, not an addon domain.`);
      await exec(ctx, 'domain.delete', { domains: [name] });
      return ok(`The addon domain “${name}” has been removed.`);
    },
  },
};
