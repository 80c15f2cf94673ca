/**
 * The shared security suite over every DirectAdmin command (DESIGN.md rule 12; security.md §6 tests
 * 21–23): command × principal matrix from test/helpers/da-expectations.ts (passwords, login-as and login
 * keys), tenant isolation (another tenant's object answers exactly like a missing one), and the reseller
 * hierarchy's vertical limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import { daCatalog } from '../../src/protocols/directadmin/catalog.js';
import { DA_COMMANDS } from '../../src/protocols/directadmin/commands.js';
import {
  CATALOG_LEVEL_ISSUES,
  createKeyRing,
  createTenants,
  credentialOf,
  DA_EXPECTATIONS,
  type Expectation,
  FOREIGN_ACCOUNTS,
  FOREIGN_RESELLER_PACKAGES,
  FOREIGN_USER_PACKAGES,
  freshName,
  GHOST,
  type KeyRing,
  type ObjectRef,
  type Params,
  PRINCIPALS,
  type Principal,
  packageFields,
  passwordOf,
  type Role,
  type SampleRequest,
  sampleContext,
  savePackage,
} from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  type CallOptions,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { ADMIN_PASSWORD, snapshot as accountSnapshot } from '../helpers/services.js';

// Wrong-password principals run against every command; the brute-force monitor is tested elsewhere.
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

function expectUnauthorized(a: Answer): void {
  expect(a.status).toBe(401);
  expect(a.headers['x-directadmin']).toBe('Unauthorized');
  expect(a.headers['content-type']).toMatch(/^text\/html/);
  expect(a.body).toContain('<title>DirectAdmin Login</title>');
}

/** No 5xx, and no legacy "Internal error" (sent with HTTP 200 so old clients read it): no crash either way. */
function expectNoCrash(a: Answer): void {
  expect(a.status, a.body).toBeLessThan(500);
  expect(a.pairs.text, a.body).not.toBe(ERRORS.INTERNAL.text);
}

/** What a client can tell two answers apart by: status, body and the headers that describe them. */
function sameAnswer(a: Answer) {
  const { date: _, ...headers } = a.headers;
  return { status: a.status, body: a.body, headers };
}

function expectDenied(a: Answer): void {
  expect(a.status).toBe(403);
  expect(a.pairs.error).toBe('1');
  expect(a.pairs.text).toBe(ERRORS.PERMISSION_DENIED.text);
}

/** Sends a request as POST (the API name) or GET (the browser name, parameters in the query). */
function send(s: TestServer, path: string, method: 'GET' | 'POST', auth: string | undefined, params: Params) {
  const opts: CallOptions = { method, params };
  if (auth !== undefined) opts.auth = auth;
  return rawCall(s.port, path, opts);
}

/**
 * Every row a refused request must leave alone: accounts, packages, domains and outbox (helpers'
 * snapshot), plus login keys and messages. Batched key history and last-use stamps are written first, so
 * an earlier request's batch cannot land between two snapshots. `uses: false` leaves out a key's use
 * record (count, last use), which a request the key authenticated rightly updates even when the command
 * then refuses it.
 */
async function snapshot(s: TestServer, { uses = true } = {}): Promise<string> {
  await s.services.keyUsage.flush();
  const keys = (await s.services.db.selectFrom('login_keys').selectAll().orderBy('id').execute()).map(
    ({ use_count, last_used_at, last_used_ip, ...k }) =>
      uses ? { ...k, use_count, last_used_at, last_used_ip } : k,
  );
  const messages = await s.services.db.selectFrom('messages').selectAll().orderBy('id').execute();
  return `${await accountSnapshot(s.services)}${JSON.stringify({ keys, messages })}`;
}

const RANK: Record<Role, number> = { user: 1, reseller: 2, admin: 3 };

/**
 * What a principal must get: 401 when authentication refuses it, else allowed or PERMISSION_DENIED by
 * level. A key never exceeds its owner: a command above every level of its owner is outside anything
 * the key can hold, so it is refused like a bad login.
 */
