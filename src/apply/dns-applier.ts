import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import type { Db } from '../db/database.js';
import { listZoneOrigins, loadZone } from '../modules/dns/dns.repository.js';
import { Applier } from './applier.js';
import { BindDriver, splitCommand } from './bind.js';

/** The BIND driver configured by the `bind*` settings. */
export function bindDriverFrom(config: Config): BindDriver {
  return new BindDriver({
    zoneDir: resolve(config.bindZoneDir),
    includePath: resolve(config.bindInclude),
    checkzone: config.bindCheckzone,
    checkconf: config.bindCheckconf,
    reloadCommand: splitCommand(config.bindReloadCommand),
    reconfigCommand: splitCommand(config.bindReconfigCommand),
  });
}

/**
 * The server's DNS applier over the database's zones, or undefined when `dnsApply` is OFF. It does
 * nothing until `startDnsApplier` runs it, so the CLI and tests that only build services never touch BIND.
 */
export function createDnsApplier(
  config: Config,
  db: Db,
  dialect: 'sqlite' | 'postgres',
  logger: Logger,
  clock: Clock,
): Applier | undefined {
  if (config.dnsApply === 'OFF') return undefined;
  return new Applier({
    db,
    dialect,
    driver: bindDriverFrom(config),
    source: { load: (origin) => loadZone(db, origin), list: () => listZoneOrigins(db) },
    logger,
    clock,
  });
}

/**
 * Starts the applier in the server. With `dnsApply` AUTO it first checks that BIND's tools run here;
 * when they do not, DNS changes are only stored and the log says so once. Returns whether it runs.
 */
export async function startDnsApplier(
  config: Config,
  applier: Applier | undefined,
  logger: Logger,
): Promise<boolean> {
  if (!applier) {
    logger.info('DNS applying is off (dnsApply=OFF): zones are stored but not written for BIND');
    return false;
  }
  if (config.dnsApply === 'AUTO') {
    const why = await applier.driver.probe();
    if (why) {
      logger.warn(
        `DNS applying is off: ${why} (install bind9-utils, or set HOSTDECK_BIND_CHECKZONE/HOSTDECK_BIND_CHECKCONF; HOSTDECK_DNS_APPLY=OFF silences this)`,
      );
      return false;
    }
  }
  applier.start();
  logger.info(
    { zoneDir: applier.driver.settings.zoneDir, include: applier.driver.settings.includePath },
    'DNS applying is on',
  );
  return true;
}
