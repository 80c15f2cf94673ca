import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApps } from '../../src/app.js';
import type { ManualClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/random.js';
import { createCpanelToken, generateToken } from '../../src/modules/tokens/tokens.service.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
  tokenRows,
  uapi,
} from './cpanel-server.js';

const FRED = 'fred:fred-Pass-123';
const LIST = '/execute/DomainInfo/list_domains';

describe('cPanel API tokens (Tokens::*, cpanel user:TOKEN)', () => {
  let s: CpanelServer;
  let clock: ManualClock;
  beforeEach(async () => {
    s = await startCpanelServer({ manualClock: true });
    clock = s.clock as ManualClock;
    await makeUser(s, 'fred');
    await makeUser(s, 'barney');
  });
  afterEach(async () => s?.close());

  const nowSecs = () => Math.floor(clock.now() / 1000);

  it('create_full_access answers only the token (32 of [0-9A-Z]) and its time; the value is never stored', async () => {
    const r = uapi(
      await s.cp('/execute/Tokens/create_full_access', { auth: FRED, params: { name: 'acme-1_x' } }),
    );
    expect(r.status).toBe(1);
    expect(Object.keys(r.data).sort()).toEqual(['create_time', 'token']);
    expect(r.data.token).toMatch(/^[0-9A-Z]{32}$/);
    expect(r.data.create_time).toBe(nowSecs());
    const rows = await tokenRows(s);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(r.data.token);
    expect(rows[0]?.digest).toBe(s.services.keyDigest(r.data.token));
    // The token works, once shown.
    const use = uapi(await s.cp(LIST, { headers: tokenAuth('fred', r.data.token) }));
    expect(use.data.main_domain).toBe('fred.example.com');
    // API 2 too.
    const api2 = await s.cp(
      '/json-api/cpanel?cpanel_jsonapi_module=CustInfo&cpanel_jsonapi_func=displaycontactinfo&cpanel_jsonapi_apiversion=2',
      { headers: tokenAuth('fred', r.data.token) },
    );
    expect(api2.status).toBe(200);
    expect(api2.json()).toMatchObject({ cpanelresult: { event: { result: 1 } } });
  });

  it('generated values are uniform over 36 symbols (rejection sampling) and distinct', () => {
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = generateToken(s.services);
      expect(t).toMatch(/^[0-9A-Z]{32}$/);
      seen.add(t);
      for (const ch of t) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(seen.size).toBe(2000);
    expect(counts.size).toBe(36);
    // 64000 picks, 1777.8 expected per symbol; a modulo bias (256 % 36 = 4) would put the first four at ~2000.
    for (const [, n] of counts) expect(Math.abs(n - 64000 / 36)).toBeLessThan(200);
  });

  it('Tokens::list shows cPanel fields (no value), expired tokens stay listed until revoked', async () => {
    await makeToken(s, 'fred', 'never');
    const soon = await makeToken(s, 'fred', 'soon', { expires_at: String(nowSecs() + 60) });
    const list = uapi(await s.cp('/execute/Tokens/list', { auth: FRED }));
    expect(list.metadata).toEqual({ transformed: 1 });
    expect(list.data).toEqual([
      { create_time: nowSecs(), expires_at: null, features: [], has_full_access: 1, name: 'never' },
      { create_time: nowSecs(), expires_at: nowSecs() + 60, features: [], has_full_access: 1, name: 'soon' },
    ]);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', soon) })).status).toBe(200);
    clock.advance(61_000);
    // Expired: exactly like an unknown token, but still listed.
    const expired = await s.cp(LIST, { headers: tokenAuth('fred', soon) });
    const unknown = await s.cp(LIST, { headers: tokenAuth('fred', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345') });
    expect(expired.status).toBe(401);
    expect(expired.body).toBe(unknown.body);
    const after = uapi(await s.cp('/execute/Tokens/list', { auth: FRED }));
    expect(after.data.map((t: { name: string }) => t.name)).toEqual(['never', 'soon']);
    uapi(await s.cp('/execute/Tokens/revoke', { auth: FRED, params: { name: 'soon' } }));
    const gone = uapi(await s.cp('/execute/Tokens/list', { auth: FRED }));
    expect(gone.data.map((t: { name: string }) => t.name)).toEqual(['never']);
  });

  it('apiTokenPurgeDays purges tokens that expired that many days ago (off by default)', async () => {
    await s.close();
    s = await startCpanelServer({ manualClock: true, settings: { apiTokenPurgeDays: 2 } });
    clock = s.clock as ManualClock;
    await makeUser(s, 'fred');
    await makeToken(s, 'fred', 'old', { expires_at: String(nowSecs() + 10) });
    await makeToken(s, 'fred', 'keep');
    clock.advance(86_400_000);
    let names = uapi(await s.cp('/execute/Tokens/list', { auth: FRED })).data.map(
      (t: { name: string }) => t.name,
    );
    expect(names).toEqual(['keep', 'old']);
    clock.advance(86_400_000 + 20_000);
    names = uapi(await s.cp('/execute/Tokens/list', { auth: FRED })).data.map(
      (t: { name: string }) => t.name,
    );
    expect(names).toEqual(['keep']);
    // The name is free again.
    await makeToken(s, 'fred', 'old');
  });

  it('names: 1-50 of [A-Za-z0-9_-], unique per account (another account may reuse one); bad input changes nothing', async () => {
    await makeToken(s, 'fred', 'a');
    await makeToken(s, 'barney', 'a');
    await makeToken(s, 'fred', 'x'.repeat(50));
    const before = JSON.stringify(await tokenRows(s));
    const bad: Record<string, string>[] = [
      { name: '' },
      { name: 'x'.repeat(51) },
      { name: 'has space' },
      { name: 'dot.name' },
      { name: 'ümlaut' },
      { name: 'a' },
      { name: 'ok', expires_at: String(nowSecs() - 1) },
      { name: 'ok', expires_at: 'tomorrow' },
      { name: 'ok', readonly: 'yes' },
      { name: 'ok', max_uses: '-1' },
      { name: 'ok', rate_limit: '5', rate_window: '0' },
      { name: 'ok', ips: '300.1.1.1' },
      { name: 'ok', domains: 'not-mine.example.com' },
      { name: 'ok', allow: 'NoSuch::function' },
    ];
    for (const params of bad) {
      const r = await s.cp('/execute/Tokens/create_full_access', { auth: FRED, params });
      expect(r.status).toBe(200);
      const j = uapi(r);
      expect(j.status, JSON.stringify(params)).toBe(0);
    }
    expect(JSON.stringify(await tokenRows(s))).toBe(before);
    const dup = uapi(await s.cp('/execute/Tokens/create_full_access', { auth: FRED, params: { name: 'a' } }));
    expect(dup.errors).toEqual(['An API token with the name “a” already exists.']);
    const past = uapi(
      await s.cp('/execute/Tokens/create_full_access', {
        auth: FRED,
        params: { name: 'p', expires_at: String(nowSecs() - 1) },
      }),
    );
    expect(past.errors).toEqual(['The “expires_at” value must be a future date.']);
    const missing = uapi(await s.cp('/execute/Tokens/create_full_access', { auth: FRED }));
    expect(missing.errors).toEqual(['You must specify the “name” parameter.']);
    // expires_at=0 is "never".
    await makeToken(s, 'fred', 'zero', { expires_at: '0' });
  });

  it('concurrent creations of one name: exactly one succeeds, the others get the clash text', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        s.cp('/execute/Tokens/create_full_access', { auth: FRED, params: { name: 'race' } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    const ok = answers.map(uapi).filter((j) => j.status === 1);
    expect(ok).toHaveLength(1);
    for (const j of answers.map(uapi).filter((x) => x.status === 0))
      expect(j.errors).toEqual(['An API token with the name “race” already exists.']);
    expect(await tokenRows(s)).toHaveLength(1);
  });

  it("Tokens::rename: cPanel's texts, value and name rules kept", async () => {
    const t = await makeToken(s, 'fred', 'one');
    await makeToken(s, 'fred', 'two');
    const before = JSON.stringify(await tokenRows(s));
    const same = uapi(
      await s.cp('/execute/Tokens/rename', { auth: FRED, params: { name: 'one', new_name: 'one' } }),
    );
    expect(same.errors).toEqual(['“new_name” must be a different value from “name”.']);
    const nope = uapi(
      await s.cp('/execute/Tokens/rename', { auth: FRED, params: { name: 'three', new_name: 'four' } }),
    );
    expect(nope.errors).toEqual(['The API token “three” does not exist.']);
    const clash = uapi(
      await s.cp('/execute/Tokens/rename', { auth: FRED, params: { name: 'one', new_name: 'two' } }),
    );
    expect(clash.errors).toEqual(['An API token with the name “two” already exists.']);
    const badName = uapi(
      await s.cp('/execute/Tokens/rename', { auth: FRED, params: { name: 'one', new_name: 'b a d' } }),
    );
    expect(badName.status).toBe(0);
    expect(JSON.stringify(await tokenRows(s))).toBe(before);
    const ok = uapi(
      await s.cp('/execute/Tokens/rename', { auth: FRED, params: { name: 'one', new_name: 'uno' } }),
    );
    expect(ok).toMatchObject({ status: 1, data: null });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });

  it('Tokens::revoke: 1 whether or not it existed; a revoked token is refused and its name is free', async () => {
    const t = await makeToken(s, 'fred', 'gone');
    const r = uapi(await s.cp('/execute/Tokens/revoke', { auth: FRED, params: { name: 'gone' } }));
    expect(r).toMatchObject({ status: 1, data: 1 });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
    const again = uapi(await s.cp('/execute/Tokens/revoke', { auth: FRED, params: { name: 'gone' } }));
    expect(again).toMatchObject({ status: 1, data: 1 });
    const t2 = await makeToken(s, 'fred', 'gone');
    expect(t2).not.toBe(t);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t2) })).status).toBe(200);
  });

  it('another account cannot use, list, rename or revoke a token', async () => {
    const t = await makeToken(s, 'fred', 'mine');
    expect((await s.cp(LIST, { headers: tokenAuth('barney', t) })).status).toBe(401);
    const list = uapi(await s.cp('/execute/Tokens/list', { auth: 'barney:barney-Pass-123' }));
    expect(list.data).toEqual([]);
    const rn = uapi(
      await s.cp('/execute/Tokens/rename', {
        auth: 'barney:barney-Pass-123',
        params: { name: 'mine', new_name: 'x' },
      }),
    );
    expect(rn.errors).toEqual(['The API token “mine” does not exist.']);
    await s.cp('/execute/Tokens/revoke', { auth: 'barney:barney-Pass-123', params: { name: 'mine' } });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });

  it('a token works only on UAPI and API 2; elsewhere 403 with cPanel text; WHM scheme on 2083 is 401', async () => {
    const t = await makeToken(s, 'fred', 'paths');
    for (const path of ['/frontend/jupiter/index.html', '/json-api/listaccts?api.version=1', '/']) {
      const r = await s.cp(path, { headers: tokenAuth('fred', t) });
      expect(r.status).toBe(403);
      expect(r.body).toContain('Token authentication allows access to UAPI or API 2 calls only.');
    }
    const whm = await s.cp(LIST, { headers: { authorization: `whm fred:${t}` } });
    expect(whm.status).toBe(401);
    const WHM = await s.cp(LIST, { headers: { authorization: `WHM fred:${t}` } });
    expect(WHM.status).toBe(401);
    const noToken = await s.cp(LIST, { headers: { authorization: 'cpanel fred:' } });
    expect(noToken.status).toBe(401);
    const noUser = await s.cp(LIST, { headers: { authorization: `cpanel ${t}` } });
    expect(noUser.status).toBe(401);
  });

  it('suspended owner: refused, and no new token while suspended; unsuspended: works again', async () => {
    const t = await makeToken(s, 'fred', 'sus');
    await s.admin('/CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'fred' });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
    expect(
      (await s.cp('/execute/Tokens/create_full_access', { auth: FRED, params: { name: 'n' } })).status,
    ).toBe(401);
    const actor = {
      account: {
        ...(await s.services.db
          .selectFrom('accounts')
          .selectAll()
          .where('username', '=', 'fred')
          .executeTakeFirstOrThrow()),
      },
      credential: { kind: 'cli' as const, id: '' },
      ip: 'cli',
    };
    await expect(
      createCpanelToken(
        s.services,
        { ...actor, authenticated: actor.account },
        { levelOf: () => undefined, all: () => [] },
        {
          name: 'n',
        },
      ),
    ).rejects.toThrow(/suspended/);
    await s.admin('/CMD_API_SELECT_USERS', { suspend: 'Unsuspend', select0: 'fred' });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });

  it('feature apitokens off: Tokens module refused with cPanel text, existing tokens refused too', async () => {
    const t = await makeToken(s, 'fred', 'feat');
    await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'fred', apitokens: 'OFF' });
    for (const fn of [
      'create_full_access?name=x',
      'list',
      'rename?name=feat&new_name=y',
      'revoke?name=feat',
    ]) {
      const r = uapi(await s.cp(`/execute/Tokens/${fn}`, { auth: FRED }));
      expect(r.errors).toEqual([
        'This feature requires the “apitokens” option and is not enabled on your account.',
      ]);
    }
    const use = await s.cp(LIST, { headers: tokenAuth('fred', t) });
    expect(use.status).toBe(403);
    expect(uapi(use).errors).toEqual([
      'This feature requires the “apitokens” option and is not enabled on your account.',
    ]);
    // The password still works for everything else.
    expect(uapi(await s.cp(LIST, { auth: FRED })).status).toBe(1);
    await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'fred', apitokens: 'ON' });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });

  it('deleting the account deletes its tokens', async () => {
    const t = await makeToken(s, 'fred', 'del');
    await s.admin('/CMD_API_SELECT_USERS', { confirmed: 'Confirm', delete: 'yes', select0: 'fred' });
    expect(await tokenRows(s)).toEqual([]);
    await makeUser(s, 'fred');
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
  });

  it('the brute-force monitor counts wrong tokens: past the threshold even a good token is refused', async () => {
    await s.close();
    s = await startCpanelServer({
      manualClock: true,
      settings: { bfmIpThreshold: 3, bfmAccountThreshold: 100 },
    });
    clock = s.clock as ManualClock;
    await makeUser(s, 'fred');
    const t = await makeToken(s, 'fred', 'bfm');
    for (let i = 0; i < 3; i++)
      expect(
        (await s.cp(LIST, { headers: tokenAuth('fred', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ01234' + i) })).status,
      ).toBe(401);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
    const entries = await s.services.db.selectFrom('bfm_entries').selectAll().execute();
    expect(entries.some((e) => e.kind === 'ip' && e.blocked_until > clock.now())).toBe(true);
    clock.advance(3600_000 + 1000);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });
});

describe('hostdeck limits on cPanel tokens', () => {
  let s: CpanelServer;
  let clock: ManualClock;
  beforeEach(async () => {
    s = await startCpanelServer({ manualClock: true });
    clock = s.clock as ManualClock;
    await makeUser(s, 'fred');
  });
  afterEach(async () => s?.close());

  const list = async () => uapi(await s.cp('/execute/Tokens/list', { auth: FRED })).data;

  it('max_uses: spent by successful calls only; then refused like an unknown token', async () => {
    const t = await makeToken(s, 'fred', 'twice', { max_uses: '2' });
    expect((await list())[0]).toMatchObject({ name: 'twice', max_uses: 2, uses_left: 2, has_full_access: 1 });
    // A call that fails before its function runs (unknown function) spends nothing.
    expect(uapi(await s.cp('/execute/DomainInfo/nosuch', { headers: tokenAuth('fred', t) })).status).toBe(0);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
    expect((await list())[0]).toMatchObject({ uses_left: 0 });
  });

  it('max_uses under 200 concurrent requests: exactly max_uses answers 200, uses_left ends at 0', async () => {
    const t = await makeToken(s, 'fred', 'race', { max_uses: '50' });
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => s.cp(LIST, { headers: tokenAuth('fred', t) })),
    );
    const codes = answers.map((a) => a.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(50);
    expect(codes.filter((c) => c === 401)).toHaveLength(150);
    const row = (await tokenRows(s))[0];
    expect(row).toMatchObject({ uses_left: 0, use_count: 50 });
  });

  it('rate_limit per rate_window seconds', async () => {
    const t = await makeToken(s, 'fred', 'rate', { rate_limit: '2', rate_window: '60' });
    expect((await list())[0]).toMatchObject({ rate_limit: 2, rate_window: 60 });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(401);
    clock.advance(61_000);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', t) })).status).toBe(200);
  });

  it('ips: a token allowed elsewhere is refused from here; one allowing loopback works', async () => {
    const far = await makeToken(s, 'fred', 'far', { ips: '10.1.2.0/24' });
    const near = await makeToken(s, 'fred', 'near', { ips: '192.0.2.1,127.0.0.1' });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', far) })).status).toBe(401);
    expect((await s.cp(LIST, { headers: tokenAuth('fred', near) })).status).toBe(200);
    const rows = await list();
    expect(rows.find((r: { name: string }) => r.name === 'near').ips).toEqual(['192.0.2.1', '127.0.0.1']);
  });

  it('ips over IPv6 loopback: an IPv6 rule matches ::1, an IPv4 rule does not', async () => {
    const v6 = await makeToken(s, 'fred', 'v6', { ips: '::1' });
    const v4 = await makeToken(s, 'fred', 'v4', { ips: '127.0.0.1' });
    const app = buildApps(s.services, null).cpanel;
    await app.listen({ host: '::1', port: 0 });
    try {
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const status = (token: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            { host: '::1', port, path: LIST, headers: tokenAuth('fred', token), agent: false },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end();
        });
      expect(await status(v6)).toBe(200);
      expect(await status(v4)).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('domains: the token sees only its domains', async () => {
    const acct = await s.services.db
      .selectFrom('accounts')
      .select('id')
      .where('username', '=', 'fred')
      .executeTakeFirstOrThrow();
    await s.services.db
      .insertInto('domains')
      .values({
        id: newId(s.services.random),
        account_id: acct.id,
        name: 'shop.example.org',
        created_at: clock.now(),
      })
      .execute();
    const t = await makeToken(s, 'fred', 'shop', { domains: 'shop.example.org' });
    const all = uapi(await s.cp(LIST, { auth: FRED }));
    expect(all.data.addon_domains).toEqual(['shop.example.org']);
    const scoped = uapi(await s.cp(LIST, { headers: tokenAuth('fred', t) }));
    expect(scoped.data).toEqual({
      addon_domains: ['shop.example.org'],
      main_domain: '',
      parked_domains: [],
      sub_domains: [],
    });
    expect((await list())[0]).toMatchObject({ domains: ['shop.example.org'] });
  });

  it('allow / deny lists of Module::function names', async () => {
    const only = await makeToken(s, 'fred', 'only', { allow: 'DomainInfo::list_domains' });
    const not = await makeToken(s, 'fred', 'not', {
      'deny-0': 'Tokens::list',
      'deny-1': 'CustInfo::displaycontactinfo',
    });
    expect((await s.cp(LIST, { headers: tokenAuth('fred', only) })).status).toBe(200);
    const refused = await s.cp('/execute/Quota/get_quota_info', { headers: tokenAuth('fred', only) });
    expect(refused.status).toBe(403);
    expect(uapi(refused).errors).toEqual(['This API token does not allow that function.']);
    expect((await s.cp('/execute/Quota/get_quota_info', { headers: tokenAuth('fred', not) })).status).toBe(
      200,
    );
    expect((await s.cp('/execute/Tokens/list', { headers: tokenAuth('fred', not) })).status).toBe(403);
    const api2 = await s.cp(
      '/json-api/cpanel?cpanel_jsonapi_module=CustInfo&cpanel_jsonapi_func=displaycontactinfo&cpanel_jsonapi_apiversion=2',
      { headers: tokenAuth('fred', not) },
    );
    expect(api2.status).toBe(403);
    const rows = await list();
    expect(rows.find((r: { name: string }) => r.name === 'only')).toMatchObject({
      has_full_access: 0,
      allow: ['DomainInfo::list_domains'],
    });
    expect(rows.find((r: { name: string }) => r.name === 'not')).toMatchObject({
      deny: ['Tokens::list', 'CustInfo::displaycontactinfo'],
    });
  });

  it('readonly: reads work, changes are refused', async () => {
    const t = await makeToken(s, 'fred', 'ro', { readonly: '1' });
    expect((await list())[0]).toMatchObject({ readonly: 1 });
    expect((await s.cp('/execute/Tokens/list', { headers: tokenAuth('fred', t) })).status).toBe(200);
    const w = await s.cp('/execute/Tokens/create_full_access?name=more', { headers: tokenAuth('fred', t) });
    expect(w.status).toBe(403);
    expect((await list()).map((r: { name: string }) => r.name)).toEqual(['ro']);
  });

  it('a full-access token may create tokens; a limited one may not shed its limits that way', async () => {
    const full = await makeToken(s, 'fred', 'full');
    const limited = await makeToken(s, 'fred', 'lim', { max_uses: '10' });
    const ok = uapi(
      await s.cp('/execute/Tokens/create_full_access?name=child', { headers: tokenAuth('fred', full) }),
    );
    expect(ok.status).toBe(1);
    const no = uapi(
      await s.cp('/execute/Tokens/create_full_access?name=child2', { headers: tokenAuth('fred', limited) }),
    );
    expect(no.errors).toEqual(['A token with limits cannot create tokens.']);
  });

  it("uses and refusals go to the token's history, like a login key's", async () => {
    const t = await makeToken(s, 'fred', 'hist', { allow: 'DomainInfo::list_domains' });
    await s.cp(LIST, { headers: tokenAuth('fred', t) });
    await s.cp('/execute/Quota/get_quota_info', { headers: tokenAuth('fred', t) });
    await s.services.keyUsage.flush();
    const row = (await tokenRows(s))[0];
    const h = await s.services.db
      .selectFrom('login_key_history')
      .select(['command', 'outcome', 'ip'])
      .where('key_id', '=', row?.id ?? '')
      .orderBy('id')
      .execute();
    expect(h).toEqual([
      { command: 'DomainInfo::list_domains', outcome: 'ok', ip: '127.0.0.1' },
      { command: 'Quota::get_quota_info', outcome: 'command', ip: '127.0.0.1' },
    ]);
    // The owner reads it through Tokens::history, newest first, with times in Unix seconds.
    const shown = uapi(await s.cp('/execute/Tokens/history?name=hist', { auth: FRED }));
    expect(shown.status).toBe(1);
    const rows = shown.data as { time: number; ip: string; function: string; outcome: string }[];
    expect(rows.map((r) => [r.function, r.outcome, r.ip])).toEqual([
      ['Quota::get_quota_info', 'command', '127.0.0.1'],
      ['DomainInfo::list_domains', 'ok', '127.0.0.1'],
    ]);
    expect(rows.every((r) => Number.isInteger(r.time) && r.time > 1_700_000_000)).toBe(true);
    expect(shown.data).toEqual(rows.map((r) => ({ ...r, count: 1 })));
    const missing = uapi(await s.cp('/execute/Tokens/history?name=nope', { auth: FRED }));
    expect(missing.status).toBe(0);
  });
});
