import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../db/database.js';
import { loadZone } from '../dns/dns.repository.js';
import { renderZone } from '../dns/render/bind-zone.js';
import * as repo from './cluster.repository.js';
import { callRemote, describe, RemoteUnreachable } from './remote-client.js';
import type { SecretBox } from './secret-box.js';

export interface PusherOptions {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  box: SecretBox;
  /** Wait after a kick, so a burst of changes goes out as one pass. */
  debounceMs?: number;
  /** Look for due pushes this often without a kick (retries, rows written by the CLI or another node). */
  pollMs?: number;
  /** First retry delay of a failed push; doubles per attempt up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  batchSize?: number;
}

/** The delay before attempt `attempts + 1` of a push. */
export function backoffDelay(attempts: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(attempts, 20));
}

/**
 * Sends queued zone changes to the remote servers of the DNS cluster (the master role of DirectAdmin's
 * Multi-Server Setup): each zone as it is at send time, by `CMD_API_DNS_ADMIN action=rawsave` with the
 * rendered zone file as the body, or `action=delete` when it is gone. A remote that does not answer
 * keeps its rows, retried with backoff, across restarts; the rows live in the database, not here.
 */
export class Pusher {
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly batchSize: number;
  private poller: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = true;
  /** Remotes that just failed to answer: their other rows wait instead of each timing out in turn. */
  private readonly resting = new Map<string, number>();

  constructor(private readonly o: PusherOptions) {
    this.debounceMs = o.debounceMs ?? 50;
    this.pollMs = o.pollMs ?? 2000;
    this.backoffMs = o.backoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 60_000;
    this.batchSize = o.batchSize ?? 100;
  }

  /** Sends what is due now and then on every kick and poll. Until then kicks are ignored. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.poller = setInterval(() => this.kick(), this.pollMs);
    this.poller.unref();
    this.kick();
  }

  /** Schedules a pass soon; kicks within the debounce window make one pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
      });
    }, this.debounceMs);
  }

  /** Stops scheduling and waits for a pass in flight (bounded by the request timeout). Rows stay queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    if (this.timer) clearTimeout(this.timer);
    this.poller = undefined;
    this.timer = undefined;
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.dirty = false;
      try {
        // A full batch means there may be more due: go on at once.
        while (!this.stopped && (await this.pass()) >= this.batchSize) {}
      } catch (e) {
        this.o.logger.error({ err: e }, 'DNS cluster push pass failed');
      }
    } while (this.dirty && !this.stopped);
  }

  /** One pass over the due pushes; returns how many it sent or failed. */
  async pass(): Promise<number> {
    const now = this.o.clock.now();
    const resting = [...this.resting].filter(([, until]) => until > now).map(([id]) => id);
    const due = await repo.duePushes(this.o.db, now, this.batchSize, resting);
    if (due.length === 0) return 0;
    let handled = 0;
    const remotes = new Map((await repo.listRemotes(this.o.db)).map((r) => [r.id, r]));
    for (const item of due) {
      if (this.stopped) break;
      const remote = remotes.get(item.remote_id);
      if (!remote) continue; // deleted meanwhile; its rows went with it
      if ((this.resting.get(remote.id) ?? 0) > this.o.clock.now()) continue;
      const timeoutMs = this.o.config.clusterTimeoutSeconds * 1000;
      const at = this.o.clock.now();
      if (!(await repo.claim(this.o.db, item, at, timeoutMs * 2 + 5000))) continue;
      handled++;
      const where = describe({ host: remote.host, port: remote.port, ssl: remote.ssl === 1 });
      try {
        const target = {
          host: remote.host,
          port: remote.port,
          username: remote.username,
          secret: this.o.box.open(remote.secret_enc),
          ssl: remote.ssl === 1,
          verifyTls: remote.verify_tls === 1,
        };
        // The zone as it is now: many queued changes of one zone are one push of its latest state.
        const zone = await loadZone(this.o.db, item.origin);
        const query = {
          action: zone ? 'rawsave' : 'delete',
          domain: item.origin,
          hostname: this.o.config.hostname,
          username: zone ? await repo.zoneOwner(this.o.db, item.origin) : '',
        };
        await callRemote(target, 'CMD_API_DNS_ADMIN', query, zone ? renderZone(zone) : undefined, timeoutMs);
        await repo.pushed(this.o.db, item);
        this.resting.delete(remote.id);
        this.o.logger.debug(
          { remote: where, zone: item.origin, action: query.action },
          'DNS cluster push sent',
        );
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
        const delay = backoffDelay(item.attempts, this.backoffMs, this.maxBackoffMs);
        const retryAt = this.o.clock.now() + delay;
        await repo.pushFailed(this.o.db, item, msg, retryAt);
        if (e instanceof RemoteUnreachable) {
          this.resting.set(remote.id, retryAt);
          await repo.remoteUnreachable(this.o.db, remote.id, msg, this.o.clock.now(), retryAt);
        }
        this.o.logger.warn(
          { remote: where, zone: item.origin, attempts: item.attempts + 1, retryInMs: delay, error: msg },
          'DNS cluster push failed; it will be retried',
        );
      }
    }
    return handled;
  }
}
