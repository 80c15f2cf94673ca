import { type Actor, levelAtLeast } from '../../auth/actor.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import { fail } from '../../core/errors.js';
import type { Level } from '../../db/database.js';
import type { Services } from '../../services.js';
import type { Params } from '../params.js';
import type { DaAnswer } from './encode.js';

/** What a DirectAdmin command handler receives. */
export interface DaContext {
  services: Services;
  actor: Actor;
  params: Params;
  /** The commands login-key lists may name (for key creation). */
  catalog: CommandCatalog;
  /** The request body as sent, for a command whose body is data rather than parameters (DNS `rawsave`). */
  rawBody?: Buffer | undefined;
}

export interface DaCommand {
  /** The registry commands this DA command may run (used by listings and by login-key policies). */
  uses: string[];
  /** The lowest level that may run it, when that is not the level of its most privileged registry command. */
  level?: Level;
  run(ctx: DaContext): Promise<DaAnswer>;
}

/** Runs a registry command as the request's actor. */
export function exec<O>(ctx: DaContext, id: string, input: unknown): Promise<O> {
  return ctx.services.registry.execute<O>({ services: ctx.services, actor: ctx.actor }, id, input);
}

/** Runs a read that only prepares the request's change, without spending a use (Registry.peek). */
export function peek<O>(ctx: DaContext, id: string, input: unknown): Promise<O> {
  return ctx.services.registry.peek<O>({ services: ctx.services, actor: ctx.actor }, id, input);
}

/** Refuses callers below `level` before anything is read (the registry checks each command it runs too). */
export function requireLevel(ctx: DaContext, level: Level): void {
  if (!levelAtLeast(ctx.actor.account.level, level))
    fail('PERMISSION_DENIED', `This command needs ${level} level`);
}

/** A required parameter, or MISSING_PARAMETER. */
export function need(p: Params, key: string, label = key): string {
  const v = p.get(key);
  if (v === undefined || v === '') fail('MISSING_PARAMETER', `${label} is required`);
  return v;
}

/** DA checkboxes: present with a yes-like value means on. */
export function checked(p: Params, key: string): boolean {
  const v = p.get(key)?.toLowerCase();
  return v !== undefined && v !== '' && v !== 'no' && v !== 'off' && v !== '0';
}
