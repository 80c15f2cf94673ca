import { z } from 'zod';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './keys.service.js';

const catalog = z.custom<CommandCatalog>((v) => typeof v === 'object' && v !== null && 'levelOf' in v);
const keyInput = z.custom<svc.KeyInput>((v) => typeof v === 'object' && v !== null && 'name' in v);
const str = z.string().max(4096);

/** Login keys and account messages: every account with the login_keys feature manages its own. */
export const keyCommands = [
  defineCommand({
    id: 'loginkey.create',
    level: 'user',
    summary: 'Create a login key',
    mutates: true,
    input: z.object({ catalog, key: keyInput }),
    run: ({ services, actor }, i) => svc.createKey(services, actor, i.catalog, i.key),
  }),
  defineCommand({
    id: 'loginkey.modify',
    level: 'user',
    summary: 'Change a login key',
    mutates: true,
    input: z.object({ catalog, key: keyInput }),
    run: ({ services, actor }, i) => svc.modifyKey(services, actor, i.catalog, i.key),
  }),
  defineCommand({
    id: 'loginkey.rotate',
    level: 'user',
    summary: 'Give a login key a new value',
    mutates: true,
    input: z.object({ catalog, name: str, graceSeconds: z.number().int(), currentPassword: str }),
    run: ({ services, actor }, i) =>
      svc.rotateKey(services, actor, i.catalog, i.name, i.graceSeconds, i.currentPassword),
  }),
  defineCommand({
    id: 'loginkey.delete',
    level: 'user',
    summary: 'Delete login keys',
    mutates: true,
    input: z.object({ names: z.array(str).max(1000) }),
    run: ({ services, actor }, i) => svc.deleteKeys(services, actor, i.names),
  }),
  defineCommand({
    id: 'loginkey.list',
    level: 'user',
    summary: 'List login keys',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.listKeys(services, actor),
  }),
  defineCommand({
    id: 'loginkey.history',
    level: 'user',
    summary: "Show a login key's history",
    mutates: false,
    input: z.object({ name: str }),
    run: ({ services, actor }, i) => svc.keyHistory(services, actor, i.name),
  }),
  defineCommand({
    id: 'message.list',
    level: 'user',
    summary: 'List account messages',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.listMessages(services, actor),
  }),
];
