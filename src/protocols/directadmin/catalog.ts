import { levelAtLeast } from '../../auth/actor.js';
import type { CommandCatalog } from '../../auth/command-policy.js';
import type { Level } from '../../db/database.js';
import type { Registry } from '../../registry/registry.js';
import { DA_COMMANDS } from './commands.js';

/** `CMD_X` → `CMD_API_X`; other names unchanged. */
export function apiName(command: string): string {
  return command.startsWith('CMD_') && !command.startsWith('CMD_API_')
    ? `CMD_API_${command.slice(4)}`
    : command;
}

/**
 * The DirectAdmin commands login-key lists may name, each with the lowest level that may run it: the
 * command's own level when it declares one, else the highest level among the registry commands it runs
 * (a command is only as available as its most privileged operation).
 */
export function daCatalog(registry: Registry): CommandCatalog {
  const levels = new Map<string, Level>();
  for (const [name, cmd] of Object.entries(DA_COMMANDS)) {
    let level: Level = cmd.level ?? 'user';
    if (!cmd.level)
      for (const id of cmd.uses) {
        const def = registry.get(id);
        if (def && levelAtLeast(def.level, level)) level = def.level;
      }
    levels.set(name, level);
  }
  return {
    levelOf: (command) => levels.get(apiName(command)),
    all: () => [...levels.keys()],
  };
}
