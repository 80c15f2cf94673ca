import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './database.js';

// Each placeholder is a string no caller could send (it holds NUL), so it can be told apart from the
// builder's own constants in the compiled parameter list.
const marker = (i: number) => `\u0000hot-query-param-${i}\u0000`;
const MARKER_RE = /^\u0000hot-query-param-(\d+)\u0000$/;

/**
 * A query for the per-request hot path, built and compiled by Kysely once per database and then run with
 * new parameter values. Building and compiling a Kysely query costs several times more than running a
 * small indexed query, and every authenticated request runs a few of these. `build` must use each
 * parameter only as a value (never to choose the query's shape), which is what makes reuse correct.
 */
export function hotQuery<P extends unknown[], R>(build: (db: Executor, ...params: P) => Compilable<R>) {
  const compiled = new WeakMap<Executor, { query: CompiledQuery<R>; slots: (number | null)[] }>();
  return async (db: Executor, ...params: P): Promise<R[]> => {
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
    return result.rows;
  };
}
