/**
 * DNS clustering, master role (DirectAdmin Multi-Server Setup): two hostdeck installations on loopback,
 * one the master of the other. The slave gives the master a login key restricted to the seed's example C
 * commands and to 127.0.0.1; the master registers it with CMD_API_MULTI_SERVER and every zone change on
 * the master reaches the slave through CMD_API_DNS_ADMIN rawsave/delete, checked through the slave's
 * own DA API. The slave is stopped during changes and the master restarted in between: the changes wait
 * in the master's queue table and arrive once the slave is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import { TEST_HASHER } from '../../src/auth/passwords.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { SCHEMA_LOCK } from '../../src/db/connect.js';
import * as clusterRepo from '../../src/modules/cluster/cluster.repository.js';
import { backoffDelay, Pusher } from '../../src/modules/cluster/pusher.js';
import { secretBox } from '../../src/modules/cluster/secret-box.js';
import { createServices, type Services } from '../../src/services.js';
import { ensureTls, initialize, readTls } from '../../src/setup.js';
import { type Answer, authOf, createAccount, rawCall } from '../helpers/server.js';
import { ADMIN_PASSWORD, TEST_DB, TEST_PG_URL } from '../helpers/services.js';

const ADMIN = `admin:${ADMIN_PASSWORD}`;
const FRED = authOf('fred');
const SLAVE_KEY = 'Cluster-Slave-Key-7f3a9c21';

/**
 * One installation whose listener and services can be stopped and started again on the same port
 * with the same data (data directory, SQLite file or PostgreSQL schema), as a restarted server would.
 */
class Node {
  services!: Services;
  port = 0;
  private app: FastifyInstance | undefined;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-cluster-'));
  private readonly schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  readonly config: Config;

  /** `tls`: the DA listener serves HTTPS with the installation's self-signed certificate. */
  constructor(private readonly tls = false) {
    this.config = loadConfig({
      env: {
        HOSTDECK_DATA_DIR: this.dataDir,
        DATABASE_URL:
          TEST_DB === 'postgres' ? TEST_PG_URL : `sqlite:${join(this.dataDir, 'hostdeck.sqlite')}`,
        HOSTDECK_HOSTNAME: 'panel.example.net',
        HOSTDECK_SQLITE_SYNCHRONOUS: 'NORMAL',
      },
      flags: { dnsApply: 'OFF', clusterTimeoutSeconds: 3 },
    });
  }

  /** Opens the services (creating the installation on the first start) and listens. */
  async start(): Promise<void> {
    this.services = await createServices(this.config, {
      hasher: TEST_HASHER,
      logger: pino({ level: process.env.HOSTDECK_TEST_LOG ? 'debug' : 'silent' }),
      ...(TEST_DB === 'postgres' ? { pgSchema: this.schema } : {}),
    });
    await initialize(this.services, ADMIN_PASSWORD, { tls: false });
    if (this.tls) await ensureTls(this.config);
    // The server's pusher with short test timings: the same class main.ts starts.
    const c = this.services.cluster;
    c.pusher = new Pusher({
      db: this.services.db,
      config: this.config,
      logger: this.services.logger,
      clock: this.services.clock,
      box: c.box,
      pollMs: 200,
      backoffMs: 100,
      maxBackoffMs: 800,
    });
    c.pusher.start();
    await this.listen();
  }

