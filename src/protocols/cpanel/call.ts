import type { Actor } from '../../auth/actor.js';
import { fail } from '../../core/errors.js';
import type { Services } from '../../services.js';
import type { Params } from '../params.js';

/*
 * What every cPanel-side function (UAPI, API 2, WHM) does with its request: run registry commands as
 * the caller and read parameters with cPanel's wording. Depends on no function table, so every module
 * of functions can import it without a cycle at load time.
 */

/** The part of a request a registry call needs. */
export interface CallContext {
  services: Services;
  actor: Actor;
}

/** Runs a registry command as the request's actor. */
export function exec<O>(ctx: CallContext, id: string, input: unknown): Promise<O> {
  return ctx.services.registry.execute<O>({ services: ctx.services, actor: ctx.actor }, id, input);
}

/** A read that only prepares the request's change, spending no use (see Registry.peek). */
export function peek<O>(ctx: CallContext, id: string, input: unknown): Promise<O> {
  return ctx.services.registry.peek<O>({ services: ctx.services, actor: ctx.actor }, id, input);
}

/** A parameter, empty counting as absent. */
export function opt(p: Params, key: string): string | undefined {
  const v = p.get(key);
  return v === undefined || v === '' ? undefined : v;
}

/** A required parameter, with cPanel's wording when it is missing. */
export function required(p: Params, key: string): string {
  const v = opt(p, key);
  if (v === undefined) fail('MISSING_PARAMETER', `You must specify the “${key}” parameter.`);
  return v;
}
