import type { FastifyReply } from 'fastify';
import { AppError, type ErrorCode } from '../../../core/errors.js';

/** What a WHM function hands back: its `data` (absent for functions that return only metadata), a reason, a log. */
export interface WhmAnswer {
  data?: unknown;
  /** `metadata.reason` on success (WHM says "OK" unless the function has its own text). */
  reason?: string;
  /** `metadata.output.raw`: the human-readable log some functions print. */
  output?: string;
  /** More `metadata` fields (a list's `chunk` and `filter` descriptions). */
  metadata?: Record<string, unknown>;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The WHM API 1 body: `{data, metadata{command, reason, result, version}}` as compact JSON (JSON.stringify
 * adds no spaces), `result` the integer 1 or 0 (only it decides success; `reason` may be any text).
 */
export function whmBody(
  command: string,
  result: 0 | 1,
  reason: string,
  data?: unknown,
  output?: string,
  extra?: Record<string, unknown>,
): string {
  const metadata: Record<string, unknown> = { command, reason, result, version: 1, ...extra };
  if (output !== undefined) metadata.output = { raw: output };
  return JSON.stringify(data === undefined ? { metadata } : { data, metadata });
}

// WHM answers a function's failure with HTTP 200 and `result: 0`; billing clients read the reason from a
// 200. These failures never reached a function's work (no such function, wrong method, body too big) or the
// caller may not run it, and keep their own status so a client that looks only at the status still stops.
const KEEPS_STATUS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNKNOWN_COMMAND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'PERMISSION_DENIED',
  'NOT_IMPLEMENTED',
  'INTERNAL',
]);

/** The HTTP status of a failure answered in WHM's envelope. */
export function whmErrorStatus(e: AppError): number {
  return KEEPS_STATUS.has(e.code) ? e.status : 200;
}

/** The reason text of a failure: the sentence that says what was wrong, else the table's text. */
export function whmReason(e: AppError): string {
  return e.details || e.text;
}

/** Sends an AppError as a WHM failure for `command`. `status` overrides the mapped one (transport errors). */
export function sendWhmError(
  reply: FastifyReply,
  command: string,
  e: AppError,
  status?: number,
): FastifyReply {
  if (e.code === 'METHOD_NOT_ALLOWED') reply.header('Allow', 'GET, HEAD, POST');
  return reply
    .code(status ?? whmErrorStatus(e))
    .type(JSON_TYPE)
    .send(whmBody(command, 0, whmReason(e)));
}

/**
 * The answer to refused credentials, as cpsrvd sends it on 2087 for a bad password, an unknown user, a
 * cPanel user's own credentials or a bad token (spec 2.4): 403 with an API 2 style `cpanelresult` body.
 * It is the same for every reason, so it tells nothing about which names exist.
 */
export const ACCESS_DENIED_BODY = JSON.stringify({
  cpanelresult: {
    apiversion: '2',
    error: 'Access denied',
    data: { reason: 'Access denied', result: '0' },
    type: 'text',
  },
});

/** Sends the refused-credentials answer. */
export function sendAccessDenied(reply: FastifyReply): FastifyReply {
  return reply.code(403).type(JSON_TYPE).send(ACCESS_DENIED_BODY);
}

/** The failure for a function name this server does not serve, in WHM's wording. */
export function unknownFunction(name: string): AppError {
  return new AppError(
    'UNKNOWN_COMMAND',
    `Unknown app (“${name}”) requested for this version (1) of the API.`,
  );
}
