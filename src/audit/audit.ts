import type { Actor } from '../auth/actor.js';
import type { Executor } from '../db/database.js';

export interface AuditEvent {
  command: string;
  target?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
}

/**
 * Writes one audit row. Call it with the same transaction as the change it describes, so the change and
 * its record commit or roll back together. Never pass secrets in `details`.
 */
export async function record(trx: Executor, actor: Actor, event: AuditEvent, at: number): Promise<void> {
  await trx
    .insertInto('audit_events')
    .values({
      at,
      actor_id: actor.authenticated.id,
      actor_username: actor.authenticated.username,
      effective_username: actor.account.id === actor.authenticated.id ? '' : actor.account.username,
      credential_kind: actor.credential.kind,
      credential_id: actor.credential.id,
      ip: actor.ip,
      command: event.command,
      target: event.target ?? '',
      outcome: event.outcome ?? 'ok',
      details: event.details ? JSON.stringify(event.details) : '',
    })
    .execute();
}
