import { z } from 'zod';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope } from '../../auth/scope.js';
import { validateDomain } from '../../core/validation.js';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './domains.service.js';

const name = z.string().max(300);
const names = z.array(name).min(1).max(1000);
const settings = z
  .object({
    bandwidth: z.string().max(32).optional(),
    quota: z.string().max(32).optional(),
    php: z.string().max(8).optional(),
    ssl: z.string().max(8).optional(),
    cgi: z.string().max(8).optional(),
  })
  .strict();

/** A domain named in a request must be inside the credential's scope; checked before a use is spent. */
function inScope(ctx: { actor: Actor }, i: { domain?: string }): void {
  if (i.domain !== undefined) assertDomainInScope(ctx.actor, validateDomain(i.domain));
}

/** Domain, subdomain and pointer commands of the caller's own account, and the admin's owner listing. */
export const domainCommands = [
  defineCommand({
    id: 'domain.create',
    level: 'user',
    summary: 'Add a domain',
    mutates: true,
    input: z.object({ domain: name, settings }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.createDomain(services, actor, i.domain, i.settings),
  }),
  defineCommand({
    id: 'domain.modify',
    level: 'user',
    summary: "Change a domain's limits and switches",
    mutates: true,
    input: z.object({ domain: name, settings }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.modifyDomain(services, actor, i.domain, i.settings),
  }),
  defineCommand({
    id: 'domain.delete',
    level: 'user',
    summary: 'Delete domains',
    mutates: true,
    input: z.object({ domains: names }),
    authorize: ({ actor }, i) => {
      for (const d of i.domains) inScope({ actor }, { domain: d });
    },
    run: ({ services, actor }, i) => svc.deleteDomains(services, actor, i.domains),
  }),
  defineCommand({
    id: 'domain.default',
    level: 'user',
    summary: 'Set the default domain',
    mutates: true,
    input: z.object({ domain: name }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.setDefaultDomain(services, actor, i.domain),
  }),
  defineCommand({
    id: 'domain.details',
    level: 'user',
    summary: 'Show the settings of your domains',
    mutates: false,
    input: z.object({ domain: name.optional() }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.domainDetails(services, actor, i.domain),
  }),
  defineCommand({
    id: 'domain.tree',
    level: 'user',
    summary: 'List your domains with their subdomains and pointers',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.domainTree(services, actor),
  }),
  defineCommand({
    id: 'domain.subdomain.list',
    level: 'user',
    summary: 'List the subdomains of a domain',
    mutates: false,
    input: z.object({ domain: name }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.listSubdomains(services, actor, i.domain),
  }),
  defineCommand({
    id: 'domain.subdomain.create',
    level: 'user',
    summary: 'Add a subdomain',
    mutates: true,
    input: z.object({ domain: name, subdomain: name }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.createSubdomain(services, actor, i.domain, i.subdomain),
  }),
  defineCommand({
    id: 'domain.subdomain.delete',
    level: 'user',
    summary: 'Delete subdomains',
    mutates: true,
    input: z.object({ domain: name, subdomains: names }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.deleteSubdomains(services, actor, i.domain, i.subdomains),
  }),
  defineCommand({
    id: 'domain.pointer.list',
    level: 'user',
    summary: 'List the pointers of a domain',
    mutates: false,
    input: z.object({ domain: name }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.listPointers(services, actor, i.domain),
  }),
  defineCommand({
    id: 'domain.pointer.create',
    level: 'user',
    summary: 'Add a domain pointer or alias',
    mutates: true,
    input: z.object({ domain: name, from: name, alias: z.boolean() }),
    authorize: (ctx, i) => {
      inScope(ctx, i);
      inScope(ctx, { domain: i.from });
    },
    run: ({ services, actor }, i) => svc.createPointer(services, actor, i.domain, i.from, i.alias),
  }),
  defineCommand({
    id: 'domain.pointer.delete',
    level: 'user',
    summary: 'Delete domain pointers',
    mutates: true,
    input: z.object({ domain: name, pointers: names }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.deletePointers(services, actor, i.domain, i.pointers),
  }),
  defineCommand({
    id: 'domain.owners',
    level: 'admin',
    summary: 'Show which account owns each domain',
    mutates: false,
    input: z.object({ domain: name.optional() }),
    run: ({ services }, i) => svc.domainOwners(services, i.domain),
  }),
];
