import type {
  Compilable,
  CompiledQuery,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type { Executor } from './database.js';

// Each placeholder is a string no caller could send (it holds NUL), so it can be told apart from the
// builder's own constants in the compiled parameter list.
const marker = (i: number) => `\u0000hot-query-param-${i}\u0000`;
const MARKER_RE = /^\u0000hot-query-param-(\d+)\u0000$/;

/**
 * Where a database says whether its data may have changed: a number that moves whenever it might have.
 * Only registered for SQLite (see connect.ts), where one process holds the only connection and the
 * database itself reports other processes' commits; on PostgreSQL several API nodes write at once and
 * nothing is memoised.
 */
const generations = new WeakMap<Executor, () => number>();

/** Registers the data generation of a database handle (SQLite only). */
export function registerGeneration(db: Executor, generation: () => number): void {
  generations.set(db, generation);
}

/**
 * Counts writes: once when a write is compiled and again when it has run, so a read memoised while a
 * write was waiting for the connection is not trusted afterwards. Transactions hold SQLite's single
 * connection until they commit, so no read can be memoised between a write and its commit.
 */
export class WriteCounter implements KyselyPlugin {
  writes = 0;
  private readonly pending = new Set<unknown>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind !== 'SelectQueryNode') {
      this.writes++;
      this.pending.add(args.queryId);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.pending.delete(args.queryId)) this.writes++;
    return args.result;
  }
}

export interface HotQueryOptions {
  /**
   * Answer repeated identical reads from memory while the database's generation is unchanged (SQLite).
   * Only for reads whose answer depends on nothing but the parameters and the data (never the time).
   */
  memo?: boolean;
}

const MEMO_MAX = 10_000;

/**
 * A query for the per-request hot path, built and compiled by Kysely once per database and then run with
 * new parameter values. Building and compiling a Kysely query costs several times more than running a
 * small indexed query, and every authenticated request runs a few of these. `build` must use each
 * parameter only as a value (never to choose the query's shape), which is what makes reuse correct.
 * Memoised queries serve repeated reads from memory until any write (here or in another process).
 */
export function hotQuery<P extends unknown[], R>(
  build: (db: Executor, ...params: P) => Compilable<R>,
  opts: HotQueryOptions = {},
) {
  const compiled = new WeakMap<Executor, { query: CompiledQuery<R>; slots: (number | null)[] }>();
  const memos = new WeakMap<Executor, { generation: number; rows: Map<string, R[]> }>();
  return async (db: Executor, ...params: P): Promise<R[]> => {
    const generation = opts.memo ? generations.get(db)?.() : undefined;
    let memo: { generation: number; rows: Map<string, R[]> } | undefined;
    let memoKey = '';
    if (generation !== undefined) {
      memo = memos.get(db);
      if (!memo || memo.generation !== generation || memo.rows.size >= MEMO_MAX) {
        memo = { generation, rows: new Map() };
        memos.set(db, memo);
      }
      memoKey = JSON.stringify(params);
      const hit = memo.rows.get(memoKey);
      if (hit) return hit;
    }
    let c = compiled.get(db);
    if (!c) {
      const query = build(db, ...(params.map((_, i) => marker(i)) as P)).compile();
      const slots = query.parameters.map((v) => {
        const m = typeof v === 'string' ? MARKER_RE.exec(v) : null;
        return m ? Number(m[1]) : null;
      });
      c = { query, slots };
      compiled.set(db, c);
    }
    const { query, slots } = c;
    const parameters = query.parameters.map((v, i) => {
      const slot = slots[i];
      return slot === null || slot === undefined ? v : params[slot];
    });
    const result = await db.executeQuery<R>({ ...query, parameters });
    // Stored only if nothing was written while the read ran.
    if (memo && generation !== undefined && generations.get(db)?.() === generation) {
      Object.freeze(result.rows);
      memo.rows.set(memoKey, result.rows);
    }
    return result.rows;
  };
}
