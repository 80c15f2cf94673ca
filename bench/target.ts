// A benchmark target, run as a child process so the load generator does not share its event loop:
// `bare` is a Fastify hello route (the baseline); `hostdeck` is the DA API on a fresh SQLite database
// with production password hashing, a user `fred`, and two login keys of fred's made through
// CMD_API_LOGIN_KEYS as a client would: one with unlimited uses and one with max_uses=10,000,000 (so
// every request pays for the guarded UPDATE), both allowed only CMD_API_SHOW_USER_CONFIG; `cpanel` is
// the cPanel listener on the same set-up with an unlimited cPanel token of fred's. Prints one JSON line
// when ready: { port }, { port, keys: { unlimited, limited } } or { port, token }.
// `busy US` is bare Fastify spending US microseconds of CPU on every request (a calibration).
// Usage: target.ts bare | busy US | hostdeck [FULL|NORMAL] | cpanel [FULL|NORMAL]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApps } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import type { Account } from '../src/db/database.js';
import { findByUsername } from '../src/modules/accounts/accounts.repository.js';
import { createAccount } from '../src/modules/accounts/accounts.service.js';
import { createCpanelToken } from '../src/modules/tokens/tokens.service.js';
import { uapiCatalog } from '../src/protocols/cpanel/uapi.js';
import { createServices, type Services } from '../src/services.js';
import { initialize } from '../src/setup.js';

const kind = process.argv[2];
const FRED_PASSWORD = 'Fred-Bench-Pass-1';
// Exit normally on a signal so profilers (--cpu-prof) can write their output.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

/** Listens on a free loopback port; returns the port. */
async function listenLocal(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

/** A fresh data directory with the admin and the user fred (default package), as every target needs. */
async function setUp(): Promise<{ services: Services; fred: Account }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-bench-'));
  const config = loadConfig({
    env: {
      HOSTDECK_DATA_DIR: dataDir,
      HOSTDECK_HOSTNAME: 'bench.example.net',
      // FULL (the production default) unless the benchmark asks for NORMAL.
      HOSTDECK_SQLITE_SYNCHRONOUS: process.argv[3] === 'NORMAL' ? 'NORMAL' : 'FULL',
    },
  });
  const services = await createServices(config, { logger: pino({ level: 'warn' }) });
  await initialize(services, 'Bench-Admin-Pass-1');
  const admin = await findByUsername(services.db, 'admin');
  if (!admin) throw new Error('no admin');
  const fred = await createAccount(
    services,
    { account: admin, authenticated: admin, credential: { kind: 'cli', id: '' }, ip: 'cli' },
    {
      level: 'user',
      username: 'fred',
      email: 'fred@example.com',
      domain: 'fred.example.com',
      package: 'default',
      password: { plain: FRED_PASSWORD },
    },
  );
  return { services, fred };
}

if (kind === 'bare') {
  const app = Fastify();
  app.get('/hello', async () => 'hello');
  process.stdout.write(`${JSON.stringify({ port: await listenLocal(app) })}\n`);
} else if (kind === 'busy') {
  // The calibration route: bare Fastify that spends a fixed CPU time on every request before answering,
  // to show what ratio a route costing that much more than bare can reach on this machine.
  const spinNs = BigInt(Math.round(Number(process.argv[3] ?? 0) * 1000));
  const app = Fastify();
  app.get('/hello', async () => {
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() - start < spinNs);
    return 'hello';
  });
  process.stdout.write(`${JSON.stringify({ port: await listenLocal(app) })}\n`);
} else if (kind === 'cpanel') {
  const { services, fred } = await setUp();
  const made = await createCpanelToken(
    services,
    { account: fred, authenticated: fred, credential: { kind: 'cli', id: '' }, ip: 'cli' },
    uapiCatalog(),
    { name: 'bench' },
  );
  const port = await listenLocal(buildApps(services, null).cpanel);
  process.stdout.write(`${JSON.stringify({ port, token: made.token })}\n`);
} else if (kind === 'hostdeck') {
  const { services } = await setUp();
  const port = await listenLocal(buildApps(services, null).da);
  const createKey = async (keyname: string, maxUses: number): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${port}/CMD_API_LOGIN_KEYS`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`fred:${FRED_PASSWORD}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        action: 'create',
        keyname,
        never_expires: 'yes',
        max_uses: String(maxUses),
        passwd: FRED_PASSWORD,
        select_allow0: 'CMD_API_SHOW_USER_CONFIG',
      }).toString(),
    });
    const body = new URLSearchParams(await r.text());
    const key = body.get('key');
    if (r.status !== 200 || body.get('error') !== '0' || !key)
      throw new Error(`creating key ${keyname} failed: ${r.status} ${body.toString()}`);
    return key;
  };
  const keys = {
    unlimited: await createKey('benchunlimited', 0),
    limited: await createKey('benchlimited', 10_000_000),
  };
  process.stdout.write(`${JSON.stringify({ port, keys })}\n`);
} else {
  process.stderr.write('usage: target.ts bare|busy US|hostdeck|cpanel [FULL|NORMAL]\n');
  process.exit(2);
}
