import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpanelServer, makeUser, startCpanelServer, uapi } from './cpanel-server.js';

const FRED = 'fred:fred-Pass-123';

describe('cPanel UAPI and API 2 on 2083 (password)', () => {
  let s: CpanelServer;
  beforeAll(async () => {
    s = await startCpanelServer();
    await makeUser(s, 'fred');
    await s.admin('/CMD_API_MODIFY_USER', {
      action: 'customize',
      user: 'fred',
      quota: '500',
      nemails: '10',
      vdomains: '3',
    });
  });
  afterAll(async () => s?.close());

  it('DomainInfo::list_domains: flat compact envelope, main_domain a string, HTTP 200', async () => {
    const r = await s.cp('/execute/DomainInfo/list_domains', { auth: FRED });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.body).toBe(
      '{"data":{"addon_domains":[],"main_domain":"fred.example.com","parked_domains":[],"sub_domains":[]},"errors":null,"messages":null,"metadata":{},"status":1,"warnings":null}',
    );
    // acme.sh reads it with a regular expression on the compact text.
    expect(r.body).toMatch(/"main_domain":"fred\.example\.com"/);
  });

  it('Variables::get_user_information, all fields and `name` filters (repeated and indexed)', async () => {
    const all = uapi(await s.cp('/execute/Variables/get_user_information', { auth: FRED }));
    expect(all.status).toBe(1);
    expect(all.data.user).toBe('fred');
    expect(all.data.domain).toBe('fred.example.com');
    expect(all.data.domains).toEqual(['fred.example.com']);
    expect(all.data.contact_email).toBe('fred@example.com');
    expect(all.data.plan).toBe('custom');
    expect(all.data.owner).toBe('admin');
    expect(all.data.maximum_mail_accounts).toBe(10);
    expect(all.data.maximum_databases).toBe('unlimited');
    expect(typeof all.data.created).toBe('number');
    expect(all.data.feature.apitokens).toBe(1);
    const some = uapi(
      await s.cp('/execute/Variables/get_user_information?name=user&name=plan&name-0=domain', { auth: FRED }),
    );
    expect(some.data).toEqual({ user: 'fred', plan: 'custom', domain: 'fred.example.com' });
  });

  it('DomainInfo::domains_data in hash and list form; bad format refused', async () => {
    const h = uapi(await s.cp('/execute/DomainInfo/domains_data', { auth: FRED }));
    expect(h.data.main_domain.domain).toBe('fred.example.com');
    expect(h.data.main_domain.type).toBe('main_domain');
    expect(h.data.main_domain.documentroot).toBe('/home/fred/public_html');
    expect(h.data.main_domain.owner).toBe('admin');
    expect(h.data.addon_domains).toEqual([]);
    const l = uapi(await s.cp('/execute/DomainInfo/domains_data?format=list', { auth: FRED }));
    expect(l.data).toHaveLength(1);
    expect(l.metadata).toEqual({ transformed: 1 });
    const bad = uapi(await s.cp('/execute/DomainInfo/domains_data?format=xml', { auth: FRED }));
    expect(bad.status).toBe(0);
    expect(bad.errors?.[0]).toContain('format');
  });

  it('Quota::get_quota_info, StatsBar::get_stats, ResourceUsage::get_usages', async () => {
    const q = uapi(await s.cp('/execute/Quota/get_quota_info', { auth: FRED }));
    expect(q.data).toMatchObject({ megabyte_limit: 500, megabytes_used: 0, megabytes_remain: 500 });
    expect(q.data.inode_limit).toBe(0);
    expect(q.data.under_quota_overall).toBe(1);
    const st = uapi(
      await s.cp('/execute/StatsBar/get_stats?display=diskusage%7Cemailaccounts%7Cnosuchthing', {
        auth: FRED,
      }),
    );
    expect(st.data.map((x: { id: string }) => x.id)).toEqual(['diskusage', 'emailaccounts']);
    expect(st.data[1]).toMatchObject({ _max: 10, max: '10', _count: 0, is_maxed: 0, percent: 0 });
    expect(st.metadata.transformed).toBe(1);
    const missing = uapi(await s.cp('/execute/StatsBar/get_stats', { auth: FRED }));
    expect(missing.status).toBe(0);
    expect(missing.errors).toEqual(['You must specify the “display” parameter.']);
    const u = uapi(await s.cp('/execute/ResourceUsage/get_usages', { auth: FRED }));
    const disk = u.data.find((x: { id: string }) => x.id === 'disk_usage');
    expect(disk).toMatchObject({ maximum: 500 * 1024 * 1024, usage: 0, formatter: 'format_bytes' });
    const db = u.data.find((x: { id: string }) => x.id === 'mysql_databases');
    expect(db.maximum).toBeNull();
  });

  it('parameters from the query, a url-encoded body, a multipart body; POST with no body at all', async () => {
    const viaQuery = uapi(
      await s.cp('/execute/Variables/get_user_information?name=user', { auth: FRED, method: 'GET' }),
    );
    expect(viaQuery.data).toEqual({ user: 'fred' });
    const viaForm = uapi(
      await s.cp('/execute/Variables/get_user_information', { auth: FRED, params: { name: 'plan' } }),
    );
    expect(viaForm.data).toEqual({ plan: 'custom' });
    const boundary = 'XyZ123';
    const multipart = [
      `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nuser\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nip\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const viaMultipart = uapi(
      await s.cp('/execute/Variables/get_user_information', {
        auth: FRED,
        method: 'POST',
        body: multipart,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      }),
    );
    expect(Object.keys(viaMultipart.data).sort()).toEqual(['ip', 'user']);
    // cPanel's own client can send a JSON body.
    const viaJson = uapi(
      await s.cp('/execute/Variables/get_user_information', {
        auth: FRED,
        method: 'POST',
        body: '{"name":["user","plan"]}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(viaJson.data).toEqual({ user: 'fred', plan: 'custom' });
    const empty = await s.cp('/execute/DomainInfo/list_domains', { auth: FRED, method: 'POST' });
    expect(uapi(empty).status).toBe(1);
  });

  it("unknown module, unknown function and illegal names answer cPanel's texts with HTTP 200", async () => {
    const m = await s.cp('/execute/NoSuch/thing', { auth: FRED });
    expect(m.status).toBe(200);
    expect(uapi(m).errors?.[0]).toMatch(/^Failed to load module “NoSuch”: /);
    const f = uapi(await s.cp('/execute/DomainInfo/nosuch', { auth: FRED }));
    expect(f.errors).toEqual(['The system could not find the function “nosuch” in the module “DomainInfo”.']);
    const ill = uapi(await s.cp('/execute/DomainInfo/bad-name', { auth: FRED }));
    expect(ill.errors).toEqual(['Illegal function name: bad-name']);
  });

  it('Basic auth from another site (a browser resending remembered credentials) is refused; tokens and scripts pass', async () => {
    const cross = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };
    const refused = await s.cp('/execute/Tokens/create_full_access?name=csrf', {
      auth: FRED,
      headers: cross,
    });
    expect(refused.status).toBe(403);
    expect(uapi(refused).errors).toEqual(['The request comes from another site.']);
    const listed = uapi(await s.cp('/execute/Tokens/list', { auth: FRED }));
    expect((listed.data as { name: string }[]).map((t) => t.name)).not.toContain('csrf');
    const same = await s.cp('/execute/DomainInfo/list_domains', {
      auth: FRED,
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(uapi(same).status).toBe(1);
    const made = uapi(await s.cp('/execute/Tokens/create_full_access?name=crossok', { auth: FRED }));
    const token = (made.data as { token: string }).token;
    const viaToken = await s.cp('/execute/DomainInfo/list_domains', {
      headers: { ...cross, authorization: `cpanel fred:${token}` },
    });
    expect(uapi(viaToken).status).toBe(1);
    expect(uapi(await s.cp('/execute/Tokens/revoke?name=crossok', { auth: FRED })).status).toBe(1);
  });

  it('a /cpsessNNNNNNNNNN/ prefix is ignored', async () => {
    const r = uapi(await s.cp('/cpsess0123456789/execute/DomainInfo/list_domains', { auth: FRED }));
    expect(r.data.main_domain).toBe('fred.example.com');
  });

  it('API 2 at /json-api/cpanel and /json-api/cpanel/, GET and POST, trailing &, cpanel_jsonapi_user', async () => {
    const q =
      'cpanel_jsonapi_user=fred&cpanel_jsonapi_module=CustInfo&cpanel_jsonapi_func=displaycontactinfo&cpanel_jsonapi_apiversion=2';
    const expected =
      '{"cpanelresult":{"apiversion":2,"data":[{"descp":"Email Address","enabled":1,"name":"email","type":"string","value":"fred@example.com"},{"descp":"Second Email Address","enabled":1,"name":"second_email","type":"string","value":""}],"event":{"result":1},"func":"displaycontactinfo","module":"CustInfo"}}';
    for (const path of [`/json-api/cpanel?${q}`, `/json-api/cpanel/?${q}&`]) {
      const r = await s.cp(path, { auth: FRED });
      expect(r.status).toBe(200);
      expect(r.body).toBe(expected);
    }
    const post = await s.cp('/json-api/cpanel', {
      auth: FRED,
      method: 'POST',
      body: `${q}&`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.body).toBe(expected);
    // acme.sh leaves cpanel_jsonapi_user out.
    const noUser = await s.cp(
      '/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=CustInfo&cpanel_jsonapi_func=displaycontactinfo',
      { auth: FRED },
    );
    expect(noUser.body).toBe(expected);
    const other = (
      await s.cp(`/json-api/cpanel?${q.replace('user=fred', 'user=admin')}`, { auth: FRED })
    ).json() as { cpanelresult: { event: { result: number } } };
    expect(other.cpanelresult.event.result).toBe(0);
    const unknown = (
      await s.cp(
        '/json-api/cpanel?cpanel_jsonapi_module=Nope&cpanel_jsonapi_func=x&cpanel_jsonapi_apiversion=2',
        {
          auth: FRED,
        },
      )
    ).body;
    expect(unknown).toContain('"error":"Could not find function “x” in module “Nope”."');
    expect(unknown).not.toMatch(/": "|", "/);
  });

  it('WHM API 1 on 2083 answers Permission denied; other paths a JSON 404', async () => {
    const whm = await s.cp('/json-api/listaccts?api.version=1', { auth: FRED });
    expect(whm.status).toBe(403);
    expect(whm.body).toContain('Permission denied');
    const other = await s.cp('/frontend/jupiter/index.html', { auth: FRED });
    expect(other.status).toBe(404);
    expect(uapi(other).status).toBe(0);
  });

  it('bad credentials: 401 with a cPanel JSON body, same for unknown user, wrong password, no header', async () => {
    const bodies = new Set<string>();
    for (const auth of ['fred:wrong-password', 'nosuchuser:whatever']) {
      const r = await s.cp('/execute/DomainInfo/list_domains', { auth });
      expect(r.status).toBe(401);
      expect(uapi(r).status).toBe(0);
      bodies.add(r.body);
    }
    const none = await s.cp('/execute/DomainInfo/list_domains');
    expect(none.status).toBe(401);
    bodies.add(none.body);
    expect(bodies.size).toBe(1);
    // cpanel-lib's `WHM user:accesshash` scheme is no credential on 2083.
    const whmScheme = await s.cp('/execute/DomainInfo/list_domains', {
      headers: { authorization: 'WHM fred:ABCDEFGHIJKLMNOPQRSTUVWXYZ012345' },
    });
    expect(whmScheme.status).toBe(401);
    // DirectAdmin's login-as is no cPanel syntax.
    const loginAs = await s.cp('/execute/DomainInfo/list_domains', { auth: `admin|fred:Admin-Pass-1234` });
    expect(loginAs.status).toBe(401);
    const api2 = await s.cp(
      '/json-api/cpanel?cpanel_jsonapi_module=CustInfo&cpanel_jsonapi_func=displaycontactinfo',
      {
        auth: 'fred:wrong-password',
      },
    );
    expect(api2.status).toBe(401);
    expect(api2.body).toBe(
      '{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}',
    );
  });

  it('transport failures in cPanel JSON: oversized body 413, broken multipart 400, wrong method 405', async () => {
    const big = await s.cp('/execute/DomainInfo/list_domains', {
      auth: FRED,
      method: 'POST',
      body: Buffer.alloc((1 << 20) + 10, 'a'),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(big.status).toBe(413);
    expect(uapi(big).status).toBe(0);
    const broken = await s.cp('/execute/Variables/get_user_information', {
      auth: FRED,
      method: 'POST',
      body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb',
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect(broken.status).toBe(400);
    expect(uapi(broken).status).toBe(0);
    const put = await s.cp('/execute/DomainInfo/list_domains', { auth: FRED, method: 'PUT' });
    expect(put.status).toBe(405);
    expect(uapi(put).status).toBe(0);
  });
  it('subdomains and pointers made through the DA API appear as sub_domains and parked_domains', async () => {
    const sub = await s.call('/CMD_API_SUBDOMAINS', {
      auth: FRED,
      params: { action: 'create', domain: 'fred.example.com', subdomain: 'blog' },
    });
    expect(sub.pairs.error, sub.body).toBe('0');
    const ptr = await s.call('/CMD_API_DOMAIN_POINTER', {
      auth: FRED,
      params: { action: 'add', domain: 'fred.example.com', from: 'fred-alias.example.net' },
    });
    expect(ptr.pairs.error, ptr.body).toBe('0');
    const r = uapi(await s.cp('/execute/DomainInfo/list_domains', { auth: FRED }));
    expect(r.data).toEqual({
      addon_domains: [],
      main_domain: 'fred.example.com',
      parked_domains: ['fred-alias.example.net'],
      sub_domains: ['blog.fred.example.com'],
    });
    const d = uapi(await s.cp('/execute/DomainInfo/domains_data', { auth: FRED }));
    expect(d.data.sub_domains).toHaveLength(1);
    expect(d.data.sub_domains[0]).toMatchObject({ domain: 'blog.fred.example.com', type: 'sub_domain' });
  });
});

describe('webmail listener (2096)', () => {
  let s: CpanelServer;
  beforeAll(async () => {
    s = await startCpanelServer();
    await makeUser(s, 'fred');
  });
  afterAll(async () => s?.close());

  it('a mailbox login (mailbox@domain) is a bad credential while no mailbox exists: 401 JSON', async () => {
    const r = await s.wm('/execute/Email/passwd_pop', {
      auth: 'info@fred.example.com:Old1',
      params: { email: 'info@fred.example.com', password: 'New2' },
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="Webmail"');
    expect(uapi(r).errors).toEqual(['Access denied']);
  });

  it('the account itself logs in, and functions outside webmail are refused with cPanel text', async () => {
    const r = uapi(await s.wm('/execute/DomainInfo/list_domains', { auth: FRED }));
    expect(r.status).toBe(0);
    expect(r.errors).toEqual([
      'Execution of DomainInfo::list_domains (api version:3) is not permitted inside of webmail',
    ]);
    expect((await s.wm('/execute/DomainInfo/list_domains', { auth: 'fred:nope' })).status).toBe(401);
  });

  it('tokens do not work on webmail', async () => {
    const r = await s.wm('/execute/DomainInfo/list_domains', {
      headers: { authorization: 'cpanel fred:ABCDEFGHIJKLMNOPQRSTUVWXYZ012345' },
    });
    expect(r.status).toBe(401);
  });
});
