import { domainToASCII } from 'node:url';
import { fail } from './errors.js';

/**
 * Names that belong to the system or to daemons: an account with one of these names would collide with
 * a Unix user, a database superuser or a word the API gives a meaning to.
 */
export const RESERVED_USERNAMES = new Set([
  'root',
  'admin',
  'administrator',
  'mysql',
  'mariadb',
  'postgres',
  'apache',
  'www',
  'www-data',
  'httpd',
  'nginx',
  'nobody',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'backup',
  'list',
  'irc',
  'gnats',
  'ftp',
  'named',
  'bind',
  'dovecot',
  'dovenull',
  'exim',
  'postfix',
  'proftpd',
  'diradmin',
  'directadmin',
  'hostdeck',
  'majordomo',
  'operator',
  'shutdown',
  'halt',
  'tmp',
  'all',
  'none',
  'default',
  'shared',
  'server',
  'cpanel',
  'whm',
  'webmail',
  'system',
  'messagebus',
  'sshd',
  'systemd',
  'redis',
  'clamav',
  'spamd',
  'mailman',
  'git',
  'users',
  'reseller',
  'user',
]);

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 16;
const USERNAME_RE = /^[a-z][a-z0-9]*$/;

/**
 * Normalises a login name the way every lookup and every failure counter sees it, so `Alice`, ` alice `
 * and `ALICE` are one account (a lockout keyed on the raw spelling could be bypassed).
 */
export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}

/** True when `name` could be an existing account's name (used before any lookup or counting). */
export function isPlausibleUsername(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && USERNAME_RE.test(name);
}

/** Validates a name for a new account: DA rules plus the reserved list. Throws INVALID_/RESERVED_USERNAME. */
export function validateNewUsername(raw: string, maxLength = USERNAME_MAX): string {
  if (raw.length === 0) fail('INVALID_USERNAME', 'A username is required');
  if (raw !== raw.toLowerCase() && USERNAME_RE.test(raw.toLowerCase()))
    fail('INVALID_USERNAME', 'Usernames must be lower case');
  if (!USERNAME_RE.test(raw))
    fail(
      'INVALID_USERNAME',
      'Usernames may contain only lower-case letters and digits and must start with a letter',
    );
  if (raw.length < USERNAME_MIN || raw.length > maxLength)
    fail('INVALID_USERNAME', `Usernames must be ${USERNAME_MIN} to ${maxLength} characters long`);
  if (RESERVED_USERNAMES.has(raw)) fail('RESERVED_USERNAME', `${raw} is reserved for the system`);
  return raw;
}

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators that some parsers treat as newlines.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** True when the string holds a control character or a Unicode line separator. */
export function hasControlChars(s: string): boolean {
  return CONTROL_RE.test(s);
}

/** Validates a one-line free text value (a full name, a reason). */
export function validateText(field: string, value: string, max = 255): string {
  if (value.length > max) fail('INVALID_PARAMETER', `${field} must be at most ${max} characters`);
  if (hasControlChars(value)) fail('INVALID_PARAMETER', `${field} must not contain control characters`);
  if (value.includes('\ufffd')) fail('INVALID_PARAMETER', `${field} is not valid UTF-8`);
  return value;
}

const EMAIL_LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** Validates an e-mail address (dot-atom local part, a valid domain). Returns it with the domain lower-cased. */
export function validateEmail(raw: string): string {
  const value = raw.trim();
  const at = value.lastIndexOf('@');
  if (value.length > 254 || at < 1 || hasControlChars(value))
    fail('INVALID_EMAIL', `${printable(raw)} is not a valid e-mail address`);
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || !EMAIL_LOCAL_RE.test(local))
    fail('INVALID_EMAIL', `${printable(raw)} is not a valid e-mail address`);
  let d: string;
  try {
    d = validateDomain(domain);
  } catch {
    fail('INVALID_EMAIL', `${printable(raw)} is not a valid e-mail address`);
  }
  return `${local}@${d}`;
}

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates a domain name and returns its ASCII (punycode) form: at least two labels, each 1–63 of
 * letters, digits and inner hyphens, 253 characters at most, a non-numeric top-level label.
 */
export function validateDomain(raw: string): string {
  const known = validDomains.get(raw);
  if (known !== undefined) return known;
  const ascii = checkDomain(raw);
  // Only names as long as a domain can be: padding around a valid name must not fill the memo.
  if (raw.length <= 255) {
    if (validDomains.size >= 10_000) validDomains.clear();
    validDomains.set(raw, ascii);
  }
  return ascii;
}

/** Names that passed validateDomain, with their normalised form: every listing checks the same few. */
const validDomains = new Map<string, string>();

function checkDomain(raw: string): string {
  let value = raw.trim().toLowerCase();
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value.length === 0 || hasControlChars(value))
    fail('INVALID_DOMAIN', `${printable(raw)} is not a valid domain name`);
  const ascii = /^[\x00-\x7f]*$/.test(value) ? value : domainToASCII(value);
  if (!ascii || ascii.length > 253) fail('INVALID_DOMAIN', `${printable(raw)} is not a valid domain name`);
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL_RE.test(l)) || /^[0-9]+$/.test(labels.at(-1) ?? ''))
    fail('INVALID_DOMAIN', `${printable(raw)} is not a valid domain name`);
  return ascii;
}

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** Validates a new plain-text password: length bounds, no control characters. */
export function validateNewPassword(pw: string, field = 'password'): string {
  if (pw.length < PASSWORD_MIN)
    fail('INVALID_PASSWORD', `The ${field} must be at least ${PASSWORD_MIN} characters long`);
  if (pw.length > PASSWORD_MAX)
    fail('INVALID_PASSWORD', `The ${field} must be at most ${PASSWORD_MAX} characters long`);
  if (hasControlChars(pw)) fail('INVALID_PASSWORD', `The ${field} must not contain control characters`);
  if (pw.includes('\ufffd')) fail('INVALID_PASSWORD', `The ${field} is not valid UTF-8`);
  return pw;
}

const PACKAGE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** True when `raw` could be a package's name (used before any lookup, like isPlausibleUsername). */
export function isPackageName(raw: string): boolean {
  return PACKAGE_RE.test(raw) && !raw.includes('..');
}

/** Validates a package name: letters, digits, `_`, `.`, `-`, starting with a letter or digit, ≤ 64. */
export function validatePackageName(raw: string): string {
  if (!isPackageName(raw))
    fail('INVALID_PACKAGE_NAME', 'Package names may contain letters, digits, "_", "." and "-" (at most 64)');
  return raw;
}

/** Makes a user-supplied value safe to quote inside an error sentence. */
export function printable(s: string, max = 64): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
