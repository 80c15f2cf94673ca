/*
 * The allow / deny command lists of a DirectAdmin login key. The semantics are DirectAdmin's as this project
 * reads them (DA 1.55 onwards: "commands.deny trumps commands.allow"), with one deliberate choice where DA's
 * documents disagree: an empty allow list means "no restriction by allow", never "nothing".
 *
 *   1. a command the catalog does not know is never granted;
 *   2. a command above the owner's level is never granted, whatever the lists say;
 *   3. a command the deny list names, directly or through its ALL_<LEVEL> grouping, is refused;
 *   4. an empty allow list grants everything else; a non-empty one grants only what it names.
 *
 * `CMD_X` (browser name) and `CMD_API_X` (API name) are one command for matching, so denying either spelling
 * denies both. Decisions take the owner's level at the time of the request, so lowering an account's level
 * shrinks its keys on the next request without touching them.
 */

/** Account levels (user < reseller < admin); the same union as `Level` in db/database.ts. */
export type Level = 'admin' | 'reseller' | 'user';

/** What the policy needs to know about the server's commands. */
export interface CommandCatalog {
  /** every command name the server knows, with the lowest level that may run it */
  levelOf(command: string): Level | undefined;
  all(): string[];
}

/** A login key's command lists: command names or the groupings ALL_USER, ALL_RESELLER, ALL_ADMIN, as stored. */
export interface CommandPolicy {
  allow: string[];
  deny: string[];
}

/** Whether a key may run a command, and if not, why. */
export type PolicyDecision =
  | { allowed: true }
  | { allowed: false; reason: 'denied' | 'not_allowed' | 'above_level' | 'unknown_command' };

/** The names of the key-management commands, whose grant lets a key mint other keys. */
export const KEY_MANAGEMENT_COMMANDS = ['CMD_API_LOGIN_KEYS', 'CMD_LOGIN_KEYS'] as const;

const RANK: Record<Level, number> = { user: 1, reseller: 2, admin: 3 };
const GROUPINGS = new Map<string, Level>([
  ['ALL_USER', 'user'],
  ['ALL_RESELLER', 'reseller'],
  ['ALL_ADMIN', 'admin'],
]);
const NAME = /^[A-Z][A-Z0-9_]{0,99}$/;
// Enough to show what is wrong without echoing an unbounded list back.
const MAX_ERRORS = 20;

/** Validates, canonicalises (uppercase, API spelling where only that exists) and dedupes a policy. */
export function normalizePolicy(
  p: CommandPolicy,
  catalog: CommandCatalog,
  ownerLevel: Level,
): { ok: true; policy: CommandPolicy } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  let more = 0;
  const note = (e: string): void => {
    if (errors.length < MAX_ERRORS) errors.push(e);
    else more++;
  };
  const clean = (list: unknown, which: 'allow' | 'deny'): string[] => {
    if (!Array.isArray(list)) {
      note(`The ${which} list must be a list of command names.`);
      return [];
    }
    const out: string[] = [];
    const keys = new Set<string>();
    for (const raw of list) {
      if (typeof raw !== 'string') {
        note(`The ${which} list may contain only command names.`);
        continue;
      }
      const name = raw.trim().toUpperCase();
      // An unticked DA form box arrives as an empty value: it names nothing.
      if (name === '') continue;
      const shown = JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);
      if (!NAME.test(name)) {
        note(`${shown} in the ${which} list is not a command name.`);
        continue;
      }
      const grouping = GROUPINGS.get(name);
      let stored: string;
      if (grouping !== undefined) {
        if (!atLeast(ownerLevel, grouping)) {
          note(`${name} in the ${which} list is above this account's level (${ownerLevel}).`);
          continue;
        }
        stored = name;
      } else {
        const spelled = spelling(name, catalog);
        if (spelled === undefined) {
          note(`${shown} in the ${which} list is not a known command.`);
          continue;
        }
        const level = levelOf(spelled, catalog)!;
        if (!atLeast(ownerLevel, level)) {
          note(`${spelled} in the ${which} list needs ${level} level, above this account's (${ownerLevel}).`);
          continue;
        }
        stored = spelled;
      }
      const key = matchKey(stored);
      if (keys.has(key)) continue;
      keys.add(key);
      out.push(stored);
    }
    return out;
  };
  const allow = clean(p?.allow, 'allow');
  const deny = clean(p?.deny, 'deny');
  if (more > 0) errors.push(`${more} more entries are invalid.`);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policy: { allow, deny } };
}

/** Decides whether a key with policy `p`, owned by an account of `ownerLevel`, may run `command`. */
export function decide(
  p: CommandPolicy,
  command: string,
  catalog: CommandCatalog,
  ownerLevel: Level,
): PolicyDecision {
  const name = typeof command === 'string' ? command.toUpperCase() : '';
  const level = NAME.test(name) && !GROUPINGS.has(name) ? levelOf(name, catalog) : undefined;
  if (level === undefined) return { allowed: false, reason: 'unknown_command' };
  return decideKnown(compile(p), matchKey(name), level, ownerLevel);
}