  /** Listens (again) on the same port; the services stay as they are. */
  async listen(): Promise<void> {
    this.app = buildApps(this.services, this.tls ? readTls(this.config) : null).da;
    await this.app.listen({ host: '127.0.0.1', port: this.port });
    const a = this.app.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  /** Stops listening: the server is down for its peers. */
  async unlisten(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }

  /** Stops the whole server (listener, pusher, database connection), keeping its data. */
  async stop(): Promise<void> {
    await this.unlisten();
    await this.services.close();
  }

  call(path: string, params?: Record<string, string>, auth = ADMIN): Promise<Answer> {
    return rawCall(this.port, path, params ? { method: 'POST', auth, params } : { auth });
  }

  async destroy(): Promise<void> {
    await this.unlisten().catch(() => {});
    await this.services?.close().catch(() => {});
    if (TEST_DB === 'postgres') {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      await c.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
      await c.query(`drop schema if exists ${this.schema} cascade`);
      await c.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK]);
      await c.end();
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Polls `probe` until it returns true, failing after `ms` with the last state it saw. */
async function eventually(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ListedRecord {
  type: string;
  name: string;
  value: string;
}

/** A zone's records as the slave's DA API lists them (admin JSON listing), or null when it has none. */
async function slaveRecords(slave: Node, domain: string): Promise<ListedRecord[] | null> {
  const a = await rawCall(slave.port, `/CMD_API_DNS_ADMIN?domain=${domain}&json=yes`, { auth: ADMIN });
  if (a.status !== 200) return null;
  const body = a.json() as { records?: ListedRecord[] };
  return body.records ?? null;
}

async function masterRecords(master: Node, domain: string): Promise<ListedRecord[]> {
  const a = await rawCall(master.port, `/CMD_API_DNS_ADMIN?domain=${domain}&json=yes`, { auth: ADMIN });
  expect(a.status, a.body).toBe(200);
  return (a.json() as { records: ListedRecord[] }).records;
}

const key = (r: ListedRecord) => `${r.name} ${r.type} ${r.value}`;

/** Whether the slave serves exactly the master's records for `domain`. */
async function inSync(master: Node, slave: Node, domain: string): Promise<boolean> {
  const s = await slaveRecords(slave, domain);
  if (!s) return false;
  const m = await masterRecords(master, domain);
  return JSON.stringify(s.map(key).sort()) === JSON.stringify(m.map(key).sort());
}

async function slaveHasZone(slave: Node, domain: string): Promise<boolean> {
  const a = await slave.call('/CMD_API_DNS_ADMIN', { action: 'exists', domain });
  expect(a.pairs.error, a.body).toBe('0');
  return a.pairs.exists === '1';
}

async function queueRows(master: Node) {
  return master.services.db.selectFrom('cluster_queue').selectAll().orderBy('origin').execute();
}

describe('secret box', () => {
  it('seals with a fresh IV, opens only under the same installation secret, never shows the plain text', () => {
    const a = secretBox(Buffer.alloc(32, 1));
    const s1 = a.seal('login-key-value');
    const s2 = a.seal('login-key-value');
    expect(s1).not.toBe(s2);
    expect(s1).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(s1).not.toContain('login-key-value');
    expect(a.open(s1)).toBe('login-key-value');
    expect(() => secretBox(Buffer.alloc(32, 2)).open(s1)).toThrow(/cannot be decrypted/);
    const raw = Buffer.from(s1.slice(3), 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => a.open(`v1.${raw.toString('base64url')}`)).toThrow(/cannot be decrypted/);
  });
});

describe(`DNS cluster master → slave on loopback (${TEST_DB})`, () => {
  const master = new Node();
  const slave = new Node();

  beforeAll(async () => {
    await slave.start();
    await master.start();
    // Seed example C: a key for the master, limited to the cluster commands and the master's address.
    const k = await slave.call('/CMD_API_LOGIN_KEYS', {
      action: 'create',
      keyname: 'dnscluster',
      key: SLAVE_KEY,
      key2: SLAVE_KEY,
      never_expires: 'yes',
      select_allow0: 'CMD_API_LOGIN_TEST',
      select_allow1: 'CMD_API_DNS_ADMIN',
      select_allow2: 'CMD_API_USER_EXISTS',
      ips: '127.0.0.1',
      passwd: ADMIN_PASSWORD,
    });
    expect(k.pairs.error, k.body).toBe('0');
    // The key does what the master needs and nothing else.
    const auth = `admin:${SLAVE_KEY}`;
    expect((await slave.call('/CMD_API_LOGIN_TEST', {}, auth)).body).toBe('error=0&text=Login%20OK&details=');
    expect((await rawCall(slave.port, '/CMD_API_SHOW_ALL_USERS', { auth })).status).not.toBe(200);
    // The slave already hosts an account of its own: the master's Domain and User Checks must see it.
    await createAccount(slave as never, 'user', 'sam');
    // The slave is a master of its own (to an address nobody answers): zones it receives are not pushed on.
    const own = await slave.call('/CMD_API_MULTI_SERVER', {
      action: 'add',
      ip: '192.0.2.1',
      port: '2222',
      user: 'admin',
      passwd: 'unused-key',
    });
    expect(own.pairs.error, own.body).toBe('0');
    await slave.services.db.updateTable('cluster_remotes').set({ dns: 1 }).execute();
  }, 60_000);

  afterAll(async () => {
    await master.destroy();
    await slave.destroy();
  });

  it('registers the slave with CMD_API_MULTI_SERVER; listings never show the login key', async () => {
    const bad = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'add',
      ip: '127.0.0.1',
      port: '99999',
      user: 'admin',
      passwd: SLAVE_KEY,
      ssl: 'no',
    });
    expect(bad.pairs.error, bad.body).toBe('1');
    expect(bad.pairs.details).toBe('port must be a number from 1 to 65535');
    expect(await master.services.db.selectFrom('cluster_remotes').selectAll().execute()).toEqual([]);

    const add = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'add',
      ip: '127.0.0.1',
      port: String(slave.port),
      user: 'admin',
      passwd: SLAVE_KEY,
      ssl: 'no',
    });
    expect(add.body).toBe('error=0&text=Server%20Added&details=');
    const again = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'add',
      ip: '127.0.0.1',
      port: '2222',
      user: 'admin',
      passwd: 'other',
    });
    expect(again.pairs.error).toBe('1');
    expect(again.pairs.details).toBe('The remote server 127.0.0.1 already exists');

