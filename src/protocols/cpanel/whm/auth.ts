import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../../auth/actor.js';
import { verifyPasswordLogin } from '../../../auth/verify.js';
import type { Services } from '../../../services.js';
import { parseBasicAuth, type Redactor } from '../../http.js';

/** Who a WHM request runs as, and the ACL list of the token it carried (absent for a password). */
export type WhmAuth =
  | { ok: true; actor: Actor; tokenAcls?: readonly string[] }
  | { ok: false; reason: string; username?: string };

/**
 * Authenticates a WHM request: Basic `user:password` through the password pipeline (brute-force monitor,
 * suspension). Only admins and resellers reach WHM; a cPanel user's own good credentials are refused
 * exactly like bad ones, as cpsrvd does on 2087. DirectAdmin's `owner|user` login-as is no WHM form and is
 * refused too.
 */
export async function authenticateWhm(
  services: Services,
  req: FastifyRequest,
  ip: string,
  redactor: Redactor,
): Promise<WhmAuth> {
  const header = req.headers.authorization;
  if (header === undefined) return { ok: false, reason: 'no_credentials' };
  const basic = parseBasicAuth(header);
  if (!basic) return { ok: false, reason: 'malformed' };
  redactor.secret(basic.password);
  const outcome = await verifyPasswordLogin(services, {
    username: basic.username,
    secret: basic.password,
    ip,
  });
  if (!outcome.ok) return { ok: false, reason: outcome.reason, username: outcome.username };
  return admitWhm(outcome.actor);
}

/** The WHM-specific checks after a credential verified: no login-as, admin or reseller level. */
export function admitWhm(actor: Actor, tokenAcls?: readonly string[]): WhmAuth {
  const username = actor.authenticated.username;
  if (actor.account.id !== actor.authenticated.id) return { ok: false, reason: 'login_as', username };
  if (actor.account.level === 'user') return { ok: false, reason: 'not_reseller', username };
  return tokenAcls ? { ok: true, actor, tokenAcls } : { ok: true, actor };
}
