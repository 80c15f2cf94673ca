// A benchmark target, run as a child process so the load generator does not share its event loop:
// `bare` is a Fastify hello route (the baseline); `hostdeck` is the DA API on a fresh SQLite database
// with production password hashing, a user `fred`, and two login keys of fred's made through
// CMD_API_LOGIN_KEYS as a client would: one with unlimited uses and one with max_uses=10,000,000 (so
// every request pays for the guarded UPDATE), both allowed only CMD_API_SHOW_USER_CONFIG. Prints one
// JSON line when ready: { port } or { port, keys: { unlimited, limited } }.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { buildApps } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { findByUsername } from '../src/modules/accounts/accounts.repository.js';
import { createAccount } from '../src/modules/accounts/accounts.service.js';
import { createServices } from '../src/services.js';
import { initialize } from '../src/setup.js';

const kind = process.argv[2];
const FRED_PASSWORD = 'Fred-Bench-Pass-1';
// Exit normally on a signal so profilers (--cpu-prof) can write their output.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

if (kind === 'bare') {
  const app = Fastify();
  app.get('/hello', async () => 'hello');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
} else if (kind === 'hostdeck') {
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
  await createAccount(
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
  const app = buildApps(services, null).da;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
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
  process.stderr.write('usage: target.ts bare|hostdeck\n');
  process.exit(2);
}
