/**
 * Memoises a pure parse of a stored text column (JSON settings, key lists), keyed by the text itself, so
 * a hot path does not parse the same row on every request. The parsed value is shared by every caller
 * and frozen: callers copy it before changing anything. Bounded: when full, it starts over.
 */
export function memoParse<T extends object>(parse: (text: string) => T, max = 1_000): (text: string) => T {
  let memo = new Map<string, T>();
  return (text) => {
    let v = memo.get(text);
    if (v === undefined) {
      v = Object.freeze(parse(text));
      if (memo.size >= max) memo = new Map();
      memo.set(text, v);
    }
    return v;
  };
}
