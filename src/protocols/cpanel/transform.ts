import type { Params } from '../params.js';

/*
 * cPanel's filter, sort and paginate arguments, applied to a function's list answer in that order. One
 * implementation serves UAPI (`api.filter_column`, … spec 3.3) and API 2 (`api2_filter_column`, …); the
 * two differ only in the ways a ListArgs value names. Pure: the caller hands over the rows and the
 * request's parameters. Bad arguments never fail the call: UAPI reports them in `messages`, as cPanel
 * does; API 2 has no place for messages and ignores them.
 */

type Row = Record<string, unknown>;

export interface Transformed {
  data: unknown[];
  metadata: Record<string, unknown>;
  messages: string[];
}

/** How one cPanel API spells and switches its list arguments. */
export interface ListArgs {
  /** What every argument starts with: `api.` (UAPI) or `api2_` (API 2). */
  prefix: string;
  /**
   * API 2 filters, sorts and pages only when `api2_filter`, `api2_sort` or `api2_paginate` is true: its
   * dispatcher checks those switches first. UAPI runs a step whenever its arguments are there, unless
   * its switch is 0.
   */
  switched: boolean;
  /** Records per page when the size is missing or not a positive number (UAPI 20, API 2 100). */
  defaultPageSize: number;
  /** An unknown sort method: reported and that key skipped (UAPI), or sorted as lexicographic (API 2's legacy rule). */
  unknownSortMethod: 'skip' | 'lexicographic';
  /** UAPI reads a start of -1 as "every record"; API 2 reads any start below 1 as 1. */
  startMinusOneIsAll: boolean;
  /** UAPI marks every transformed list `metadata.transformed = 1`; API 2 has no such key. */
  marksTransformed: boolean;
}

/** UAPI: `api.filter_column`, `api.sort_column`, `api.paginate_size`, … (spec 3.3). */
export const UAPI_LIST_ARGS: ListArgs = {
  prefix: 'api.',
  switched: false,
  defaultPageSize: 20,
  unknownSortMethod: 'skip',
  startMinusOneIsAll: true,
  marksTransformed: true,
};

/** API 2: `api2_filter=1` with `api2_filter_column`, `api2_sort=1`, `api2_paginate=1`, … */
export const API2_LIST_ARGS: ListArgs = {
  prefix: 'api2_',
  switched: true,
  defaultPageSize: 100,
  unknownSortMethod: 'lexicographic',
  startMinusOneIsAll: false,
  marksTransformed: false,
};

const FILTER_TYPES = new Set([
  'contains',
  'eq',
  'ne',
  'lt',
  'gt',
  'lt_handle_unlimited',
  'gt_handle_unlimited',
  'begins',
  'ends',
  'matches',
  'defined',
  'undefined',
]);
const SORT_METHODS = new Set(['lexicographic', 'numeric', 'numeric_zero_as_max', 'ipv4']);
const MAX_REGEX = 200;

/** A boolean argument as cPanel reads it: absent, empty and 0 are false, anything else true. */
const truthy = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0';

/** The indexed argument groups (`api.x_column`, `api.x_column_0`, …) that name a column. */
function groups(p: Params, prefix: string, fields: string[]): Record<string, string | undefined>[] {
  const suffixes = new Set<string>();
  for (const k of p.keys()) {
    for (const f of fields) {
      const base = `${prefix}${f}`;
      if (k === base) suffixes.add('');
      else if (k.startsWith(`${base}_`) && /^\d{1,3}$/.test(k.slice(base.length + 1)))
        suffixes.add(k.slice(base.length));
    }
  }
  return [...suffixes]
    .sort((a, b) => (a === '' ? -1 : b === '' ? 1 : Number(a.slice(1)) - Number(b.slice(1))))
    .map((sfx) => Object.fromEntries(fields.map((f) => [f, p.get(`${prefix}${f}${sfx}`)])));
}

function num(v: unknown, unlimitedAsMax: boolean): number {
  if (unlimitedAsMax && (v === 'unlimited' || v === null || v === '')) return Number.POSITIVE_INFINITY;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `eq`: the same text, or the same number when both sides are numbers (`10` and `10.0`). */
function same(v: unknown, term: string): boolean {
  const s = text(v);
  if (s === term) return true;
  const a = Number(s);
  const b = Number(term);
  return s.trim() !== '' && term.trim() !== '' && Number.isFinite(a) && Number.isFinite(b) && a === b;
}

function matcher(type: string, term: string): ((v: unknown) => boolean) | string {
  const t = term.toLowerCase();
  switch (type) {
    case 'contains':
      return (v) => text(v).toLowerCase().includes(t);
    case 'begins':
      return (v) => text(v).toLowerCase().startsWith(t);
    case 'ends':
      return (v) => text(v).toLowerCase().endsWith(t);
    case 'matches': {
      if (term.length > MAX_REGEX) return 'the regular expression is too long';
      try {
        const re = new RegExp(term);
        return (v) => re.test(text(v));
      } catch {
        return 'the regular expression is invalid';
      }
    }
    case 'eq':
      return (v) => same(v, term);
    case 'ne':
      return (v) => !same(v, term);
    case 'lt':
      return (v) => num(v, false) < Number(term);
    case 'gt':
      return (v) => num(v, false) > Number(term);
    case 'lt_handle_unlimited':
      return (v) => num(v, true) < num(term, true);
    case 'gt_handle_unlimited':
      return (v) => num(v, true) > num(term, true);
    case 'defined':
      return (v) => v !== undefined && v !== null;
    default:
      return (v) => v === undefined || v === null;
  }
}

/** A list value passes when one of its items does, as cPanel filters multi-valued columns. */
function anyItem(test: (v: unknown) => boolean): (v: unknown) => boolean {
  return (v) => (Array.isArray(v) ? v.some(test) : test(v));
}

function ipv4Key(v: unknown): number {
  const parts = text(v).split('.').map(Number);
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n < 256)
    ? parts.reduce((a, n) => a * 256 + n, 0)
    : -1;
}

