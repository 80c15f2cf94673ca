import { z } from 'zod';
import type { Actor } from '../../auth/actor.js';
import { assertDomainInScope } from '../../auth/scope.js';
import { validateDomain } from '../../core/validation.js';
import { defineCommand } from '../../registry/registry.js';
import * as svc from './ssl.service.js';

const domain = z.string().max(300);
// PEM texts: a 4096-bit RSA key with a four-certificate chain is about 10 kB.
const pem = z.string().max(200_000).optional();
const bundle = z.object({ combined: pem, key: pem, cert: pem, chain: pem }).strict();

/** A domain named in a request must be inside the credential's scope; checked before a use is spent. */
function inScope(ctx: { actor: Actor }, i: { domain: string }): void {
  let name: string;
  try {
    name = validateDomain(i.domain);
  } catch {
    // The service answers a malformed name like a missing domain.
    return;
  }
  assertDomainInScope(ctx.actor, name);
}

/** Certificate commands: install, list, show and delete for the caller's domains; install for managed ones. */
export const sslCommands = [
  defineCommand({
    id: 'ssl.install',
    level: 'user',
    summary: 'Install a certificate for a domain',
    mutates: true,
    input: z.object({ domain, bundle }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.installCertificate(services, actor, i.domain, i.bundle),
  }),
  defineCommand({
    id: 'ssl.install.managed',
    level: 'reseller',
    summary: 'Install a certificate for a domain of an account you manage',
    mutates: true,
    input: z.object({ domain, bundle }),
    authorize: inScope,
    run: ({ services, actor }, i) =>
      svc.installCertificate(services, actor, i.domain, i.bundle, { managed: true }),
  }),
  defineCommand({
    id: 'ssl.list',
    level: 'user',
    summary: 'List the certificates of your domains',
    mutates: false,
    input: z.object({}),
    run: ({ services, actor }) => svc.listCertificates(services, actor),
  }),
  defineCommand({
    id: 'ssl.show',
    level: 'user',
    summary: 'Show the certificate of a domain',
    mutates: false,
    input: z.object({ domain }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.showCertificate(services, actor, i.domain),
  }),
  defineCommand({
    id: 'ssl.delete',
    level: 'user',
    summary: 'Remove the certificate of a domain',
    mutates: true,
    input: z.object({ domain }),
    authorize: inScope,
    run: ({ services, actor }, i) => svc.deleteCertificate(services, actor, i.domain),
  }),
];
