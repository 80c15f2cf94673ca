import { fail } from '../../../core/errors.js';
import { checkOrigin } from './bind-zone.js';

/** A zone listed in the include: its origin and the absolute path of its zone file. */
export interface ConfZone {
  origin: string;
  file: string;
}

/**
 * A path inside a named.conf string. Quotes, backslashes and control characters would end the string or
 * the statement, so a path holding one is refused rather than escaped (BIND's own escaping of paths
 * differs between versions).
 */
function confPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /["\\\x00-\x1f\x7f;{}]/.test(path))
    fail(
      'INVALID_PARAMETER',
      `zone file path ${JSON.stringify(String(path))} cannot be written in named.conf`,
    );
  return path;
}

/**
 * Renders the named.conf include listing hostdeck's zones, one `zone` statement per line in origin
 * order. Throws an INVALID_PARAMETER AppError for an origin or path that is not valid.
 */
export function renderNamedConf(zones: readonly ConfZone[]): string {
  const sorted = [...zones].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  sorted.forEach((z, i) => {
    if (i > 0 && sorted[i - 1]?.origin === z.origin)
      fail('INVALID_PARAMETER', `zone ${z.origin} is listed twice`);
  });
  const lines = sorted.map(
    (z) => `zone "${checkOrigin(z.origin)}" { type master; file "${confPath(z.file)}"; };`,
  );
  return [
    '// Zones served from hostdeck, written from its database; changes made here are overwritten.',
    ...lines,
    '',
  ].join('\n');
}
