import { z } from 'zod';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './accounts.service.js';

const str = z.string().max(4096);
const settings = z.record(z.string(), z.string()).optional();
const password = z.union([z.object({ plain: str }), z.object({ crypted: str })]);
const createInput = z.object({
  username: str,
  email: str,
  password,
  domain: str.optional(),
  package: str.optional(),
  settings,
  ip: str.optional(),
  name: str.optional(),
});
const names = z.array(str).max(1000);

function createCommand(level: 'user' | 'reseller' | 'admin') {
  return defineCommand({
    id: `account.${level}.create`,
    level: level === 'user' ? 'reseller' : 'admin',
    summary: `Create a ${level} account`,
    mutates: true,
    input: createInput,
    run: ({ services, actor }, input) => svc.createAccount(services, actor, { ...input, level }),
  });
}

/** Account commands: creation, deletion, suspension, passwords, limits, listings. */
export const accountCommands = [
  createCommand('user'),
  createCommand('reseller'),
  createCommand('admin'),
  defineCommand({
    id: 'account.delete',
    level: 'reseller',
    summary: 'Delete accounts',
    mutates: true,
    input: z.object({ usernames: names, level: z.enum(['user', 'reseller', 'admin']).optional() }),
    run: ({ services, actor }, i) => svc.deleteAccounts(services, actor, i.usernames, i.level),
  }),
  defineCommand({
    id: 'account.suspend',
    level: 'reseller',
    summary: 'Suspend accounts',
    mutates: true,
    input: z.object({ usernames: names, reason: str.optional() }),
    run: ({ services, actor }, i) => svc.setSuspended(services, actor, i.usernames, true, i.reason ?? ''),
  }),
  defineCommand({
    id: 'account.unsuspend',
    level: 'reseller',
    summary: 'Unsuspend accounts',
    mutates: true,
    input: z.object({ usernames: names }),
    run: ({ services, actor }, i) => svc.setSuspended(services, actor, i.usernames, false),
  }),
  defineCommand({
    id: 'account.password.set',
    level: 'reseller',
    summary: "Set a managed account's password",
    mutates: true,
    input: z.object({ username: str, password }),
    run: ({ services, actor }, i) => svc.setPassword(services, actor, i.username, i.password),
  }),
  defineCommand({
    id: 'account.password.change',
    level: 'user',
    summary: 'Change your own password',
    mutates: true,
    input: z.object({ current: str, next: str }),
    run: ({ services, actor }, i) => svc.changeOwnPassword(services, actor, i.current, i.next),
  }),
  defineCommand({
    id: 'account.modify',
    level: 'reseller',
    summary: "Change an account's package, limits or details",
    mutates: true,
    input: z.object({
      username: str,
      settings,
      package: str.optional(),
      email: str.optional(),
      name: str.optional(),
      ns1: str.optional(),
      ns2: str.optional(),
    }),
    run: ({ services, actor }, i) => svc.modifyAccount(services, actor, i),
  }),
  defineCommand({
    id: 'account.email.change',
    level: 'user',
    summary: 'Change your own e-mail address',
    mutates: true,
    input: z.object({ email: str }),
    run: ({ services, actor }, i) => svc.changeOwnEmail(services, actor, i.email),
  }),
  defineCommand({
    id: 'account.list',
    level: 'reseller',
    summary: 'List accounts',
    mutates: false,
    input: z.object({ scope: z.enum(['all', 'users', 'resellers', 'admins']), reseller: str.optional() }),
    run: ({ services, actor }, i) => svc.listAccounts(services, actor, i.scope, i.reseller),
  }),
  defineCommand({
    id: 'account.config.show',
    level: 'user',
    summary: "Show an account's configuration",
    mutates: false,
    input: z.object({ username: str.optional() }),
    run: ({ services, actor }, i) => svc.showConfig(services, actor, i.username),
  }),
  defineCommand({
    id: 'account.usage.show',
    level: 'user',
    summary: "Show an account's usage",
    mutates: false,
    input: z.object({ username: str.optional() }),
    run: ({ services, actor }, i) => svc.showUsage(services, actor, i.username),
  }),
  defineCommand({
    id: 'account.exists',
    level: 'reseller',
    summary: 'Check whether an account name exists',
    mutates: false,
    input: z.object({ username: str }),
    run: ({ services }, i) => svc.userExists(services, i.username),
  }),
  defineCommand({
    id: 'account.login.test',
    level: 'user',
    summary: 'Check the credentials',
    mutates: false,
    input: z.object({}),
    run: async () => true,
  }),
  defineCommand({
    id: 'domain.list',
    level: 'user',
    summary: 'List your domains',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.listOwnDomains(services, actor),
  }),
];
