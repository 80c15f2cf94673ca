// A benchmark target, run as a child process so the load generator does not share its event loop:
// `bare` is a Fastify hello route (the baseline); `hostdeck` is the DA API on a fresh SQLite database
// with production password hashing. Prints the port on stdout when ready.
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
// Exit normally on a signal so profilers (--cpu-prof) can write their output.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

if (kind === 'bare') {
  const app = Fastify();
  app.get('/hello', async () => 'hello');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  process.stdout.write(`${typeof a === 'object' && a ? a.port : 0}\n`);
} else if (kind === 'hostdeck') {
  const dataDir = mkdtempSync(join(tmpdir(), 'hostdeck-bench-'));
  const config = loadConfig({ env: { HOSTDECK_DATA_DIR: dataDir, HOSTDECK_HOSTNAME: 'bench.example.net' } });
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
      password: { plain: 'Fred-Bench-Pass-1' },
    },
  );
  const app = buildApps(services, null).da;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  process.stdout.write(`${typeof a === 'object' && a ? a.port : 0}\n`);
} else {
  process.stderr.write('usage: target.ts bare|hostdeck\n');
  process.exit(2);
}
