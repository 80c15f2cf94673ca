import { fail } from '../../core/errors.js';
import type { HostChange, RemoteInfo } from '../../modules/cluster/cluster.service.js';
import type { Params } from '../params.js';
import { checked, type DaCommand, type DaContext, exec, need, requireLevel } from './context.js';
import { encodePairs } from './encode.js';

const yn = (b: boolean) => (b ? 'yes' : 'no');

/** One remote server as DirectAdmin lists it; the login key is never part of it. */
function fields(r: RemoteInfo): Record<string, string> {
  return {
    port: String(r.port),
    user: r.user,
    ssl: yn(r.ssl),
    verify_tls: yn(r.verifyTls),
    dns: yn(r.dns),
    domain_check: yn(r.domainCheck),
    user_check: yn(r.userCheck),
    email: yn(r.email),
    show_all_users: yn(r.showAllUsers),
    pending: String(r.pending),
    last_error: r.lastError,
  };
}

function portOf(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : 0;
  if (n < 1 || n > 65535) fail('INVALID_PARAMETER', 'port must be a number from 1 to 65535');
  return n;
}

/**
 * `action=multiple&save=yes`: the settings of each selected server come as `<field>-<ip>`. As in
 * DirectAdmin's form, a switch that is absent is off; port and user absent, or passwd empty, keep theirs.
 */
function changesOf(p: Params): HostChange[] {
  const hosts = p.indexed('select');
  if (hosts.length === 0) fail('MISSING_PARAMETER', 'Select at least one remote server (select0=…)');
  return hosts.map((host) => {
    const c: HostChange = {
      host,
      ssl: checked(p, `ssl-${host}`),
      verifyTls: checked(p, `verify_tls-${host}`),
      dns: checked(p, `dns-${host}`),
      domainCheck: checked(p, `domain_check-${host}`),
      userCheck: checked(p, `user_check-${host}`),
      email: checked(p, `email-${host}`),
      showAllUsers: checked(p, `show_all_users-${host}`),
    };
    const port = portOf(p.get(`port-${host}`));
    if (port !== undefined) c.port = port;
    const user = p.get(`user-${host}`);
    if (user) c.user = user;
    const passwd = p.get(`passwd-${host}`);
    if (passwd) c.secret = passwd;
    return c;
  });
}

async function list(ctx: DaContext) {
  const all = await exec<RemoteInfo[]>(ctx, 'cluster.remote.list', {});
  const servers: Record<string, Record<string, string>> = {};
  const data: Record<string, string> = {};
  for (const r of all) {
    servers[r.host] = fields(r);
    data[r.host] = encodePairs(Object.entries(fields(r)));
  }
  return { kind: 'record' as const, data, json: { servers } };
}

/**
 * CMD_MULTI_SERVER / CMD_API_MULTI_SERVER: DirectAdmin's Multi-Server Setup. `action=add` registers a
 * remote (ip, port, user, passwd = its login key, ssl); `action=multiple&save=yes` saves per-server
 * settings of the selected servers; `action=delete` removes them; `action=push` queues every zone for
 * the selected servers; otherwise the servers are listed (`json=yes`: `{"servers":{<ip>:{…}}}`).
 */
export const multiServerCommand: DaCommand = {
  uses: [
    'cluster.remote.list',
    'cluster.remote.add',
    'cluster.remote.modify',
    'cluster.remote.delete',
    'cluster.remote.push',
  ],
  level: 'admin',
  async run(ctx) {
    requireLevel(ctx, 'admin');
    const p = ctx.params;
    const action = (p.get('action') ?? '').toLowerCase();
    switch (action) {
      case '':
      case 'list':
      case 'view':
        return list(ctx);
      case 'add': {
        const input: Record<string, unknown> = {
          host: need(p, 'ip'),
          user: need(p, 'user'),
          secret: need(p, 'passwd', 'passwd (the login key of the remote server)'),
          ssl: checked(p, 'ssl'),
          verifyTls: checked(p, 'verify_tls'),
        };
        const port = portOf(p.get('port'));
        if (port !== undefined) input.port = port;
        await exec(ctx, 'cluster.remote.add', input);
        return { kind: 'action', text: 'Server Added', details: '' };
      }
      case 'multiple': {
        if (!checked(p, 'save')) fail('INVALID_PARAMETER', 'action=multiple needs save=yes');
        await exec(ctx, 'cluster.remote.modify', { changes: changesOf(p) });
        return { kind: 'action', text: 'Settings Saved', details: '' };
      }
      case 'delete': {
        const hosts = p.indexed('select');
        if (hosts.length === 0) fail('MISSING_PARAMETER', 'Select at least one remote server (select0=…)');
        await exec(ctx, 'cluster.remote.delete', { hosts });
        return { kind: 'action', text: 'Servers Deleted', details: '' };
      }
      case 'push': {
        const hosts = p.indexed('select');
        if (hosts.length === 0) fail('MISSING_PARAMETER', 'Select at least one remote server (select0=…)');
        let zones = 0;
        for (const host of hosts) zones += await exec<number>(ctx, 'cluster.remote.push', { host });
        return { kind: 'action', text: 'Zones Queued', details: `${zones} zone pushes queued` };
      }
      default:
        return fail('INVALID_PARAMETER', 'action must be add, multiple, delete or push');
    }
  },
};
