import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommandCatalog,
  type CommandPolicy,
  decide,
  grantsKeyManagement,
  isSubsetOf,
  type Level,
  normalizePolicy,
  type PolicyDecision,
} from '../../src/auth/command-policy.js';

function catalogOf(entries: Record<string, Level>): CommandCatalog {
  const map = new Map(Object.entries(entries));
  return { levelOf: (c) => map.get(c), all: () => [...map.keys()] };
}

// A small DA-like catalog: API-only names, a browser-only name, one command known under both spellings.
const CATALOG = catalogOf({
  CMD_API_SHOW_DOMAINS: 'user',
  CMD_API_POP: 'user',
  CMD_API_DNS_CONTROL: 'user',
  CMD_API_LOGIN_KEYS: 'user',
  CMD_LOGIN_KEYS: 'user',
  CMD_API_PASSWD: 'user',
  CMD_FILE_MANAGER: 'user',
  CMD_API_ACCOUNT_USER: 'reseller',
  CMD_API_SHOW_USERS: 'reseller',
  CMD_API_ACCOUNT_RESELLER: 'admin',
  CMD_API_ADMIN_STATS: 'admin',
});

const ok = { allowed: true } as const;
const no = (reason: 'denied' | 'not_allowed' | 'above_level' | 'unknown_command'): PolicyDecision => ({
  allowed: false,
  reason,
});
const P = (allow: string[], deny: string[] = []): CommandPolicy => ({ allow, deny });

