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

const SECRET_KEY_RE = /pass|key|token|secret|hash|authorization|cookie|session/i;

/** Parameters safe to log: every value whose name suggests a secret is replaced. */
export function redactParams(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params))
    out[k] = SECRET_KEY_RE.test(k) ? '[redacted]' : v.length > 200 ? `${v.slice(0, 200)}…` : v;
  return out;
}
