import type { FastifyRequest } from 'fastify';

/** Client address: the peer, or what a configured trusted proxy said (Fastify's trustProxy), IPv4 unmapped. */
export function clientIp(req: FastifyRequest): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Decodes `Authorization: Basic …`; null when absent or malformed (the caller answers 401). */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | null {
  if (!header) return null;
  const m = /^Basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i.exec(header);
  if (!m) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(m[1] as string, 'base64'));
  } catch {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

// Parameter names that suggest a secret (passwd, passwd2, key, token, api_secret, hash, …). Over-matching
// hides a harmless value from a debug log; under-matching leaks a password into it.
const SECRET_KEY_RE = /pass|key|token|secret|hash|authorization|cookie|session/i;
// A value that carries a secret under its own name (a nested `passwd=…`, a JSON `"token":…`) or a private
// key (CMD_API_SSL sends key and chain together in `certificate`).
const SECRET_IN_VALUE_RE =
  /(?:pass|key|token|secret|hash)[^=&"'\s:]*(?:=|["']?\s*:)|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/i;
const REDACTED = '[redacted]';
const MAX_LOGGED_VALUE = 200;

function shorten(v: string): string {
  return v.length > MAX_LOGGED_VALUE ? `${v.slice(0, MAX_LOGGED_VALUE)}…` : v;
}

/**
 * Makes request data safe to log. Values of secret-named parameters, and the password of the request's
 * Basic credential, are remembered so that an answer or error text that echoes one is hidden too.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a secret; very short ones are not searched for, as they would blank ordinary text. */
  secret(value: string): void {
    if (value.length >= 3) this.secrets.add(value);
  }

  /** Text with every remembered secret replaced. */
  text(s: string): string {
    let out = s;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      out = out.split(secret).join(REDACTED);
    return out;
  }

  private value(key: string, v: string): string {
    if (SECRET_KEY_RE.test(key) || SECRET_IN_VALUE_RE.test(v)) return REDACTED;
    return shorten(this.text(v));
  }

  /** Every parameter (repeated keys as arrays), secrets hidden. */
  params(p: { keys(): string[]; all(key: string): string[] }): Record<string, string | string[]> {
    for (const k of p.keys()) if (SECRET_KEY_RE.test(k)) for (const v of p.all(k)) this.secret(v);
    const out: Record<string, string | string[]> = {};
    for (const k of p.keys()) {
      const vs = p.all(k).map((v) => this.value(k, v));
      out[shorten(k)] = vs.length === 1 ? (vs[0] as string) : vs;
    }
    return out;
  }

  /** A flat record (an answer's fields), secrets hidden. */
  record(data: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) out[k] = this.value(k, v);
    return out;
  }
}

/** Parameters safe to log: every value whose name suggests a secret is replaced. */
export function redactParams(params: Record<string, string>): Record<string, string> {
  return new Redactor().record(params);
}

/**
 * The part of the CSRF check that applies to Basic authentication: a browser that once got a Basic
 * prompt resends those credentials on its own, also on a form another site posts. Browsers mark such a
 * request (Origin of the other site, Sec-Fetch-Site other than same-origin/none); API clients send
 * neither header, so they are never refused by this.
 */
export function crossSiteProblem(req: FastifyRequest): 'cross_origin' | 'cross_site_fetch' | null {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    // `null` (a sandboxed frame, a file) is another site too.
    const own = `${req.protocol}://${req.host}`.toLowerCase();
    if (origin.toLowerCase() !== own) return 'cross_origin';
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross_site_fetch';
  return null;
}
