import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';

describe('DA API smoke', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('logs in, creates a user and lists it', async () => {
    const t = await s.admin('/CMD_API_LOGIN_TEST');
    expect(t.body).toBe('error=0&text=Login%20OK&details=');
    await createAccount(s, 'user', 'fred');
    const all = await s.admin('/CMD_API_SHOW_ALL_USERS');
    expect(all.list).toEqual(['admin', 'fred']);
    const d = await s.call('/CMD_API_SHOW_DOMAINS', { auth: authOf('fred') });
    expect(d.list).toEqual(['fred.example.com']);
  });
});
