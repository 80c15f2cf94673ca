/**
 * cPanel tokens and the authentication cache (src/auth/auth-cache.ts): a repeated token request skips
 * the brute-force read, the lookups and the digest on SQLite, and everything a token login depends on
 * (revocation, the owner's suspension, the apitokens feature, uses, expiry) takes effect on the very
 * next request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import { lookupsDuring, TEST_DB } from '../helpers/services.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
  uapi,
} from './cpanel-server.js';

const FRED = 'fred:fred-Pass-123';
const LIST = '/execute/DomainInfo/list_domains';
const NO_BFM = { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 };

let s: CpanelServer;
let clock: ManualClock;
beforeEach(async () => {
  s = await startCpanelServer({ manualClock: true, settings: NO_BFM });
  clock = s.clock as ManualClock;
  await makeUser(s, 'fred');
});
afterEach(async () => {
  await s.close();
});

const list = async (token: string) => (await s.cp(LIST, { headers: tokenAuth('fred', token) })).status;

describe('token logins and the authentication cache', () => {
  it('serves a repeated token request without looking the token up again (SQLite), never on PostgreSQL', async () => {
    const t = await makeToken(s, 'fred', 'cached');
    expect(await list(t)).toBe(200);
    const lookups = await lookupsDuring(s, async () => {
      for (let i = 0; i < 5; i++) expect(await list(t)).toBe(200);
    });
    expect(lookups).toBe(TEST_DB === 'sqlite' ? 0 : 5);
    // A wrong token for the same account is never served from what the right one left behind, nor is a
    // password login whose username spells the token scheme.
    expect(await list('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345')).toBe(401);
    expect((await s.cp(LIST, { auth: `cpanel fred:${t}` })).status).toBe(401);
  });

  it('a revoked token, a suspended owner and a switched-off apitokens feature refuse the next request', async () => {
    const t = await makeToken(s, 'fred', 'a');
    const u = await makeToken(s, 'fred', 'b');
    for (const v of [t, u, t, u]) expect(await list(v)).toBe(200);
    uapi(await s.cp('/execute/Tokens/revoke', { auth: FRED, params: { name: 'a' } }));
    expect(await list(t)).toBe(401);
    expect(await list(u)).toBe(200);

    const sus = await s.admin('/CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'fred' });
    expect(sus.pairs.error, sus.body).toBe('0');
    expect(await list(u)).toBe(401);
    const un = await s.admin('/CMD_API_SELECT_USERS', { dounsuspend: 'yes', select0: 'fred' });
    expect(un.pairs.error, un.body).toBe('0');
    expect(await list(u)).toBe(200);

    const off = await s.admin('/CMD_API_MODIFY_USER', {
      action: 'customize',
      user: 'fred',
      apitokens: 'OFF',
    });
    expect(off.pairs.error, off.body).toBe('0');
    expect(await list(u)).toBe(403);
  });

  it('a max_uses token is spent exactly, one use per request, while its logins are remembered', async () => {
    const t = await makeToken(s, 'fred', 'three', { max_uses: '3' });
    for (let i = 0; i < 3; i++) expect(await list(t)).toBe(200);
    expect(await list(t)).toBe(401);
    expect(await list(t)).toBe(401);
    const row = await s.services.db
      .selectFrom('api_tokens')
      .select(['uses_left', 'use_count'])
      .where('name', '=', 'three')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ uses_left: 0, use_count: 3 });
  });

  it('a remembered token login ends at the token’s expiry, to the second', async () => {
    const expiresAt = Math.ceil(clock.now() / 1000) + 60;
    const t = await makeToken(s, 'fred', 'soon', { expires_at: String(expiresAt) });
    expect(await list(t)).toBe(200);
    clock.set(expiresAt * 1000 - 1);
    expect(await list(t)).toBe(200);
    clock.set(expiresAt * 1000);
    expect(await list(t)).toBe(401);
  });

  it('each request’s history names its own function, remembered or not', async () => {
    const t = await makeToken(s, 'fred', 'hist');
    expect(await list(t)).toBe(200);
    expect((await s.cp('/execute/Quota/get_quota_info', { headers: tokenAuth('fred', t) })).status).toBe(200);
    expect(await list(t)).toBe(200);
    const h = uapi(await s.cp('/execute/Tokens/history?name=hist', { auth: FRED }));
    const uses = (h.data as { function: string; count: number }[]).flatMap((r) =>
      Array<string>(r.count).fill(r.function),
    );
    expect(uses.sort()).toEqual([
      'DomainInfo::list_domains',
      'DomainInfo::list_domains',
      'Quota::get_quota_info',
    ]);
  });
});
