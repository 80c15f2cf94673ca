/**
 * The one error table. Every failure a caller can see is declared here once, with the HTTP status used
 * by protocols that carry it and the short text DirectAdmin clients show. Protocol adapters turn an
 * AppError into their own envelope; anything that is not an AppError is logged and answered generically.
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, text: 'Invalid request' },
  INVALID_PARAMETER: { status: 400, text: 'Invalid parameter' },
  MISSING_PARAMETER: { status: 400, text: 'Missing parameter' },
  INVALID_USERNAME: { status: 400, text: 'Invalid username' },
  RESERVED_USERNAME: { status: 400, text: 'reserved username' },
  USERNAME_TAKEN: { status: 409, text: 'That username already exists on the system' },
  INVALID_PASSWORD: { status: 400, text: 'Invalid password' },
  PASSWORDS_DIFFER: { status: 400, text: 'Passwords do not match' },
  WRONG_CURRENT_PASSWORD: { status: 403, text: 'Current password is incorrect' },
  INVALID_EMAIL: { status: 400, text: 'Invalid e-mail address' },
  INVALID_DOMAIN: { status: 400, text: 'Invalid domain name' },
  DOMAIN_TAKEN: { status: 409, text: 'That domain already exists on the system' },
  DOMAIN_NOT_FOUND: { status: 404, text: 'Unable to find that domain' },
  ZONE_NOT_FOUND: { status: 404, text: 'Cannot View Dns Record' },
  RECORD_NOT_FOUND: { status: 404, text: 'Unable to find that record' },
  RECORD_CONFLICT: { status: 409, text: 'That record conflicts with the zone' },
  INVALID_HASH: { status: 400, text: 'Invalid crypted password' },
  PACKAGE_NOT_FOUND: { status: 404, text: 'Package not found' },
  PACKAGE_EXISTS: { status: 409, text: 'A package with that name already exists' },
  PACKAGE_IN_USE: { status: 409, text: 'Package is in use' },
  INVALID_PACKAGE_NAME: { status: 400, text: 'Invalid package name' },
  LIMIT_EXCEEDED: { status: 403, text: 'Limit reached' },
  ACCOUNT_NOT_FOUND: { status: 404, text: 'Unable to find that account' },
  CANNOT_MODIFY_SELF: { status: 403, text: 'You cannot do that to your own account' },
  PERMISSION_DENIED: { status: 403, text: 'You do not have permission to run that command' },
  UNKNOWN_COMMAND: { status: 404, text: 'Unknown command' },
  METHOD_NOT_ALLOWED: { status: 405, text: 'Method not allowed' },
  UNAUTHORIZED: { status: 401, text: 'Unauthorized' },
  PAYLOAD_TOO_LARGE: { status: 413, text: 'Request too large' },
  FEATURE_DISABLED: { status: 403, text: 'That feature is disabled for this account' },
  NOT_IMPLEMENTED: { status: 501, text: 'Not implemented yet' },
  CLUSTER_UNREACHABLE: { status: 502, text: 'A server of the DNS cluster could not be asked' },
  INTERNAL: { status: 500, text: 'Internal error' },
} as const satisfies Record<string, { status: number; text: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An expected failure with a code from the table and a sentence for the caller (DA `details`). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: string;
  constructor(code: ErrorCode, details = '') {
    super(details ? `${ERRORS[code].text}: ${details}` : ERRORS[code].text);
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  get text(): string {
    return ERRORS[this.code].text;
  }
}

/** Throws an AppError; usable in expression position. */
export function fail(code: ErrorCode, details = ''): never {
  throw new AppError(code, details);
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