function outcomeOf(exp: Expectation, p: Principal): 'unauthorized' | 'ok' | 'denied' {
  if (p.role === null) return 'unauthorized';
  if (exp.allow.includes(p.role)) return 'ok';
  const owner = p.keyOwnerRole;
  if (owner && !exp.allow.some((r) => RANK[r] <= RANK[owner])) return 'unauthorized';
  return 'denied';
}

function knownIssue(exp: Expectation, req: SampleRequest, p: Principal): string | undefined {
  for (const issues of [req.knownIssues, exp.knownIssues]) {
    const issue = issues?.[p.id] ?? (p.role ? issues?.[p.role] : undefined);
    if (issue) return issue;
  }
  return undefined;
}

describe('DA route × principal matrix', () => {
  let s: TestServer;
  let ring: KeyRing;
  beforeAll(async () => {
    s = await startTestServer({ settings: NO_BFM, manualClock: true });
    await createTenants(s);
    ring = await createKeyRing(s);
  });
  afterAll(async () => s?.close());

  it('has an expectation for every DA command, and none for a command that is gone', () => {
    const served = Object.keys(DA_COMMANDS).sort();
    const described = Object.keys(DA_EXPECTATIONS).sort();
    expect(
      served.filter((c) => !described.includes(c)),
      'commands without an expectation',
    ).toEqual([]);
    expect(
      described.filter((c) => !served.includes(c)),
      'expectations of no command',
    ).toEqual([]);
    for (const [cmd, exp] of Object.entries(DA_EXPECTATIONS)) {
      expect(exp.requests.length, `${cmd} has a sample request`).toBeGreaterThan(0);
      expect(exp.allow.length, `${cmd} names who may run it`).toBeGreaterThan(0);
    }
  });

  it('the login-key catalog gives each command the lowest level that may run it (known exceptions listed)', () => {
    const catalog = daCatalog(s.services.registry);
    const wrong: Record<string, Role | undefined> = {};
    for (const [cmd, exp] of Object.entries(DA_EXPECTATIONS)) {
      const lowest = [...exp.allow].sort((a, b) => RANK[a] - RANK[b])[0];
      const level = catalog.levelOf(cmd);
      if (level !== lowest) wrong[cmd] = level;
    }
    // When CATALOG_LEVEL_ISSUES is fixed this fails: empty the list (and the knownIssues it feeds).
    expect(wrong).toEqual(CATALOG_LEVEL_ISSUES);
  });

  for (const [cmd, exp] of Object.entries(DA_EXPECTATIONS)) {
    describe(cmd, () => {
      for (const p of PRINCIPALS) {
        for (const req of exp.requests) {
          for (const [path, method] of [
            [`/${cmd}`, 'POST'],
            [`/${cmd.replace(/^CMD_API_/, 'CMD_')}`, 'GET'],
          ] as const) {
            const outcome = outcomeOf(exp, p);
            const issue = knownIssue(exp, req, p);
            const name = `${p.id}: ${req.label} via ${method} ${path} → ${outcome}${issue ? ` (known issue: ${issue})` : ''}`;
            (issue ? it.fails : it)(name, async () => {
              const h = sampleContext(s, p);
              const params = await req.params(h);
              const auth = await ring.auth(p, cmd);
              const before = outcome === 'ok' ? '' : await snapshot(s);
              const a = await send(s, path, method, auth, params);
              expectNoCrash(a);
              if (outcome === 'ok') {
                if (req.ok) await req.ok(a, h, params);
                else {
                  expect(a.status, a.body).toBe(200);
                  expect(a.pairs.error, a.body).toBe('0');
                }
                return;
              }
              if (outcome === 'unauthorized') {
                expectUnauthorized(a);
                // A refused key answers byte for byte like a bad password.
                if (p.key !== undefined) {
                  const bad = await send(s, path, method, `${p.login}:Wrong-Pass-999`, params);
                  expect(sameAnswer(a)).toEqual(sameAnswer(bad));
                }
              } else expectDenied(a);
              expect(await snapshot(s), 'a refused request changed nothing').toBe(before);
            });
          }
        }
      }
    });
  }

  it('refuses other methods on every command, never with a 2xx', async () => {
    for (const cmd of Object.keys(DA_EXPECTATIONS)) {
      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
        for (const auth of [undefined, credentialOf('admin')]) {
          const opts: CallOptions = { method };
          if (auth) opts.auth = auth;
          const a = await rawCall(s.port, `/${cmd}`, opts);
          expect(a.status, `${method} ${cmd}`).toBe(405);
        }
      }
      const head = await rawCall(s.port, `/${cmd}`, { method: 'HEAD' });
      expect(head.status, `HEAD ${cmd}`).toBe(401);
    }
  });
});

