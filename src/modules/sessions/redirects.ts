import { isOrigin } from '../../config/config.js';

// Where a browser may be sent after login, logout or a failed login. Anything a browser could read as
// another site is refused: `//host` and `/\host` (browsers treat a backslash as a slash), a scheme, and
// any byte outside printable ASCII (browsers drop tabs and newlines, so `/\t/host` is `//host`).
const PATH_RE = /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/;
const MAX_LENGTH = 2048;
const BASE = 'http://hostdeck.invalid';

/** `value` when it is a path on this server (`/…`, not `//…`, no scheme), else null. */
export function sameSitePath(value: string | undefined): string | null {
  if (!value || value.length > MAX_LENGTH || !PATH_RE.test(value)) return null;
  try {
    // A second opinion from the URL parser browsers follow: the target must stay on this origin.
    if (new URL(value, BASE).origin !== BASE) return null;
  } catch {
    return null;
  }
  return value;
}

/**
 * Where FAIL_URL or LOGOUT_URL may send the browser: a path on this server, or an absolute http(s) URL on
 * one of `origins` (the loginRedirectOrigins setting: the external site whose form logs people in).
 * Anything else is `/`.
 */
export function redirectTarget(value: string | undefined, origins: readonly string[]): string {
  const path = sameSitePath(value);
  if (path) return path;
  if (!value || origins.length === 0 || value.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(value))
    return '/';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return '/';
  }
  if (!isOrigin(u.origin) || u.username || u.password || !origins.includes(u.origin)) return '/';
  return u.href;
}
