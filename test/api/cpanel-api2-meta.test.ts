/**
 * API 2's output arguments (`api2_filter*`, `api2_sort*`, `api2_paginate*`) over real HTTP on
 * ZoneEdit::fetchzone_records and CustInfo::displaycontactinfo: each step only with its switch on,
 * filters (contains, eq, numbered, all must match), sorts (lexicographic, numeric, ipv4, reverse,
 * several keys), paging with its `paginate` block and `records_before_filter` in `cpanelresult`, bad
 * arguments ignored rather than failing, and none of them reaching the function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionParams } from '../../src/protocols/cpanel/api2.js';
import { API2_LIST_ARGS, transformList } from '../../src/protocols/cpanel/transform.js';
import { parseUrlEncoded } from '../../src/protocols/params.js';
import { type CpanelServer, makeUser, startCpanelServer } from './cpanel-server.js';

const FRED = 'fred:fred-Pass-123';
const API2 = '/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=';
const RECORDS = `${API2}ZoneEdit&cpanel_jsonapi_func=fetchzone_records&domain=example.com`;

type Rec = Record<string, unknown> & { name: string; type: string };
interface Result {
  apiversion: number;
  data: Rec[];
  event: { result: number; reason?: string };
  paginate?: Record<string, unknown>;
  records_before_filter?: number;
}

describe('API 2 filter, sort and paginate arguments', () => {
  let s: CpanelServer;
  /** Every record of example.com in zone order, as fetchzone_records lists it without arguments. */
  let all: Rec[] = [];
  const byName = (n: string) => all.find((r) => r.name === `${n}.example.com.`) as Rec;

  const raw = async (path: string) => {
    const r = await s.cp(path, { auth: FRED });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    // Compact JSON, like every cPanel answer.
    expect(r.body).not.toMatch(/": |", /);
    return r.body;
  };
  const result = async (args: string): Promise<Result> =>
    (JSON.parse(await raw(`${RECORDS}&${args}`)) as { cpanelresult: Result }).cpanelresult;
  const names = async (args: string) => (await result(args)).data.map((r) => r.name.split('.')[0]);
  /** The exact fetchzone_records body for these rows and extra `cpanelresult` keys. */
  const body = (rows: Rec[], extra = '') =>
    `{"cpanelresult":{"apiversion":2,"data":${JSON.stringify(rows)},"event":{"result":1},` +
    `"func":"fetchzone_records","module":"ZoneEdit"${extra}}}`;

  beforeAll(async () => {
    s = await startCpanelServer({ manualClock: true });
    await makeUser(s, 'fred', { domain: 'example.com' });
    const add = async (q: string) => {
      const r = await s.cp(`${API2}ZoneEdit&cpanel_jsonapi_func=add_zone_record&domain=example.com&${q}`, {
        auth: FRED,
      });
      expect(r.body).toContain('"status":1');
    };
    // Added out of name order, so a sort has something to do.
    await add('name=meta-b&type=A&address=192.0.2.10&ttl=300');
    await add('name=meta-d&type=TXT&txtdata=hello&ttl=300');
    await add('name=meta-a&type=A&address=192.0.2.9&ttl=1200');
    await add('name=meta-c&type=A&address=192.0.2.100&ttl=60');
    const plain = await raw(RECORDS);
    all = (JSON.parse(plain) as { cpanelresult: Result }).cpanelresult.data;
    expect(all.length).toBeGreaterThan(6);
    // No argument: the answer is exactly what it was before output arguments existed.
    expect(plain).toBe(body(all));
    expect(all.filter((r) => r.name.startsWith('meta-')).map((r) => r.name)).toEqual([
      'meta-b.example.com.',
      'meta-d.example.com.',
      'meta-a.example.com.',
      'meta-c.example.com.',
    ]);
  });
  afterAll(async () => s?.close());

  describe('filter', () => {
    it('contains is the default type, ignores case, and adds records_before_filter', async () => {
      const args = 'api2_filter=1&api2_filter_column=name&api2_filter_term=META-';
      const expected = ['b', 'd', 'a', 'c'].map((x) => byName(`meta-${x}`));
      expect(await raw(`${RECORDS}&${args}`)).toBe(body(expected, `,"records_before_filter":${all.length}`));
    });

    it('does nothing without api2_filter=1 (or with api2_filter=0)', async () => {
      expect(await raw(`${RECORDS}&api2_filter_column=name&api2_filter_term=meta-`)).toBe(body(all));
      expect(await raw(`${RECORDS}&api2_filter=0&api2_filter_column=name&api2_filter_term=meta-`)).toBe(
        body(all),
      );
    });

    it('eq compares whole values: text exactly, numbers as numbers', async () => {
      const txt = await result(
        'api2_filter=1&api2_filter_column=type&api2_filter_type=eq&api2_filter_term=TXT',
      );
      expect(txt.data.length).toBeGreaterThan(0);
      expect(txt.data.every((r) => r.type === 'TXT')).toBe(true);
      expect(txt.data.map((r) => r.name)).toContain('meta-d.example.com.');
      expect(txt.records_before_filter).toBe(all.length);
      // Not a substring match: "T" is no type at all.
      expect(
        (await result('api2_filter=1&api2_filter_column=type&api2_filter_type=eq&api2_filter_term=T')).data,
      ).toEqual([]);
      expect(
        await names('api2_filter=1&api2_filter_column=ttl&api2_filter_type=eq&api2_filter_term=1200.0'),
      ).toEqual(['meta-a']);
      expect(
        await names(
          'api2_filter=1&api2_filter_column=name&api2_filter_term=meta-&api2_filter_column_1=type&api2_filter_type_1=ne&api2_filter_term_1=A',
        ),
      ).toEqual(['meta-d']);
    });

    it('numbered filters must all match; begins, lt and gt_handle_unlimited', async () => {
      expect(
        await names(
          'api2_filter=1&api2_filter_column_0=name&api2_filter_type_0=begins&api2_filter_term_0=meta-' +
            '&api2_filter_column_1=type&api2_filter_type_1=eq&api2_filter_term_1=A' +
            '&api2_filter_column_2=ttl&api2_filter_type_2=lt&api2_filter_term_2=1000',
        ),
      ).toEqual(['meta-b', 'meta-c']);
      expect(
        await names(
          'api2_filter=1&api2_filter_column_0=name&api2_filter_term_0=meta-' +
            '&api2_filter_column_1=ttl&api2_filter_type_1=gt_handle_unlimited&api2_filter_term_1=300',
        ),
      ).toEqual(['meta-a']);
    });
  });

  describe('sort', () => {
    const metaA =
      'api2_filter=1&api2_filter_column_0=name&api2_filter_term_0=meta-&api2_filter_column_1=type&api2_filter_type_1=eq&api2_filter_term_1=A';

    it('lexicographic by default; numeric, ipv4 and reverse when asked', async () => {
      // As text, 192.0.2.10 < 192.0.2.100 < 192.0.2.9.
      expect(await names(`${metaA}&api2_sort=1&api2_sort_column=address`)).toEqual([
        'meta-b',
        'meta-c',
        'meta-a',
      ]);
      expect(await names(`${metaA}&api2_sort=1&api2_sort_column=address&api2_sort_method=ipv4`)).toEqual([
        'meta-a',
        'meta-b',
        'meta-c',
      ]);
      expect(await names(`${metaA}&api2_sort=1&api2_sort_column=ttl&api2_sort_method=numeric`)).toEqual([
        'meta-c',
        'meta-b',
        'meta-a',
      ]);
      expect(
        await names(`${metaA}&api2_sort=1&api2_sort_column=ttl&api2_sort_method=numeric&api2_sort_reverse=1`),
      ).toEqual(['meta-a', 'meta-b', 'meta-c']);
      expect(await names(`${metaA}&api2_sort=1&api2_sort_column=name&api2_sort_reverse=1`)).toEqual([
        'meta-c',
        'meta-b',
        'meta-a',
      ]);
    });

    it('numbered sort keys: the first is the primary one', async () => {
      const meta = 'api2_filter=1&api2_filter_column=name&api2_filter_term=meta-';
      expect(
        await names(
          `${meta}&api2_sort=1&api2_sort_column_0=ttl&api2_sort_method_0=numeric&api2_sort_column_1=name&api2_sort_reverse_1=1`,
        ),
      ).toEqual(['meta-c', 'meta-d', 'meta-b', 'meta-a']);
    });

    it('does nothing without api2_sort=1, and adds no key to the answer', async () => {
      const r = await result('api2_sort_column=name&api2_sort_reverse=1');
      expect(r.data).toEqual(all);
      expect(Object.keys(r)).toEqual(['apiversion', 'data', 'event', 'func', 'module']);
    });
  });

  describe('paginate', () => {
    const meta =
      'api2_filter=1&api2_filter_column=name&api2_filter_term=meta-&api2_sort=1&api2_sort_column=name';

    it('a page by number, with the paginate block in cpanelresult', async () => {
      expect(await raw(`${RECORDS}&${meta}&api2_paginate=1&api2_paginate_size=3&api2_paginate_page=2`)).toBe(
        body(
          [byName('meta-d')],
          ',"paginate":{"current_page":2,"results_per_page":3,"start_result":"4","total_pages":2,"total_results":4}' +
            `,"records_before_filter":${all.length}`,
        ),
      );
    });

    it('a 1-based start record; the page it falls in', async () => {
      const r = await result(`${meta}&api2_paginate=1&api2_paginate_start=3&api2_paginate_size=2`);
      expect(r.data.map((x) => x.name)).toEqual(['meta-c.example.com.', 'meta-d.example.com.']);
      expect(r.paginate).toEqual({
        current_page: 2,
        results_per_page: 2,
        start_result: '3',
        total_pages: 2,
        total_results: 4,
      });
    });

    it('api2_paginate=1 alone: 100 a page from the first record', async () => {
      expect(await raw(`${RECORDS}&api2_paginate=1`)).toBe(
        body(
          all,
          `,"paginate":{"current_page":1,"results_per_page":100,"start_result":"1","total_pages":1,"total_results":${all.length}}`,
        ),
      );
    });

    it('does nothing without api2_paginate=1', async () => {
      expect(await raw(`${RECORDS}&api2_paginate_size=1&api2_paginate_page=2`)).toBe(body(all));
      expect(await raw(`${RECORDS}&api2_paginate=0&api2_paginate_size=1`)).toBe(body(all));
    });
  });

  describe('bad arguments are ignored, never an error', () => {
    it('an unknown filter type, a bad regular expression, a filter without a column', async () => {
      for (const args of [
        'api2_filter=1&api2_filter_column=name&api2_filter_type=bogus&api2_filter_term=meta-',
        'api2_filter=1&api2_filter_column=name&api2_filter_type=matches&api2_filter_term=(',
        'api2_filter=1&api2_filter_term=meta-',
        'api2_filter=1',
      ])
        expect(await raw(`${RECORDS}&${args}`), args).toBe(
          body(all, `,"records_before_filter":${all.length}`),
        );
    });

    it('a column no record has matches nothing, as in cPanel', async () => {
      expect(await raw(`${RECORDS}&api2_filter=1&api2_filter_column=nope&api2_filter_term=x`)).toBe(
        body([], `,"records_before_filter":${all.length}`),
      );
    });

    it('an unknown sort method sorts as text; a sort without a column is skipped', async () => {
      const meta = 'api2_filter=1&api2_filter_column=name&api2_filter_term=meta-';
      expect(await names(`${meta}&api2_sort=1&api2_sort_column=ttl&api2_sort_method=bogus`)).toEqual([
        'meta-a',
        'meta-b',
        'meta-d',
        'meta-c',
      ]);
      expect(await names(`${meta}&api2_sort=1&api2_sort_method=numeric`)).toEqual([
        'meta-b',
        'meta-d',
        'meta-a',
        'meta-c',
      ]);
    });

    it('a size, start or page that is not a positive whole number falls back to the defaults', async () => {
      const dflt = `,"paginate":{"current_page":1,"results_per_page":100,"start_result":"1","total_pages":1,"total_results":${all.length}}`;
      for (const args of [
        'api2_paginate_size=abc&api2_paginate_start=-5&api2_paginate_page=x',
        'api2_paginate_size=0&api2_paginate_start=0',
        'api2_paginate_size=-2&api2_paginate_page=-1',
        'api2_paginate_size=1.5&api2_paginate_start=2.5',
      ])
        expect(await raw(`${RECORDS}&api2_paginate=1&${args}`), args).toBe(body(all, dflt));
      // A start past the end: an empty page, still reported.
      const r = await result('api2_paginate=1&api2_paginate_start=9999&api2_paginate_size=10');
      expect(r.event).toEqual({ result: 1 });
      expect(r.data).toEqual([]);
      expect(r.paginate).toMatchObject({
        start_result: '9999',
        current_page: 1000,
        total_results: all.length,
      });
    });

    it('a failed call keeps its plain error answer', async () => {
      expect(
        await raw(
          `${API2}ZoneEdit&cpanel_jsonapi_func=fetchzone_records&domain=nobody.example.net&api2_filter=1&api2_filter_column=name&api2_paginate=1`,
        ),
      ).toMatch(
        /^\{"cpanelresult":\{"apiversion":2,"data":\{"reason":"[^"]+","result":0\},"error":"[^"]+","event":\{"reason":"[^"]+","result":0\},"func":"fetchzone_records","module":"ZoneEdit"\}\}$/,
      );
    });
  });

  it('another list function: CustInfo::displaycontactinfo filtered, exact bytes', async () => {
    const path = `${API2}CustInfo&cpanel_jsonapi_func=displaycontactinfo`;
    const full = (JSON.parse(await raw(path)) as { cpanelresult: { data: Rec[] } }).cpanelresult.data;
    expect(full.map((r) => r.name)).toEqual(['email', 'second_email']);
    expect(
      await raw(
        `${path}&api2_filter=1&api2_filter_column=name&api2_filter_type=eq&api2_filter_term=second_email`,
      ),
    ).toBe(
      '{"cpanelresult":{"apiversion":2,"data":[{"descp":"Second Email Address","enabled":1,"name":"second_email","type":"string","value":""}],' +
        '"event":{"result":1},"func":"displaycontactinfo","module":"CustInfo","records_before_filter":2}}',
    );
  });

  it('the arguments never reach the function, and a POST body carries them too', async () => {
    const params = parseUrlEncoded('domain=x&api2_sort=1&api2_sort_column=n&api2_columns=1&api2_filterx=1');
    expect(functionParams(params).keys()).toEqual(['domain']);
    // The output arguments still apply to the list the function returns.
    expect(transformList([{ n: 2 }, { n: 1 }], params, API2_LIST_ARGS).data).toEqual([{ n: 1 }, { n: 2 }]);

    const r = await s.cp(`${API2}ZoneEdit&cpanel_jsonapi_func=fetchzone_records`, {
      auth: FRED,
      method: 'POST',
      params: {
        domain: 'example.com',
        api2_filter: '1',
        api2_filter_column: 'name',
        api2_filter_term: 'meta-',
        api2_paginate: '1',
        api2_paginate_size: '1',
      },
    });
    const j = (JSON.parse(r.body) as { cpanelresult: Result }).cpanelresult;
    expect(j.data).toEqual([byName('meta-b')]);
    expect(j.paginate).toMatchObject({ total_results: 4, total_pages: 4 });
  });
});
