import { z } from 'zod';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './cluster.service.js';

const host = z.string().max(300);
const switches = {
  ssl: z.boolean().optional(),
  verifyTls: z.boolean().optional(),
  dns: z.boolean().optional(),
  domainCheck: z.boolean().optional(),
  userCheck: z.boolean().optional(),
  email: z.boolean().optional(),
  showAllUsers: z.boolean().optional(),
};
const port = z.number().int().min(1).max(65535).optional();

/** Registry of remote servers of the DNS cluster (Multi-Server Setup): admins only. */
export const clusterCommands = [
  defineCommand({
    id: 'cluster.remote.list',
    level: 'admin',
    summary: 'List the remote servers of the DNS cluster',
    mutates: false,
    input: z.object({}),
    run: ({ services }) => svc.listRemotes(services),
  }),
  defineCommand({
    id: 'cluster.remote.add',
    level: 'admin',
    summary: 'Add a remote server to the DNS cluster',
    mutates: true,
    input: z.object({ host, port, user: z.string().max(64), secret: z.string().max(512), ...switches }),
    run: ({ services, actor }, i) => svc.addRemote(services, actor, i),
  }),
  defineCommand({
    id: 'cluster.remote.modify',
    level: 'admin',
    summary: "Change remote servers' ports, users, login keys or switches",
    mutates: true,
    input: z.object({
      changes: z
        .array(
          z.object({
            host,
            port,
            user: z.string().max(64).optional(),
            secret: z.string().max(512).optional(),
            ...switches,
          }),
        )
        .min(1)
        .max(100),
    }),
    run: ({ services, actor }, i) => svc.modifyRemotes(services, actor, i.changes),
  }),
  defineCommand({
    id: 'cluster.remote.delete',
    level: 'admin',
    summary: 'Remove remote servers from the DNS cluster',
    mutates: true,
    input: z.object({ hosts: z.array(host).min(1).max(100) }),
    run: ({ services, actor }, i) => svc.deleteRemotes(services, actor, i.hosts),
  }),
  defineCommand({
    id: 'cluster.remote.push',
    level: 'admin',
    summary: 'Queue every zone of this server for a remote server',
    mutates: true,
    input: z.object({ host }),
    run: ({ services, actor }, i) => svc.pushAll(services, actor, i.host),
  }),
];
