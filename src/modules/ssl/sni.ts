import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../db/database.js';
import { covers } from './bundle.js';
import { servingCertificates } from './ssl.repository.js';

interface Entry {
  at: number;
  context: SecureContext | null;
  fingerprint: string;
}

type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

const HOST_RE = /^[a-z0-9_*-]+(\.[a-z0-9_-]+)*$/;
/** Names looked up from handshakes are the client's choice: a bound keeps a flood of them from growing memory. */
const MAX_ENTRIES = 10_000;

/**
 * The installed certificates as TLS contexts for SNI, by server name. An answer (also "none") is kept
 * for `maxAgeMs`, so another node's change is seen within that time; a change made through this node's
 * services calls `invalidate()` and is served at the next handshake. A context is rebuilt only when the
 * certificate's fingerprint changed.
 */
export class CertificateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<SecureContext | null>>();
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly maxAgeMs = 30_000,
  ) {}

  /** Forgets every cached answer (a certificate was installed or removed). */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.pending.clear();
  }

  /** The context serving `servername`, or null when no installed certificate covers it. */
  contextFor(servername: string): Promise<SecureContext | null> {
    const name = servername.toLowerCase().replace(/\.$/, '');
    if (name.length > 253 || !HOST_RE.test(name)) return Promise.resolve(null);
    const e = this.entries.get(name);
    if (e && this.clock.now() - e.at < this.maxAgeMs) return Promise.resolve(e.context);
    let p = this.pending.get(name);
    if (!p) {
      p = this.load(name, e).finally(() => this.pending.delete(name));
      this.pending.set(name, p);
    }
    return p;
  }

  /** A `SNICallback` for a TLS server: an installed certificate when one covers the name, else the default. */
  callback(): SniCallback {
    return (servername, cb) => {
      this.contextFor(servername).then(
        (ctx) => (ctx ? cb(null, ctx) : cb(null)),
        () => cb(null),
      );
    };
  }

  private async load(name: string, previous: Entry | undefined): Promise<SecureContext | null> {
    const generation = this.generation;
    const labels = name.split('.');
    // The name itself and each parent domain: a certificate of example.com may cover www.example.com.
    const candidates = labels.map((_, i) => labels.slice(i).join('.')).filter((n) => n.includes('.'));
    let entry: Entry = { at: this.clock.now(), context: null, fingerprint: '' };
    try {
      const rows = await servingCertificates(this.db, candidates.length ? candidates : [name]);
      const now = this.clock.now();
      // The most specific domain first.
      rows.sort((a, b) => b.domain.length - a.domain.length);
      for (const r of rows) {
        if (Number(r.not_after) <= now) continue;
        if (!covers(new X509Certificate(r.certificate), name)) continue;
        const context =
          previous && previous.fingerprint === r.fingerprint && previous.context
            ? previous.context
            : createSecureContext({ key: r.private_key, cert: r.certificate + r.chain });
        entry = { at: now, context, fingerprint: r.fingerprint };
        break;
      }
    } catch (e) {
      // A database hiccup must not break handshakes: the default certificate answers, and the next
      // handshake tries again.
      this.logger.warn({ err: e, servername: name }, 'installed certificate lookup failed');
      return null;
    }
    if (generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(name, entry);
    }
    return entry.context;
  }
}
