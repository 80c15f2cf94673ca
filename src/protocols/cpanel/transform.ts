import type { Params } from '../params.js';

/*
 * UAPI's filter, sort and paginate arguments (spec 3.3), applied to a function's list answer in that
 * order. Pure: the router hands over the rows and the request's parameters. Bad arguments are reported
 * in `messages`, as cPanel does, and ignored rather than failing the call.
 */

type Row = Record<string, unknown>;

export interface Transformed {
  data: unknown[];
  metadata: Record<string, unknown>;
  messages: string[];
}

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
      return (v) => num(v, false) === Number(term);
    case 'ne':
      return (v) => num(v, false) !== Number(term);
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

function ipv4Key(v: unknown): number {
  const parts = text(v).split('.').map(Number);
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n < 256)
    ? parts.reduce((a, n) => a * 256 + n, 0)
    : -1;
}

/** Applies api.filter*, api.sort* and api.paginate* to a list answer; rows that are not objects pass as is. */
export function transformList(rows: unknown[], p: Params): Transformed {
  const metadata: Record<string, unknown> = { transformed: 1 };
  const messages: string[] = [];
  let data = rows;
  const off = (k: string) => p.get(k) === '0';

  const filters = off('api.filter') ? [] : groups(p, 'api.filter_', ['column', 'term', 'type']);
  if (filters.length > 0) {
    const invalid: string[] = [];
    const missing: string[] = [];
    const tests: { column: string; test: (v: unknown) => boolean }[] = [];
    for (const f of filters) {
      const type = f.type ?? 'contains';
      if (!f.column || !FILTER_TYPES.has(type)) {
        invalid.push(f.column ?? '(no column)');
        continue;
      }
      const m = matcher(type, f.term ?? '');
      if (typeof m === 'string') invalid.push(`${f.column} (${m})`);
      else tests.push({ column: f.column, test: m });
    }
    for (const t of tests)
      if (!data.some((r) => r && typeof r === 'object' && t.column in (r as Row))) missing.push(t.column);
    if (invalid.length) messages.push(`The following “filter” arguments are invalid: ${invalid.join(', ')}`);
    if (missing.length)
      messages.push(`The following “filter” columns did not pertain to this dataset: ${missing.join(', ')}`);
    metadata.records_before_filter = data.length;
    data = data.filter((r) => tests.every((t) => t.test((r as Row | null)?.[t.column])));
  }

  const sorts = off('api.sort') ? [] : groups(p, 'api.sort_', ['column', 'method', 'reverse']);
  if (sorts.length > 0) {
    const keys: { column: string; method: string; reverse: boolean }[] = [];
    const invalid: string[] = [];
    for (const s of sorts) {
      const method = s.method ?? 'lexicographic';
      if (!s.column || !SORT_METHODS.has(method)) invalid.push(s.column ?? '(no column)');
      else keys.push({ column: s.column, method, reverse: s.reverse === '1' });
    }
    if (invalid.length) messages.push(`The following “sort” arguments are invalid: ${invalid.join(', ')}`);
    const cmp = (a: unknown, b: unknown, method: string): number => {
      if (method === 'lexicographic') return text(a).localeCompare(text(b));
      if (method === 'ipv4') return ipv4Key(a) - ipv4Key(b);
      const zeroMax = method === 'numeric_zero_as_max';
      const x = num(a, zeroMax) === 0 && zeroMax ? Number.POSITIVE_INFINITY : num(a, zeroMax);
      const y = num(b, zeroMax) === 0 && zeroMax ? Number.POSITIVE_INFINITY : num(b, zeroMax);
      return x === y ? 0 : Number.isNaN(x) ? 1 : Number.isNaN(y) ? -1 : x < y ? -1 : 1;
    };
    data = [...data].sort((a, b) => {
      for (const k of keys) {
        const c = cmp((a as Row | null)?.[k.column], (b as Row | null)?.[k.column], k.method);
        if (c !== 0) return k.reverse ? -c : c;
      }
      return 0;
    });
  }

  const size = Number(p.get('api.paginate_size') ?? '');
  if (
    !off('api.paginate') &&
    (p.has('api.paginate_size') || p.has('api.paginate_start') || p.has('api.paginate_page'))
  ) {
    const perPage = Number.isInteger(size) && size > 0 ? size : 20;
    const page = Number(p.get('api.paginate_page') ?? '');
    const startArg = Number(p.get('api.paginate_start') ?? '');
    const total = data.length;
    let start: number;
    if (startArg === -1) start = 1;
    else if (Number.isInteger(startArg) && startArg >= 1) start = startArg;
    else if (Number.isInteger(page) && page >= 1) start = (page - 1) * perPage + 1;
    else start = 1;
    const shown = startArg === -1 ? data : data.slice(start - 1, start - 1 + perPage);
    metadata.paginate = {
      current_page: Math.floor((start - 1) / perPage) + 1,
      results_per_page: startArg === -1 ? total : perPage,
      start_result: String(start),
      total_pages: Math.max(1, Math.ceil(total / perPage)),
      total_results: total,
    };
    data = shown;
  }
  return { data, metadata, messages };
}
