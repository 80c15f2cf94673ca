import type { Migration } from 'kysely';
import * as m0 from './2026_11_25_000000_initial.js';
import * as m1 from './2026_11_25_120000_login_keys.js';
import * as m2 from './2026_11_25_130000_sessions.js';
import * as mApiTokens from './2026_11_26_000000_api_tokens.js';
import * as mDns from './2026_11_26_010000_dns.js';
import * as mCertificates from './2026_11_26_020000_certificates.js';
import * as mMultiServer from './2026_11_26_030000_multi_server.js';
import * as mOutboxPending from './2026_11_26_040000_outbox_pending.js';
import * as mHistoryCount from './2026_11_26_050000_history_count.js';
import * as mHistoryAt from './2026_11_26_060000_history_at.js';
import * as mZoneRecordCount from './2026_11_26_070000_zone_record_count.js';
import * as mRecordsZoneIndex from './2026_11_26_080000_records_zone_index.js';

/** Every migration in order. Listed statically so the built server needs no directory scan. */
export const migrations: Record<string, Migration> = {
  '2026_11_25_000000_initial': m0,
  '2026_11_25_120000_login_keys': m1,
  '2026_11_25_130000_sessions': m2,
  '2026_11_26_000000_api_tokens': mApiTokens,
  '2026_11_26_010000_dns': mDns,
  '2026_11_26_020000_certificates': mCertificates,
  '2026_11_26_030000_multi_server': mMultiServer,
  '2026_11_26_040000_outbox_pending': mOutboxPending,
  '2026_11_26_050000_history_count': mHistoryCount,
  '2026_11_26_060000_history_at': mHistoryAt,
  '2026_11_26_070000_zone_record_count': mZoneRecordCount,
  '2026_11_26_080000_records_zone_index': mRecordsZoneIndex,
};