/** True when the key can reach CMD_LOGIN_KEYS / CMD_API_LOGIN_KEYS and so mint other keys (DA's warning). */
export function grantsKeyManagement(p: CommandPolicy, catalog: CommandCatalog, ownerLevel: Level): boolean {
  const compiled = compile(p);
  return KEY_MANAGEMENT_COMMANDS.some((name) => {
    // Judged even if this catalog lacks the command: the warning is about what the lists say, and DA
    // serves key management at user level.
    const level = levelOf(name, catalog) ?? 'user';
    return decideKnown(compiled, matchKey(name), level, ownerLevel).allowed;
  });
}

/** True when every command `child` allows, `parent` allows too (a key may not mint a broader key). */
export function isSubsetOf(
  child: CommandPolicy,
  parent: CommandPolicy,
  catalog: CommandCatalog,
  ownerLevel: Level,
): boolean {
  const c = compile(child);
  const q = compile(parent);
  const covered = (key: string | null, level: Level): boolean =>
    !decideKnown(c, key, level, ownerLevel).allowed || decideKnown(q, key, level, ownerLevel).allowed;
  for (const name of catalog.all()) {
    const upper = name.toUpperCase();
    const level = levelOf(upper, catalog);
    if (level !== undefined && !covered(matchKey(upper), level)) return false;
  }
  // Keys outlive catalog versions: a command added later must not fall to the child alone (child ALL_USER
  // under a parent listing today's user commands one by one). `null` stands for a name no list contains.
  for (const level of GROUPINGS.values()) if (!covered(null, level)) return false;
  return true;
}

interface Compiled {
  allowEmpty: boolean;
  allow: Set<string>;
  deny: Set<string>;
}

// Entries are compared by match key and groupings by name. Blank entries are unticked form boxes and count
// for nothing, as in normalizePolicy. Anything else in a stored list that normalizePolicy would have refused
// matches nothing but still makes the allow list non-empty, so a damaged list fails closed rather than
// opening up to "everything".
function compile(p: CommandPolicy): Compiled {
  const entries = (list: unknown): unknown[] =>
    (Array.isArray(list) ? list : []).filter((x) => typeof x !== 'string' || x.trim() !== '');
  const set = (list: unknown[]): Set<string> =>
    new Set(
      list
        .filter((x): x is string => typeof x === 'string')
        .map((x) => x.trim().toUpperCase())
        .map((x) => (GROUPINGS.has(x) ? x : matchKey(x))),
    );
  const allowList: unknown = p?.allow;
  const allow = entries(allowList);
  return {
    allowEmpty: Array.isArray(allowList) && allow.length === 0,
    allow: set(allow),
    deny: set(entries(p?.deny)),
  };
}

function decideKnown(c: Compiled, key: string | null, level: Level, ownerLevel: Level): PolicyDecision {
  if (!atLeast(ownerLevel, level)) return { allowed: false, reason: 'above_level' };
  const group = `ALL_${level.toUpperCase()}`;
  const named = (s: Set<string>): boolean => key !== null && s.has(key);
  if (named(c.deny) || c.deny.has(group)) return { allowed: false, reason: 'denied' };
  if (c.allowEmpty || named(c.allow) || c.allow.has(group)) return { allowed: true };
  return { allowed: false, reason: 'not_allowed' };
}

/** The one spelling of a command used for matching: `CMD_API_X` and `CMD_X` both become `CMD_X`. */
function matchKey(name: string): string {
  return name.startsWith('CMD_API_') ? `CMD_${name.slice('CMD_API_'.length)}` : name;
}

/** The other spelling of a command name, if it has one. */
function alias(name: string): string | undefined {
  if (name.startsWith('CMD_API_')) return `CMD_${name.slice('CMD_API_'.length)}`;
  if (name.startsWith('CMD_')) return `CMD_API_${name.slice('CMD_'.length)}`;
  return undefined;
}

/** The level of a command under either spelling (its own spelling first). */
function levelOf(name: string, catalog: CommandCatalog): Level | undefined {
  const own = catalog.levelOf(name);
  if (own !== undefined) return own;
  const other = alias(name);
  return other === undefined ? undefined : catalog.levelOf(other);
}

/** How a command is stored: as written when the catalog knows it, else its other spelling if that is known. */
function spelling(name: string, catalog: CommandCatalog): string | undefined {
  if (catalog.levelOf(name) !== undefined) return name;
  const other = alias(name);
  return other !== undefined && catalog.levelOf(other) !== undefined ? other : undefined;
}

function atLeast(level: Level, needed: Level): boolean {
  return RANK[level] >= RANK[needed];
}
