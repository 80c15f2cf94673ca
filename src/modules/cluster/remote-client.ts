import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How to reach one remote server's DirectAdmin API. */
export interface RemoteTarget {
  host: string;
  port: number;
  username: string;
  /** The login key (or password); sent as Basic credentials, never logged. */
  secret: string;
  ssl: boolean;
  /** Check the remote's certificate; off accepts a self-signed one, as DirectAdmin does. */
  verifyTls: boolean;
}

/** A failure to get an answer at all (refused, timed out, TLS), as opposed to an error answer. */
export class RemoteUnreachable extends Error {}

/** An answer with `error=1`, or an HTTP error status. */
export class RemoteRefused extends Error {}

const MAX_ANSWER = 1 << 20;

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The place of a remote in messages: never its credentials. */
export function describe(t: Pick<RemoteTarget, 'host' | 'port' | 'ssl'>): string {
  return `${t.ssl ? 'https' : 'http'}://${hostForUrl(t.host)}:${t.port}`;
}

/** Decodes a DirectAdmin url-encoded answer (last value per key). */
export function parseDaAnswer(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, eq).replace(/\+/g, ' '))] = decodeURIComponent(
        part.slice(eq + 1).replace(/\+/g, ' '),
      );
    } catch {
      // A malformed pair is skipped; the caller decides from the keys it needs.
    }
  }
  return out;
}

/**
 * Calls one DirectAdmin API command on a remote: `query` in the URL, `body` (if any) as the POST body.
 * Bounded by `timeoutMs` from connect to the last byte. Resolves with the decoded answer when it says
 * `error=0` (or has no error key), throws RemoteRefused for an error answer and RemoteUnreachable when
 * there is none.
 */
export function callRemote(
  t: RemoteTarget,
  command: string,
  query: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<Record<string, string>> {
  const path = `/${command}?${new URLSearchParams(query).toString()}`;
  const headers: Record<string, string> = {
    authorization: `Basic ${Buffer.from(`${t.username}:${t.secret}`, 'utf8').toString('base64')}`,
    'user-agent': 'hostdeck-multi-server',
  };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body, 'utf8'));
  }
  const where = describe(t);
  return new Promise((resolve, reject) => {
    const options = {
      host: t.host,
      port: t.port,
      path,
      method: body === undefined ? 'GET' : 'POST',
      headers,
      agent: false as const,
      timeout: timeoutMs,
    };
    const onAnswer = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) {
          req.destroy(new RemoteUnreachable(`${where} sent an answer over ${MAX_ANSWER} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('error', (e) => reject(new RemoteUnreachable(`${where}: ${e.message}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        const pairs = parseDaAnswer(text);
        if (status === 401 || status === 403)
          return reject(
            new RemoteRefused(`${where} refused the login (HTTP ${status}): check the user and login key`),
          );
        if (pairs.error !== undefined && pairs.error !== '0') {
          const why = [pairs.text, pairs.details].filter(Boolean).join(': ') || 'error=1';
          return reject(new RemoteRefused(`${where} answered ${command}: ${why}`));
        }
        if (status < 200 || status >= 300)
          return reject(new RemoteRefused(`${where} answered ${command} with HTTP ${status}`));
        if (pairs.error === undefined && !Object.keys(pairs).length)
          return reject(
            new RemoteRefused(`${where} answered ${command} with something that is not a DirectAdmin answer`),
          );
        resolve(pairs);
      });
    };
    const req = t.ssl
      ? httpsRequest({ ...options, rejectUnauthorized: t.verifyTls }, onAnswer)
      : httpRequest(options, onAnswer);
    // The socket timeout covers idle time; the overall timer bounds a remote that trickles bytes.
    const overall = setTimeout(
      () => req.destroy(new RemoteUnreachable(`${where}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('timeout', () => req.destroy(new RemoteUnreachable(`${where}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => {
      clearTimeout(overall);
      reject(e instanceof RemoteUnreachable ? e : new RemoteUnreachable(`${where}: ${e.message}`));
    });
    req.on('close', () => clearTimeout(overall));
    req.end(body);
  });
}
