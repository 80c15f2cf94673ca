// The server child of the DNS benchmarks: the DirectAdmin API over a data directory the benchmark
// prepared, with the DNS applier off. Usage: dns-target.ts DATA_DIR FULL|NORMAL. Prints { port } when
// ready; exits normally on SIGTERM/SIGINT so profilers (--cpu-prof) can write their output.
import { buildApps } from '../src/app.js';
import { benchConfig, benchServices } from './dns-lib.js';

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: dns-target.ts DATA_DIR FULL|NORMAL\n');
  process.exit(2);
}
const services = await benchServices(benchConfig(dataDir, process.argv[3] === 'NORMAL' ? 'NORMAL' : 'FULL'));
const app = buildApps(services, null).da;
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
