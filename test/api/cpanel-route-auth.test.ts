import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import { API2_FUNCTIONS } from '../../src/protocols/cpanel/api2.js';
import { UAPI_FUNCTIONS } from '../../src/protocols/cpanel/uapi.js';
import type { Answer } from '../helpers/server.js';
import {
  type CpanelServer,
  makeToken,
  makeUser,
  startCpanelServer,
  tokenAuth,
  tokenRows,
} from './cpanel-server.js';

/** A valid call of each function (parameters where it needs some). */
const UAPI_PARAMS: Record<string, string> = {
  'StatsBar::get_stats': 'display=diskusage',
  'Tokens::create_full_access': 'name=made-by-route-auth',
  'Tokens::rename': 'name=no-such-token&new_name=other',
  'Tokens::revoke': 'name=no-such-token',
  'Tokens::history': 'name=no-such-token',
  'DNS::parse_zone': 'zone=fred.example.com',
  // The zone's first serial on the suite's manual clock (2026-11-25).
  'DNS::mass_edit_zone': `zone=fred.example.com&serial=2026112501&add=${encodeURIComponent(
    JSON.stringify({ dname: '_acme-challenge', ttl: 60, record_type: 'TXT', data: ['t'] }),
  )}`,
  'DomainInfo::single_domain_data': 'domain=fred.example.com',
  'SubDomain::addsubdomain': 'domain=blog&rootdomain=fred.example.com',
};

/** API 2 calls that need parameters. */
const API2_PARAMS: Record<string, string> = {
  'ZoneEdit::fetchzone_records': 'domain=fred.example.com',
  'ZoneEdit::add_zone_record': 'domain=fred.example.com&name=api2&type=TXT&txtdata=x',
  'ZoneEdit::edit_zone_record': 'domain=fred.example.com&line=7&address=192.0.2.7',
  'ZoneEdit::remove_zone_record': 'domain=fred.example.com&line=8',
  'SubDomain::addsubdomain': 'domain=shop&rootdomain=fred.example.com',
  'SubDomain::delsubdomain': 'domain=shop.fred.example.com',
  'Park::park': 'domain=parked.example.net',
  'Park::unpark': 'domain=parked.example.net',
  'AddonDomain::addaddondomain': 'newdomain=addon.example.net',
  'AddonDomain::deladdondomain': 'domain=addon.example.net',
};

interface Route {
  name: string;
  path: string;
  mutates: boolean;
}

const ROUTES: Route[] = [
  ...Object.entries(UAPI_FUNCTIONS).map(([name, fn]) => {
    const [module, func] = name.split('::');
    const q = UAPI_PARAMS[name];
    return { name, path: `/execute/${module}/${func}${q ? `?${q}` : ''}`, mutates: fn.mutates };
  }),
  ...Object.entries(API2_FUNCTIONS).map(([name, fn]) => {
    const [module, func] = name.split('::');
    const q = API2_PARAMS[name];
    return {
      name: `API2 ${name}`,
      path: `/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=${module}&cpanel_jsonapi_func=${func}${q ? `&${q}` : ''}`,
      mutates: fn.mutates,
    };
  }),
];

const APITOKENS_OFF = 'This feature requires the “apitokens” option and is not enabled on your account.';

describe('route-auth: every UAPI and API 2 function against every token principal', () => {
  let s: CpanelServer;
  const principals: { label: string; headers: Record<string, string>; status: number; text?: string }[] = [];
  let good = '';

  beforeAll(async () => {
    // Refusals here are many and deliberate: the brute-force monitor must not end the run early.
    s = await startCpanelServer({
      manualClock: true,
      settings: { bfmIpThreshold: 100000, bfmAccountThreshold: 100000 },
    });
    const clock = s.clock as ManualClock;
    for (const u of ['fred', 'barney', 'sue', 'nofeat']) await makeUser(s, u);
    good = await makeToken(s, 'fred', 'good');
    const expired = await makeToken(s, 'fred', 'expired', {
      expires_at: String(Math.floor(clock.now() / 1000) + 60),
    });
    const revoked = await makeToken(s, 'fred', 'revoked');
    await s.cp('/execute/Tokens/revoke?name=revoked', { auth: 'fred:fred-Pass-123' });
    const elsewhere = await makeToken(s, 'fred', 'elsewhere', { ips: '10.0.0.1' });
    const barneys = await makeToken(s, 'barney', 'b');
    const sues = await makeToken(s, 'sue', 's');
    await s.admin('/CMD_API_SELECT_USERS', { suspend: 'Suspend', select0: 'sue' });
    const nofeat = await makeToken(s, 'nofeat', 'n');
    await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'nofeat', apitokens: 'OFF' });
    clock.advance(61_000);
    principals.push(
      { label: 'no credentials', headers: {}, status: 401 },
      { label: 'wrong token', headers: tokenAuth('fred', 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ'), status: 401 },
      { label: 'malformed token', headers: tokenAuth('fred', 'short'), status: 401 },
      { label: 'expired token', headers: tokenAuth('fred', expired), status: 401 },
      { label: 'revoked token', headers: tokenAuth('fred', revoked), status: 401 },
      { label: "another account's token", headers: tokenAuth('fred', barneys), status: 401 },
      { label: 'token of an unknown user', headers: tokenAuth('nosuchuser', good), status: 401 },
      { label: 'non-whitelisted IP', headers: tokenAuth('fred', elsewhere), status: 401 },
      { label: 'suspended owner', headers: tokenAuth('sue', sues), status: 401 },
      {
        label: 'feature apitokens off',
        headers: tokenAuth('nofeat', nofeat),
        status: 403,
        text: APITOKENS_OFF,
      },
      { label: 'WHM scheme on 2083', headers: { authorization: `whm fred:${good}` }, status: 401 },
    );
  });
  afterAll(async () => s?.close());

  const refusedCleanly = (r: Answer) => {
    const j = r.json() as Record<string, unknown>;
    if ('cpanelresult' in j) {
      expect(JSON.stringify(j)).not.toContain('"result":1');
      return;
    }
    expect(j.status).toBe(0);
    expect(j.data).toBeNull();
  };

  for (const route of ROUTES) {
    it(`${route.name}: refused for every bad principal, nothing changed; served for a good token`, async () => {
      const before = JSON.stringify(await tokenRows(s));
      for (const p of principals) {
        const r = await s.cp(route.path, { headers: p.headers });
        expect(r.status, `${route.name} as ${p.label}`).toBe(p.status);
        expect(r.body).not.toMatch(/": "|", "/);
        refusedCleanly(r);
        if (p.text) expect(r.body).toContain(p.text);
      }
      expect(JSON.stringify(await tokenRows(s))).toBe(before);
      const ok = await s.cp(route.path, { headers: tokenAuth('fred', good) });
      expect(ok.status, `${route.name} with a good token: ${ok.body}`).toBe(200);
      if (route.mutates && route.name === 'Tokens::create_full_access')
        expect((await tokenRows(s)).length).toBeGreaterThan(JSON.parse(before).length);
    });
  }

  it('covers every function served', () => {
    expect(ROUTES.length).toBe(Object.keys(UAPI_FUNCTIONS).length + Object.keys(API2_FUNCTIONS).length);
    expect(ROUTES.length).toBeGreaterThanOrEqual(11);
  });
});
