/**
 * Credential history retention: purgeHistory deletes rows older than a cut-off in bounded chunks, and
 * the server runs it at start (and hourly) with credentialHistoryDays; 0 keeps history for good.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { purgeHistory } from '../../src/auth/key-usage.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/main.js';
import { createTestEnv, type TestEnv } from '../helpers/services.js';

const DAY = 86_400_000;
const envs: TestEnv[] = [];
afterEach(async () => {
  while (envs.length) await envs.pop()?.close();
});

async function env(settings: Record<string, unknown> = {}): Promise<TestEnv> {
  const e = await createTestEnv({ manualClock: true, settings });
  envs.push(e);
  return e;
}

/** Inserts `n` history rows of one credential at time `at`. */
async function rows(e: TestEnv, n: number, at: number): Promise<void> {
  const row = {
    key_id: 'k1',
    account_id: 'a1',
    at,
    ip: '192.0.2.1',
    command: 'CMD_API_LOGIN_TEST',
    outcome: 'ok',
  };
  for (let i = 0; i < n; i += 500)
    await e.services.db
      .insertInto('login_key_history')
      .values(Array.from({ length: Math.min(500, n - i) }, () => row))
      .execute();
}

const count = async (e: TestEnv) =>
  Number(
    (
      await e.services.db
        .selectFrom('login_key_history')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('credential history retention', () => {
  it('purgeHistory deletes every row before the cut-off, over several chunks, and keeps the rest', async () => {
    const e = await env();
    const now = e.clock.now();
    await rows(e, 12_345, now - 100 * DAY);
    await rows(e, 3, now - 90 * DAY);
    await rows(e, 7, now - DAY);
    expect(await purgeHistory(e.services.db, now - 90 * DAY)).toBe(12_345);
    expect(await count(e)).toBe(10);
    expect(await purgeHistory(e.services.db, now - 90 * DAY)).toBe(0);
    expect(await purgeHistory(e.services.db, now)).toBe(10);
    expect(await count(e)).toBe(0);
  });

  it('the server purges at start with credentialHistoryDays, and keeps everything with 0', async () => {
    for (const days of [30, 0]) {
      const e = await env({ credentialHistoryDays: days });
      const now = e.clock.now();
      await rows(e, 5, now - 31 * DAY);
      await rows(e, 2, now - 29 * DAY);
      const config = loadConfig({
        env: {
          HOSTDECK_DATA_DIR: e.config.dataDir,
          HOSTDECK_TLS: 'off',
          HOSTDECK_DNS_APPLY: 'OFF',
          HOSTDECK_DA_LISTEN: '127.0.0.1:0',
          HOSTDECK_CPANEL_LISTEN: '127.0.0.1:0',
          HOSTDECK_WEBMAIL_LISTEN: '127.0.0.1:0',
          HOSTDECK_WHM_LISTEN: '127.0.0.1:0',
          HOSTDECK_CREDENTIAL_HISTORY_DAYS: String(days),
        },
      });
      const server = await startServer(config, e.services);
      await server.close();
      expect(await count(e)).toBe(days === 30 ? 2 : 7);
    }
  });

  it('credentialHistoryDays is read from the environment and bounded', () => {
    expect(loadConfig({ env: {} }).credentialHistoryDays).toBe(90);
    expect(loadConfig({ env: { HOSTDECK_CREDENTIAL_HISTORY_DAYS: '7' } }).credentialHistoryDays).toBe(7);
    expect(() => loadConfig({ env: { HOSTDECK_CREDENTIAL_HISTORY_DAYS: '-1' } })).toThrow(
      /HOSTDECK_CREDENTIAL_HISTORY_DAYS/,
    );
  });
});