    // Unknown server among the selected: nothing changes.
    const unknown = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'multiple',
      save: 'yes',
      select0: '127.0.0.1',
      select1: '127.0.0.9',
      'dns-127.0.0.1': 'yes',
    });
    expect(unknown.pairs.error).toBe('1');
    expect(unknown.pairs.details).toBe('There is no remote server 127.0.0.9');
    expect(
      (await master.services.db.selectFrom('cluster_remotes').select('dns').executeTakeFirstOrThrow()).dns,
    ).toBe(0);

    const save = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'multiple',
      save: 'yes',
      select0: '127.0.0.1',
      'port-127.0.0.1': String(slave.port),
      'user-127.0.0.1': 'admin',
      'passwd-127.0.0.1': '',
      'ssl-127.0.0.1': 'no',
      'dns-127.0.0.1': 'yes',
      'domain_check-127.0.0.1': 'yes',
      'user_check-127.0.0.1': 'yes',
      'email-127.0.0.1': 'yes',
      'show_all_users-127.0.0.1': 'no',
    });
    expect(save.body).toBe('error=0&text=Settings%20Saved&details=');

    const json = await rawCall(master.port, '/CMD_API_MULTI_SERVER?json=yes', { auth: ADMIN });
    expect(json.json()).toEqual({
      servers: {
        '127.0.0.1': {
          port: String(slave.port),
          user: 'admin',
          ssl: 'no',
          verify_tls: 'no',
          dns: 'yes',
          domain_check: 'yes',
          user_check: 'yes',
          email: 'yes',
          show_all_users: 'no',
          pending: '0',
          last_error: '',
        },
      },
    });
    const legacy = await rawCall(master.port, '/CMD_API_MULTI_SERVER', { auth: ADMIN });
    expect(legacy.body).toBe(
      `127.0.0.1=${encodeURIComponent(`port=${slave.port}&user=admin&ssl=no&verify_tls=no&dns=yes&domain_check=yes&user_check=yes&email=yes&show_all_users=no&pending=0&last_error=`)}`,
    );
    for (const body of [json.body, legacy.body]) expect(body).not.toContain(SLAVE_KEY);
    const row = await master.services.db.selectFrom('cluster_remotes').selectAll().executeTakeFirstOrThrow();
    expect(row.secret_enc).not.toContain(SLAVE_KEY);
    expect(master.services.cluster.box.open(row.secret_enc)).toBe(SLAVE_KEY);
    // Not for resellers or users.
    await createAccount(master as never, 'reseller', 'rita');
    const denied = await rawCall(master.port, '/CMD_API_MULTI_SERVER', { auth: authOf('rita') });
    expect(denied.pairs.error).toBe('1');
  });

  it('a new account and its zone, record additions and deletions reach the slave', async () => {
    await createAccount(master as never, 'user', 'fred');
    await eventually('fred.example.com on the slave', () => inSync(master, slave, 'fred.example.com'));

    const add = await master.call(
      '/CMD_API_DNS_CONTROL',
      { domain: 'fred.example.com', action: 'add', type: 'TXT', name: 'cluster', value: 'pushed one' },
      FRED,
    );
    expect(add.pairs.error, add.body).toBe('0');
    await eventually('the TXT record on the slave', async () =>
      ((await slaveRecords(slave, 'fred.example.com')) ?? []).some(
        (r) => r.name === 'cluster' && r.type === 'TXT' && r.value.includes('pushed one'),
      ),
    );
    expect(await inSync(master, slave, 'fred.example.com')).toBe(true);

    const del = await master.call(
      '/CMD_API_DNS_CONTROL',
      { domain: 'fred.example.com', action: 'delete', type: 'TXT', name: 'cluster' },
      FRED,
    );
    expect(del.pairs.error, del.body).toBe('0');
    await eventually('the TXT record gone from the slave', async () =>
      ((await slaveRecords(slave, 'fred.example.com')) ?? [{ name: 'x', type: 'x', value: '' }]).every(
        (r) => r.name !== 'cluster',
      ),
    );
    expect(await inSync(master, slave, 'fred.example.com')).toBe(true);
    // The queue is empty once everything arrived, and the slave queued nothing for its own remote.
    await eventually('an empty queue', async () => (await queueRows(master)).length === 0);
    expect(await queueRows(slave)).toEqual([]);
  });

  it('a domain added and deleted on the master is added and deleted on the slave', async () => {
    const mk = await master.call(
      '/CMD_API_DOMAIN',
      { action: 'create', domain: 'fred-extra.example.com' },
      FRED,
    );
    expect(mk.pairs.error, mk.body).toBe('0');
    await eventually('fred-extra on the slave', () => inSync(master, slave, 'fred-extra.example.com'));
    const rm = await master.call(
      '/CMD_API_DOMAIN',
      { action: 'select', delete: 'yes', confirmed: 'yes', select0: 'fred-extra.example.com' },
      FRED,
    );
    expect(rm.pairs.error, rm.body).toBe('0');
    await eventually(
      'fred-extra gone from the slave',
      async () => !(await slaveHasZone(slave, 'fred-extra.example.com')),
    );
  });

  it('Domain Check and User Check refuse names the slave has, before anything is written', async () => {
    const before = await master.services.db.selectFrom('audit_events').select('id').execute();
    const taken = await master.call('/CMD_API_DOMAIN', { action: 'create', domain: 'sam.example.com' }, FRED);
    expect(taken.pairs.error).toBe('1');
    expect(taken.pairs.text).toBe('That domain already exists on the system');
    expect(taken.pairs.details).toBe(
      `sam.example.com already exists on the remote server http://127.0.0.1:${slave.port}`,
    );
    // A subdomain of the slave's domain: its parent is there (exists=2).
    const sub = await master.call(
      '/CMD_API_DOMAIN',
      { action: 'create', domain: 'www2.sam.example.com' },
      FRED,
    );
    expect(sub.pairs.error).toBe('1');
    expect(sub.pairs.details).toContain('its parent domain is there');
    // A pointer's name is checked like a domain.
    const ptr = await master.call(
      '/CMD_API_DOMAIN_POINTER',
      { action: 'add', domain: 'fred.example.com', from: 'sam.example.com' },
      FRED,
    );
    expect(ptr.pairs.error).toBe('1');
    expect(ptr.pairs.details).toBe(
      `sam.example.com already exists on the remote server http://127.0.0.1:${slave.port}`,
    );

    const user = await master.call('/CMD_API_ACCOUNT_USER', {
      action: 'create',
      add: 'Submit',
      username: 'sam',
      email: 'sam@example.com',
      passwd: 'Sam-Pass-12345',
      passwd2: 'Sam-Pass-12345',
      domain: 'sam-elsewhere.example.com',
      package: 'default',
      ip: 'shared',
      notify: 'no',
    });
    expect(user.pairs.error).toBe('1');
    expect(user.pairs.text).toBe('That username already exists on the system');
    expect(user.pairs.details).toBe(`sam already exists on the remote server http://127.0.0.1:${slave.port}`);
    // Another name, but the slave's domain: the account is refused by Domain Check.
    const dom = await master.call('/CMD_API_ACCOUNT_USER', {
      action: 'create',
      add: 'Submit',
      username: 'samuel',
      email: 'sam@example.com',
      passwd: 'Sam-Pass-12345',
      passwd2: 'Sam-Pass-12345',
      domain: 'sam.example.com',
      package: 'default',
      ip: 'shared',
      notify: 'no',
    });
    expect(dom.pairs.error).toBe('1');
    expect(dom.pairs.details).toContain('sam.example.com already exists on the remote server');
    const db = master.services.db;
    expect(
      await db.selectFrom('accounts').select('username').where('username', 'in', ['sam', 'samuel']).execute(),
    ).toEqual([]);
    expect(await db.selectFrom('domains').select('name').where('name', 'like', 'sam%').execute()).toEqual([]);
    expect((await db.selectFrom('audit_events').select('id').execute()).length).toBe(before.length);
  });

  it('with the slave down, a check that cannot be answered refuses with a clear error', async () => {
    await slave.unlisten();
    try {
      const r = await master.call(
        '/CMD_API_DOMAIN',
        { action: 'create', domain: 'unasked.example.com' },
        FRED,
      );
      expect(r.pairs.error).toBe('1');
      expect(r.pairs.text).toBe('A server of the DNS cluster could not be asked');
      expect(r.pairs.details).toMatch(
        new RegExp(
          `^Domain Check could not ask http://127\\.0\\.0\\.1:${slave.port} whether unasked\\.example\\.com exists there \\(.*ECONNREFUSED.*\\); refused, since clusterCheckUnreachable is REFUSE$`,
        ),
      );
      expect(
        await master.services.db
          .selectFrom('domains')
          .select('name')
          .where('name', '=', 'unasked.example.com')
          .execute(),
      ).toEqual([]);
    } finally {
      await slave.listen();
    }
  });

  it('changes made while the slave is down survive a master restart and reach the slave once it is back', async () => {
    // Domain Check off for this server, so domains can be added while it is down.
    const off = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'multiple',
      save: 'yes',
      select0: '127.0.0.1',
      'dns-127.0.0.1': 'yes',
      'user_check-127.0.0.1': 'yes',
    });
    expect(off.pairs.error, off.body).toBe('0');
    await slave.unlisten();

    const change = async (params: Record<string, string>) => {
      const a = await master.call('/CMD_API_DNS_CONTROL', { domain: 'fred.example.com', ...params }, FRED);
      expect(a.pairs.error, a.body).toBe('0');
    };
    // Many changes of one zone: one queue row per zone, standing for its latest state.
    for (let i = 0; i < 5; i++)
      await change({ action: 'add', type: 'A', name: `host${i}`, value: `192.0.2.${i + 1}` });
    await change({ action: 'delete', type: 'A', name: 'host0' });
    await change({ action: 'delete', type: 'A', name: 'www' });
    const mk = await master.call(
      '/CMD_API_DOMAIN',
      { action: 'create', domain: 'fred-late.example.com' },
      FRED,
    );
    expect(mk.pairs.error, mk.body).toBe('0');

    // The pusher tried, failed and keeps the rows with the error.
    await eventually('failed attempts recorded', async () => {
      const rows = await queueRows(master);
      return (
        rows.length === 2 &&
        rows.every((r) => Number(r.attempts) > 0 && r.last_error.includes('ECONNREFUSED'))
      );
    });
    expect((await queueRows(master)).map((r) => [r.origin, r.action])).toEqual([
      ['fred-late.example.com', 'upsert'],
      ['fred.example.com', 'upsert'],
    ]);
    const listed = (await rawCall(master.port, '/CMD_API_MULTI_SERVER?json=yes', { auth: ADMIN }).then((a) =>
      a.json(),
    )) as { servers: Record<string, { pending: string; last_error: string }> };
    expect(listed.servers['127.0.0.1']?.pending).toBe('2');
    expect(listed.servers['127.0.0.1']?.last_error).toContain('ECONNREFUSED');

    // The master restarts while the slave is still down: the queue is in the database, not in memory.
    await master.stop();
    await master.start();
    expect((await queueRows(master)).map((r) => r.origin)).toEqual([
      'fred-late.example.com',
      'fred.example.com',
    ]);

    // The slave comes back on the same port with the same data.
    await slave.listen();
    await eventually('fred.example.com converged', () => inSync(master, slave, 'fred.example.com'));
    await eventually('fred-late.example.com converged', () => inSync(master, slave, 'fred-late.example.com'));
    await eventually('an empty queue', async () => (await queueRows(master)).length === 0);
    const recs = (await slaveRecords(slave, 'fred.example.com')) ?? [];
    expect(
      recs
        .filter((r) => r.type === 'A' && r.name.startsWith('host'))
        .map((r) => r.name)
        .sort(),
    ).toEqual(['host1', 'host2', 'host3', 'host4']);
    expect(recs.some((r) => r.name === 'www' && r.type === 'A')).toBe(false);
  }, 60_000);

  it('push re-queues every zone for a server; delete removes it with its queue', async () => {
    // The slave loses a zone (deleted there by hand); a push brings it back.
    const gone = await slave.call('/CMD_API_DNS_ADMIN', {
      action: 'delete',
      domain: 'fred-late.example.com',
    });
    expect(gone.pairs.error, gone.body).toBe('0');
    expect(await slaveHasZone(slave, 'fred-late.example.com')).toBe(false);
    const push = await master.call('/CMD_API_MULTI_SERVER', { action: 'push', select0: '127.0.0.1' });
    expect(push.pairs.error, push.body).toBe('0');
    await eventually('fred-late back on the slave', () => inSync(master, slave, 'fred-late.example.com'));
    await eventually('an empty queue', async () => (await queueRows(master)).length === 0);

    await slave.unlisten();
    await master.call(
      '/CMD_API_DNS_CONTROL',
      { domain: 'fred.example.com', action: 'add', type: 'TXT', name: 'never', value: 'sent' },
      FRED,
    );
    expect((await queueRows(master)).length).toBe(1);
    const del = await master.call('/CMD_API_MULTI_SERVER', { action: 'delete', select0: '127.0.0.1' });
    expect(del.body).toBe('error=0&text=Servers%20Deleted&details=');
    expect(await queueRows(master)).toEqual([]);
    expect((await rawCall(master.port, '/CMD_API_MULTI_SERVER?json=yes', { auth: ADMIN })).json()).toEqual({
      servers: {},
    });
    await slave.listen();
    // No remote, nothing queued: later changes stay local.
    await master.call(
      '/CMD_API_DNS_CONTROL',
      { domain: 'fred.example.com', action: 'add', type: 'TXT', name: 'local', value: 'only' },
      FRED,
    );
    expect(await queueRows(master)).toEqual([]);
    const n = await master.services.db
      .selectFrom('audit_events')
      .select(sql<number>`count(*)`.as('n'))
      .where('command', 'like', 'cluster.remote.%')
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBeGreaterThanOrEqual(5);
  });
});

