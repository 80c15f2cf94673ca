import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Encrypts and decrypts the login keys of remote servers, which must be sent and so cannot be digests. */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

const VERSION = 'v1';
// Binds every sealed value to its use: a value moved to another column or table does not open.
const AAD = Buffer.from('hostdeck cluster_remotes.secret_enc', 'utf8');

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from the installation secret: a copy of the database
 * alone does not reveal the remotes' login keys, and the data-dir secret already guards the login-key
 * digests. Sealed form: `v1.<base64url(iv ‖ tag ‖ ciphertext)>`, a fresh 96-bit IV each time.
 */
export function secretBox(installationSecret: Buffer): SecretBox {
  const key = Buffer.from(
    hkdfSync('sha256', installationSecret, Buffer.alloc(0), 'hostdeck cluster remote login key', 32),
  );
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(AAD);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `${VERSION}.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
    },
    open(sealed) {
      const [version, data] = sealed.split('.');
      if (version !== VERSION || !data) throw new Error('a remote server secret is not in a known format');
      const raw = Buffer.from(data, 'base64url');
      if (raw.length < 28) throw new Error('a remote server secret is damaged');
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAAD(AAD);
      d.setAuthTag(raw.subarray(12, 28));
      try {
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      } catch {
        // A different installation secret (HOSTDECK_SECRET changed, secret.key replaced) lands here.
        throw new Error('a remote server secret cannot be decrypted with this installation secret');
      }
    },
  };
}
