import { isIP } from 'node:net';
import { record } from '../../audit/audit.js';
import type { Actor } from '../../auth/actor.js';
import { fail } from '../../core/errors.js';
import { newId } from '../../core/random.js';
import { hasControlChars, printable, validateDomain } from '../../core/validation.js';
import type { ClusterRemoteRow } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Services } from '../../services.js';
import * as repo from './cluster.repository.js';
import { callRemote, describe, type RemoteTarget } from './remote-client.js';

/** The switches of a remote server, as DirectAdmin's Multi-Server Setup names them. */
export interface RemoteSwitches {
  ssl: boolean;
  /** Check the remote's TLS certificate (off: a self-signed one is accepted, as DirectAdmin does). */
  verifyTls: boolean;
  /** Zone Transfer: push every zone change. */
  dns: boolean;
  /** Domain Check: refuse a new domain whose zone exists there. */
  domainCheck: boolean;
  /** User Check: refuse a new account whose name exists there. */
  userCheck: boolean;
  /** Stored and reported; hostdeck does not sync e-mail account lists. */
  email: boolean;
  /** Stored and reported; hostdeck does not list the remote's users. */
  showAllUsers: boolean;
}

export interface NewRemote extends Partial<RemoteSwitches> {
  host: string;
  port?: number;
  user: string;
  secret: string;
}

export interface RemoteChange extends Partial<RemoteSwitches> {
  port?: number;
  user?: string;
  /** A new login key; absent keeps the stored one. */
  secret?: string;
}

/** A remote server as listings show it: never its login key. */
export interface RemoteInfo extends RemoteSwitches {
  host: string;
  port: number;
  user: string;
  /** Zone pushes waiting for it. */
  pending: number;
  /** The error of the most overdue waiting push, if any. */
  lastError: string;
}

const USER_RE = /^[A-Za-z0-9][A-Za-z0-9._|-]{0,63}$/;

/** A remote's address: an IP address, or a host name. */
export function normalizeHost(raw: string): string {
  const h = raw.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === '') fail('MISSING_PARAMETER', 'ip (the remote server) is required');
  if (isIP(h)) return h.toLowerCase();
  try {
    return validateDomain(h);
  } catch {
    return fail('INVALID_PARAMETER', `${printable(h)} is not an IP address or host name`);
  }
}

function checkPort(port: number): number {
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535)
    fail('INVALID_PARAMETER', 'port must be a number from 1 to 65535');
  return port;
}

function checkUser(user: string): string {
  if (!USER_RE.test(user))
    fail('INVALID_PARAMETER', 'user must be the remote account name (letters, digits, . _ - |)');
  return user;
}

function checkSecret(secret: string): string {
  if (secret === '') fail('MISSING_PARAMETER', 'passwd (the login key of the remote server) is required');
  if (secret.length > 512 || hasControlChars(secret))
    fail('INVALID_PARAMETER', 'passwd must be at most 512 printable characters');
  return secret;
}

const bit = (b: boolean | undefined) => (b ? 1 : 0);

type SwitchColumn = 'ssl' | 'verify_tls' | 'dns' | 'domain_check' | 'user_check' | 'email' | 'show_all_users';

function switchColumns(s: Partial<RemoteSwitches>): Partial<Record<SwitchColumn, number>> {
  const out: Partial<Record<SwitchColumn, number>> = {};
  if (s.ssl !== undefined) out.ssl = bit(s.ssl);
  if (s.verifyTls !== undefined) out.verify_tls = bit(s.verifyTls);
  if (s.dns !== undefined) out.dns = bit(s.dns);
  if (s.domainCheck !== undefined) out.domain_check = bit(s.domainCheck);
  if (s.userCheck !== undefined) out.user_check = bit(s.userCheck);
  if (s.email !== undefined) out.email = bit(s.email);
  if (s.showAllUsers !== undefined) out.show_all_users = bit(s.showAllUsers);
  return out;
}

/** The switches of a row, for listings and the audit trail. */
function switchesOf(r: ClusterRemoteRow): RemoteSwitches {
  return {
    ssl: r.ssl === 1,
    verifyTls: r.verify_tls === 1,
    dns: r.dns === 1,
    domainCheck: r.domain_check === 1,
    userCheck: r.user_check === 1,
    email: r.email === 1,
    showAllUsers: r.show_all_users === 1,
  };
}

async function existingRemote(services: Services, host: string): Promise<ClusterRemoteRow> {
  const r = await repo.findRemote(services.db, host);
  if (!r) fail('INVALID_PARAMETER', `There is no remote server ${printable(host)}`);
  return r;
}