describe(`DNS cluster over HTTPS (${TEST_DB})`, () => {
  const master = new Node();
  const slave = new Node(true);

  beforeAll(async () => {
    await slave.start();
    await master.start();
  }, 60_000);

  afterAll(async () => {
    await master.destroy();
    await slave.destroy();
  });

  const slaveZone = (origin: string) =>
    slave.services.db
      .selectFrom('dns_zones')
      .select('origin')
      .where('origin', '=', origin)
      .executeTakeFirst();

  it("refuses the remote's self-signed certificate when verify_tls is on, and accepts it when off (the default)", async () => {
    const add = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'add',
      ip: '127.0.0.1',
      port: String(slave.port),
      user: 'admin',
      passwd: ADMIN_PASSWORD,
      ssl: 'yes',
      verify_tls: 'yes',
    });
    expect(add.pairs.error, add.body).toBe('0');
    const on = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'multiple',
      save: 'yes',
      select0: '127.0.0.1',
      'ssl-127.0.0.1': 'yes',
      'verify_tls-127.0.0.1': 'yes',
      'dns-127.0.0.1': 'yes',
    });
    expect(on.pairs.error, on.body).toBe('0');
    await createAccount(master as never, 'user', 'tina');
    await eventually('a certificate error recorded', async () =>
      (await queueRows(master)).some((r) => /self.signed|certificate/i.test(r.last_error)),
    );
    expect(await slaveZone('tina.example.com')).toBeUndefined();

    const off = await master.call('/CMD_API_MULTI_SERVER', {
      action: 'multiple',
      save: 'yes',
      select0: '127.0.0.1',
      'ssl-127.0.0.1': 'yes',
      'dns-127.0.0.1': 'yes',
    });
    expect(off.pairs.error, off.body).toBe('0');
    await eventually(
      'tina.example.com on the HTTPS slave',
      async () => (await slaveZone('tina.example.com')) !== undefined,
    );
    await eventually('an empty queue', async () => (await queueRows(master)).length === 0);
  }, 60_000);
});