function compare(a: unknown, b: unknown, method: string): number {
  if (method === 'lexicographic') return text(a).localeCompare(text(b));
  if (method === 'ipv4') return ipv4Key(a) - ipv4Key(b);
  const zeroMax = method === 'numeric_zero_as_max';
  const x = num(a, zeroMax) === 0 && zeroMax ? Number.POSITIVE_INFINITY : num(a, zeroMax);
  const y = num(b, zeroMax) === 0 && zeroMax ? Number.POSITIVE_INFINITY : num(b, zeroMax);
  return x === y ? 0 : Number.isNaN(x) ? 1 : Number.isNaN(y) ? -1 : x < y ? -1 : 1;
}

/**
 * Applies the filter, sort and paginate arguments of one API (UAPI unless told) to a list answer; rows
 * that are not objects pass as they are.
 */
export function transformList(rows: unknown[], p: Params, args: ListArgs = UAPI_LIST_ARGS): Transformed {
  const { prefix } = args;
  const metadata: Record<string, unknown> = args.marksTransformed ? { transformed: 1 } : {};
  const messages: string[] = [];
  let data = rows;
  // UAPI: a step runs unless switched off; API 2: only when switched on.
  const on = (step: string) => (args.switched ? truthy(p.get(prefix + step)) : p.get(prefix + step) !== '0');

  const filters = on('filter') ? groups(p, `${prefix}filter_`, ['column', 'term', 'type']) : [];
  if (filters.length > 0 || (args.switched && on('filter'))) {
    const invalid: string[] = [];
    const missing: string[] = [];
    const tests: { column: string; test: (v: unknown) => boolean }[] = [];
    for (const f of filters) {
      const type = f.type || 'contains';
      if (!f.column || !FILTER_TYPES.has(type)) {
        invalid.push(f.column || '(no column)');
        continue;
      }
      const m = matcher(type, f.term ?? '');
      if (typeof m === 'string') invalid.push(`${f.column} (${m})`);
      else tests.push({ column: f.column, test: anyItem(m) });
    }
    for (const t of tests)
      if (!data.some((r) => r && typeof r === 'object' && t.column in (r as Row))) missing.push(t.column);
    if (invalid.length) messages.push(`The following “filter” arguments are invalid: ${invalid.join(', ')}`);
    if (missing.length)
      messages.push(`The following “filter” columns did not pertain to this dataset: ${missing.join(', ')}`);
    metadata.records_before_filter = data.length;
    data = data.filter((r) => tests.every((t) => t.test((r as Row | null)?.[t.column])));
  }

  const sorts = on('sort') ? groups(p, `${prefix}sort_`, ['column', 'method', 'reverse']) : [];
  if (sorts.length > 0) {
    const keys: { column: string; method: string; reverse: boolean }[] = [];
    const invalid: string[] = [];
    for (const s of sorts) {
      let method = s.method || 'lexicographic';
      if (!SORT_METHODS.has(method) && args.unknownSortMethod === 'lexicographic') method = 'lexicographic';
      if (!s.column || !SORT_METHODS.has(method)) invalid.push(s.column || '(no column)');
      else keys.push({ column: s.column, method, reverse: truthy(s.reverse) });
    }
    if (invalid.length) messages.push(`The following “sort” arguments are invalid: ${invalid.join(', ')}`);
    // Array.prototype.sort is stable: rows equal on every key keep the function's order.
    data = [...data].sort((a, b) => {
      for (const k of keys) {
        const c = compare((a as Row | null)?.[k.column], (b as Row | null)?.[k.column], k.method);
        if (c !== 0) return k.reverse ? -c : c;
      }
      return 0;
    });
  }

  const pageArgs = ['paginate_size', 'paginate_start', 'paginate_page'].some((k) => p.has(prefix + k));
  if (on('paginate') && (args.switched || pageArgs)) {
    const int = (k: string) => {
      const v = p.get(prefix + k);
      const n = v === undefined || v.trim() === '' ? Number.NaN : Number(v);
      return Number.isInteger(n) ? n : Number.NaN;
    };
    const size = int('paginate_size');
    const perPage = size > 0 ? size : args.defaultPageSize;
    const page = int('paginate_page');
    const startArg = int('paginate_start');
    const all = args.startMinusOneIsAll && startArg === -1;
    const total = data.length;
    const start = startArg >= 1 ? startArg : !all && page >= 1 ? (page - 1) * perPage + 1 : 1;
    metadata.paginate = {
      current_page: Math.floor((start - 1) / perPage) + 1,
      results_per_page: all ? total : perPage,
      start_result: String(start),
      total_pages: Math.max(1, Math.ceil(total / perPage)),
      total_results: total,
    };
    data = all ? data : data.slice(start - 1, start - 1 + perPage);
  }
  return { data, metadata, messages };
}
