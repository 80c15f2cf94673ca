// The server child of the DNS benchmarks: the DirectAdmin API over a data directory the benchmark
// prepared, with the DNS applier off. Usage: dns-target.ts DATA_DIR FULL|NORMAL [raw]. Prints { port }
// when ready; exits normally on SIGTERM/SIGINT so profilers (--cpu-prof) can write their output.
//
// `raw` is a calibration, not hostdeck: bare Fastify taking the same POST and doing only the durable SQL
// of an add on the same schema with better-sqlite3's prepared statements (the zone row, the records at
// the name, the record, the zone's serial and count, the outbox and audit rows, each add in a savepoint,
// concurrent adds group-committed) — no authentication, validation, registry or Kysely. It shows what
// ratio the database work of an add alone allows on the machine at hand.
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { buildApps } from '../src/app.js';
import { benchConfig, benchServices } from './dns-lib.js';

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: dns-target.ts DATA_DIR FULL|NORMAL [raw]\n');
  process.exit(2);
}
const sync = process.argv[3] === 'NORMAL' ? 'NORMAL' : 'FULL';

const app =
  process.argv[4] === 'raw'
    ? rawAdds(dataDir)
    : buildApps(await benchServices(benchConfig(dataDir, sync)), null).da;
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);

function rawAdds(dir: string) {
  const db = new Database(`${dir}/hostdeck.sqlite`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  const zoneByOrigin = db.prepare('select id, serial from dns_zones where origin = ?');
  const recordsAt = db.prepare('select id, type, data from dns_records where zone_id = ? and name = ?');
  const insertRecord = db.prepare(
    'insert into dns_records (zone_id, name, type, ttl, data) values (?, ?, ?, ?, ?)',
  );
  const bump = db.prepare(
    'update dns_zones set serial = serial + 1, record_count = record_count + 1, updated_at = ? where id = ?',
  );
  const outbox = db.prepare(
    "insert into outbox (topic, payload, created_at, attempts, last_error) values ('dns.zone', ?, ?, 0, '')",
  );
  const audit = db.prepare(
    `insert into audit_events (at, actor_id, actor_username, effective_username, credential_kind, credential_id, ip, command, target, outcome, details)
     values (?, 'bench', 'fred', '', 'login_key', 'bench', '127.0.0.1', 'dns.records.change', ?, 'ok', ?)`,
  );
  type Add = { domain: string; name: string; value: string; done: (ok: boolean) => void };
  let queue: Add[] = [];
  let running = false;
  const drain = () => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const ok: boolean[] = [];
      db.exec('begin immediate');
      for (const add of batch) {
        db.exec('savepoint item');
        const now = Date.now();
        const zone = zoneByOrigin.get(add.domain) as { id: string } | undefined;
        const here = zone ? recordsAt.all(zone.id, add.name) : [];
        if (!zone || here.length > 0) {
          ok.push(false);
          db.exec('rollback to item; release item');
          continue;
        }
        insertRecord.run(zone.id, add.name, 'TXT', null, JSON.stringify([add.value]));
        bump.run(now, zone.id);
        outbox.run(JSON.stringify({ origin: add.domain, action: 'upsert' }), now);
        audit.run(now, add.domain, JSON.stringify({ added: [`${add.name} TXT`], deleted: 0 }));
        db.exec('release item');
        ok.push(true);
      }
      db.exec('commit');
      for (const [i, add] of batch.entries()) add.done(ok[i] ?? false);
    }
    running = false;
  };
  const app = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/CMD_API_DNS_CONTROL', (req, reply) => {
    const p = new URLSearchParams(String(req.body ?? ''));
    const add: Add = {
      domain: p.get('domain') ?? '',
      name: p.get('name') ?? '',
      value: p.get('value') ?? '',
      done: (ok) => {
        reply
          .type('text/plain; charset=utf-8')
          .send(ok ? 'error=0&text=Record%20Added&details=' : 'error=1&text=Refused&details=');
      },
    };
    queue.push(add);
    if (!running) {
      running = true;
      setImmediate(drain);
    }
    return reply;
  });
  return app;
}
