import { isAppError } from '../../core/errors.js';
import type { CertificateInfo } from '../../modules/ssl/ssl.service.js';
import type { Api2Function } from './api2.js';
import { exec, opt, required } from './call.js';
import type { UapiContext, UapiFunction } from './uapi.js';

/*
 * cPanel's SSL functions (spec 4.7): UAPI SSL::install_ssl, SSL::list_certs, SSL::delete_ssl and API 2
 * SSL::installssl. Only types come from uapi.ts and api2.ts, so their function tables can include these
 * without a cycle at load time.
 */

const secs = (ms: number) => Math.floor(ms / 1000);

/** cPanel's certificate id shape: the domain with underscores, a fingerprint part and the expiry. */
function certId(c: CertificateInfo): string {
  return `${c.domain.replace(/[.-]/g, '_')}_${c.fingerprint.replace(/:/g, '').slice(0, 10).toLowerCase()}_${secs(c.notAfter)}`;
}

function keyId(c: CertificateInfo): string {
  return `${c.fingerprint.replace(/:/g, '').slice(-10).toLowerCase()}_${secs(c.createdAt)}`;
}

/** Installs for the request's account; `certParam` is `cert` (UAPI) or `crt` (API 2). */
function install(ctx: UapiContext, certParam: string): Promise<CertificateInfo> {
  const p = ctx.params;
  const bundle: Record<string, string> = {};
  const cert = opt(p, certParam);
  const key = opt(p, 'key');
  const chain = opt(p, 'cabundle');
  if (cert !== undefined) bundle.cert = cert;
  if (key !== undefined) bundle.key = key;
  if (chain !== undefined) bundle.chain = chain;
  return exec<CertificateInfo>(ctx, 'ssl.install', { domain: required(p, 'domain'), bundle });
}

function installedText(c: CertificateInfo): string {
  return `The SSL certificate is now installed onto the domain “${c.domain}” using the IP address “”.`;
}

/** Names of the installed domain the certificate serves, and the other names it also covers. */
function coverage(c: CertificateInfo): { working: string[]; extra: string[] } {
  const matches = (pattern: string, host: string) => {
    if (pattern === host) return true;
    if (!pattern.startsWith('*.')) return false;
    // A wildcard stands for exactly one label.
    const suffix = pattern.slice(1);
    const label = host.slice(0, -suffix.length);
    return host.endsWith(suffix) && label !== '' && !label.includes('.');
  };
  const working = [c.domain, `www.${c.domain}`].filter((h) => c.names.some((n) => matches(n, h)));
  return { working, extra: c.names.filter((n) => !working.includes(n)) };
}

/** SSL::list_certs' record of one certificate. */
function listed(c: CertificateInfo): Record<string, unknown> {
  return {
    id: certId(c),
    domain: c.domain,
    domains: c.names,
    fingerprint: c.fingerprint,
    'issuer.commonName': /CN=([^,]*)/.exec(c.issuer)?.[1] ?? '',
    issuer_text: c.issuer,
    is_self_signed: c.chain === '' && c.issuer.endsWith(`CN=${c.subject}`) ? 1 : 0,
    not_after: secs(c.notAfter),
    not_before: secs(c.notBefore),
    'subject.commonName': c.subject,
  };
}

/** The UAPI SSL functions. */
export const SSL_UAPI_FUNCTIONS: Record<string, UapiFunction> = {
  'SSL::install_ssl': {
    uses: ['ssl.install'],
    mutates: true,
    async run(ctx) {
      const c = await install(ctx, 'cert');
      const text = installedText(c);
      const { working, extra } = coverage(c);
      return {
        data: {
          action: 'install',
          cert_id: certId(c),
          domain: c.domain,
          extra_certificate_domains: extra,
          html: text,
          ip: ctx.actor.account.ip,
          key_id: keyId(c),
          message: text,
          statusmsg: text,
          user: ctx.actor.account.username,
          warning_domains: [],
          working_domains: working,
        },
      };
    },
  },
  'SSL::list_certs': {
    uses: ['ssl.list'],
    mutates: false,
    async run(ctx) {
      return { data: (await exec<CertificateInfo[]>(ctx, 'ssl.list', {})).map(listed) };
    },
  },
  'SSL::delete_ssl': {
    uses: ['ssl.delete'],
    mutates: true,
    async run(ctx) {
      await exec(ctx, 'ssl.delete', { domain: required(ctx.params, 'domain') });
      return { data: null };
    },
  },
};

/** The API 2 SSL functions. */
export const SSL_API2_FUNCTIONS: Record<string, Api2Function> = {
  'SSL::installssl': {
    uses: ['ssl.install'],
    mutates: true,
    async run(ctx) {
      // API 2 clients read `data[0].result` and, when it is 0, `data[0].output`.
      try {
        const c = await install(ctx, 'crt');
        return [{ result: 1, output: installedText(c), domain: c.domain, cert_id: certId(c) }];
      } catch (e) {
        if (isAppError(e)) return [{ result: 0, output: e.details || e.text }];
        throw e;
      }
    },
  },
};
