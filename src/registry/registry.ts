import type { z } from 'zod';
import { type Actor, levelAtLeast } from '../auth/actor.js';
import { fail } from '../core/errors.js';
import type { Level } from '../db/database.js';
import type { Services } from '../services.js';

/** What a command handler gets: the services and the caller. */
export interface CommandContext {
  services: Services;
  actor: Actor;
}

/**
 * One operation of the panel, declared once and reached from every protocol and the CLI. `level` is the
 * lowest account level that may run it; `input` validates the parameters' shape before the handler runs
 * (the service still owns the business rules).
 */
export interface CommandDef<S extends z.ZodTypeAny = z.ZodTypeAny, O = unknown> {
  id: string;
  level: Level;
  summary: string;
  mutates: boolean;
  input: S;
  /**
   * Checks of the parsed input that need no database, such as a credential's domain and DNS scope. They
   * run before a use of the credential is spent, so a request refused here costs the caller nothing.
   */
  authorize?(ctx: CommandContext, input: z.infer<S>): void;
  run(ctx: CommandContext, input: z.infer<S>): Promise<O>;
}

/** Declares a command with its input type inferred from the schema. */
export function defineCommand<S extends z.ZodTypeAny, O>(def: CommandDef<S, O>): CommandDef<S, O> {
  return def;
}

/** The command registry: lookup by id, and execution with the level and input checks. */
export class Registry {
  private readonly byId = new Map<string, CommandDef>();

  register(...defs: CommandDef[]): void {
    for (const d of defs) {
      if (this.byId.has(d.id)) throw new Error(`duplicate command id ${d.id}`);
      this.byId.set(d.id, d);
    }
  }

  get(id: string): CommandDef | undefined {
    return this.byId.get(id);
  }

  all(): CommandDef[] {
    return [...this.byId.values()];
  }

  /** Runs command `id` as `ctx.actor`; refuses callers below the command's level. */
  async execute<O = unknown>(ctx: CommandContext, id: string, input: unknown): Promise<O> {
    const def = this.byId.get(id);
    if (!def) return fail('UNKNOWN_COMMAND', id);
    if (!levelAtLeast(ctx.actor.account.level, def.level))
      fail('PERMISSION_DENIED', `${def.summary} needs ${def.level} level`);
    const parsed = def.input.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      fail(
        'INVALID_PARAMETER',
        issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'invalid input',
      );
    }
    def.authorize?.(ctx, parsed.data);
    await ctx.actor.credential.spend?.();
    return (await def.run(ctx, parsed.data)) as O;
  }

  /**
   * Runs a read that only prepares the change the same request makes next (does the package exist, which
   * record is on line 24): it spends no use of a limited credential, so a request whose change is then
   * refused for its parameters or scope costs nothing. The change itself spends the request's one use.
   * Only commands that change nothing may run this way.
   */
  async peek<O = unknown>(ctx: CommandContext, id: string, input: unknown): Promise<O> {
    if (this.byId.get(id)?.mutates) throw new Error(`${id} changes data and cannot be peeked`);
    const { spend: _spend, ...credential } = ctx.actor.credential;
    return this.execute<O>({ ...ctx, actor: { ...ctx.actor, credential } }, id, input);
  }
}
