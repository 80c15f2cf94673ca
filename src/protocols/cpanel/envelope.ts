/*
 * cPanel's answer shapes, always compact JSON (JSON.stringify without spacing): the flat UAPI object over
 * HTTP (spec 3.1; empty lists are null, `status` the integer 1 or 0, failures HTTP 200 with status 0) and
 * API 2's `cpanelresult` (spec 4.3).
 */

/** What a UAPI function answers besides its data. */
export interface UapiExtras {
  metadata?: Record<string, unknown>;
  messages?: string[];
  warnings?: string[];
}

const orNull = (list: string[] | undefined): string[] | null => (list && list.length > 0 ? list : null);

/** A successful UAPI answer. An array result is marked `metadata.transformed = 1`, as cPanel does. */
export function uapiSuccess(data: unknown, extras: UapiExtras = {}): string {
  const metadata = { ...(Array.isArray(data) ? { transformed: 1 } : {}), ...extras.metadata };
  return JSON.stringify({
    data: data === undefined ? null : data,
    errors: null,
    messages: orNull(extras.messages),
    metadata,
    status: 1,
    warnings: orNull(extras.warnings),
  });
}

/** A failed UAPI answer: `status` 0 with the errors (served with HTTP 200 unless the request never ran). */
export function uapiFailure(errors: string[], extras: UapiExtras = {}): string {
  return JSON.stringify({
    data: null,
    errors: errors.length > 0 ? errors : ['Unknown error'],
    messages: orNull(extras.messages),
    metadata: extras.metadata ?? {},
    status: 0,
    warnings: orNull(extras.warnings),
  });
}

/**
 * A successful API 2 answer; `data` is always a list. `extras` are the keys cPanel's API 2 dispatcher
 * adds beside the data when asked to filter or page (`records_before_filter`, `paginate`); every key of
 * `cpanelresult` is in sorted order.
 */
export function api2Success(
  module: string,
  func: string,
  data: unknown[],
  extras: Record<string, unknown> = {},
): string {
  const result: Record<string, unknown> = { apiversion: 2, data, event: { result: 1 }, func, module };
  for (const [k, v] of Object.entries(extras)) if (!(k in result)) result[k] = v;
  const ordered = Object.fromEntries(Object.entries(result).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ cpanelresult: ordered });
}

/** A failed API 2 answer: the error text at `error` and in `event.reason`, `event.result` 0. */
export function api2Failure(module: string, func: string, error: string): string {
  return JSON.stringify({
    cpanelresult: {
      apiversion: 2,
      data: { reason: error, result: 0 },
      error,
      event: { reason: error, result: 0 },
      func,
      module,
    },
  });
}
