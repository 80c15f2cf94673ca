import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformList } from '../../src/protocols/cpanel/transform.js';
import { Params, parseUrlEncoded } from '../../src/protocols/params.js';
import { type CpanelServer, makeUser, startCpanelServer, uapi } from './cpanel-server.js';

const rows = [
  { name: 'b', n: 10, ip: '10.0.0.2', max: 'unlimited' },
  { name: 'a', n: 2, ip: '10.0.0.10', max: 5 },
  { name: 'c', n: 0, ip: '9.9.9.9', max: 50 },
];
const q = (text: string) => parseUrlEncoded(text);

describe('UAPI filter, sort and paginate (pure)', () => {
  it('no arguments: rows as they are, transformed:1', () => {
    expect(transformList(rows, new Params())).toEqual({
      data: rows,
      metadata: { transformed: 1 },
      messages: [],
    });
  });

  it('filters: contains (default, case-insensitive), begins, numeric, unlimited-aware, regex, several', () => {
    const names = (t: string) => transformList(rows, q(t)).data.map((r) => (r as { name: string }).name);
    expect(names('api.filter=1&api.filter_column=name&api.filter_term=A')).toEqual(['a']);
    expect(names('api.filter_column=ip&api.filter_type=begins&api.filter_term=10.')).toEqual(['b', 'a']);
    expect(names('api.filter_column=n&api.filter_type=gt&api.filter_term=1')).toEqual(['b', 'a']);
    expect(names('api.filter_column=max&api.filter_type=gt_handle_unlimited&api.filter_term=10')).toEqual([
      'b',
      'c',
    ]);
    expect(names('api.filter_column=name&api.filter_type=matches&api.filter_term=^[ab]$')).toEqual([
      'b',
      'a',
    ]);
    expect(
      names(
        'api.filter_column_0=ip&api.filter_type_0=begins&api.filter_term_0=10.&api.filter_column_1=n&api.filter_type_1=lt&api.filter_term_1=5',
      ),
    ).toEqual(['a']);
    const t = transformList(rows, q('api.filter_column=name&api.filter_term=a'));
    expect(t.metadata.records_before_filter).toBe(3);
  });

  it('bad filter arguments are messages, not failures', () => {
    const t = transformList(
      rows,
      q('api.filter_column=nope&api.filter_term=x&api.filter_column_1=name&api.filter_type_1=bogus'),
    );
    expect(t.messages).toEqual([
      'The following “filter” arguments are invalid: name',
      'The following “filter” columns did not pertain to this dataset: nope',
    ]);
    expect(
      transformList(rows, q('api.filter_column=name&api.filter_type=matches&api.filter_term=(')).messages[0],
    ).toContain('invalid');
  });

  it('sorts: lexicographic, numeric, numeric_zero_as_max, ipv4, reverse, multi-column', () => {
    const names = (t: string) => transformList(rows, q(t)).data.map((r) => (r as { name: string }).name);
    expect(names('api.sort=1&api.sort_column=name')).toEqual(['a', 'b', 'c']);
    expect(names('api.sort_column=n&api.sort_method=numeric')).toEqual(['c', 'a', 'b']);
    expect(names('api.sort_column=n&api.sort_method=numeric_zero_as_max')).toEqual(['a', 'b', 'c']);
    expect(names('api.sort_column=ip&api.sort_method=ipv4')).toEqual(['c', 'b', 'a']);
    expect(names('api.sort_column=name&api.sort_reverse=1')).toEqual(['c', 'b', 'a']);
  });

  it('paginates with 1-based starts or pages, and reports the page', () => {
    const t = transformList(rows, q('api.paginate=1&api.paginate_size=2&api.paginate_page=2'));
    expect(t.data).toEqual([rows[2]]);
    expect(t.metadata.paginate).toEqual({
      current_page: 2,
      results_per_page: 2,
      start_result: '3',
      total_pages: 2,
      total_results: 3,
    });
    expect(transformList(rows, q('api.paginate_start=2&api.paginate_size=1')).data).toEqual([rows[1]]);
    expect(transformList(rows, q('api.paginate_start=-1&api.paginate_size=1')).data).toEqual(rows);
  });
});

describe('UAPI transforms over HTTP', () => {
  let s: CpanelServer;
  beforeAll(async () => {
    s = await startCpanelServer();
    await makeUser(s, 'fred');
  });
  afterAll(async () => s?.close());

  it('ResourceUsage::get_usages filtered, sorted and paged; a non-list answer is untouched', async () => {
    const r = uapi(
      await s.cp(
        '/execute/ResourceUsage/get_usages?api.filter_column=id&api.filter_type=ends&api.filter_term=_accounts&api.sort_column=id&api.sort_reverse=1&api.paginate_size=1&api.paginate_page=1',
        { auth: 'fred:fred-Pass-123' },
      ),
    );
    expect(r.data.map((x: { id: string }) => x.id)).toEqual(['ftp_accounts']);
    expect(r.metadata).toMatchObject({ transformed: 1, records_before_filter: 11 });
    expect(r.metadata.paginate).toMatchObject({ total_results: 2, total_pages: 2 });
    const obj = uapi(
      await s.cp('/execute/DomainInfo/list_domains?api.sort_column=x', { auth: 'fred:fred-Pass-123' }),
    );
    expect(obj.metadata).toEqual({});
    expect(obj.messages).toBeNull();
  });
});
