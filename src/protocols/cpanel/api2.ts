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

/** Every API 2 function served, by `Module::function` (the DNS ones arrive with the DNS module). */
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
