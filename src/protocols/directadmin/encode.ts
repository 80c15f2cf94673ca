/** What a DirectAdmin command answers, before it is encoded for the caller. */
export type DaAnswer =
  | { kind: 'action'; text: string; details?: string; extra?: Record<string, string> }
  | { kind: 'list'; items: string[] }
  | {
      kind: 'record';
      data: Readonly<Record<string, string>> /** A different body for `json=yes`. */;
      json?: unknown;
    }
  | { kind: 'empty' }
  /** A body sent as is, as text/plain (a raw zone listing). */
  | { kind: 'text'; body: string };

/** Percent-encodes like PHP's urlencode, but with %20: every client parser seen decodes both. */
export function daEncode(s: string): string {
  // Most values (names, numbers, ON/OFF) need no escaping: skip the encoder for them.
  if (SAFE_RE.test(s)) return s;
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const SAFE_RE = /^[A-Za-z0-9._~-]*$/;

/** `k=v&k=v` with keys and values encoded; `list[]` keeps its brackets, which clients grep for. */
export function encodePairs(pairs: [string, string][]): string {
  let out = '';
  for (const [k, v] of pairs) out += `${out ? '&' : ''}${k === 'list[]' ? k : daEncode(k)}=${daEncode(v)}`;
  return out;
}

/** encodePairs of a record's entries, in their order, without building the pairs. */
function encodeRecord(data: Readonly<Record<string, string>>): string {
  let out = '';
  for (const k in data)
    out += `${out ? '&' : ''}${k === 'list[]' ? k : daEncode(k)}=${daEncode(data[k] ?? '')}`;
  return out;
}

export interface Encoded {
  body: string;
  contentType: string;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

/**
 * Encodings of frozen records, by the record: a frozen record is a shared answer (a memoised
 * configuration, see accounts.service.ts) and encodes the same way every time.
 */
const encodedRecords = new WeakMap<object, { text?: Encoded; json?: Encoded }>();

/** Encodes an answer in DirectAdmin's legacy url-encoded form or, with `json=yes`, compact JSON. */
export function encodeAnswer(a: DaAnswer, json: boolean): Encoded {
  if (a.kind === 'record' && a.json === undefined && Object.isFrozen(a.data)) {
    let memo = encodedRecords.get(a.data);
    if (!memo) {
      memo = {};
      encodedRecords.set(a.data, memo);
    }
    const side = json ? 'json' : 'text';
    let enc = memo[side];
    if (!enc) {
      enc = encodeFresh(a, json);
      memo[side] = enc;
    }
    return enc;
  }
  return encodeFresh(a, json);
}

function encodeFresh(a: DaAnswer, json: boolean): Encoded {
  if (json) {
    switch (a.kind) {
      case 'action':
        return {
          body: JSON.stringify({ success: a.text, result: a.details ?? '', ...a.extra }),
          contentType: JSON_TYPE,
        };
      case 'list':
        return { body: JSON.stringify(a.items), contentType: JSON_TYPE };
      case 'record':
        return { body: JSON.stringify(a.json ?? a.data), contentType: JSON_TYPE };
      case 'empty':
        return { body: '{}', contentType: JSON_TYPE };
      case 'text':
        return { body: JSON.stringify({ text: a.body }), contentType: JSON_TYPE };
    }
  }
  switch (a.kind) {
    case 'action':
      return {
        body: encodePairs([
          ['error', '0'],
          ['text', a.text],
          ['details', a.details ?? ''],
          ...Object.entries(a.extra ?? {}),
        ]),
        contentType: TEXT,
      };
    case 'list':
      return { body: encodePairs(a.items.map((i) => ['list[]', i])), contentType: TEXT };
    case 'record':
      return { body: encodeRecord(a.data), contentType: TEXT };
    case 'empty':
      return { body: '', contentType: TEXT };
    case 'text':
      return { body: a.body, contentType: TEXT };
  }
}

/** Encodes a failure: `error=1&text=…&details=…`, or `{"error":…,"result":…}` with `json=yes`. */
export function encodeError(text: string, details: string, json: boolean): Encoded {
  if (json) return { body: JSON.stringify({ error: text, result: details }), contentType: JSON_TYPE };
  return {
    body: encodePairs([
      ['error', '1'],
      ['text', text],
      ['details', details],
    ]),
    contentType: TEXT,
  };
}
