import { Params } from '../params.js';
import { exec } from './call.js';
import { DNS_API2_FUNCTIONS } from './dns.js';
import { DOMAIN_API2_FUNCTIONS } from './domains.js';
import { SSL_API2_FUNCTIONS } from './ssl.js';
import type { UapiContext } from './uapi.js';

/** One API 2 function: the registry commands it runs and its handler (API 2 data is always a list). */
export interface Api2Function {
  uses: string[];
  mutates: boolean;
  run(ctx: UapiContext): Promise<unknown[]>;
}

/** Every API 2 function served, by `Module::function`. */
export const API2_FUNCTIONS: Record<string, Api2Function> = {
  ...SSL_API2_FUNCTIONS,
  ...DNS_API2_FUNCTIONS,
  ...DOMAIN_API2_FUNCTIONS,
  'CustInfo::displaycontactinfo': {
    uses: ['account.config.show'],
    mutates: false,
    async run(ctx) {
      const c = await exec<Record<string, string>>(ctx, 'account.config.show', {});
      return [
        { descp: 'Email Address', enabled: 1, name: 'email', type: 'string', value: c.email ?? '' },
        { descp: 'Second Email Address', enabled: 1, name: 'second_email', type: 'string', value: '' },
      ];
    },
  },
};

/** API 2 reserves the `api2_` prefix for its own arguments (filter, sort, paginate, columns). */
const META = 'api2_';

/**
 * The parameters an API 2 function sees: all but API 2's output arguments. Those (`api2_filter=1` with
 * `api2_filter_column`, `api2_filter_term`, `api2_filter_type`, and `_0`, `_1`, … for several, all of which
 * must match; `api2_sort=1` with `api2_sort_column`, `api2_sort_method`, `api2_sort_reverse`, numbered the
 * same way, the first the primary key; `api2_paginate=1` with `api2_paginate_start` (1-based),
 * `api2_paginate_size` (default 100) or `api2_paginate_page`) apply to the list it returns (transform.ts,
 * API2_LIST_ARGS). As in cPanel, each step runs only when its switch is on; filtering adds
 * `records_before_filter` and paging adds `paginate` to `cpanelresult`; an argument that makes no sense is
 * ignored, never an error (API 2 has no messages to report it in); an unknown sort method sorts
 * lexicographically.
 */
export function functionParams(params: Params): Params {
  const own = new Params();
  for (const k of params.keys()) if (!k.startsWith(META)) for (const v of params.all(k)) own.add(k, v);
  return own;
}
