import { fail } from '../../../core/errors.js';
import type { Params } from '../../params.js';

/*
 * WHM API 1's output arguments for list functions (spec 5.1): `api.filter.*`, `api.sort.*` and
 * `api.chunk.*`, applied in that order to the rows a function lists. Several filters or sorts are told
 * apart by a letter (`api.filter.a.field`, `api.filter.b.field`, …); filters must all match, sorts apply
 * in letter order.
 */

type Row = Record<string, unknown>;

const FILTER_TYPES = new Set(['contains', 'eq', 'ne', 'begins', 'ends', 'lt', 'gt']);
const SORT_METHODS = new Set(['lexicographic', 'alphabetic', 'numeric']);
const MAX_CHUNK = 100_000;

function enabled(p: Params, what: string): boolean {
  const v = p.get(`api.${what}.enable`);
  return v !== undefined && v !== '0' && v !== '';
}

/** The letters used for `api.<what>.<letter>.field`, in order. */
function letters(p: Params, what: string): string[] {
  const re = new RegExp(`^api\\.${what}\\.([a-z])\\.field$`);
  const out: string[] = [];
  for (const k of p.keys()) {
    const m = re.exec(k);
    if (m) out.push(m[1] as string);
  }
  return out.sort();
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** A number for numeric comparison; `unlimited` is above every number. */
function num(v: unknown): number {
  if (v === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

function filterOf(p: Params, l: string): (r: Row) => boolean {
  const field = p.get(`api.filter.${l}.field`) ?? '';
  const type = (p.get(`api.filter.${l}.type`) ?? 'contains').toLowerCase();
  const arg = p.get(`api.filter.${l}.arg0`) ?? '';
  if (!FILTER_TYPES.has(type))
    fail('INVALID_PARAMETER', `api.filter.${l}.type must be one of ${[...FILTER_TYPES].join(', ')}`);
  const a = arg.toLowerCase();
  return (r) => {
    const v = text(r[field]).toLowerCase();
    switch (type) {
      case 'eq':
        return v === a;
      case 'ne':
        return v !== a;
      case 'begins':
        return v.startsWith(a);
      case 'ends':
        return v.endsWith(a);
      case 'lt':
        return num(r[field]) < num(arg);
      case 'gt':
        return num(r[field]) > num(arg);
      default:
        return v.includes(a);
    }
  };
}

function compareOf(p: Params, l: string): (x: Row, y: Row) => number {
  const field = p.get(`api.sort.${l}.field`) ?? '';
  const method = (p.get(`api.sort.${l}.method`) ?? 'lexicographic').toLowerCase();
  if (!SORT_METHODS.has(method))
    fail('INVALID_PARAMETER', `api.sort.${l}.method must be lexicographic or numeric`);
  const reverse = p.get(`api.sort.${l}.reverse`) === '1' ? -1 : 1;
  return (x, y) => {
    if (method === 'numeric') {
      const a = num(x[field]);
      const b = num(y[field]);
      return (
        reverse * (a === b || (Number.isNaN(a) && Number.isNaN(b)) ? 0 : Number.isNaN(a) || a < b ? -1 : 1)
      );
    }
    const a = text(x[field]);
    const b = text(y[field]);
    return reverse * (a < b ? -1 : a > b ? 1 : 0);
  };
}

function positive(p: Params, key: string, fallback: number): number {
  const v = p.get(key);
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > MAX_CHUNK)
    fail('INVALID_PARAMETER', `${key} must be a whole number from 1 to ${MAX_CHUNK}`);
  return Number(v);
}

/** Filters, sorts and chunks `rows` as the request asks; the extra `metadata` fields describe what was done. */
export function applyListArgs(p: Params, rows: Row[]): { rows: Row[]; metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = {};
  let out = rows;
  if (enabled(p, 'filter')) {
    const tests = letters(p, 'filter').map((l) => filterOf(p, l));
    const before = out.length;
    out = out.filter((r) => tests.every((t) => t(r)));
    metadata.filter = { filtered: before - out.length };
  }
  if (enabled(p, 'sort')) {
    const compares = letters(p, 'sort').map((l) => compareOf(p, l));
    out = [...out].sort((x, y) => {
      for (const c of compares) {
        const d = c(x, y);
        if (d !== 0) return d;
      }
      return 0;
    });
  }
  if (enabled(p, 'chunk')) {
    const size = positive(p, 'api.chunk.size', 20);
    // 1-indexed: the first record is 1.
    const start = positive(p, 'api.chunk.start', 1);
    const records = out.length;
    out = out.slice(start - 1, start - 1 + size);
    metadata.chunk = {
      start,
      current: Math.floor((start - 1) / size) + 1,
      size,
      chunks: Math.ceil(records / size),
      records,
    };
  }
  return { rows: out, metadata };
}
