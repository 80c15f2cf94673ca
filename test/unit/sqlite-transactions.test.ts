/**
 * A write transaction on SQLite must not fail half-way because another process committed while it ran
 * (the CLI changing an account beside the running server). A deferred BEGIN read a snapshot first and
 * was then refused its first write with "database is locked", busy_timeout or not; hostdeck's
 * transactions and write batches take the write lock when they begin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect } from '../../src/db/connect.js';
import type { Executor } from '../../src/db/database.js';
import { WriteBatcher } from '../../src/db/write-batch.js';

let dir: string;
let conn: Connection;
let other: SQLite.Database;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hostdeck-txn-'));
  const file = join(dir, 'db.sqlite');
  conn = await connect({ url: `sqlite:${file}` });
  await sql`create table counters (name text primary key, n integer not null)`.execute(conn.db);
  await sql`insert into counters values ('a', 0), ('b', 0)`.execute(conn.db);
  // The other writer does not wait: it runs in this process, and waiting would block the event loop
  // that has to finish the transaction holding the lock.
  other = new SQLite(file, { timeout: 0 });
});

afterAll(async () => {
  other?.close();
  await conn?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The other connection's write; false when it found the database locked. */
function otherWrites(): boolean {
  try {
    other.prepare(`update counters set n = n + 1 where name = 'b'`).run();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
    throw error;
  }
}

const read = async (name: string): Promise<number> => {
  const r = await sql<{ n: number }>`select n from counters where name = ${name}`.execute(conn.db);
  return r.rows[0]?.n ?? -1;
};

describe('SQLite write transactions', () => {
  it('a transaction that reads, meets another writer, then writes, commits its write', async () => {
    let otherWrote = true;
    await conn.db.transaction().execute(async (trx) => {
      await sql`select n from counters where name = 'a'`.execute(trx);
      otherWrote = otherWrites();
      await sql`update counters set n = n + 1 where name = 'a'`.execute(trx);
    });
    expect(await read('a')).toBe(1);
    // The transaction held the write lock from its start, so the other writer was the one to wait.
    expect(otherWrote).toBe(false);
    expect(otherWrites()).toBe(true);
    expect(await read('b')).toBe(1);
  });

  it('a write batch does the same', async () => {
    const batch = new WriteBatcher(conn.db);
    let otherWrote = true;
    await batch.submit(async (trx) => {
      await sql`select n from counters where name = 'a'`.execute(trx);
      otherWrote = otherWrites();
      await sql`update counters set n = n + 1 where name = 'a'`.execute(trx);
    });
    expect(await read('a')).toBe(2);
    expect(otherWrote).toBe(false);
  });
});

describe('grouped writes of a write batch', () => {
  it('members that join before the group runs are one item; a later member opens the next group', async () => {
    const batch = new WriteBatcher(conn.db);
    const groups: string[][] = [];
    const run = async (trx: Executor, args: string[]) => {
      groups.push(args);
      await sql`update counters set n = n + ${args.length} where name = 'a'`.execute(trx);
      return args.map((a) => `${a}!`);
    };
    const before = await read('a');
    const first = ['x', 'y', 'z'].map((a) => batch.submitGrouped('g', a, run));
    // Another key is a group of its own in the same batch.
    const other = batch.submitGrouped('h', 'w', run);
    expect(await Promise.all(first)).toEqual(['x!', 'y!', 'z!']);
    expect(await other).toBe('w!');
    const late = await batch.submitGrouped('g', 'v', run);
    expect(late).toBe('v!');
    expect(groups).toEqual([['x', 'y', 'z'], ['w'], ['v']]);
    expect(await read('a')).toBe(before + 5);
  });

  it('a failing group rejects each of its members, leaves nothing behind and does not stay open', async () => {
    const batch = new WriteBatcher(conn.db, { savepoints: true });
    const before = await read('a');
    const failing = ['x', 'y'].map((a) =>
      batch.submitGrouped('g', a, async (trx) => {
        await sql`update counters set n = n + 100 where name = 'a'`.execute(trx);
        throw new Error(`refused ${a}`);
      }),
    );
    for (const p of failing) await expect(p).rejects.toThrow('refused x');
    expect(await read('a')).toBe(before);
    const next = await batch.submitGrouped('g', 'v', async (_trx, args) => args.map((a) => a.length));
    expect(next).toBe(1);
  });
});
