/**
 * The certificate bundle checks on their own (modules/ssl/bundle.ts): key formats, block kinds, a chain
 * sent in any order, signatures, names and the transport damage a url-encoded `+` suffers.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { type BundleInput, splitPem, validateBundle } from '../../src/modules/ssl/bundle.js';
import {
  authority,
  closeCertWorkspace,
  fingerprintOf,
  type Issued,
  issued,
  openCertWorkspace,
  openssl,
  scratch,
  selfSigned,
} from './ssl-certs.js';

const NOW = Date.now();

/** The refusal `validateBundle` throws, as `CODE: details`. */
function refusal(input: BundleInput, domain: string, now = NOW): string {
  try {
    validateBundle(input, domain, now);
  } catch (e) {
    if (e instanceof AppError) return `${e.code}: ${e.details}`;
    throw e;
  }
  throw new Error('the bundle was accepted');
}

/** A certificate for `names` made for an existing key file (self-signed). */
async function certForKey(keyFile: string, subj: string, san?: string): Promise<string> {
  const out = scratch(`k-${Math.random().toString(36).slice(2)}.pem`);
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-subj',
    subj,
    '-days',
    '10',
    ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    '-out',
    out,
  );
  return readFileSync(out, 'utf8');
}

describe('certificate bundles', () => {
  let root: Issued;
  let mid: Issued;
  let leaf: Issued;

  beforeAll(async () => {
    openCertWorkspace();
    root = await authority('Bundle Root');
    mid = await issued(root, ['Bundle Intermediate'], 30, true);
    leaf = await issued(mid, ['example.com', 'www.example.com']);
  });
  afterAll(() => closeCertWorkspace());

  it('orders a chain sent in any order from the leaf upwards, the key anywhere', () => {
    const b = validateBundle(
      { combined: `${root.cert}${leaf.cert}${leaf.key}${mid.cert}` },
      'example.com',
      NOW,
    );
    expect(fingerprintOf(b.certPem)).toBe(fingerprintOf(leaf.cert));
    const chain = b.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(chain.map(fingerprintOf)).toEqual([fingerprintOf(mid.cert), fingerprintOf(root.cert)]);
    expect(b).toMatchObject({
      subject: 'example.com',
      names: ['example.com', 'www.example.com'],
      issuer: 'CN=Bundle Intermediate',
      fingerprint: fingerprintOf(leaf.cert),
    });
    expect(b.notAfter).toBeGreaterThan(NOW);
    expect(b.keyPem).toContain('PRIVATE KEY');
  });

  it('takes the parts in separate fields, CRLF line ends too', () => {
    const b = validateBundle(
      { key: leaf.key.replace(/\n/g, '\r\n'), cert: leaf.cert, chain: `${root.cert}\n\n${mid.cert}` },
      'www.example.com',
      NOW,
    );
    expect(b.fingerprint).toBe(fingerprintOf(leaf.cert));
  });

  it('refuses a chain certificate whose issuer name matches but whose signature is another key’s', async () => {
    // Same subject as the real intermediate, different key: the leaf does not verify with it.
    const impostor = await authority('Bundle Intermediate');
    expect(refusal({ combined: `${leaf.key}${leaf.cert}${impostor.cert}` }, 'example.com')).toMatch(
      /^INVALID_PARAMETER: (The signature of The certificate of example.com does not verify with its issuer|The certificate of Bundle Intermediate does not belong to the certificate's chain)$/,
    );
  });

  it('accepts RSA keys in PKCS#1 form and EC keys with their parameters block', async () => {
    const rsa = scratch('rsa.pem');
    await openssl('genrsa', '-traditional', '-out', rsa, '2048');
    expect(readFileSync(rsa, 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
    const rsaCert = await certForKey(rsa, '/CN=rsa.example.com', 'DNS:rsa.example.com');
    expect(
      validateBundle({ combined: `${readFileSync(rsa, 'utf8')}${rsaCert}` }, 'rsa.example.com', NOW).names,
    ).toEqual(['rsa.example.com']);

    const ec = await openssl('ecparam', '-name', 'prime256v1', '-genkey');
    expect(ec).toContain('BEGIN EC PARAMETERS');
    const ecFile = scratch('ec.pem');
    writeFileSync(ecFile, ec);
    const ecCert = await certForKey(ecFile, '/CN=ec.example.com', 'DNS:ec.example.com');
    expect(validateBundle({ combined: `${ec}${ecCert}` }, 'ec.example.com', NOW).subject).toBe(
      'ec.example.com',
    );
  });

  it('uses the common name only when there are no DNS alternative names', async () => {
    const cnOnly = await selfSigned(['cn.example.com']);
    // selfSigned always adds the SAN; make one without.
    const bare = await certForKey(cnOnly.keyFile, '/CN=cn.example.com');
    expect(validateBundle({ combined: `${cnOnly.key}${bare}` }, 'cn.example.com', NOW).names).toEqual([
      'cn.example.com',
    ]);
    const mixed = await certForKey(cnOnly.keyFile, '/CN=cn.example.com', 'DNS:alt.example.com');
    expect(refusal({ combined: `${cnOnly.key}${mixed}` }, 'cn.example.com')).toBe(
      'INVALID_PARAMETER: The certificate is not valid for cn.example.com; it covers alt.example.com',
    );
  });

  it('repairs base64 whose `+` became spaces in a url-encoded body', () => {
    const text = `${leaf.key}${leaf.cert}`;
    expect(text).toContain('+');
    const damaged = text.replace(/\+/g, ' ');
    expect(validateBundle({ combined: damaged }, 'example.com', NOW).fingerprint).toBe(
      fingerprintOf(leaf.cert),
    );
  });

  it('refuses an encrypted key, other block kinds, too many certificates and expiry', async () => {
    const enc = await openssl(
      'pkcs8',
      '-topk8',
      '-in',
      leaf.keyFile,
      '-passout',
      'pass:secret',
      '-v2',
      'aes-256-cbc',
    );
    expect(enc).toContain('ENCRYPTED PRIVATE KEY');
    expect(refusal({ combined: `${enc}${leaf.cert}` }, 'example.com')).toBe(
      'INVALID_PARAMETER: The private key is encrypted; send it without a passphrase',
    );
    const pub = await openssl('pkey', '-in', leaf.keyFile, '-pubout');
    expect(refusal({ combined: `${leaf.key}${leaf.cert}${pub}` }, 'example.com')).toBe(
      'INVALID_PARAMETER: certificate holds a PEM block of an unexpected kind (PUBLIC KEY)',
    );
    expect(refusal({ combined: `${leaf.key}${leaf.cert}`, chain: 'not a chain' }, 'example.com')).toBe(
      'INVALID_PARAMETER: cabundle holds text that is not a PEM block: "not a chain"',
    );
    expect(refusal({ combined: `${leaf.key}${leaf.cert.repeat(11)}` }, 'example.com')).toBe(
      'INVALID_PARAMETER: At most 10 certificates may be sent',
    );
    const later = Date.parse(new X509Certificate(leaf.cert).validTo) + 1000;
    expect(refusal({ combined: `${leaf.key}${leaf.cert}${mid.cert}` }, 'example.com', later)).toMatch(
      /^INVALID_PARAMETER: The certificate expired on /,
    );
  });

  it('refuses a flood of unterminated blocks at once', () => {
    const flood = '-----BEGIN CERTIFICATE-----\n'.repeat(10_000);
    const started = performance.now();
    expect(refusal({ combined: flood }, 'example.com')).toBe(
      'INVALID_PARAMETER: certificate holds more than 16 PEM blocks',
    );
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('never echoes key material in a refusal', () => {
    const line = leaf.key.split('\n')[1] ?? '';
    const text = refusal({ combined: `${leaf.key}${line}\n${leaf.cert}` }, 'example.com');
    expect(text).toBe('INVALID_PARAMETER: certificate holds text that is not a PEM block: (not shown)');
    expect(text).not.toContain(line.slice(0, 8));
  });

  it('splitPem keeps blocks in order and drops blank text', () => {
    const blocks = splitPem(`\n${mid.cert}\n\n${leaf.cert}  \n`, 'x');
    expect(blocks.map((b) => fingerprintOf(b.pem))).toEqual([
      fingerprintOf(mid.cert),
      fingerprintOf(leaf.cert),
    ]);
  });
});
