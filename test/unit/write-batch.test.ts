/**
 * Group commit with the sync off the event loop (SQLite at synchronous=FULL): a batch commits without
 * syncing, its callers are answered only once the WAL sync that follows has finished, a failed sync
 * fails them, and the connection is back at FULL for every other statement. The WAL syncs coalesce: one
 * running and at most one queued, shared by every caller that came while the first ran.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, migrateToLatest, walFlusher } from '../../src/db/connect.js';
import { WriteBatcher } from '../../src/db/write-batch.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('walFlusher', () => {
  it('runs one sync at a time and queues one more for every caller that came meanwhile', async () => {
    const syncs: ReturnType<typeof deferred>[] = [];
    const flush = walFlusher('unused', () => {
      const d = deferred();
      syncs.push(d);
      return d.promise;
    });
    const first = flush();
    expect(syncs).toHaveLength(1);
    const second = flush();
    const third = flush();
    expect(second).toBe(third);
    expect(syncs).toHaveLength(1);
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    syncs[0]?.resolve();
    await first;
    await tick();
    // The queued sync started after the first ended: the second and third wait for it.
    expect(syncs).toHaveLength(2);
    expect(secondDone).toBe(false);
    const fourth = flush();
    expect(fourth).not.toBe(second);
    syncs[1]?.resolve();
    await second;
    await tick();
    expect(syncs).toHaveLength(3);
    syncs[2]?.reject(new Error('EIO'));
    await expect(fourth).rejects.toThrow('EIO');
    // After a failure the next caller gets a sync of its own.
    const fifth = flush();
    expect(syncs).toHaveLength(4);
    syncs[3]?.resolve();
    await fifth;
  });
});

describe('WriteBatcher with a flush', () => {
  let dir: string;
  let conn: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostdeck-batch-'));
    conn = await connect({ url: `sqlite:${join(dir, 'db.sqlite')}`, sqliteSynchronous: 'FULL' });
    await migrateToLatest(conn.db);
  });
  afterAll(async () => {
    await conn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const mark = (target: string) => ({
    at: 0,
    actor_id: null,
    actor_username: 'test',
    effective_username: '',
    credential_kind: 'cli',
    credential_id: '',
    ip: '',
    command: 'test.flush',
    target,
    outcome: 'ok',
    details: '',
  });
  const rowsOf = async (target: string) =>
    (await conn.db.selectFrom('audit_events').select('id').where('target', '=', target).execute()).length;
  const synchronous = async () =>
    Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(conn.db)).rows[0]?.synchronous);

  it('the database at FULL in a file has a WAL flusher', () => {
    expect(conn.flush).toBeTypeOf('function');
  });

  it('answers a batch only once its sync has finished, and leaves the connection at FULL', async () => {
    const sync = deferred();
    let syncs = 0;
    const batch = new WriteBatcher(conn.db, {
      flush: () => {
        syncs++;
        return sync.promise;
      },
    });
    let answered = 0;
    const items = ['a', 'b', 'c'].map((t) =>
      batch.submit((trx) => trx.insertInto('audit_events').values(mark(t)).execute()).then(() => answered++),
    );
    for (let i = 0; i < 20 && syncs === 0; i++) await tick();
    expect(syncs).toBe(1);
    // Committed (visible to the next statement) but not yet answered.
    expect(await rowsOf('a')).toBe(1);
    expect(answered).toBe(0);
    expect(await synchronous()).toBe(2);
    sync.resolve();
    await Promise.all(items);
    expect(answered).toBe(3);
  });

  it('fails every item of a batch whose sync failed', async () => {
    const batch = new WriteBatcher(conn.db, { flush: () => Promise.reject(new Error('EIO')) });
    const results = await Promise.allSettled([
      batch.submit((trx) => trx.insertInto('audit_events').values(mark('x')).execute()),
      batch.submit((trx) => trx.insertInto('audit_events').values(mark('y')).execute()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await synchronous()).toBe(2);
  });

  it('with the real flusher, a batch is answered after its WAL is synced', async () => {
    if (!conn.flush) throw new Error('no flusher');
    const batch = new WriteBatcher(conn.db, { flush: conn.flush });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        batch.submit((trx) =>
          trx
            .insertInto('audit_events')
            .values(mark(`real${i}`))
            .execute(),
        ),
      ),
    );
    expect(await rowsOf('real49')).toBe(1);
    expect(await synchronous()).toBe(2);
  });

  it('an in-memory database has no flusher', async () => {
    const mem = await connect({ url: 'sqlite::memory:' });
    try {
      expect(mem.flush).toBeUndefined();
    } finally {
      await mem.close();
    }
  });
});
