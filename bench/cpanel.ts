// Load benchmark: requests per second of UAPI DomainInfo::list_domains on the cPanel listener with
// `Authorization: cpanel fred:TOKEN` (an unlimited token: no write per request, history batched), as a
// ratio to a bare Fastify route (target >= 0.5x). Runs are interleaved as in bench/da-auth.ts: every
// round measures bare Fastify and then the token run right after it, and the report gives the median
// req/s of both sides and the median of the rounds' ratios, so background load moves both sides together.
// Every answer must be HTTP 200 with `"status":1`.
// Usage: npx tsx bench/cpanel.ts [--rounds 5 --seconds 3 --connections 50 --sync FULL|NORMAL]
// (`bench/target.ts bare` and `bench/target.ts cpanel FULL|NORMAL` are the child processes it starts.)
import autocannon from 'autocannon';
import { loadAverage, median, numberOption, startServer, syncOption } from './harness.js';

await drive();

async function drive(): Promise<void> {
  const seconds = numberOption('seconds', 3);
  const rounds = numberOption('rounds', 5);
  const connections = numberOption('connections', 50);
  const sync = syncOption();
  const TARGET = 0.5;

  const measure = async (url: string, headers: Record<string, string>, duration = seconds) => {
    const r = await autocannon({
      url,
      connections,
      duration,
      headers,
      // Every answer must be a UAPI success, not merely HTTP 200. autocannon keeps each answer's body
      // anyway; checking it there costs the load generator far less than converting every socket chunk.
      ...(url.includes('/execute/')
        ? { verifyBody: (body) => typeof body === 'string' && body.includes('"status":1') }
        : {}),
    });
    return {
      rps: r.requests.average,
      p99: r.latency.p99,
      errors: r.errors,
      non2xx: r.non2xx,
      bad: r.mismatches,
    };
  };
  const loadBefore = loadAverage();

  const bare = await startServer('target', ['bare']);
  const hd = await startServer<{ token?: string }>('target', ['cpanel', sync]);
  if (!hd.token) throw new Error('the target made no token');
  const bareUrl = `http://127.0.0.1:${bare.port}/hello`;
  const url = `http://127.0.0.1:${hd.port}/execute/DomainInfo/list_domains`;
  const headers = { authorization: `cpanel fred:${hd.token}` };

  await measure(bareUrl, {}, 2);
  await measure(url, headers, 2);
  const bareRuns: Awaited<ReturnType<typeof measure>>[] = [];
  const runs: Awaited<ReturnType<typeof measure>>[] = [];
  for (let round = 0; round < rounds; round++) {
    bareRuns.push(await measure(bareUrl, {}));
    runs.push(await measure(url, headers));
  }
  bare.child.kill();
  hd.child.kill();

  const ratios = runs.map((m, i) => m.rps / (bareRuns[i]?.rps ?? Number.NaN));
  const ratio = median(ratios);
  const errors = runs.reduce((n, m) => n + m.errors + m.non2xx + m.bad, 0);
  console.log(
    `load average before: ${loadBefore}; after: ${loadAverage()} (${rounds} rounds of ${seconds} s runs, ${connections} connections, SQLite synchronous=${sync})`,
  );
  console.log(
    `${'bare Fastify GET /hello'.padEnd(58)} median ${median(bareRuns.map((m) => m.rps))
      .toFixed(0)
      .padStart(6)} req/s`,
  );
  console.log(
    `${'UAPI DomainInfo::list_domains, cpanel token'.padEnd(58)} median ${median(runs.map((m) => m.rps))
      .toFixed(0)
      .padStart(6)} req/s  p99 ${median(runs.map((m) => m.p99))} ms  failed answers ${errors}`,
  );
  console.log(
    `${''.padEnd(58)} ratio ${ratio.toFixed(2)}x (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}; target >= ${TARGET.toFixed(2)}x) ${ratio >= TARGET ? 'MET' : 'NOT MET'}`,
  );
  if (errors > 0) process.exitCode = 1;
}
