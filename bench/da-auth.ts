// Load benchmark: requests per second of a bare Fastify route and of an authenticated DirectAdmin
// command (repeated Basic auth of one account), measured in the same run, and their ratio.
// Target: hostdeck ≥ 0.5 × bare. Usage: npm run bench [-- --seconds 10 --connections 50]
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = opt('seconds', 8);
const connections = opt('connections', 50);

async function startTarget(kind: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./target.ts', import.meta.url).pathname, kind],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind} did not start`)), 60_000);
    rl.once('line', (l) => {
      clearTimeout(t);
      resolve(Number(l));
    });
    child.once('exit', (c) => reject(new Error(`${kind} exited with ${c}`)));
  });
  return { port, child };
}

async function measure(
  url: string,
  headers: Record<string, string>,
): Promise<{ rps: number; p99: number; errors: number; non2xx: number }> {
  // A short warm-up fills caches (JIT, the verified-credential cache) before the measured run.
  await autocannon({ url, connections: 10, duration: 2, headers });
  const r = await autocannon({ url, connections, duration: seconds, headers });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

const bare = await startTarget('bare');
const base = await measure(`http://127.0.0.1:${bare.port}/hello`, {});
bare.child.kill();

const hd = await startTarget('hostdeck');
const auth = { authorization: `Basic ${Buffer.from('fred:Fred-Bench-Pass-1').toString('base64')}` };
const da = await measure(`http://127.0.0.1:${hd.port}/CMD_API_SHOW_USER_CONFIG`, auth);
hd.child.kill();

const ratio = da.rps / base.rps;
console.log(`bare Fastify GET /hello:                 ${base.rps.toFixed(0)} req/s (p99 ${base.p99} ms)`);
console.log(
  `hostdeck CMD_API_SHOW_USER_CONFIG (Basic): ${da.rps.toFixed(0)} req/s (p99 ${da.p99} ms, errors ${da.errors}, non-2xx ${da.non2xx})`,
);
console.log(`ratio: ${ratio.toFixed(2)}x (target >= 0.50x) ${ratio >= 0.5 ? 'MET' : 'NOT MET'}`);
if (da.non2xx > 0 || da.errors > 0) process.exitCode = 1;
