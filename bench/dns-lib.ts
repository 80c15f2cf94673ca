// Shared parts of the DNS benchmarks: the configuration both the preparing process and the server child
// use (so the zone template and hostname agree), starting the server child on a prepared data
// directory, and making accounts and login keys (statistics and process helpers: harness.ts).
import { pino } from 'pino';
import { type Config, loadConfig } from '../src/config/config.js';
import type { Account } from '../src/db/database.js';
import { findByUsername } from '../src/modules/accounts/accounts.repository.js';
import { createAccount } from '../src/modules/accounts/accounts.service.js';
import { unlimitedSettings } from '../src/modules/packages/limits.js';
import { createServices, type Services } from '../src/services.js';
import { basic, type ServerProcess, startServer } from './harness.js';

export const ADMIN_PASSWORD = 'Bench-Admin-Pass-1';

/**
 * The configuration of a benchmark server on `dataDir`. The DNS applier is OFF: the numbers measure the
 * API and the database, not BIND. `cheapHash` lowers argon2's cost for data sets with many accounts.
 */
export function benchConfig(dataDir: string, sync: 'FULL' | 'NORMAL', cheapHash = false): Config {
  return loadConfig({
    env: {
      HOSTDECK_DATA_DIR: dataDir,
      HOSTDECK_HOSTNAME: 'bench.example.net',
      HOSTDECK_SQLITE_SYNCHRONOUS: sync,
      HOSTDECK_DNS_APPLY: 'OFF',
      ...(cheapHash
        ? { HOSTDECK_PASSWORD_HASH_MEMORY_KIB: '1024', HOSTDECK_PASSWORD_HASH_TIME_COST: '1' }
        : {}),
    },
  });
}

/** Services on a benchmark data directory, logging warnings only. */
export function benchServices(config: Config): Promise<Services> {
  return createServices(config, { logger: pino({ level: 'warn' }) });
}

/** The admin account, as the actor that creates accounts from the command line. */
export async function cliActor(services: Services) {
  const admin = await findByUsername(services.db, 'admin');
  if (!admin) throw new Error('no admin account: initialize the data directory first');
  return { account: admin, authenticated: admin, credential: { kind: 'cli' as const, id: '' }, ip: 'cli' };
}

/** Creates a user with unlimited limits and `domain` as main domain, through the accounts service. */
export async function makeUser(
  services: Services,
  username: string,
  password: string,
  domain: string,
): Promise<Account> {
  await createAccount(services, await cliActor(services), {
    level: 'user',
    username,
    email: `${username}@example.com`,
    domain,
    settings: unlimitedSettings('user'),
    password: { plain: password },
  });
  const a = await findByUsername(services.db, username);
  if (!a) throw new Error(`${username} was not created`);
  return a;
}

export type Target = ServerProcess<object>;

/** Starts the DA API on a prepared data directory in a child process (its RSS and CPU are its own). */
export function startDnsTarget(dataDir: string, sync: 'FULL' | 'NORMAL'): Promise<Target> {
  return startServer('dns-target', [dataDir, sync]);
}

/** Starts bench/target.ts's bare Fastify hello server in a child process. */
export function startBare(): Promise<Target> {
  return startServer('target', ['bare']);
}

/** Makes a login key of `user` through CMD_API_LOGIN_KEYS, unlimited uses, allowed only `commands`. */
export async function createLoginKey(
  port: number,
  user: string,
  password: string,
  keyname: string,
  commands: string[],
): Promise<string> {
  const body = new URLSearchParams({
    action: 'create',
    keyname,
    never_expires: 'yes',
    max_uses: '0',
    passwd: password,
  });
  for (const [i, c] of commands.entries()) body.set(`select_allow${i}`, c);
  const r = await fetch(`http://127.0.0.1:${port}/CMD_API_LOGIN_KEYS`, {
    method: 'POST',
    headers: { authorization: basic(user, password), 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const answer = new URLSearchParams(await r.text());
  const key = answer.get('key');
  if (r.status !== 200 || answer.get('error') !== '0' || !key)
    throw new Error(`creating key ${keyname} failed: ${r.status} ${answer.toString()}`);
  return key;
}