function foreignNames(kind: ObjectRef['kind'], self: string): readonly string[] {
  const table =
    kind === 'account'
      ? FOREIGN_ACCOUNTS
      : kind === 'user-package'
        ? FOREIGN_USER_PACKAGES
        : FOREIGN_RESELLER_PACKAGES;
  return table[self] ?? [];
}

describe('tenant isolation: another tenant’s object answers like a missing one', () => {
  let s: TestServer;
  let ring: KeyRing;
  beforeAll(async () => {
    s = await startTestServer({ settings: NO_BFM, manualClock: true });
    await createTenants(s);
    ring = await createKeyRing(s);
  });
  afterAll(async () => s?.close());

  const attackers = PRINCIPALS.filter((p) => p.role !== null);
  for (const [cmd, exp] of Object.entries(DA_EXPECTATIONS)) {
    for (const ref of exp.objects) {
      for (const p of attackers) {
        const applies = ref.mutates || p.role !== 'admin';
        if (!applies) continue;
        it(`${cmd} ${ref.label}: ${p.id}`, async () => {
          const h = sampleContext(s, p);
          const ghost = ref.kind === 'account' ? GHOST : `${GHOST}pkg`;
          for (const name of foreignNames(ref.kind, p.self)) {
            // Legacy and JSON answers both: JSON carries the error's own HTTP status, which must not tell either.
            for (const json of [{}, { json: 'yes' }] as Params[]) {
              const auth = await ring.auth(p, cmd);
              const before = await snapshot(s, { uses: false });
              const foreign = await send(s, `/${cmd}`, 'POST', auth, {
                ...(await ref.params(h, name)),
                ...json,
              });
              const missing = await send(s, `/${cmd}`, 'POST', auth, {
                ...(await ref.params(h, ghost)),
                ...json,
              });
              expectNoCrash(foreign);
              expectNoCrash(missing);
              expect(foreign.body, `${name}: refused`).not.toMatch(/^error=0|"success"/);
              expect(foreign.pairs.error, `${name}: refused`).not.toBe('0');
              expect(foreign.status, name).toBe(missing.status);
              expect(foreign.headers['content-type'], name).toBe(missing.headers['content-type']);
              expect(foreign.body, name).toBe(missing.body.split(ghost).join(name));
              expect(await snapshot(s, { uses: false }), `${name}: nothing changed`).toBe(before);
            }
          }
        });
      }
    }
  }

  it('login-as into another tenant’s account answers like a missing account', async () => {
    const cases: [string, string][] = [
      ['res2', 'fred'],
      ['res1', 'barney'],
      ['fred', 'ginny'],
      ['fred', 'res1'],
      ['res1', 'res2'],
      ['res1', 'admin'],
      ['admin2', 'admin'],
    ];
    for (const [owner, target] of cases) {
      const secret = passwordOf(owner);
      const foreign = await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: `${owner}|${target}:${secret}` });
      const missing = await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: `${owner}|${GHOST}:${secret}` });
      expectUnauthorized(foreign);
      expect(foreign.status).toBe(missing.status);
      expect(foreign.body).toBe(missing.body);
      expect(foreign.headers['x-directadmin']).toBe(missing.headers['x-directadmin']);
    }
  });
});

