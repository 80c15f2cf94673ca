import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The installation's secret: the key of the keyed digests under which login keys are stored, so a copy
 * of the database alone does not let anyone test guesses. It lives in `<data-dir>/secret.key` (mode
 * 600), made on first start; every API node sharing a database must have the same one (copy the file, or
 * set HOSTDECK_SECRET to its 64 hex characters).
 */
export function loadSecret(dataDir: string, fromEnv?: string): Buffer {
  if (fromEnv) {
    if (!/^[0-9a-f]{64}$/i.test(fromEnv))
      throw new Error('HOSTDECK_SECRET must be 64 hexadecimal characters');
    return Buffer.from(fromEnv, 'hex');
  }
  const path = join(dataDir, 'secret.key');
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(text))
      throw new Error(`${path} is damaged: it must hold 64 hexadecimal characters`);
    return Buffer.from(text, 'hex');
  }
  const secret = randomBytes(32);
  writeFileSync(path, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return secret;
}

/** The stored form of a login-key value: HMAC-SHA256 under the installation secret, base64url. */
export function keyDigester(secret: Buffer): (value: string) => string {
  return (value) => createHmac('sha256', secret).update(value, 'utf8').digest('base64url');
}
