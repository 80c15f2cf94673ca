import { pino } from 'pino';
import { buildApps } from '../../src/app.js';
import type { ApiToken } from '../../src/db/database.js';
import {
  type Answer,
  type CallOptions,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import type { TestEnvOptions } from '../helpers/services.js';

/** A test installation with the DA API (to make accounts) and the cPanel and webmail listeners. */
export interface CpanelServer extends TestServer {
  cpanelPort: number;
  webmailPort: number;
  /** A request to the cPanel listener (2083). */
  cp(path: string, opts?: CallOptions): Promise<Answer>;
  /** A request to the webmail listener (2096). */
  wm(path: string, opts?: CallOptions): Promise<Answer>;
}

export async function startCpanelServer(
  opts: TestEnvOptions = {},
  /** Collects every log line (pino at `debug`) of the cPanel listeners here. */
  logLines?: string[],
): Promise<CpanelServer> {
  const s = await startTestServer(opts);
  if (logLines) s.services.logger = pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) });
  const apps = buildApps(s.services, null);
  await apps.cpanel.listen({ host: '127.0.0.1', port: 0 });
  await apps.webmail.listen({ host: '127.0.0.1', port: 0 });
  const portOf = (a: typeof apps.cpanel) => {
    const addr = a.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  };
  const cpanelPort = portOf(apps.cpanel);
  const webmailPort = portOf(apps.webmail);
  const closeBase = s.close;
  return {
    ...s,
    cpanelPort,
    webmailPort,
    cp: (path, o) => rawCall(cpanelPort, path, o),
    wm: (path, o) => rawCall(webmailPort, path, o),
    async close() {
      await apps.cpanel.close();
      await apps.webmail.close();
      await apps.da.close();
      await apps.whm.close();
      await closeBase();
    },
  };
}

/** `Authorization: cpanel user:token`. */
export function tokenAuth(user: string, token: string): Record<string, string> {
  return { authorization: `cpanel ${user}:${token}` };
}

/** Creates a user account `name` (default package) through the DA API. */
export async function makeUser(s: CpanelServer, name: string, extra: Record<string, string> = {}) {
  await createAccount(s, 'user', name, extra);
}

/** Creates a cPanel token through UAPI with the account's password; fails the test on status 0. */
export async function makeToken(
  s: CpanelServer,
  user: string,
  name: string,
  params: Record<string, string> = {},
): Promise<string> {
  const r = await s.cp('/execute/Tokens/create_full_access', {
    auth: `${user}:${user}-Pass-123`,
    params: { name, ...params },
  });
  const j = r.json() as { status: number; data: { token: string } | null; errors: string[] | null };
  if (j.status !== 1 || !j.data) throw new Error(`token ${name} for ${user} failed: ${r.body}`);
  return j.data.token;
}

/** Every stored token row (for "nothing changed" checks). */
export async function tokenRows(s: CpanelServer): Promise<ApiToken[]> {
  return s.services.db.selectFrom('api_tokens').selectAll().orderBy('id').execute();
}

/** Parses a UAPI answer, asserting the byte-level rules: compact JSON, integer status, errors null or array. */
export function uapi(r: Answer): {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape each function answers
  data: any;
  errors: string[] | null;
  messages: string[] | null;
  warnings: string[] | null;
  metadata: Record<string, unknown>;
} {
  if (r.body.includes('": "') || r.body.includes('", "')) throw new Error(`not compact: ${r.body}`);
  const j = JSON.parse(r.body);
  if (Object.keys(j).join(',') !== 'data,errors,messages,metadata,status,warnings')
    throw new Error(`not the UAPI envelope: ${r.body}`);
  if (j.status !== 0 && j.status !== 1) throw new Error(`status not 0/1: ${r.body}`);
  if (j.errors !== null && !Array.isArray(j.errors)) throw new Error(`errors not null/array: ${r.body}`);
  if (j.status === 1 && j.errors !== null) throw new Error(`success with errors: ${r.body}`);
  if (j.status === 0 && (j.errors === null || j.errors.length === 0))
    throw new Error(`failure without errors: ${r.body}`);
  return j;
}
