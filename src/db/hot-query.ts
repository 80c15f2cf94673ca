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
 * Where a database says whether its data may have changed: given the channels a reader depends on (see
 * `readChannels`), a number that moves whenever any of them might have. Only registered for SQLite (see
 * connect.ts), where one process holds the only connection and the database itself reports other
 * processes' commits; on PostgreSQL several API nodes write at once and nothing is memoised.
 */
const generations = new WeakMap<Executor, (channels: readonly string[]) => number>();

/**
 * Write counters, for writes compiled once (see hotWrite), by the database's dialect adapter: one per
 * database handle, and shared by its transactions and savepoints, which the counter must see too.
 */
const counters = new WeakMap<object, WriteCounter>();

/** What a database handle shares with its transactions and with copies of it that add plugins. */
const adapterOf = (db: Executor): object => db.getExecutor().adapter;

/**
 * Registers the data generation of a database handle and the counter of its writes (SQLite only). The
 * generation also reports changes the counter cannot see (another process's commits).
 */
export function registerGeneration(
  db: Executor,
  generation: (channels: readonly string[]) => number,
  counter: WriteCounter,
): void {
  generations.set(db, generation);
  counters.set(adapterOf(db), counter);
}

/**
 * The generation of `channels` on `db`, or undefined where nothing may be memoised (PostgreSQL, and
 * transactions, which are handles of their own). Equal numbers mean no write reached those channels.
 */
export function dataGeneration(db: Executor, channels: readonly string[]): number | undefined {
  return generations.get(db)?.(channels);
}

/**
 * The channel of writes that only record a use of a credential: an UPDATE of one table setting
 * `use_count` and nothing but use counters, rate slots, the last-use stamp and the clearing a last use
 * brings. A limited key is spent on every request; if its use counted as a change of the table, every
 * memo of the keys themselves (what they may do, whose they are) would be dropped on every request.
 * Readers of a table's rows depend on both channels; a reader that does not judge counters (see
 * auth-cache.ts) may depend on the table's channel alone.
 */
export const usesChannel = (table: string) => `${table}#uses`;

const USE_COLUMNS: ReadonlySet<string> = new Set([
  'use_count',
  'uses_left',
  'rate_count',
  'rate_window_start',
  'last_used_at',
  'last_used_ip',
  'cleared_at',
]);

interface NodeLike {
  kind?: unknown;
}

/** Every table a query node names (in any clause or subquery). */
function tablesOf(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const n of node) tablesOf(n, out);
    return out;
  }
  if (node === null || typeof node !== 'object') return out;
  if ((node as NodeLike).kind === 'TableNode') {
    const name = (node as { table?: { identifier?: { name?: unknown } } }).table?.identifier?.name;
    if (typeof name === 'string') out.add(name);
    return out;
  }
  for (const v of Object.values(node)) if (v !== null && typeof v === 'object') tablesOf(v, out);
  return out;
}

function updatedColumns(node: RootOperationNode): string[] | null {
  if (node.kind !== 'UpdateQueryNode' || !node.updates) return null;
  const names: string[] = [];
  for (const u of node.updates) {
    const col = u.column as { kind?: string; column?: { name?: unknown } };
    if (col.kind !== 'ColumnNode' || typeof col.column?.name !== 'string') return null;
    names.push(col.column.name);
  }
  return names;
}

/** The channels a write reaches; null when it cannot be told (raw SQL): then it reaches every channel. */
function channelsWritten(node: RootOperationNode): readonly string[] | null {
  const tables = [...tablesOf(node)];
  if (tables.length === 0) return null;
  const cols = updatedColumns(node);
  if (
    tables.length === 1 &&
    cols?.includes('use_count') &&
    cols.every((c) => USE_COLUMNS.has(c)) &&
    tables[0] !== undefined
  )
    return [usesChannel(tables[0])];
  return tables;
}

/** The channels a read of these tables depends on: each table's own, and its uses. */
export function readChannels(tables: Iterable<string>): string[] {
  const out: string[] = [];
  for (const t of tables) out.push(t, usesChannel(t));
  return out;
}

/**
 * Counts writes per channel: once when a write is compiled and again when it has run, so a read
 * memoised while a write was waiting for the connection is not trusted afterwards. Transactions hold
 * SQLite's single connection until they commit, so no read can be memoised between a write and its
 * commit.
 */
