import { z } from 'zod';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope } from '../../auth/scope.js';
import { fail } from '../../core/errors.js';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './dns.service.js';

const str = z.string().max(4096);
const domain = z.string().max(300);
const op = z.object({
  op: z.enum(['add', 'delete']),
  name: z.string().max(300),
  type: z.string().max(10),
  value: z.string().max(16384).optional(),
  mxValue: z.string().max(300).optional(),
  ttl: z.number().int().min(0).max(2_147_483_647).optional(),
});
const changeInput = z.object({
  domain,
  ops: z.array(op).min(1).max(100),
  /** The serial the caller's view of the zone had; the change is refused if the zone moved on. */
  serial: z.number().int().min(0).optional(),
});
const ttlInput = z.object({ domain, ttl: z.number().int().min(0).max(2_147_483_647).nullable() });

/** The zone TTL is the whole zone's: a credential must reach the zone and have no narrower DNS scope. */
function ttlAuthorize(ctx: { actor: Actor }, i: { domain: string }): void {
  assertDomainInScope(ctx.actor, svc.zoneName(i.domain));
  // A credential limited to some names or types may not change what every record of the zone inherits.
  if (ctx.actor.credential.scope?.dns)
    fail('PERMISSION_DENIED', "The zone's TTL is outside this credential's DNS scope");
}

function commandsFor(prefix: 'dns' | 'dns.admin' | 'dns.managed', access: svc.ZoneAccess) {
  const level = access === 'admin' ? 'admin' : access === 'managed' ? 'reseller' : 'user';
  const whose = access === 'admin' ? 'any' : access === 'managed' ? 'a managed' : 'your';
  return [
    defineCommand({
      id: `${prefix}.records.list`,
      level,
      summary: `List the records of ${whose} zone`,
      mutates: false,
      input: z.object({ domain }),
      authorize: ({ actor }, i) => assertDomainInScope(actor, svc.zoneName(i.domain)),
      run: ({ services, actor }, i) => svc.showZone(services, actor, i.domain, access),
    }),
    defineCommand({
      id: `${prefix}.records.change`,
      level,
      summary: `Add, delete or edit records of ${whose} zone`,
      mutates: true,
      input: changeInput,
      authorize: ({ actor }, i) => svc.authorizeChange(actor, i.domain, i.ops),
      run: ({ services, actor }, i) =>
        svc.changeRecords(services, actor, i.domain, i.ops, access, `${prefix}.records.change`, i.serial),
    }),
    defineCommand({
      id: `${prefix}.zone.ttl`,
      level,
      summary: `Set the default TTL of ${whose} zone`,
      mutates: true,
      input: ttlInput,
      authorize: ttlAuthorize,
      run: ({ services, actor }, i) => svc.setZoneTtl(services, actor, i.domain, i.ttl, access),
    }),
  ];
}

/** DNS commands: record listings and changes of the caller's zones, and the admin's on any zone. */
export const dnsCommands = [
  ...commandsFor('dns', 'owner'),
  ...commandsFor('dns.admin', 'admin'),
  ...commandsFor('dns.managed', 'managed'),
  defineCommand({
    id: 'dns.admin.zone.rawsave',
    level: 'admin',
    summary: 'Store a zone pushed by a DNS cluster master',
    mutates: true,
    input: z.object({ domain, zone: z.string().max(1 << 20) }),
    run: ({ services, actor }, i) => svc.saveReceivedZone(services, actor, i.domain, i.zone),
  }),
  defineCommand({
    id: 'dns.admin.zone.delete',
    level: 'admin',
    summary: 'Delete a zone pushed by a DNS cluster master',
    mutates: true,
    input: z.object({ domain }),
    run: ({ services, actor }, i) => svc.deleteReceivedZone(services, actor, i.domain),
  }),
  defineCommand({
    id: 'dns.managed.zone.list',
    level: 'reseller',
    summary: 'List the zones of the accounts you manage (every zone for an admin)',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.managedZones(services, actor),
  }),
  defineCommand({
    id: 'dns.admin.zone.exists',
    level: 'admin',
    summary: 'Whether a zone exists on this server',
    mutates: false,
    input: z.object({ domain: str }),
    run: ({ services }, i) => svc.zoneExists(services, i.domain),
  }),
];