describe('reseller hierarchy: vertical limits and mass assignment', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ settings: NO_BFM });
    await createTenants(s);
  });
  afterAll(async () => s?.close());

  const db = () => s.services.db;
  const row = (username: string) =>
    db().selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
  const post = (auth: string, cmd: string, params: Params) =>
    rawCall(s.port, `/${cmd}`, { method: 'POST', auth, params });

  /** Runs a request that must be refused with `code`, and checks nothing changed. */
  async function refused(auth: string, cmd: string, params: Params, code: keyof typeof ERRORS | null) {
    const before = await snapshot(s);
    const a = await post(auth, cmd, params);
    expectNoCrash(a);
    expect(a.pairs.error, a.body).toBe('1');
    if (code) expect(a.pairs.text, a.body).toBe(ERRORS[code].text);
    expect(await snapshot(s), `${cmd} refused without a change`).toBe(before);
    return a;
  }

  function userParams(username: string, extra: Params = {}): Params {
    return {
      action: 'create',
      add: 'Submit',
      username,
      email: `${username}@example.com`,
      passwd: `${username}-Pass-123`,
      passwd2: `${username}-Pass-123`,
      domain: `${username}.example.com`,
      ip: 'shared',
      notify: 'no',
      ...extra,
    };
  }

  it('a reseller cannot create resellers or admins, even through login-as', async () => {
    for (const auth of [authOf('res1'), `admin|res1:${ADMIN_PASSWORD}`]) {
      await refused(
        auth,
        'CMD_API_ACCOUNT_RESELLER',
        userParams('newres', { package: 'default' }),
        'PERMISSION_DENIED',
      );
      await refused(
        auth,
        'CMD_API_ACCOUNT_RESELLER',
        userParams('newres', { package: 'res1pkg' }),
        'PERMISSION_DENIED',
      );
      await refused(
        auth,
        'CMD_API_ACCOUNT_RESELLER',
        userParams('newres', packageFields('reseller', '1')),
        'PERMISSION_DENIED',
      );
      await refused(auth, 'CMD_API_ACCOUNT_ADMIN', userParams('newadm'), 'PERMISSION_DENIED');
      // Nor define the reseller packages a reseller would be created from.
      await refused(
        auth,
        'CMD_API_MANAGE_RESELLER_PACKAGES',
        { add: 'Save', packagename: 'x', ...packageFields('reseller') },
        'PERMISSION_DENIED',
      );
    }
    expect(await row('newres')).toBeUndefined();
    expect(await row('newadm')).toBeUndefined();
  });

  describe('a reseller with custom limits and oversell off', () => {
    const lim = 'limres';
    const auth = authOf(lim);
    beforeAll(async () => {
      await createAccount(s, 'reseller', lim, {
        package: '',
        ...packageFields('reseller', '100', { vdomains: '2', nemails: '10', ssh: 'OFF', oversell: 'OFF' }),
      });
    });

    it('is stored with exactly those limits', async () => {
      const r = await row(lim);
      const settings = JSON.parse(r?.settings ?? '{}');
      expect(settings.vdomains).toBe('2');
      expect(settings.ssh).toBe('OFF');
      expect(settings.oversell).toBe('OFF');
      expect(r?.level).toBe('reseller');
    });

    it('cannot give one user more than it has, nor unlimited', async () => {
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu0', packageFields('user', '1', { vdomains: '3', ssh: 'OFF' })),
        'LIMIT_EXCEEDED',
      );
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu0', packageFields('user', '1', { vdomains: '1', nemails: '11', ssh: 'OFF' })),
        'LIMIT_EXCEEDED',
      );
      const unl = packageFields('user', '1', { ssh: 'OFF' });
      delete unl.vdomains;
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu0', { ...unl, uvdomains: 'ON' }),
        'LIMIT_EXCEEDED',
      );
    });

    it('cannot give a feature it lacks, directly or through a package', async () => {
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu0', packageFields('user', '1', { ssh: 'ON' })),
        'LIMIT_EXCEEDED',
      );
      await savePackage(s, auth, 'user', 'withssh', packageFields('user', '1', { ssh: 'ON' }));
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu0', { package: 'withssh' }),
        'LIMIT_EXCEEDED',
      );
    });

    it('cannot oversell across users: the second fits, the third does not', async () => {
      await savePackage(s, auth, 'user', 'onedom', packageFields('user', '1', { ssh: 'OFF' }));
      await createAccount(s, 'user', 'limu1', { package: 'onedom' }, auth);
      await createAccount(s, 'user', 'limu2', { package: 'onedom' }, auth);
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu3', { package: 'onedom' }),
        'LIMIT_EXCEEDED',
      );
      // Raising an existing user's limits is held to the same budget.
      await refused(
        auth,
        'CMD_API_MODIFY_USER',
        { action: 'customize', user: 'limu1', vdomains: '2' },
        'LIMIT_EXCEEDED',
      );
      await refused(
        auth,
        'CMD_API_MODIFY_USER',
        { action: 'customize', user: 'limu1', uvdomains: 'ON' },
        'LIMIT_EXCEEDED',
      );
      await refused(
        auth,
        'CMD_API_MODIFY_USER',
        { action: 'customize', user: 'limu1', ssh: 'ON' },
        'LIMIT_EXCEEDED',
      );
      await savePackage(s, auth, 'user', 'twodom', packageFields('user', '1', { vdomains: '2', ssh: 'OFF' }));
      await refused(
        auth,
        'CMD_API_MODIFY_USER',
        { action: 'package', user: 'limu1', package: 'twodom' },
        'LIMIT_EXCEEDED',
      );
    });

    it('cannot raise its users over its limits by re-saving the package they are on', async () => {
      const fields = packageFields('user', '1', { ssh: 'OFF' });
      await refused(
        auth,
        'CMD_API_MANAGE_USER_PACKAGES',
        { add: 'Save', packagename: 'onedom', ...fields, vdomains: '2' },
        'LIMIT_EXCEEDED',
      );
      const unl = { ...fields } as Params;
      delete unl.vdomains;
      await refused(
        auth,
        'CMD_API_MANAGE_USER_PACKAGES',
        { add: 'Save', packagename: 'onedom', ...unl, uvdomains: 'ON' },
        'LIMIT_EXCEEDED',
      );
      await refused(
        auth,
        'CMD_API_MANAGE_USER_PACKAGES',
        { add: 'Save', packagename: 'onedom', ...fields, ssh: 'ON' },
        'LIMIT_EXCEEDED',
      );
      // A change within the budget is still saved and reaches the users on the package.
      const ok = await post(auth, 'CMD_API_MANAGE_USER_PACKAGES', {
        add: 'Save',
        packagename: 'onedom',
        ...fields,
        nemails: '5',
      });
      expect(ok.pairs.error, ok.body).toBe('0');
      expect(JSON.parse((await row('limu1'))?.settings ?? '{}').nemails).toBe('5');
    });

    it('cannot oversell through concurrent requests either', async () => {
      // A second reseller with room for exactly two one-domain users, asked for eight at once.
      await createAccount(s, 'reseller', 'racres', {
        package: '',
        ...packageFields('reseller', '100', { vdomains: '2', ssh: 'OFF', oversell: 'OFF' }),
      });
      const racAuth = authOf('racres');
      await savePackage(s, racAuth, 'user', 'onedom', packageFields('user', '1', { ssh: 'OFF' }));
      const names = Array.from({ length: 8 }, (_, i) => `racu${i}`);
      const answers = await Promise.all(
        names.map((n) => post(racAuth, 'CMD_API_ACCOUNT_USER', userParams(n, { package: 'onedom' }))),
      );
      for (const a of answers) expectNoCrash(a);
      expect(answers.filter((a) => a.pairs.error === '0')).toHaveLength(2);
      const made = await db()
        .selectFrom('accounts')
        .select('username')
        .where('creator_id', '=', (await row('racres'))?.id ?? '')
        .execute();
      expect(made).toHaveLength(2);
      // The same for package re-saves racing with a creation: the budget holds.
      await post(racAuth, 'CMD_API_SELECT_USERS', { delete: 'yes', select0: made[0]?.username ?? '' });
      const [grow, create] = await Promise.all([
        post(racAuth, 'CMD_API_MANAGE_USER_PACKAGES', {
          add: 'Save',
          packagename: 'onedom',
          ...packageFields('user', '1', { ssh: 'OFF', vdomains: '2' }),
        }),
        post(racAuth, 'CMD_API_ACCOUNT_USER', userParams('racu9', { package: 'onedom' })),
      ]);
      expect([grow?.pairs.error, create?.pairs.error].filter((e) => e === '0').length).toBeLessThanOrEqual(1);
      const users = await db()
        .selectFrom('accounts')
        .select('settings')
        .where('creator_id', '=', (await row('racres'))?.id ?? '')
        .execute();
      const total = users.reduce((n, u) => n + Number(JSON.parse(u.settings).vdomains), 0);
      expect(total).toBeLessThanOrEqual(2);
    });

    it('may oversell once the admin turns oversell on', async () => {
      const a = await post(credentialOf('admin'), 'CMD_API_MODIFY_USER', {
        action: 'customize',
        user: lim,
        oversell: 'ON',
      });
      expect(a.pairs.error, a.body).toBe('0');
      await createAccount(s, 'user', 'limu3', { package: 'onedom' }, auth);
      // Features still come only from what the reseller has.
      await refused(
        auth,
        'CMD_API_ACCOUNT_USER',
        userParams('limu4', { package: 'withssh' }),
        'LIMIT_EXCEEDED',
      );
    });
  });

  it('ignores creator, level, usertype, id and owner fields on create', async () => {
    const forged = {
      creator: 'admin',
      creator_id: 'x',
      owner: 'res2',
      level: 'admin',
      usertype: 'admin',
      id: 'forged-id',
      suspended: '1',
      password_hash: '$1$abc$abcdefghijklmnopqrstuv',
      auth_version: '99',
    };
    const a = await post(
      authOf('res1'),
      'CMD_API_ACCOUNT_USER',
      userParams('massu', { package: 'res1pkg', ...forged }),
    );
    expect(a.pairs.error, a.body).toBe('0');
    const r = await row('massu');
    const res1 = await row('res1');
    expect(r?.level).toBe('user');
    expect(r?.creator_id).toBe(res1?.id);
    expect(r?.id).not.toBe('forged-id');
    expect(r?.suspended).toBe(0);
    expect(r?.password_hash).toMatch(/^\$argon2id\$/);
    expect(r?.auth_version).toBe(1);
    // The same with a JSON body.
    const j = await rawCall(s.port, '/CMD_API_ACCOUNT_USER', {
      method: 'POST',
      auth: authOf('res1'),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...userParams('massj', { package: 'res1pkg', ...forged }),
        level: { admin: true },
      }),
    });
    expect(j.pairs.error, j.body).toBe('0');
    const rj = await row('massj');
    expect(rj?.level).toBe('user');
    expect(rj?.creator_id).toBe(res1?.id);
    const cfg = await rawCall(s.port, '/CMD_API_SHOW_USER_CONFIG', { auth: authOf('massu') });
    expect(cfg.pairs.creator).toBe('res1');
    expect(cfg.pairs.usertype).toBe('user');
  });

  it('ignores creator, level, usertype and id on modify', async () => {
    const before = await row('massu');
    const forged = {
      creator: 'admin',
      level: 'admin',
      usertype: 'reseller',
      id: 'forged-id',
      username: 'admin',
    };
    const actions: Params[] = [
      { action: 'customize', nemails: '4' },
      { action: 'single', email: 'Save', evalue: 'massu2@example.com' },
      { action: 'package', package: 'res1pkg' },
    ];
    for (const action of actions) {
      const a = await post(authOf('res1'), 'CMD_API_MODIFY_USER', { ...forged, ...action, user: 'massu' });
      expect(a.pairs.error, a.body).toBe('0');
      const r = await row('massu');
      expect(r?.level).toBe('user');
      expect(r?.creator_id).toBe(before?.creator_id);
      expect(r?.id).toBe(before?.id);
    }
    expect((await row('admin'))?.level).toBe('admin');
    // An admin's modify of a reseller does not change its level either.
    const a = await post(credentialOf('admin'), 'CMD_API_MODIFY_USER', {
      action: 'customize',
      user: 'res2',
      nemails: '9',
      usertype: 'admin',
      level: 'admin',
      creator: 'res1',
    });
    expect(a.pairs.error, a.body).toBe('0');
    const r2 = await row('res2');
    expect(r2?.level).toBe('reseller');
    expect(r2?.creator_id).toBe((await row('admin'))?.id);
  });

  it('a user cannot change its own level (or anything through the manager commands)', async () => {
    for (const auth of [authOf('fred'), `admin|fred:${ADMIN_PASSWORD}`, `res1|fred:res1-Pass-123`]) {
      const attempts: Params[] = [
        { action: 'customize', user: 'fred', usertype: 'reseller', level: 'reseller', nemails: '1' },
        { action: 'single', user: 'fred', level: 'admin', email: 'Save', evalue: 'fred@example.com' },
        { action: 'package', user: 'fred', package: 'res1pkg', usertype: 'admin' },
      ];
      for (const params of attempts) await refused(auth, 'CMD_API_MODIFY_USER', params, 'PERMISSION_DENIED');
      await refused(
        auth,
        'CMD_API_ACCOUNT_RESELLER',
        userParams('fred', { package: 'default' }),
        'PERMISSION_DENIED',
      );
      // Changing its own password with level fields along does nothing but the password.
      const a = await post(auth, 'CMD_API_PASSWD', {
        oldpass: 'fred-Pass-123',
        passwd: 'fred-Pass-123',
        passwd2: 'fred-Pass-123',
        level: 'admin',
        usertype: 'admin',
      });
      expect(a.pairs.error, a.body).toBe('0');
      expect((await row('fred'))?.level).toBe('user');
    }
    // A reseller cannot raise itself either (nor change its own limits).
    await refused(
      authOf('res1'),
      'CMD_API_MODIFY_USER',
      { action: 'customize', user: 'res1', usertype: 'admin', nemails: '1' },
      null,
    );
    expect((await row('res1'))?.level).toBe('reseller');
  });

  it('a second admin cannot modify, suspend, delete, re-password or log in as the first admin', async () => {
    const a2 = credentialOf('admin2');
    const attempts: [string, Params][] = [
      ['CMD_API_MODIFY_USER', { action: 'single', user: 'admin', email: 'Save', evalue: 'evil@example.com' }],
      ['CMD_API_MODIFY_USER', { action: 'single', user: 'admin', name: 'Save', nvalue: 'Evil' }],
      ['CMD_API_MODIFY_USER', { action: 'customize', user: 'admin', nemails: '1' }],
      ['CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'admin' }],
      ['CMD_API_SELECT_USERS', { confirmed: 'Confirm', delete: 'yes', select0: 'admin' }],
      ['CMD_API_ACCOUNT_ADMIN', { action: 'delete', username: 'admin' }],
      ['CMD_API_USER_PASSWD', { username: 'admin', passwd: 'Taken-Over-1', passwd2: 'Taken-Over-1' }],
    ];
    for (const [cmd, params] of attempts) {
      const a = await refused(a2, cmd, params, 'ACCOUNT_NOT_FOUND');
      const missing = await post(a2, cmd, {
        ...params,
        ...(params.user ? { user: GHOST } : {}),
        ...(params.select0 ? { select0: GHOST } : {}),
        ...(params.username ? { username: GHOST } : {}),
      });
      expect(a.body).toBe(missing.body.split(GHOST).join('admin'));
    }
    const la = await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: 'admin2|admin:admin2-Pass-123' });
    expectUnauthorized(la);
    // The first admin can manage the second.
    const ok = await post(credentialOf('admin'), 'CMD_API_MODIFY_USER', {
      action: 'single',
      user: 'admin2',
      name: 'Save',
      nvalue: 'Second',
    });
    expect(ok.pairs.error, ok.body).toBe('0');
  });

  it('suspending a reseller blocks its users’ logins; unsuspending restores them', async () => {
    await createAccount(s, 'reseller', 'susres');
    await savePackage(s, authOf('susres'), 'user', 'susp');
    await createAccount(s, 'user', 'susu1', { package: 'susp' }, authOf('susres'));
    const login = (auth: string) => rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth });
    expect((await login(authOf('susu1'))).pairs.error).toBe('0');
    expect((await login(`admin|susu1:${ADMIN_PASSWORD}`)).pairs.error).toBe('0');
    const userRowBefore = await row('susu1');
    const s1 = await post(credentialOf('admin'), 'CMD_API_SELECT_USERS', {
      suspend: 'Suspend',
      select0: 'susres',
    });
    expect(s1.pairs.error, s1.body).toBe('0');
    expectUnauthorized(await login(authOf('susres')));
    expectUnauthorized(await login(authOf('susu1')));
    expectUnauthorized(await login('susres|susu1:susres-Pass-123'));
    // The user's own row is untouched: unsuspending the reseller must not unsuspend users suspended on their own.
    expect((await row('susu1'))?.suspended).toBe(userRowBefore?.suspended);
    const u1 = await post(credentialOf('admin'), 'CMD_API_SELECT_USERS', {
      suspend: 'Unsuspend',
      select0: 'susres',
    });
    expect(u1.pairs.error, u1.body).toBe('0');
    expect((await login(authOf('susres'))).pairs.error).toBe('0');
    expect((await login(authOf('susu1'))).pairs.error).toBe('0');
  });

  it('deleting a reseller deletes its users, their domains and its packages', async () => {
    await createAccount(s, 'reseller', 'delres');
    await savePackage(s, authOf('delres'), 'user', 'delp');
    await createAccount(s, 'user', 'delu1', { package: 'delp' }, authOf('delres'));
    await createAccount(s, 'user', 'delu2', { package: 'delp' }, authOf('delres'));
    const resId = (await row('delres'))?.id ?? '';
    const ids = [resId, (await row('delu1'))?.id ?? '', (await row('delu2'))?.id ?? ''];
    const a = await post(credentialOf('admin'), 'CMD_API_SELECT_USERS', {
      confirmed: 'Confirm',
      delete: 'yes',
      select0: 'delres',
    });
    expect(a.pairs.error, a.body).toBe('0');
    for (const u of ['delres', 'delu1', 'delu2']) {
      expect(await row(u), u).toBeUndefined();
      expectUnauthorized(await rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth: authOf(u) }));
    }
    const doms = await db().selectFrom('domains').select('name').where('account_id', 'in', ids).execute();
    expect(doms).toEqual([]);
    const pkgs = await db().selectFrom('packages').select('name').where('owner_id', '=', resId).execute();
    expect(pkgs).toEqual([]);
    // The names are free again.
    await createAccount(s, 'user', 'delu1', { package: 'default', domain: 'delu1.example.com' });
  });

  it('a reseller cannot reach its users’ siblings under another reseller by renaming, moving or re-packaging', async () => {
    const name = freshName('x');
    await refused(
      authOf('res1'),
      'CMD_API_MODIFY_USER',
      { action: 'package', user: 'barney', package: 'res1pkg' },
      'ACCOUNT_NOT_FOUND',
    );
    await refused(
      authOf('res1'),
      'CMD_API_USER_PASSWD',
      { username: 'barney', passwd: `${name}-Pass-1`, passwd2: `${name}-Pass-1` },
      'ACCOUNT_NOT_FOUND',
    );
    await refused(
      authOf('res1'),
      'CMD_API_MANAGE_USER_PACKAGES',
      { action: 'rename', old_package: 'res2pkg', new_package: name },
      'PACKAGE_NOT_FOUND',
    );
  });
});