describe('decide: DirectAdmin semantics', () => {
  it('with no lists, grants everything up to the owner level and nothing above', () => {
    expect(decide(P([]), 'CMD_API_POP', CATALOG, 'user')).toEqual(ok);
    expect(decide(P([]), 'CMD_API_SHOW_USERS', CATALOG, 'user')).toEqual(no('above_level'));
    expect(decide(P([]), 'CMD_API_SHOW_USERS', CATALOG, 'reseller')).toEqual(ok);
    expect(decide(P([]), 'CMD_API_ADMIN_STATS', CATALOG, 'reseller')).toEqual(no('above_level'));
    expect(decide(P([]), 'CMD_API_ADMIN_STATS', CATALOG, 'admin')).toEqual(ok);
  });

  it('lets deny beat allow', () => {
    const p = P(['CMD_API_POP', 'ALL_USER'], ['CMD_API_POP']);
    expect(decide(p, 'CMD_API_POP', CATALOG, 'user')).toEqual(no('denied'));
    expect(decide(p, 'CMD_API_DNS_CONTROL', CATALOG, 'user')).toEqual(ok);
    expect(decide(P(['CMD_API_POP'], ['ALL_USER']), 'CMD_API_POP', CATALOG, 'user')).toEqual(no('denied'));
  });

  it('with only a deny list, grants everything the owner may run except the denied', () => {
    const p = P([], ['CMD_API_LOGIN_KEYS', 'CMD_API_PASSWD']);
    expect(decide(p, 'CMD_API_POP', CATALOG, 'reseller')).toEqual(ok);
    expect(decide(p, 'CMD_API_SHOW_USERS', CATALOG, 'reseller')).toEqual(ok);
    expect(decide(p, 'CMD_API_PASSWD', CATALOG, 'reseller')).toEqual(no('denied'));
    expect(decide(p, 'CMD_API_ADMIN_STATS', CATALOG, 'reseller')).toEqual(no('above_level'));
  });

  it('with an allow list, grants only what it names', () => {
    const p = P(['CMD_API_POP']);
    expect(decide(p, 'CMD_API_POP', CATALOG, 'user')).toEqual(ok);
    expect(decide(p, 'CMD_API_DNS_CONTROL', CATALOG, 'user')).toEqual(no('not_allowed'));
  });

  it('expands ALL_USER / ALL_RESELLER / ALL_ADMIN to the commands of exactly that level', () => {
    const p = P(['ALL_RESELLER']);
    expect(decide(p, 'CMD_API_SHOW_USERS', CATALOG, 'admin')).toEqual(ok);
    expect(decide(p, 'CMD_API_POP', CATALOG, 'admin')).toEqual(no('not_allowed'));
    expect(decide(p, 'CMD_API_ADMIN_STATS', CATALOG, 'admin')).toEqual(no('not_allowed'));
    expect(decide(P(['ALL_ADMIN']), 'CMD_API_ADMIN_STATS', CATALOG, 'admin')).toEqual(ok);
    expect(decide(P(['ALL_USER']), 'CMD_FILE_MANAGER', CATALOG, 'admin')).toEqual(ok);
  });

  it('never grants above the owner level, whatever the lists say', () => {
    for (const p of [P(['ALL_ADMIN']), P(['CMD_API_ADMIN_STATS']), P([], ['CMD_API_POP'])]) {
      expect(decide(p, 'CMD_API_ADMIN_STATS', CATALOG, 'reseller')).toEqual(no('above_level'));
      expect(decide(p, 'CMD_API_ADMIN_STATS', CATALOG, 'user')).toEqual(no('above_level'));
    }
  });

  it('treats CMD_X and CMD_API_X as one command, in the lists and in the request', () => {
    expect(decide(P(['CMD_POP']), 'CMD_API_POP', CATALOG, 'user')).toEqual(ok);
    expect(decide(P(['CMD_API_POP']), 'CMD_POP', CATALOG, 'user')).toEqual(ok);
    expect(decide(P([], ['CMD_POP']), 'CMD_API_POP', CATALOG, 'user')).toEqual(no('denied'));
    expect(decide(P([], ['CMD_API_LOGIN_KEYS']), 'CMD_LOGIN_KEYS', CATALOG, 'user')).toEqual(no('denied'));
    expect(decide(P([], ['CMD_LOGIN_KEYS']), 'CMD_API_LOGIN_KEYS', CATALOG, 'user')).toEqual(no('denied'));
    expect(decide(P(['CMD_API_FILE_MANAGER']), 'CMD_FILE_MANAGER', CATALOG, 'user')).toEqual(ok);
  });

  it('is case-insensitive, and ignores spaces around list entries', () => {
    expect(decide(P([' cmd_api_pop ']), 'cmd_api_pop', CATALOG, 'user')).toEqual(ok);
    expect(decide(P(['all_user']), 'CMD_API_POP', CATALOG, 'user')).toEqual(ok);
  });

  it('answers unknown_command for names the catalog does not know, and for groupings and junk', () => {
    for (const c of ['CMD_API_NOPE', 'ALL_USER', '', 'cmd api pop', 'CMD_API_POP\n', 'x'.repeat(500)])
      expect(decide(P([]), c, CATALOG, 'admin')).toEqual(no('unknown_command'));
    expect(decide(P([]), undefined as unknown as string, CATALOG, 'admin')).toEqual(no('unknown_command'));
  });

  it('fails closed on a damaged stored allow list: junk entries match nothing but keep the list non-empty', () => {
    expect(decide(P(['CMD_API_NOPE']), 'CMD_API_POP', CATALOG, 'user')).toEqual(no('not_allowed'));
    expect(decide(P([42 as unknown as string]), 'CMD_API_POP', CATALOG, 'user')).toEqual(no('not_allowed'));
    const broken = { allow: 'ALL_USER', deny: [] } as unknown as CommandPolicy;
    expect(decide(broken, 'CMD_API_POP', CATALOG, 'user')).toEqual(no('not_allowed'));
    expect(decide(null as unknown as CommandPolicy, 'CMD_API_POP', CATALOG, 'user')).toEqual(
      no('not_allowed'),
    );
    // Blank entries are unticked boxes (as normalizePolicy reads them), not junk.
    expect(decide(P(['', '  ']), 'CMD_API_POP', CATALOG, 'user')).toEqual(ok);
  });

  it('reproduces the "power reseller" example from DirectAdmin help 523', () => {
    const p = P(
      ['ALL_RESELLER', 'ALL_USER', 'CMD_ACCOUNT_RESELLER', 'CMD_RESELLER_SHOW'],
      ['CMD_LOGIN_KEYS', 'CMD_API_LOGIN_KEYS', 'CMD_PASSWD'],
    );
    expect(decide(p, 'CMD_API_SHOW_USERS', CATALOG, 'admin')).toEqual(ok);
    expect(decide(p, 'CMD_API_ACCOUNT_RESELLER', CATALOG, 'admin')).toEqual(ok);
    expect(decide(p, 'CMD_API_ADMIN_STATS', CATALOG, 'admin')).toEqual(no('not_allowed'));
    expect(decide(p, 'CMD_API_PASSWD', CATALOG, 'admin')).toEqual(no('denied'));
    expect(decide(p, 'CMD_API_LOGIN_KEYS', CATALOG, 'admin')).toEqual(no('denied'));
    expect(grantsKeyManagement(p, CATALOG, 'admin')).toBe(false);
  });
});

