import { fail } from '../../core/errors.js';
import type { CertificateInfo } from '../../modules/ssl/ssl.service.js';
import { type DaCommand, exec, need } from './context.js';
import { encodePairs } from './encode.js';

const secs = (ms: number) => String(Math.floor(ms / 1000));

/** A certificate in DA's flat form: names comma-separated, times in epoch seconds, the chain as `cacert`. */
function flat(c: CertificateInfo, withPem: boolean): Record<string, string> {
  return {
    domain: c.domain,
    subject: c.subject,
    names: c.names.join(','),
    issuer: c.issuer,
    not_before: secs(c.notBefore),
    not_after: secs(c.notAfter),
    fingerprint: c.fingerprint,
    ...(withPem ? { certificate: c.certificate, cacert: c.chain } : {}),
  };
}

/** The JSON form: the same fields, names as a list. */
function jsonOf(c: CertificateInfo, withPem: boolean): Record<string, unknown> {
  return { ...flat(c, withPem), names: c.names };
}

/**
 * CMD_API_SSL. `action=save&type=paste` installs the key and certificate sent together in `certificate`
 * (acme.sh's deploy hook posts them as JSON), or apart in `key` and `certificate`, with an optional
 * chain in `cacert`. With `domain` and no action it shows the installed certificate (never the key);
 * with neither it lists the account's certificates; `action=delete` removes one.
 */
export const sslCommand: DaCommand = {
  uses: ['ssl.install', 'ssl.show', 'ssl.list', 'ssl.delete'],
  async run(ctx) {
    const p = ctx.params;
    const action = (p.get('action') ?? '').toLowerCase();
    if (action === 'save') {
      const domain = need(p, 'domain');
      const type = (p.get('type') ?? 'paste').toLowerCase();
      if (type !== 'paste') fail('INVALID_PARAMETER', 'type must be paste');
      const bundle: Record<string, string> = { combined: need(p, 'certificate') };
      const key = p.get('key');
      if (key) bundle.key = key;
      const cacert = p.get('cacert');
      if (cacert) bundle.chain = cacert;
      await exec(ctx, 'ssl.install', { domain, bundle });
      return { kind: 'action', text: 'Certificate and Key Saved.', details: '' };
    }
    if (action === 'delete') {
      await exec(ctx, 'ssl.delete', { domain: need(p, 'domain') });
      return { kind: 'action', text: 'Certificate and Key Deleted.', details: '' };
    }
    if (action !== '' && action !== 'view')
      fail('INVALID_PARAMETER', 'action must be save (with type=paste) or delete');
    const domain = p.get('domain');
    if (domain) {
      const c = await exec<CertificateInfo>(ctx, 'ssl.show', { domain });
      return { kind: 'record', data: flat(c, true), json: jsonOf(c, true) };
    }
    const all = await exec<CertificateInfo[]>(ctx, 'ssl.list', {});
    const data: Record<string, string> = {};
    for (const c of all) data[c.domain] = encodePairs(Object.entries(flat(c, false)));
    return { kind: 'record', data, json: all.map((c) => jsonOf(c, false)) };
  },
};
