import { z } from 'zod';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './tokens.service.js';

const catalog = z.custom<CommandCatalog>((v) => typeof v === 'object' && v !== null && 'levelOf' in v);
const str = z.string().max(4096);
const kind = z.enum(['cpanel', 'whm']);
const expiresAt = z.number().int().nullable().optional();
const list = z.array(str).max(1000);
const cpanelInput = z.object({
  name: str,
  expiresAt,
  readonly: z.boolean().optional(),
  ips: str.optional(),
  maxUses: z.number().optional(),
  rateLimit: z.object({ count: z.number(), windowSeconds: z.number() }).nullable().optional(),
  domains: list.optional(),
  policy: z.object({ allow: list, deny: list }).optional(),
});

/** API tokens: cPanel tokens of any account with the apitokens feature, WHM tokens of admins and resellers. */
export const tokenCommands = [
  defineCommand({
    id: 'token.create',
    level: 'user',
    summary: 'Create an API token',
    mutates: true,
    input: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('cpanel'), catalog, token: cpanelInput }),
      z.object({
        kind: z.literal('whm'),
        token: z.object({
          name: str,
          acls: list.optional(),
          expiresAt,
          whitelistIps: list.optional(),
        }),
      }),
    ]),
    run: ({ services, actor }, i) =>
      i.kind === 'cpanel'
        ? svc.createCpanelToken(services, actor, i.catalog, i.token)
        : svc.createWhmToken(services, actor, i.token),
  }),
  defineCommand({
    id: 'token.list',
    level: 'user',
    summary: 'List API tokens',
    mutates: false,
    input: z.object({ kind }),
    run: ({ services, actor }, i) => svc.listTokens(services, actor, i.kind),
  }),
  defineCommand({
    id: 'token.rename',
    level: 'user',
    summary: 'Rename an API token',
    mutates: true,
    input: z.object({ kind, name: str, newName: str }),
    run: ({ services, actor }, i) => svc.renameToken(services, actor, i.kind, i.name, i.newName),
  }),
  defineCommand({
    id: 'token.revoke',
    level: 'user',
    summary: 'Revoke API tokens',
    mutates: true,
    input: z.object({ kind, names: list, strict: z.boolean() }),
    run: ({ services, actor }, i) => svc.revokeTokens(services, actor, i.kind, i.names, i.strict),
  }),
  defineCommand({
    id: 'token.update',
    level: 'reseller',
    summary: 'Change a WHM API token',
    mutates: true,
    input: z.object({
      token: z.object({
        name: str,
        newName: str.optional(),
        acls: list.optional(),
        expiresAt,
        whitelistIps: list.optional(),
      }),
    }),
    run: ({ services, actor }, i) => svc.updateWhmToken(services, actor, i.token),
  }),
  defineCommand({
    id: 'token.details',
    level: 'reseller',
    summary: 'Show the WHM API token with a given value',
    mutates: false,
    input: z.object({ token: str }),
    run: ({ services, actor }, i) => svc.whmTokenDetails(services, actor, i.token),
  }),
  defineCommand({
    id: 'token.history',
    level: 'user',
    summary: "Show an API token's uses",
    mutates: false,
    input: z.object({ kind, name: str }),
    run: ({ services, actor }, i) => svc.tokenHistory(services, actor, i.kind, i.name),
  }),
];