describe('normalizePolicy', () => {
  it('uppercases, trims, drops blanks, dedupes (across spellings) and maps browser names to API names', () => {
    const r = normalizePolicy(
      P(
        ['cmd_pop', 'CMD_API_POP', ' CMD_FILE_MANAGER ', '', 'all_user', 'ALL_USER'],
        ['CMD_API_PASSWD', 'cmd_passwd'],
      ),
      CATALOG,
      'user',
    );
    expect(r).toEqual({
      ok: true,
      policy: { allow: ['CMD_API_POP', 'CMD_FILE_MANAGER', 'ALL_USER'], deny: ['CMD_API_PASSWD'] },
    });
  });

  it('keeps a browser name the catalog knows, and keeps both known spellings as one entry', () => {
    const r = normalizePolicy(P(['CMD_LOGIN_KEYS', 'CMD_API_LOGIN_KEYS']), CATALOG, 'user');
    expect(r).toEqual({ ok: true, policy: { allow: ['CMD_LOGIN_KEYS'], deny: [] } });
  });

  it('refuses unknown names, junk and anything above the owner level, one sentence each', () => {
    const r = normalizePolicy(
      P(['CMD_API_NOPE', 'ALL_ADMIN', 'CMD_API_SHOW_USERS', 'cmd api pop', 'ALL_NOBODY'], ['ALL_RESELLER']),
      CATALOG,
      'user',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      '"CMD_API_NOPE" in the allow list is not a known command.',
      "ALL_ADMIN in the allow list is above this account's level (user).",
      "CMD_API_SHOW_USERS in the allow list needs reseller level, above this account's (user).",
      '"cmd api pop" in the allow list is not a command name.',
      '"ALL_NOBODY" in the allow list is not a known command.',
      "ALL_RESELLER in the deny list is above this account's level (user).",
    ]);
  });

  it('accepts groupings up to the owner level', () => {
    expect(normalizePolicy(P(['ALL_USER', 'ALL_RESELLER']), CATALOG, 'reseller').ok).toBe(true);
    expect(normalizePolicy(P(['ALL_USER', 'ALL_RESELLER', 'ALL_ADMIN']), CATALOG, 'admin').ok).toBe(true);
    expect(normalizePolicy(P(['ALL_ADMIN']), CATALOG, 'reseller').ok).toBe(false);
  });

  it('refuses lists that are not lists of strings, and caps the error list', () => {
    expect(
      normalizePolicy({ allow: 'CMD_API_POP', deny: [] } as unknown as CommandPolicy, CATALOG, 'user'),
    ).toEqual({ ok: false, errors: ['The allow list must be a list of command names.'] });
    expect(normalizePolicy(P([7 as unknown as string]), CATALOG, 'user').ok).toBe(false);
    const many = normalizePolicy(P(Array.from({ length: 1000 }, (_, i) => `CMD_NOPE_${i}`)), CATALOG, 'user');
    expect(many.ok).toBe(false);
    if (!many.ok) {
      expect(many.errors).toHaveLength(21);
      expect(many.errors[20]).toBe('980 more entries are invalid.');
    }
  });
});

