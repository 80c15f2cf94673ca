import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { fail } from '../../core/errors.js';

/**
 * Certificate bundles as clients send them: PEM blocks of one private key, the domain's certificate and
 * its chain, in one text or in separate fields, in any order. Everything here is pure: the caller gives
 * the time and the domain, and gets the validated parts or an INVALID_PARAMETER saying what is wrong.
 */

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`…) and its text from BEGIN to END. */
export interface PemBlock {
  label: string;
  pem: string;
}

/** The parts of a certificate installation, each a text of PEM blocks (any may be empty). */
export interface BundleInput {
  /** Key, certificate and chain together (DirectAdmin's `certificate`). */
  combined?: string;
  key?: string;
  cert?: string;
  chain?: string;
}

/** A validated installation: the key, the certificate for the domain and its chain, issuer first. */
export interface ValidBundle {
  keyPem: string;
  certPem: string;
  chainPem: string;
  subject: string;
  names: string[];
  issuer: string;
  notBefore: number;
  notAfter: number;
  fingerprint: string;
}

const MAX_CERTIFICATES = 10;
const MAX_BLOCKS = 16;
const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);
// `openssl ecparam -genkey` writes the curve's parameters before the key; they carry nothing of ours.
const IGNORED_LABELS = new Set(['EC PARAMETERS']);

/**
 * The PEM blocks of `text`, refusing anything else in it: text outside the blocks other than blank
 * lines would be a part the caller meant to send and that would silently not be installed.
 */
export function splitPem(text: string, what: string): PemBlock[] {
  const t = text.replace(/\r\n?/g, '\n');
  // Each BEGIN is matched against the rest of the text: bounding them keeps hostile input linear.
  if (t.split('-----BEGIN ').length - 1 > MAX_BLOCKS)
    fail('INVALID_PARAMETER', `${what} holds more than ${MAX_BLOCKS} PEM blocks`);
  const blocks: PemBlock[] = [];
  let rest = '';
  let at = 0;
  for (const m of t.matchAll(BLOCK_RE)) {
    rest += t.slice(at, m.index);
    at = (m.index ?? 0) + m[0].length;
    const label = m[1] as string;
    // A url-encoded body whose `+` was not escaped arrives with spaces inside the base64; base64 has no
    // spaces, so putting the `+` back only repairs what the transport broke.
    const body = (m[2] as string).replace(/ /g, '+');
    blocks.push({ label, pem: `-----BEGIN ${label}-----\n${body.trim()}\n-----END ${label}-----\n` });
  }
  rest += t.slice(at);
  if (rest.trim() !== '')
    fail('INVALID_PARAMETER', `${what} holds text that is not a PEM block: ${preview(rest.trim())}`);
  return blocks.filter((b) => !IGNORED_LABELS.has(b.label));
}

function preview(s: string): string {
  const line = s.split('\n')[0] ?? '';
  // Never echo what could be key material: base64, anything long, anything naming a key.
  if (line.length > 40 || /^[A-Za-z0-9+/=]+$/.test(line) || /PRIVATE|KEY/i.test(line)) return '(not shown)';
  return JSON.stringify(line);
}

function parseKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MISSING_PASSPHRASE')
      return fail('INVALID_PARAMETER', 'The private key is encrypted; send it without a passphrase');
    return fail('INVALID_PARAMETER', 'The private key could not be read');
  }
}

function parseCert(pem: string, n: number): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    return fail('INVALID_PARAMETER', `Certificate ${n} could not be read as an X.509 certificate`);
  }
}

/** `C=US\nO=Org\nCN=name` as one line. */
function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

function commonName(dn: string): string {
  for (const part of dn.split('\n')) if (part.startsWith('CN=')) return part.slice(3);
  return '';
}

/** The DNS names a certificate covers: its DNS subject alternative names, else its common name. */
export function dnsNames(cert: X509Certificate): string[] {
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (names.length > 0) return names;
  const cn = commonName(cert.subject).toLowerCase();
  return cn ? [cn] : [];
}

/** True when `cert` is valid for host `name` (subject alternative names or common name, wildcards). */
export function covers(cert: X509Certificate, name: string): boolean {
  return cert.checkHost(name) !== undefined;
}

/**
 * Checks an installation for `domain` at time `now`: exactly one private key; a certificate whose
 * public key is that key's, valid now and for the domain; every other block a certificate that parses
 * and belongs to that certificate's chain of issuers, each signature verified.
 */
export function validateBundle(input: BundleInput, domain: string, now: number): ValidBundle {
  const keys: PemBlock[] = [];
  const certs: PemBlock[] = [];
  const fields: [keyof BundleInput, string][] = [
    ['combined', 'certificate'],
    ['key', 'key'],
    ['cert', 'cert'],
    ['chain', 'cabundle'],
  ];
  for (const [field, what] of fields) {
    const text = input[field];
    if (text === undefined || text.trim() === '') continue;
    const blocks = splitPem(text, what);
    if (blocks.length === 0) fail('INVALID_PARAMETER', `${what} holds no PEM block`);
    for (const b of blocks) {
      if (KEY_LABELS.has(b.label)) keys.push(b);
      else if (b.label === 'CERTIFICATE') certs.push(b);
      else if (b.label === 'ENCRYPTED PRIVATE KEY')
        fail('INVALID_PARAMETER', 'The private key is encrypted; send it without a passphrase');
      else fail('INVALID_PARAMETER', `${what} holds a PEM block of an unexpected kind (${b.label})`);
    }
  }
  if (keys.length === 0) fail('MISSING_PARAMETER', 'No private key was sent');
  if (keys.length > 1) fail('INVALID_PARAMETER', 'More than one private key was sent');
  if (certs.length === 0) fail('MISSING_PARAMETER', 'No certificate was sent');
  if (certs.length > MAX_CERTIFICATES)
    fail('INVALID_PARAMETER', `At most ${MAX_CERTIFICATES} certificates may be sent`);
  const keyBlock = keys[0] as PemBlock;
  const key = parseKey(keyBlock.pem);
  if (key.type !== 'private') fail('INVALID_PARAMETER', 'The private key could not be read');
  // Parse every block first: a chain block that is not a certificate is refused whatever else is wrong.
  const parsed = certs.map((c, i) => ({ pem: c.pem, x: parseCert(c.pem, i + 1) }));

  // The domain's certificate is the one made for this key, wherever it stands in what was sent.
  const leafIndex = parsed.findIndex((c) => c.x.checkPrivateKey(key));
  if (leafIndex < 0) fail('INVALID_PARAMETER', 'The private key does not match the certificate');
  const leaf = parsed[leafIndex] as { pem: string; x: X509Certificate };
  const rest = parsed.filter((_, i) => i !== leafIndex);

  const notBefore = Date.parse(leaf.x.validFrom);
  const notAfter = Date.parse(leaf.x.validTo);
  if (!(notAfter > now)) fail('INVALID_PARAMETER', `The certificate expired on ${leaf.x.validTo}`);
  if (!covers(leaf.x, domain))
    fail(
      'INVALID_PARAMETER',
      `The certificate is not valid for ${domain}; it covers ${dnsNames(leaf.x).join(', ') || 'no name'}`,
    );

  // Order the chain from the leaf's issuer upwards; a certificate that is no issuer in it is refused.
  const chain: X509Certificate[] = [];
  const chainPems: string[] = [];
  let current = leaf.x;
  while (rest.length > 0) {
    const i = rest.findIndex((c) => current.checkIssued(c.x));
    if (i < 0) break;
    const issuer = rest[i] as { pem: string; x: X509Certificate };
    if (!current.verify(issuer.x.publicKey))
      fail('INVALID_PARAMETER', `The signature of ${describe(current)} does not verify with its issuer`);
    rest.splice(i, 1);
    chain.push(issuer.x);
    chainPems.push(issuer.pem);
    if (issuer.x.checkIssued(issuer.x)) break;
    current = issuer.x;
  }
  if (rest.length > 0)
    fail(
      'INVALID_PARAMETER',
      `${describe((rest[0] as { x: X509Certificate }).x)} does not belong to the certificate's chain`,
    );

  return {
    keyPem: keyBlock.pem,
    certPem: leaf.pem,
    chainPem: chainPems.join(''),
    subject: commonName(leaf.x.subject),
    names: dnsNames(leaf.x),
    issuer: oneLine(leaf.x.issuer),
    notBefore,
    notAfter,
    fingerprint: leaf.x.fingerprint256,
  };
}

function describe(c: X509Certificate): string {
  const cn = commonName(c.subject);
  return cn ? `The certificate of ${cn}` : 'A certificate';
}
