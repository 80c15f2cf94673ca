import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../../auth/actor.js';
import { jsonList } from '../../../auth/key-auth.js';
import type { Services } from '../../../services.js';
import { authenticateCpanel, type CpanelAuthFailure } from '../auth.js';
import { sendAccessDenied } from './envelope.js';

/** Who a WHM request runs as, and the ACL list of the token it carried (absent for a password). */
export type WhmAuth =
  | { ok: true; actor: Actor; tokenAcls?: readonly string[] }
  | { ok: false; reason: string; refusal?: CpanelAuthFailure };

/**
 * Authenticates a WHM request through the shared cPanel pipeline (`whm user:TOKEN` or Basic
 * `user:password`, brute-force monitor, token expiry, whitelist and owner suspension), then admits only
 * admins and resellers: a cPanel user's own good credentials are refused exactly like bad ones, as
 * cpsrvd does on 2087.
 */
export async function authenticateWhm(services: Services, req: FastifyRequest): Promise<WhmAuth> {
  const outcome = await authenticateCpanel(services, req, 'whm');
  if (!outcome.ok) return { ok: false, reason: 'refused', refusal: outcome };
  return admitWhm(outcome.actor, outcome.token ? jsonList(outcome.token.acls) : undefined);
}

/** The WHM-specific checks after a credential verified: no login-as, admin or reseller level. */
export function admitWhm(actor: Actor, tokenAcls?: readonly string[]): WhmAuth {
  if (actor.account.id !== actor.authenticated.id) return { ok: false, reason: 'login_as' };
  if (actor.account.level === 'user') return { ok: false, reason: 'not_reseller' };
  return tokenAcls ? { ok: true, actor, tokenAcls } : { ok: true, actor };
}

/** Sends a refusal: the pipeline's own answer when it made one, else WHM's "Access denied". */
export function sendRefusal(reply: FastifyReply, auth: { refusal?: CpanelAuthFailure }): FastifyReply {
  const r = auth.refusal;
  if (!r) return sendAccessDenied(reply);
  return reply.code(r.status).headers(r.headers).type(r.contentType).send(r.body);
}