/** Registers a remote server (switches off unless given, as in DirectAdmin's `action=add`). */
export async function addRemote(services: Services, actor: Actor, input: NewRemote): Promise<RemoteInfo> {
  const host = normalizeHost(input.host);
  const port = checkPort(input.port ?? 2222);
  const user = checkUser(input.user);
  const sealed = services.cluster.box.seal(checkSecret(input.secret));
  const now = services.clock.now();
  const row: ClusterRemoteRow = {
    id: newId(services.random),
    host,
    port,
    username: user,
    secret_enc: sealed,
    ssl: 0,
    verify_tls: 0,
    dns: 0,
    domain_check: 0,
    user_check: 0,
    email: 0,
    show_all_users: 0,
    created_at: now,
    updated_at: now,
    ...switchColumns(input),
  };
  try {
    await services.db.transaction().execute(async (trx) => {
      if (await repo.findRemote(trx, host))
        fail('INVALID_PARAMETER', `The remote server ${host} already exists`);
      await trx.insertInto('cluster_remotes').values(row).execute();
      await record(
        trx,
        actor,
        { command: 'cluster.remote.add', target: host, details: { port, user, ...switchesOf(row) } },
        now,
      );
    });
  } catch (e) {
    if (isUniqueViolation(e)) fail('INVALID_PARAMETER', `The remote server ${host} already exists`);
    throw e;
  }
  return { host, port, user, ...switchesOf(row), pending: 0, lastError: '' };
}

export interface HostChange extends RemoteChange {
  host: string;
}

/**
 * Changes remote servers' ports, users, login keys or switches, all in one transaction: every named
 * server must exist and every value be valid, or nothing changes.
 */
export async function modifyRemotes(
  services: Services,
  actor: Actor,
  changes: HostChange[],
): Promise<RemoteInfo[]> {
  if (changes.length === 0) fail('MISSING_PARAMETER', 'Select at least one remote server (select0=…)');
  const planned = changes.map((c) => {
    const set: Partial<ClusterRemoteRow> = { ...switchColumns(c) };
    if (c.port !== undefined) set.port = checkPort(c.port);
    if (c.user !== undefined) set.username = checkUser(c.user);
    if (c.secret !== undefined) set.secret_enc = services.cluster.box.seal(checkSecret(c.secret));
    return { host: normalizeHost(c.host), set, secretChanged: c.secret !== undefined };
  });
  const now = services.clock.now();
  const rows = await services.db.transaction().execute(async (trx) => {
    const out: ClusterRemoteRow[] = [];
    for (const p of planned) {
      const current = await repo.findRemote(trx, p.host);
      if (!current) fail('INVALID_PARAMETER', `There is no remote server ${printable(p.host)}`);
      await trx
        .updateTable('cluster_remotes')
        .set({ ...p.set, updated_at: now })
        .where('id', '=', current.id)
        .execute();
      // New settings may be what the waiting pushes lacked (a key, a port, TLS): retry them now.
      await trx
        .updateTable('cluster_queue')
        .set({ next_attempt_at: now })
        .where('remote_id', '=', current.id)
        .execute();
      const next = { ...current, ...p.set };
      // The login key itself is never in the audit trail, only that it changed.
      await record(
        trx,
        actor,
        {
          command: 'cluster.remote.modify',
          target: p.host,
          details: {
            port: next.port,
            user: next.username,
            secretChanged: p.secretChanged,
            ...switchesOf(next),
          },
        },
        now,
      );
      out.push(next);
    }
    return out;
  });
  services.cluster.pusher.kick();
  const stats = await repo.queueStats(services.db);
  return rows.map((r) => ({
    host: r.host,
    port: r.port,
    user: r.username,
    ...switchesOf(r),
    pending: stats.get(r.id)?.pending ?? 0,
    lastError: stats.get(r.id)?.lastError ?? '',
  }));
}

/** Removes remote servers with their waiting pushes; every name must exist, or nothing changes. */
export async function deleteRemotes(services: Services, actor: Actor, rawHosts: string[]): Promise<string[]> {
  if (rawHosts.length === 0) fail('MISSING_PARAMETER', 'Select at least one remote server (select0=…)');
  const hosts = [...new Set(rawHosts.map(normalizeHost))];
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    for (const host of hosts) {
      const r = await repo.findRemote(trx, host);
      if (!r) fail('INVALID_PARAMETER', `There is no remote server ${printable(host)}`);
      await trx.deleteFrom('cluster_queue').where('remote_id', '=', r.id).execute();
      await trx.deleteFrom('cluster_remotes').where('id', '=', r.id).execute();
      await record(trx, actor, { command: 'cluster.remote.delete', target: host }, now);
    }
  });
  return hosts;
}

/** Every remote server with its switches and waiting pushes; never a login key. */
export async function listRemotes(services: Services): Promise<RemoteInfo[]> {
  const [rows, stats] = await Promise.all([repo.listRemotes(services.db), repo.queueStats(services.db)]);
  return rows.map((r) => {
    const s = stats.get(r.id);
    return {
      host: r.host,
      port: r.port,
      user: r.username,
      ...switchesOf(r),
      pending: s?.pending ?? 0,
      lastError: s?.lastError ?? '',
    };
  });
}

/**
 * Queues every zone of this server for one remote (a new slave, or one that lost its data), whatever
 * its dns switch; the pusher sends them in the background. Returns the number of zones queued.
 */