describe("grantsKeyManagement (DirectAdmin's warning)", () => {
  it('is true for an empty allow list, ALL_USER, and either key-management spelling', () => {
    expect(grantsKeyManagement(P([]), CATALOG, 'user')).toBe(true);
    expect(grantsKeyManagement(P([], ['CMD_API_POP']), CATALOG, 'user')).toBe(true);
    expect(grantsKeyManagement(P(['ALL_USER']), CATALOG, 'user')).toBe(true);
    expect(grantsKeyManagement(P(['CMD_LOGIN_KEYS']), CATALOG, 'user')).toBe(true);
    expect(grantsKeyManagement(P(['CMD_API_LOGIN_KEYS']), CATALOG, 'user')).toBe(true);
  });

  it('is false when the key cannot reach them', () => {
    expect(grantsKeyManagement(P(['CMD_API_POP']), CATALOG, 'user')).toBe(false);
    expect(grantsKeyManagement(P(['ALL_RESELLER']), CATALOG, 'reseller')).toBe(false);
    expect(grantsKeyManagement(P(['ALL_USER'], ['CMD_LOGIN_KEYS']), CATALOG, 'user')).toBe(false);
    expect(grantsKeyManagement(P([], ['ALL_USER']), CATALOG, 'user')).toBe(false);
  });

  it('judges the lists even when the catalog lacks the key-management commands', () => {
    const bare = catalogOf({ CMD_API_POP: 'user' });
    expect(grantsKeyManagement(P([]), bare, 'user')).toBe(true);
    expect(grantsKeyManagement(P(['ALL_USER']), bare, 'user')).toBe(true);
    expect(grantsKeyManagement(P(['CMD_API_POP']), bare, 'user')).toBe(false);
  });
});

describe('isSubsetOf (delegation ceiling)', () => {
  it('accepts narrower children and refuses broader ones', () => {
    expect(isSubsetOf(P(['CMD_API_POP']), P(['ALL_USER']), CATALOG, 'user')).toBe(true);
    expect(isSubsetOf(P(['ALL_USER']), P(['CMD_API_POP']), CATALOG, 'user')).toBe(false);
    expect(isSubsetOf(P([]), P([], ['CMD_API_PASSWD']), CATALOG, 'user')).toBe(false);
    expect(isSubsetOf(P([], ['CMD_PASSWD']), P([], ['CMD_API_PASSWD']), CATALOG, 'user')).toBe(true);
    expect(isSubsetOf(P(['CMD_POP']), P(['CMD_API_POP']), CATALOG, 'user')).toBe(true);
    expect(isSubsetOf(P(['ALL_RESELLER']), P(['ALL_USER']), CATALOG, 'reseller')).toBe(false);
    expect(isSubsetOf(P(['ALL_ADMIN']), P(['ALL_USER']), CATALOG, 'reseller')).toBe(true); // grants nothing
  });

  it("refuses a grouping under a parent that lists today's commands one by one (commands added later)", () => {
    const everyUserCommand = CATALOG.all().filter((c) => CATALOG.levelOf(c) === 'user');
    const parent = P(everyUserCommand);
    for (const c of CATALOG.all())
      if (decide(P(['ALL_USER']), c, CATALOG, 'user').allowed)
        expect(decide(parent, c, CATALOG, 'user')).toEqual(ok);
    expect(isSubsetOf(P(['ALL_USER']), parent, CATALOG, 'user')).toBe(false);
    expect(isSubsetOf(P([]), parent, CATALOG, 'user')).toBe(false);
    expect(isSubsetOf(parent, P(['ALL_USER']), CATALOG, 'user')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property test against a reference model written from the rules, set by set, without the module's helpers.

const RANKS: Level[] = ['user', 'reseller', 'admin'];
const BASES = [
  'POP',
  'DNS_CONTROL',
  'LOGIN_KEYS',
  'SHOW_USERS',
  'ADMIN_STATS',
  'FILE_MANAGER',
  'PASSWD',
  'DB',
];

interface World {
  table: Map<string, Level>;
  owner: Level;
}

const levelArb = fc.constantFrom<Level>('user', 'reseller', 'admin');

const worldArb: fc.Arbitrary<World> = fc
  .record({
    spellings: fc.array(
      fc.record({
        form: fc.constantFrom('api', 'browser', 'both', 'none'),
        api: levelArb,
        browser: levelArb,
      }),
      { minLength: BASES.length, maxLength: BASES.length },
    ),
    owner: levelArb,
  })
  .map(({ spellings, owner }) => {
    const table = new Map<string, Level>();
    spellings.forEach((s, i) => {
      const base = BASES[i]!;
      if (s.form === 'api' || s.form === 'both') table.set(`CMD_API_${base}`, s.api);
      if (s.form === 'browser' || s.form === 'both') table.set(`CMD_${base}`, s.browser);
    });
    return { table, owner };
  });

const entryArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(...BASES).chain((b) => fc.constantFrom(`CMD_API_${b}`, `CMD_${b}`)),
  },
  { weight: 3, arbitrary: fc.constantFrom('ALL_USER', 'ALL_RESELLER', 'ALL_ADMIN') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...BASES), fc.constantFrom('CMD_API_', 'CMD_', 'cmd_api_', 'Cmd_'), fc.boolean())
      .map(([b, pre, pad]) => (pad ? ` ${pre}${b.toLowerCase()}\t` : pre + b.toLowerCase())),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '  ', 'CMD_API_NOPE', 'ALL_NOBODY', 'all_user', 'cmd api pop', '*'),
  },
);