describe(`push queue (${TEST_DB})`, () => {
  const node = new Node();
  beforeAll(() => node.start(), 60_000);
  afterAll(() => node.destroy());

  it('coalesces changes of one zone, lets one claimant send it, and keeps it when it changed meanwhile', async () => {
    const db = node.services.db;
    await node.services.cluster.pusher.stop();
    const now = 1_000_000;
    await db
      .insertInto('cluster_remotes')
      .values(
        ['r1', 'r2'].map((id, i) => ({
          id,
          host: `192.0.2.${i + 10}`,
          port: 2222,
          username: 'admin',
          secret_enc: node.services.cluster.box.seal('k'),
          ssl: 0,
          verify_tls: 0,
          dns: id === 'r1' ? 1 : 0,
          domain_check: 0,
          user_check: 0,
          email: 0,
          show_all_users: 0,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    // Only the remote with dns on gets rows; three changes of a zone are one row, at version 3.
    await clusterRepo.queueZonePush(db, 'a.example', 'upsert', now);
    await clusterRepo.queueZonePush(db, 'a.example', 'upsert', now + 1);
    await clusterRepo.queueZonePush(db, 'a.example', 'delete', now + 2);
    await clusterRepo.queueZonePush(db, 'b.example', 'upsert', now + 3);
    const rows = await queueRows(node);
    expect(rows.map((r) => [r.remote_id, r.origin, r.action, Number(r.version)])).toEqual([
      ['r1', 'a.example', 'delete', 3],
      ['r1', 'b.example', 'upsert', 1],
    ]);
    // Due in the order queued; one of two claims of one row wins.
    const due = await clusterRepo.duePushes(db, now + 10, 10);
    expect(due.map((d) => d.origin)).toEqual(['a.example', 'b.example']);
    const a = due[0] as clusterRepo.DueItem;
    const claims = await Promise.all([
      clusterRepo.claim(db, a, now + 10, 5000),
      clusterRepo.claim(db, a, now + 10, 5000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await clusterRepo.duePushes(db, now + 10, 10)).map((d) => d.origin)).toEqual(['b.example']);
    // A change while the push is on the wire: the sent version is not the latest, so the row stays, due.
    await clusterRepo.queueZonePush(db, 'a.example', 'upsert', now + 11);
    await clusterRepo.pushed(db, a);
    const after = await clusterRepo.duePushes(db, now + 12, 10);
    expect(after.map((d) => [d.origin, d.version])).toEqual([
      ['a.example', 4],
      ['b.example', 1],
    ]);
    await clusterRepo.pushed(db, after[0] as clusterRepo.DueItem);
    // A failure waits for its retry time; the error is kept.
    await clusterRepo.pushFailed(db, after[1] as clusterRepo.DueItem, 'connect ECONNREFUSED', now + 500);
    expect(await clusterRepo.duePushes(db, now + 499, 10)).toEqual([]);
    const left = await queueRows(node);
    expect(left.map((r) => [r.origin, Number(r.attempts), r.last_error])).toEqual([
      ['b.example', 1, 'connect ECONNREFUSED'],
    ]);
    expect((await clusterRepo.duePushes(db, now + 500, 10)).map((d) => d.origin)).toEqual(['b.example']);
  });

  it('backs off exponentially up to a ceiling', () => {
    expect([0, 1, 2, 3, 10, 50].map((n) => backoffDelay(n, 1000, 60_000))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000,
    ]);
  });
});