export class WriteCounter implements KyselyPlugin {
  /** Changes of unknown reach (raw SQL, another process's commit): they count against every channel. */
  private everywhere = 0;
  private readonly perChannel = new Map<string, number>();
  private readonly pending = new Map<unknown, readonly string[] | null>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind !== 'SelectQueryNode') {
      const channels = channelsWritten(args.node);
      this.count(channels);
      this.pending.set(args.queryId, channels);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const channels = this.pending.get(args.queryId);
    if (channels !== undefined) {
      this.pending.delete(args.queryId);
      this.count(channels);
    }
    return args.result;
  }

  /** Counts a write to `channels` made without compiling it here (see hotWrite). */
  countWrite(channels: readonly string[] | null): void {
    this.count(channels);
  }

  /** Records a change that may have reached any channel. */
  changedEverywhere(): void {
    this.everywhere++;
  }

  /** A number that moves whenever a write reaches one of `channels`. */
  generation(channels: readonly string[]): number {
    let n = this.everywhere;
    for (const c of channels) n += this.perChannel.get(c) ?? 0;
    return n;
  }

  private count(channels: readonly string[] | null): void {
    if (channels === null) {
      this.everywhere++;
      return;
    }
    for (const c of channels) this.perChannel.set(c, (this.perChannel.get(c) ?? 0) + 1);
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

interface Compiled<R> {
  query: CompiledQuery<R>;
  /** For each compiled parameter, the index of the caller's parameter it stands for (null: a constant). */
  slots: (number | null)[];
}

interface StackNode<T> {
  value?: T;
  next: WeakMap<object, StackNode<T>>;
}

/**
 * Where a compiled query of `db` is kept: under its dialect adapter and then each of its plugins in
 * order. A database and its transactions share both, so a query compiled once serves them all; a handle
 * with other plugins (which may rewrite queries as they compile, or watch them) gets its own.
 */
function stackNode<T>(root: WeakMap<object, StackNode<T>>, db: Executor): StackNode<T> {
  const ex = db.getExecutor();
  let node = childNode(root, ex.adapter);
  for (const plugin of ex.plugins) node = childNode(node.next, plugin);
  return node;
}

function childNode<T>(map: WeakMap<object, StackNode<T>>, key: object): StackNode<T> {
  let n = map.get(key);
  if (!n) {
    n = { next: new WeakMap() };
    map.set(key, n);
  }
  return n;
}

/**
 * Builds and compiles a query once per database (shared by its transactions), with placeholders where
 * the caller's parameters go, and returns a runner that fills them in.
 */
function compileOnce<P extends unknown[], R>(build: (db: Executor, ...params: P) => Compilable<R>) {
  const compiled = new WeakMap<object, StackNode<Compiled<R>>>();
  return (db: Executor, arity: number): Compiled<R> => {
    const node = stackNode(compiled, db);
    let c = node.value;
    if (!c) {
      const query = build(db, ...(Array.from({ length: arity }, (_, i) => marker(i)) as P)).compile();
      const slots = query.parameters.map((v) => {
        const m = typeof v === 'string' ? MARKER_RE.exec(v) : null;
        return m ? Number(m[1]) : null;
      });
      c = { query, slots };
      node.value = c;
    }
    return c;
  };
}

/** The compiled query with the caller's parameter values in their slots. */
function withParams<R>(c: Compiled<R>, params: unknown[]): CompiledQuery<R> {
  const parameters = c.query.parameters.map((v, i) => {
    const slot = c.slots[i];
    return slot === null || slot === undefined ? v : params[slot];
  });
  return { ...c.query, parameters };
}

/**
 * A query for the per-request hot path, built and compiled by Kysely once per database and then run with
 * new parameter values, on the database or on one of its transactions. Building and compiling a Kysely
 * query costs several times more than running a small indexed query, and every authenticated request
 * runs a few of these. `build` must use each parameter only as a value (never to choose the query's
 * shape), which is what makes reuse correct. Memoised queries serve repeated reads from memory until any
 * write (here or in another process); a read inside a transaction is never memoised.
 */
export function hotQuery<P extends unknown[], R>(
  build: (db: Executor, ...params: P) => Compilable<R>,
  opts: HotQueryOptions = {},
) {
  const compile = compileOnce(build);
  const channelsOf = new WeakMap<Compiled<R>, string[]>();
  const memos = new WeakMap<Executor, { generation: number; rows: Map<string, R[]> }>();
  return async (db: Executor, ...params: P): Promise<R[]> => {
    const c = compile(db, params.length);
    let channels = channelsOf.get(c);
    if (!channels) {
      channels = readChannels(tablesOf(c.query.query));
      channelsOf.set(c, channels);
    }
    const generation = opts.memo ? dataGeneration(db, channels) : undefined;
    let memo: { generation: number; rows: Map<string, R[]> } | undefined;
    let memoKey = '';
    if (generation !== undefined) {
      memo = memos.get(db);
      if (!memo || memo.generation !== generation || memo.rows.size >= MEMO_MAX) {
        memo = { generation, rows: new Map() };
        memos.set(db, memo);
      }
      memoKey = params.length === 1 && typeof params[0] === 'string' ? params[0] : JSON.stringify(params);
      const hit = memo.rows.get(memoKey);
      if (hit) return hit;
    }
    const result = await db.executeQuery<R>(withParams(c, params));
    // Stored only if nothing was written while the read ran.
    if (memo && generation !== undefined && dataGeneration(db, channels) === generation) {
      Object.freeze(result.rows);
      memo.rows.set(memoKey, result.rows);
    }
    return result.rows;
  };
}

/**
 * A write for the per-request hot path (a key's guarded use, a DNS change's rows), built and compiled by
 * Kysely once per database like hotQuery, then run with new parameter values on the database or on one
 * of its transactions (a group commit). A precompiled query bypasses the write counter's plugin hook, so
 * its channels are counted here, before and after it runs, as the plugin counts other writes.
 */
export function hotWrite<P extends unknown[], R>(build: (db: Executor, ...params: P) => Compilable<R>) {
  const compile = compileOnce(build);
  const channelsOf = new WeakMap<Compiled<R>, readonly string[] | null>();
  return async (db: Executor, ...params: P): Promise<QueryResult<R>> => {
    const c = compile(db, params.length);
    let channels = channelsOf.get(c);
    if (channels === undefined) {
      channels = channelsWritten(c.query.query);
      channelsOf.set(c, channels);
    }
    const counter = counters.get(adapterOf(db));
    counter?.countWrite(channels);
    try {
      return await db.executeQuery<R>(withParams(c, params));
    } finally {
      counter?.countWrite(channels);
    }
  };
}
