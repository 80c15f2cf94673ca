import type { Actor } from '../auth/actor.js';
import type { Executor } from '../db/database.js';
import { hotWrite } from '../db/hot-query.js';

export interface AuditEvent {
  command: string;
  target?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
}

// Compiled once: every change of every protocol writes one.
const insertEvent = hotWrite(
  (
    db: Executor,
    at: number,
    actorId: string,
    actorUsername: string,
    effectiveUsername: string,
    credentialKind: string,
    credentialId: string,
    ip: string,
    command: string,
    target: string,
    outcome: string,
    details: string,
  ) =>
    db.insertInto('audit_events').values({
      at,
      actor_id: actorId,
      actor_username: actorUsername,
      effective_username: effectiveUsername,
      credential_kind: credentialKind,
      credential_id: credentialId,
      ip,
      command,
      target,
      outcome,
      details,
    }),
);

/**
 * Writes one audit row. Call it with the same transaction as the change it describes, so the change and
 * its record commit or roll back together. Never pass secrets in `details`.
 */
export async function record(trx: Executor, actor: Actor, event: AuditEvent, at: number): Promise<void> {
  await insertEvent(
    trx,
    at,
    actor.authenticated.id,
    actor.authenticated.username,
    actor.account.id === actor.authenticated.id ? '' : actor.account.username,
    actor.credential.kind,
    actor.credential.id,
    actor.ip,
    event.command,
    event.target ?? '',
    event.outcome ?? 'ok',
    event.details ? JSON.stringify(event.details) : '',
  );
}