const policyArb: fc.Arbitrary<CommandPolicy> = fc.record({
  allow: fc.oneof(fc.constant<string[]>([]), fc.array(entryArb, { maxLength: 5 })),
  deny: fc.oneof(fc.constant<string[]>([]), fc.array(entryArb, { maxLength: 5 })),
});

const commandArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(...BASES).chain((b) => fc.constantFrom(`CMD_API_${b}`, `CMD_${b}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('CMD_API_NOPE', 'ALL_USER', 'cmd_api_pop', '', ' CMD_API_POP') },
);

const rank = (l: Level): number => RANKS.indexOf(l);
const sameCommand = (a: string, b: string): boolean =>
  a.replace(/^CMD_API_/, 'CMD_') === b.replace(/^CMD_API_/, 'CMD_');

/** The catalog names a list reaches (both spellings of a named command; every name of a grouping's level). */
function reach(list: string[], w: World): Set<string> {
  const out = new Set<string>();
  for (const raw of list) {
    const e = raw.trim().toUpperCase();
    for (const [name, level] of w.table) {
      if (e === `ALL_${level.toUpperCase()}` || sameCommand(e, name)) out.add(name);
    }
  }
  return out;
}

/** The reference decision: resolve the name, then apply the four rules in order. */
function model(p: CommandPolicy, command: string, w: World): PolicyDecision {
  const c = command.toUpperCase();
  let name: string | undefined;
  if (/^CMD_[A-Z0-9_]+$/.test(c)) {
    if (w.table.has(c)) name = c;
    else name = [...w.table.keys()].find((n) => sameCommand(n, c));
  }
  if (name === undefined) return { allowed: false, reason: 'unknown_command' };
  if (rank(w.table.get(name)!) > rank(w.owner)) return { allowed: false, reason: 'above_level' };
  const hits = (list: string[]) => reach(list, w).has(name!);
  if (hits(p.deny)) return { allowed: false, reason: 'denied' };
  const listed = p.allow.filter((x) => x.trim() !== '');
  if (listed.length === 0 || hits(p.allow)) return { allowed: true };
  return { allowed: false, reason: 'not_allowed' };
}

function catalogFor(w: World): CommandCatalog {
  return { levelOf: (c) => w.table.get(c), all: () => [...w.table.keys()] };
}

/** The reference "would a command added later be allowed at this level" (no name, only groupings). */
function allowsNew(p: CommandPolicy, level: Level, w: World): boolean {
  if (rank(level) > rank(w.owner)) return false;
  const has = (list: string[]) => list.some((x) => x.trim().toUpperCase() === `ALL_${level.toUpperCase()}`);
  if (has(p.deny)) return false;
  return p.allow.every((x) => x.trim() === '') || has(p.allow);
}

describe('property: decide agrees with the reference model', () => {
  it('on 10,000 random (catalog, owner level, allow, deny, command) tuples', () => {
    let mismatches = 0;
    fc.assert(
      fc.property(worldArb, policyArb, commandArb, (w, p, command) => {
        const got = decide(p, command, catalogFor(w), w.owner);
        const want = model(p, command, w);
        if (JSON.stringify(got) !== JSON.stringify(want)) mismatches++;
        expect(got).toEqual(want);
      }),
      { numRuns: 10_000 },
    );
    expect(mismatches).toBe(0);
  });

  it('normalizePolicy accepts exactly the valid lists and never changes a decision', () => {
    fc.assert(
      fc.property(worldArb, policyArb, (w, p) => {
        const cat = catalogFor(w);
        const valid = (raw: string) => {
          const e = raw.trim().toUpperCase();
          if (e === '') return true;
          const g = RANKS.find((l) => e === `ALL_${l.toUpperCase()}`);
          if (g) return rank(g) <= rank(w.owner);
          if (!/^CMD_[A-Z0-9_]+$/.test(e)) return false;
          const known =
            [...w.table.keys()].find((n) => n === e) ?? [...w.table.keys()].find((n) => sameCommand(n, e));
          return known !== undefined && rank(w.table.get(known)!) <= rank(w.owner);
        };
        const r = normalizePolicy(p, cat, w.owner);
        expect(r.ok).toBe([...p.allow, ...p.deny].every(valid));
        if (!r.ok) return;
        for (const list of [r.policy.allow, r.policy.deny]) {
          for (const [i, e] of list.entries())
            expect(list.slice(i + 1).some((f) => sameCommand(e, f))).toBe(false);
          for (const e of list) expect(e === e.trim().toUpperCase() && e !== '').toBe(true);
        }
        for (const c of [...cat.all(), ...BASES.map((b) => `CMD_${b}`), ...BASES.map((b) => `CMD_API_${b}`)])
          expect(decide(r.policy, c, cat, w.owner)).toEqual(decide(p, c, cat, w.owner));
        expect(normalizePolicy(r.policy, cat, w.owner)).toEqual(r);
      }),
      { numRuns: 3_000 },
    );
  });

  it('grantsKeyManagement agrees with the reference model', () => {
    fc.assert(
      fc.property(worldArb, policyArb, (w, p) => {
        const want =
          model(p, 'CMD_API_LOGIN_KEYS', w).allowed ||
          model(p, 'CMD_LOGIN_KEYS', w).allowed ||
          (![...w.table.keys()].some((n) => sameCommand(n, 'CMD_LOGIN_KEYS')) && allowsNewNamed(p, w));
        expect(grantsKeyManagement(p, catalogFor(w), w.owner)).toBe(want);
      }),
      { numRuns: 3_000 },
    );
  });

  it('isSubsetOf agrees with the reference model, and when true the child never outgrows the parent', () => {
    fc.assert(
      fc.property(worldArb, policyArb, policyArb, (w, child, parent) => {
        const names = [...w.table.keys()];
        const want =
          names.every((n) => !model(child, n, w).allowed || model(parent, n, w).allowed) &&
          RANKS.every((l) => !allowsNew(child, l, w) || allowsNew(parent, l, w));
        const got = isSubsetOf(child, parent, catalogFor(w), w.owner);
        expect(got).toBe(want);
        if (got)
          for (const b of BASES)
            for (const c of [`CMD_${b}`, `CMD_API_${b}`])
              if (decide(child, c, catalogFor(w), w.owner).allowed)
                expect(decide(parent, c, catalogFor(w), w.owner).allowed).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });
});

/** Key management when the catalog lacks it: a user-level command only the lists' words can reach. */
function allowsNewNamed(p: CommandPolicy, w: World): boolean {
  if (rank('user') > rank(w.owner)) return false;
  const norm = (l: string[]) => l.map((x) => x.trim().toUpperCase());
  const named = (l: string[]) => norm(l).some((x) => x === 'ALL_USER' || sameCommand(x, 'CMD_LOGIN_KEYS'));
  if (named(p.deny)) return false;
  return p.allow.every((x) => x.trim() === '') || named(p.allow);
}
