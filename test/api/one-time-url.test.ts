import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';

describe('CMD_API_LOGIN_KEYS type=one_time_url', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => s.close());

  it('answers a URL in details that opens a session once and never again', async () => {
    await createAccount(s, 'user', 'fred');
    const r = await s.call('/CMD_API_LOGIN_KEYS', {
      auth: authOf('fred'),
      params: { action: 'create', type: 'one_time_url', expiry: '5m' },
    });
    expect(r.pairs).toMatchObject({ error: '0', text: 'Login URL created' });
    const url = new URL(r.pairs.details ?? '');
    expect(url.pathname).toBe('/CMD_LOGIN_URL');
    const first = await s.call(`${url.pathname}${url.search}`);
    expect(first.status).toBe(302);
    expect(String(first.headers['set-cookie'])).toMatch(/session=/);
    const again = await s.call(`${url.pathname}${url.search}`);
    expect(again.status).toBe(401);
  });
});
