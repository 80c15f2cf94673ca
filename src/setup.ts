import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import selfsigned from 'selfsigned';
import type { Config } from './config/config.js';
import { randomString } from './core/random.js';
import { validateDomain, validateNewPassword } from './core/validation.js';
import { countAll } from './modules/accounts/accounts.repository.js';
import { createFirstAdmin } from './modules/accounts/accounts.service.js';
import { createServices, type Services } from './services.js';

/** A start-up problem with a one-line explanation for the operator (no stack trace). */
export class SetupError extends Error {}

/** Operator-facing words for the file-system errors a data directory meets. */
function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file, not a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EEXIST: 'a file is in the way',
    ENOENT: 'no such file or directory',
    EISDIR: 'it is a directory',
  };
  return code ? `${why[code] ?? (e as Error).message} (${code})` : (e as Error).message;
}

/** Creates the data directory if needed and proves it is writable (by writing, not by asking). */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe, { force: true });
  } catch (e) {
    throw new SetupError(`data directory ${dir} is not writable: ${fsReason(e)}`);
  }
}

/** The database URL with any password masked, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/**
 * Opens the database and runs migrations, turning every failure (refused connection, unknown host, bad
 * credentials, a migration error) into one line for the operator.
 */
export async function openServices(config: Config): Promise<Services> {
  try {
    return await createServices(config);
  } catch (e) {
    const err = e as Error & { code?: string };
    const reason = (err.message || String(e)).replace(/\s*\n\s*/g, ' ');
    const code = err.code && !reason.includes(err.code) ? ` (${err.code})` : '';
    throw new SetupError(`cannot open the database ${redactUrl(config.databaseUrl)}: ${reason}${code}`);
  }
}

export interface TlsFiles {
  key: string;
  cert: string;
}

export function tlsPaths(config: Config): { key: string; cert: string } {
  return { key: join(config.dataDir, 'tls', 'key.pem'), cert: join(config.dataDir, 'tls', 'cert.pem') };
}

/**
 * Makes a self-signed certificate for the host name, localhost and loopback when neither file is there.
 * A lone key or a lone certificate is an operator's half-finished change: refuse rather than overwrite it.
 */
export async function ensureTls(config: Config): Promise<boolean> {
  const p = tlsPaths(config);
  const hasKey = existsSync(p.key);
  const hasCert = existsSync(p.cert);
  if (hasKey && hasCert) return false;
  if (hasKey || hasCert)
    throw new SetupError(
      `${hasKey ? p.cert : p.key} is missing beside ${hasKey ? p.key : p.cert}: put it back, or remove both to have a new self-signed certificate made`,
    );
  try {
    mkdirSync(join(config.dataDir, 'tls'), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new SetupError(`cannot create ${join(config.dataDir, 'tls')}: ${fsReason(e)}`);
  }
  const names = [...new Set([config.hostname, 'localhost'])].filter((n) => isIP(n) === 0);
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  const pems = await selfsigned.generate([{ name: 'commonName', value: config.hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  // The key is written with mode 600 from its first byte; chmod covers a umask that would widen nothing
  // but a pre-existing file would keep its old mode.
  writeFileSync(p.key, pems.private, { mode: 0o600 });
  chmodSync(p.key, 0o600);
  writeFileSync(p.cert, pems.cert, { mode: 0o644 });
  return true;
}

/** Reads the key and certificate and proves OpenSSL accepts them as a pair, so serve fails before listening. */
export function readTls(config: Config): TlsFiles {
  const p = tlsPaths(config);
  const dir = join(config.dataDir, 'tls');
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new SetupError(
        `cannot read the TLS certificate ${file}: ${fsReason(e)}; run "hostdeck init" to make one, or serve with --no-tls`,
      );
    }
  };
  const files: TlsFiles = { key: read(p.key), cert: read(p.cert) };
  try {
    createSecureContext({ key: files.key, cert: files.cert });
  } catch (e) {
    throw new SetupError(
      `the TLS key and certificate in ${dir} are not usable: ${(e as Error).message}; remove both and run "hostdeck init" for a new self-signed one`,
    );
  }
  return files;
}

export interface InitResult {
  adminCreated: boolean;
  adminPassword?: string;
  tlsCreated: boolean;
}

/** The first admin's contact address: at the host name when that makes a valid domain. */
function adminEmail(hostname: string): string {
  if (hostname.includes('.')) {
    try {
      return `admin@${validateDomain(hostname)}`;
    } catch {
      // A host name like `my_box.lan` is no mail domain; fall through.
    }
  }
  return 'admin@localhost.localdomain';
}

/** The SQLite database holds password hashes: readable by the owner only (WAL and SHM files inherit its mode). */
function protectSqliteFile(config: Config): void {
  if (!config.databaseUrl.startsWith('sqlite:')) return;
  const path = config.databaseUrl.slice('sqlite:'.length);
  if (path === ':memory:') return;
  for (const f of [path, `${path}-wal`, `${path}-shm`])
    if (existsSync(f)) {
      try {
        chmodSync(f, 0o600);
      } catch {
        // Not ours to change (another owner); the directory's mode still guards it.
      }
    }
}

/**
 * Idempotent set-up: data directory, certificate, database schema and, on an empty database, the `admin`
 * account (with the given password or a generated one, returned so the caller can print it once).
 * `tls: false` leaves the certificate alone (serve checks it itself, and not at all without TLS).
 */
export async function initialize(
  services: Services,
  adminPassword?: string,
  opts: { tls?: boolean } = {},
): Promise<InitResult> {
  const empty = (await countAll(services.db)) === 0;
  // Refuse a bad password before anything is written, so a failed init leaves nothing half made.
  if (empty && adminPassword !== undefined) validateNewPassword(adminPassword);
  const tlsCreated = opts.tls === false ? false : await ensureTls(services.config);
  protectSqliteFile(services.config);
  if (!empty) return { adminCreated: false, tlsCreated };
  const password = adminPassword ?? randomString(services.random, 20);
  await createFirstAdmin(services, 'admin', adminEmail(services.config.hostname), password);
  return { adminCreated: true, adminPassword: password, tlsCreated };
}
