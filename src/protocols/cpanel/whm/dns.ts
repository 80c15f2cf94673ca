import { type DnsCallContext, massEditZone, parseZone } from '../dns.js';
import type { WhmAnswer } from './envelope.js';

/*
 * WHM's DNS functions (spec 4.2 "WHM twins"): listzones, parse_dns_zone and mass_edit_dns_zone, over the
 * `dns.managed` commands: root reaches every zone, a reseller its own and its users' (another zone
 * answers like a missing one). The items and serial rules are those of
 * UAPI's parse_zone and mass_edit_zone; the answers sit under `data.zone`, `data.payload` and
 * `data.new_serial`.
 */

/** listzones: the zones the caller manages, with the file name cPanel gives each. */
async function listzones(ctx: DnsCallContext): Promise<WhmAnswer> {
  const origins = await ctx.services.registry.execute<string[]>(
    { services: ctx.services, actor: ctx.actor },
    'dns.managed.zone.list',
    {},
  );
  return { data: { zone: origins.map((domain) => ({ domain, zonefile: `${domain}.db` })) } };
}

/** The WHM DNS functions, by name. */
export const WHM_DNS_FUNCTIONS = {
  listzones: { uses: ['dns.managed.zone.list'], run: listzones },
  parse_dns_zone: {
    uses: ['dns.managed.records.list'],
    run: async (ctx: DnsCallContext): Promise<WhmAnswer> => ({
      data: { payload: await parseZone(ctx, 'dns.managed') },
    }),
  },
  mass_edit_dns_zone: {
    uses: ['dns.managed.records.list', 'dns.managed.records.change'],
    run: async (ctx: DnsCallContext): Promise<WhmAnswer> => ({
      data: { new_serial: await massEditZone(ctx, 'dns.managed') },
    }),
  },
};
