/**
 * Keys and certificates for the certificate tests, made with the openssl command line in a scratch
 * directory: EC P-256 keys, self-signed certificates, a CA and certificates it issues.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

let dir = '';
let n = 0;

/** Runs openssl in the scratch directory; returns stdout. */
export async function openssl(...args: string[]): Promise<string> {
  return (await run('openssl', args, { cwd: dir })).stdout;
}

/** A fresh P-256 private key (PEM) and the file it is in. */
export async function newKey(): Promise<{ pem: string; file: string }> {
  const file = join(dir, `k${++n}.pem`);
  await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  return { pem: readFileSync(file, 'utf8'), file };
}

export interface Issued {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

/** A self-signed certificate for `names` (the first is the CN), valid `days` from now. */
export async function selfSigned(names: string[], days = 30): Promise<Issued> {
  const k = await newKey();
  const certFile = join(dir, `c${++n}.pem`);
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    k.file,
    '-subj',
    `/CN=${names[0]}`,
    '-days',
    String(days),
    '-addext',
    `subjectAltName=${names.map((x) => `DNS:${x}`).join(',')}`,
    '-out',
    certFile,
  );
  return { key: k.pem, cert: readFileSync(certFile, 'utf8'), keyFile: k.file, certFile };
}

/** A certification authority (self-signed, CA:TRUE). */
export async function authority(name: string): Promise<Issued> {
  const k = await newKey();
  const certFile = join(dir, `c${++n}.pem`);
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    k.file,
    '-subj',
    `/CN=${name}`,
    '-days',
    '60',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    certFile,
  );
  return { key: k.pem, cert: readFileSync(certFile, 'utf8'), keyFile: k.file, certFile };
}

/** A certificate for `names` issued by `ca` (an intermediate authority with `asCa`). */
export async function issued(ca: Issued, names: string[], days = 30, asCa = false): Promise<Issued> {
  const k = await newKey();
  const csr = join(dir, `r${++n}.csr`);
  const ext = join(dir, `e${n}.ext`);
  const certFile = join(dir, `c${n}.pem`);
  writeFileSync(
    ext,
    asCa
      ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
      : `subjectAltName=${names.map((x) => `DNS:${x}`).join(',')}\n`,
  );
  await openssl('req', '-new', '-key', k.file, '-subj', `/CN=${names[0]}`, '-out', csr);
  await openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    String(1000 + n),
    '-days',
    String(days),
    '-extfile',
    ext,
    '-out',
    certFile,
  );
  return { key: k.pem, cert: readFileSync(certFile, 'utf8'), keyFile: k.file, certFile };
}

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** A path in the scratch directory. */
export function scratch(name: string): string {
  return join(dir, name);
}

/** Opens the scratch directory the helpers write to. */
export function openCertWorkspace(): void {
  dir = mkdtempSync(join(tmpdir(), 'hostdeck-ssl-'));
}

/** Removes the scratch directory. */
export function closeCertWorkspace(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
}
