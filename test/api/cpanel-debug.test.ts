import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpanelServer, makeToken, makeUser, startCpanelServer, tokenAuth } from './cpanel-server.js';

describe('debug output of the cPanel listener', () => {
  let s: CpanelServer;
  const lines: string[] = [];
  beforeAll(async () => {
    s = await startCpanelServer({ settings: { debug: 100000 } }, lines);
    await makeUser(s, 'fred');
  });
  afterAll(async () => s?.close());

  it('logs request lines, parameters and refusal reasons, and never a password or token', async () => {
    const token = await makeToken(s, 'fred', 'dbg');
    await s.cp('/execute/Variables/get_user_information?name=user', { headers: tokenAuth('fred', token) });
    await s.cp('/execute/DomainInfo/list_domains', {
      headers: tokenAuth('fred', 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ'),
    });
    await s.cp('/execute/Tokens/create_full_access', {
      auth: 'fred:fred-Pass-123',
      params: { name: 'another', password: 'Not-A-Param-Secret-9' },
    });
    await s.cp('/execute/Tokens/rename', {
      headers: tokenAuth('fred', token),
      params: { name: 'dbg', new_name: 'dbg2' },
    });
    const debug = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.debug !== undefined);
    expect(debug.some((l) => l.debug === 'request')).toBe(true);
    expect(debug.some((l) => l.debug === 'params' && JSON.stringify(l.params) === '{"name":"user"}')).toBe(
      true,
    );
    expect(debug.some((l) => l.debug === 'auth' && l.reason === 'unknown_token')).toBe(true);
    const all = lines.join('\n');
    for (const secret of [token, 'fred-Pass-123', 'Not-A-Param-Secret-9', 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ'])
      expect(all).not.toContain(secret);
  });
});
