import { Readable } from 'node:stream';
import busboy from 'busboy';
import { fail, isAppError } from '../core/errors.js';

/**
 * Request parameters merged from the query string and the body, in arrival order. Repeated keys are
 * kept: `get` answers the last value (a later source overrides an earlier one, so a body value beats the
 * query), `all` answers every value.
 */
export class Params {
  private readonly map = new Map<string, string[]>();

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [k, v] of entries) this.add(k, v);
  }

  add(key: string, value: string): void {
    const list = this.map.get(key);
    if (list) list.push(value);
    else this.map.set(key, [value]);
  }

  get(key: string): string | undefined {
    const l = this.map.get(key);
    return l ? l[l.length - 1] : undefined;
  }

  all(key: string): string[] {
    return this.map.get(key) ?? [];
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  /** Values of `prefix0`, `prefix1`, … in index order; indexes need not be contiguous (DA's select lists). */
  indexed(prefix: string): string[] {
    const found: [number, string][] = [];
    for (const [k, vs] of this.map) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      if (!/^\d{1,6}$/.test(rest)) continue;
      for (const v of vs) found.push([Number(rest), v]);
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** The last value of every key, as a plain record. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, vs] of this.map) out[k] = vs[vs.length - 1] as string;
    return out;
  }

  merge(other: Params): void {
    for (const [k, vs] of other.map) for (const v of vs) this.add(k, v);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return fail('BAD_REQUEST', 'Parameters must be valid UTF-8, percent-encoded');
  }
}

/**
 * Parses `application/x-www-form-urlencoded` text. Invalid percent-encoding or bytes that are not UTF-8
 * are refused rather than replaced, so no value reaches a service in a form the caller did not send.
 */
export function parseUrlEncoded(text: string, into = new Params()): Params {
  for (const part of text.split('&')) {
    if (part === '' || part === '\r\n' || /^[\r\n]+$/.test(part)) continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq >= 0 ? part.slice(0, eq) : part).replace(/^[\r\n]+|[\r\n]+$/g, '');
    // HTTP/1.0 clients may append CRLFs after the body; they are framing, not data.
    const value = eq >= 0 ? decodeComponent(part.slice(eq + 1).replace(/[\r\n]+$/, '')) : '';
    if (key !== '') into.add(key, value);
  }
  return into;
}

function jsonScalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** Turns a JSON object body into parameters: scalars as text, arrays as repeated keys. */
export function paramsFromJson(value: unknown, into = new Params()): Params {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    fail('BAD_REQUEST', 'A JSON body must be an object');
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const x of v) into.add(k, jsonScalar(x));
    else into.add(k, jsonScalar(v));
  }
  return into;
}

// busboy decodes field text itself and replaces bytes that are not UTF-8 with U+FFFD instead of failing, so
// a replacement character in a name or value is taken as proof of such bytes. A client meaning a literal
// U+FFFD is not worth letting corrupted text through.
const REPLACEMENT = '\uFFFD';

async function parseMultipart(body: Buffer, contentType: string, into: Params): Promise<Params> {
  const fields: [string, string][] = [];
  const problem = await new Promise<string | null>((resolve) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType },
        limits: { fields: 2000, fieldSize: 1 << 20, files: 20 },
        defParamCharset: 'utf8',
      });
    } catch {
      resolve('The multipart body could not be read');
      return;
    }
    let refused: string | null = null;
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) refused ??= 'A multipart field is too long';
      else if (name.includes(REPLACEMENT) || value.includes(REPLACEMENT))
        refused ??= 'The multipart body is not valid UTF-8';
      else fields.push([name, value]);
    });
    // Dropping the fields past the limit would run the command on part of what was sent.
    bb.on('fieldsLimit', () => {
      refused ??= 'The multipart body has too many fields';
    });
    bb.on('file', (_name, stream) => stream.resume());
    bb.on('error', () => resolve('The multipart body could not be read'));
    bb.on('close', () => resolve(refused));
    Readable.from([body]).pipe(bb);
  });
  if (problem) fail('BAD_REQUEST', problem);
  for (const [k, v] of fields) into.add(k, v);
  return into;
}

/**
 * Node keeps the request line as latin1 text. Its HTTP parser refuses raw bytes above 0x7F in a query
 * today, but a query that reaches here with any (another transport, `inject`) is turned back into its
 * bytes and must be UTF-8, like a body.
 */
function queryText(query: string): string {
  if (!/[^\x00-\x7F]/.test(query)) return query;
  try {
    return strictUtf8.decode(Buffer.from(query, 'latin1'));
  } catch {
    return fail('BAD_REQUEST', 'The query string is not valid UTF-8');
  }
}

/**
 * Reads every parameter of a request: the query string, then the body as multipart, JSON or url-encoded.
 * The body kind is sniffed as well as declared, because some clients send url-encoded text labelled
 * `application/json` and others send JSON with no Content-Type.
 */
export async function readParams(
  rawUrl: string,
  contentType: string | undefined,
  body: Buffer | undefined,
): Promise<Params> {
  const q = rawUrl.indexOf('?');
  const params = q >= 0 ? parseUrlEncoded(queryText(rawUrl.slice(q + 1))) : new Params();
  if (!body || body.length === 0) return params;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('multipart/form-data')) return parseMultipart(body, contentType ?? '', params);
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return fail('BAD_REQUEST', 'The request body is not valid UTF-8');
  }
  const trimmed = text.trimStart();
  // An array is JSON but not parameters; only a body declared as JSON is refused for it, since a
  // url-encoded key may start with `[` too.
  if (trimmed.startsWith('{') || (ct.includes('json') && trimmed.startsWith('['))) {
    try {
      return paramsFromJson(JSON.parse(text), params);
    } catch (e) {
      if (isAppError(e)) throw e;
      if (ct.includes('json')) fail('BAD_REQUEST', 'The JSON body could not be parsed');
    }
  }
  return parseUrlEncoded(text, params);
}