export async function pushAll(services: Services, actor: Actor, rawHost: string): Promise<number> {
  const host = normalizeHost(rawHost);
  const remote = await existingRemote(services, host);
  const now = services.clock.now();
  const n = await services.db.transaction().execute(async (trx) => {
    const origins = (await trx.selectFrom('dns_zones').select('origin').orderBy('origin').execute()).map(
      (z) => z.origin,
    );
    await repo.enqueue(trx, [remote.id], origins, 'upsert', now);
    await record(
      trx,
      actor,
      { command: 'cluster.remote.push', target: host, details: { zones: origins.length } },
      now,
    );
    return origins.length;
  });
  services.cluster.pusher.kick();
  return n;
}

/** What the pusher and the checks need to call a remote: its row with the login key decrypted. */
export function targetOf(services: Pick<Services, 'cluster'>, r: ClusterRemoteRow): RemoteTarget {
  return {
    host: r.host,
    port: r.port,
    username: r.username,
    secret: services.cluster.box.open(r.secret_enc),
    ssl: r.ssl === 1,
    verifyTls: r.verify_tls === 1,
  };
}

type Verdict = { remote: string; taken: boolean; detail?: string } | { remote: string; error: string };

/** Asks every remote with `flag` on, all at once; a remote that cannot answer becomes an error verdict. */
async function askRemotes(
  services: Services,
  flag: 'domain_check' | 'user_check',
  ask: (t: RemoteTarget, timeoutMs: number) => Promise<{ taken: boolean; detail?: string }>,
): Promise<Verdict[]> {
  const remotes = await repo.remotesWith(services.db, flag);
  const timeoutMs = services.config.clusterTimeoutSeconds * 1000;
  return Promise.all(
    remotes.map(async (r): Promise<Verdict> => {
      const where = describe({ host: r.host, port: r.port, ssl: r.ssl === 1 });
      try {
        return { remote: where, ...(await ask(targetOf(services, r), timeoutMs)) };
      } catch (e) {
        return { remote: where, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

/** Applies the verdicts: a name taken anywhere is refused; an unanswered check refuses unless configured. */
function decide(
  services: Services,
  verdicts: Verdict[],
  what: string,
  code: 'DOMAIN_TAKEN' | 'USERNAME_TAKEN',
): void {
  const check = code === 'DOMAIN_TAKEN' ? 'Domain Check' : 'User Check';
  for (const v of verdicts)
    if ('taken' in v && v.taken)
      fail(code, `${what} already exists on the remote server ${v.remote}${v.detail ?? ''}`);
  const failed = verdicts.filter((v): v is { remote: string; error: string } => 'error' in v);
  if (failed.length === 0) return;
  if (services.config.clusterCheckUnreachable === 'ALLOW') {
    for (const f of failed)
      services.logger.warn(
        { remote: f.remote, error: f.error },
        `${check} could not ask a remote server; allowed ${what}`,
      );
    return;
  }
  const first = failed[0] as { remote: string; error: string };
  fail(
    'CLUSTER_UNREACHABLE',
    `${check} could not ask ${first.remote} whether ${what} exists there (${first.error}); refused, since clusterCheckUnreachable is REFUSE`,
  );
}

/**
 * Domain Check: before a domain is created here, each remote with domain_check on is asked
 * (`CMD_API_DNS_ADMIN action=exists`); a zone there (or its parent there, answers 2 and 3) refuses it.
 * Runs before the caller's transaction, so no database lock is held while remotes answer.
 */
export async function checkDomainOnRemotes(services: Services, domain: string): Promise<void> {
  const verdicts = await askRemotes(services, 'domain_check', async (t, timeoutMs) => {
    const a = await callRemote(t, 'CMD_API_DNS_ADMIN', { action: 'exists', domain }, undefined, timeoutMs);
    const n = a.exists;
    if (n === undefined || !/^[0-3]$/.test(n))
      throw new Error('the answer to action=exists has no exists=0…3');
    if (n === '2') return { taken: true, detail: ' (its parent domain is there)' };
    if (n === '3') return { taken: true, detail: a.username ? ` (owned by ${printable(a.username)})` : '' };
    return { taken: n === '1' };
  });
  decide(services, verdicts, domain, 'DOMAIN_TAKEN');
}

/**
 * User Check: before an account is created here, each remote with user_check on is asked
 * (`CMD_API_USER_EXISTS`); the name existing there refuses it. Runs before the caller's transaction.
 */
export async function checkUserOnRemotes(services: Services, username: string): Promise<void> {
  const verdicts = await askRemotes(services, 'user_check', async (t, timeoutMs) => {
    const a = await callRemote(t, 'CMD_API_USER_EXISTS', { user: username }, undefined, timeoutMs);
    if (a.exists !== '0' && a.exists !== '1')
      throw new Error('the answer to CMD_API_USER_EXISTS has no exists=0|1');
    return { taken: a.exists === '1' };
  });
  decide(services, verdicts, username, 'USERNAME_TAKEN');
}
