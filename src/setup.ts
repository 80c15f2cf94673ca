import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import type { Config } from './config/config.js';
import { randomString } from './core/random.js';
import { countAll } from './modules/accounts/accounts.repository.js';
import { createFirstAdmin } from './modules/accounts/accounts.service.js';
import type { Services } from './services.js';

/** A start-up problem with a one-line explanation for the operator (no stack trace). */
export class SetupError extends Error {}

/** Creates the data directory if needed and proves it is writable. */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, '.write-test');
    writeFileSync(probe, '');
    writeFileSync(probe, 'ok');
  } catch (e) {
    throw new SetupError(
      `data directory ${dir} is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

export interface TlsFiles {
  key: string;
  cert: string;
}

export function tlsPaths(config: Config): { key: string; cert: string } {
  return { key: join(config.dataDir, 'tls', 'key.pem'), cert: join(config.dataDir, 'tls', 'cert.pem') };
}

/** Makes a self-signed certificate for the host name, localhost and loopback, unless one is there. */
export async function ensureTls(config: Config): Promise<boolean> {
  const p = tlsPaths(config);
  if (existsSync(p.key) && existsSync(p.cert)) return false;
  mkdirSync(join(config.dataDir, 'tls'), { recursive: true, mode: 0o700 });
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
  writeFileSync(p.key, pems.private, { mode: 0o600 });
  chmodSync(p.key, 0o600);
  writeFileSync(p.cert, pems.cert, { mode: 0o644 });
  return true;
}

export function readTls(config: Config): TlsFiles {
  const p = tlsPaths(config);
  try {
    return { key: readFileSync(p.key, 'utf8'), cert: readFileSync(p.cert, 'utf8') };
  } catch (e) {
    throw new SetupError(
      `cannot read the TLS certificate in ${join(config.dataDir, 'tls')}: ${(e as NodeJS.ErrnoException).code}; run "hostdeck init"`,
    );
  }
}

export interface InitResult {
  adminCreated: boolean;
  adminPassword?: string;
  tlsCreated: boolean;
}

/**
 * Idempotent set-up: data directory, certificate, database schema and, on an empty database, the `admin`
 * account (with the given password or a generated one, returned so the caller can print it once).
 */
export async function initialize(services: Services, adminPassword?: string): Promise<InitResult> {
  const tlsCreated = await ensureTls(services.config);
  if ((await countAll(services.db)) > 0) return { adminCreated: false, tlsCreated };
  const password = adminPassword ?? randomString(services.random, 20);
  await createFirstAdmin(
    services,
    'admin',
    `admin@${services.config.hostname.includes('.') ? services.config.hostname : 'localhost.localdomain'}`,
    password,
  );
  return { adminCreated: true, adminPassword: password, tlsCreated };
}
