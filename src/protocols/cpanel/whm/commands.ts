import { z } from 'zod';
import { type Actor, levelAtLeast } from '../../../auth/actor.js';
import { fail } from '../../../core/errors.js';
import type { Level } from '../../../db/database.js';
import { loadManaged } from '../../../modules/accounts/accounts.service.js';
import { createLoginUrl } from '../../../modules/sessions/login-urls.js';
import { defineCommand } from '../../../registry/registry.js';
import type { Services } from '../../../services.js';

/**
 * A one-time browser login URL for the caller's own account or one it manages (WHM create_user_session).
 * The URL is a login key of the target account, made as login-as: the audit names the caller and the
 * target, and the target's own rules apply (the `login_keys` feature, suspension), as for a URL the
 * target makes itself.
 */
async function loginUrlFor(
  services: Services,
  actor: Actor,
  username: string,
  expirySeconds: number | undefined,
  minLevel: Level,
): Promise<{ url: string; expiresAt: number }> {
  const self = username.trim().toLowerCase() === actor.account.username;
  const target = self ? actor.account : await loadManaged(services.db, actor, username);
  if (!levelAtLeast(target.level, minLevel))
    fail('INVALID_PARAMETER', `${target.username} is a ${target.level} account, not a ${minLevel}`);
  const as: Actor = { ...actor, account: target };
  const made = await createLoginUrl(services, as, expirySeconds === undefined ? {} : { expirySeconds });
  return made;
}

/** Registry commands the WHM adapter needs that no module declares. */
export const whmCommands = [
  defineCommand({
    id: 'account.loginurl.create',
    level: 'reseller',
    summary: 'Create a one-time login URL for an account you manage',
    mutates: true,
    input: z.object({
      username: z.string().max(4096),
      expirySeconds: z.number().int().optional(),
      /** The lowest level the target may have (a WHM session is for resellers and admins). */
      minLevel: z.enum(['user', 'reseller', 'admin']).default('user'),
    }),
    run: ({ services, actor }, i) => loginUrlFor(services, actor, i.username, i.expirySeconds, i.minLevel),
  }),
];
