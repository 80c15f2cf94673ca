import { z } from 'zod';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './packages.service.js';

const str = z.string().max(4096);
const kind = z.enum(['user', 'reseller']);

/** Package commands (user packages for resellers and admins, reseller packages for admins). */
export const packageCommands = [
  defineCommand({
    id: 'package.list',
    level: 'reseller',
    summary: 'List packages',
    mutates: false,
    input: z.object({ kind }),
    run: ({ services, actor }, i) => svc.listPackages(services, actor, i.kind),
  }),
  defineCommand({
    id: 'package.show',
    level: 'reseller',
    summary: 'Show a package',
    mutates: false,
    input: z.object({ kind, name: str }),
    run: ({ services, actor }, i) => svc.getPackage(services, actor, i.kind, i.name),
  }),
  defineCommand({
    id: 'package.save',
    level: 'reseller',
    summary: 'Create or update a package',
    mutates: true,
    input: z.object({ kind, name: str, settings: z.record(z.string(), z.string()) }),
    run: ({ services, actor }, i) => svc.savePackage(services, actor, i.kind, i.name, i.settings),
  }),
  defineCommand({
    id: 'package.delete',
    level: 'reseller',
    summary: 'Delete packages',
    mutates: true,
    input: z.object({ kind, names: z.array(str).max(1000) }),
    run: ({ services, actor }, i) => svc.deletePackages(services, actor, i.kind, i.names),
  }),
  defineCommand({
    id: 'package.rename',
    level: 'reseller',
    summary: 'Rename a package',
    mutates: true,
    input: z.object({ kind, from: str, to: str }),
    run: ({ services, actor }, i) => svc.renamePackage(services, actor, i.kind, i.from, i.to),
  }),
];
