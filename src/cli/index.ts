import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { Actor } from '../auth/actor.js';
import { type BfmKind, listEntries, unblock } from '../auth/bfm.js';
import { type Config, ConfigError, loadConfig, SETTINGS } from '../config/config.js';
import { isAppError } from '../core/errors.js';
import { randomString } from '../core/random.js';
import type { Account } from '../db/database.js';
import { type Server, startServer } from '../main.js';
import * as repo from '../modules/accounts/accounts.repository.js';
import * as accounts from '../modules/accounts/accounts.service.js';
import * as cluster from '../modules/cluster/cluster.service.js';
import { type PackageKind, parseSettings } from '../modules/packages/limits.js';
import * as packages from '../modules/packages/packages.service.js';
import { createApiUrl, createLoginUrl, parseDuration } from '../modules/sessions/login-urls.js';
import type { Services } from '../services.js';
import { ensureDataDir, type InitResult, initialize, openServices, SetupError } from '../setup.js';

/** A CLI failure: printed as one line, exit code 1. */
class CliError extends Error {}

const out = (s: string) => process.stdout.write(`${s}\n`);

function configFrom(opts: Record<string, unknown>): Config {
  const flags: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    if (!s.flag) continue;
    // commander names `--no-tls` as `tls: false` and `--da-listen` as `daListen`.
    const v = opts[s.key];
    if (v !== undefined && !(s.key === 'tls' && v === true)) flags[s.key] = v;
  }
  return loadConfig({ flags: flags as never });
}

/**
 * Refuses to work on an SQLite database that does not exist: an admin command with a mistyped
 * --data-dir would otherwise create a new empty installation there and report on it.
 */
function requireDatabase(config: Config): void {
  if (!config.databaseUrl.startsWith('sqlite:')) return;
  const path = config.databaseUrl.slice('sqlite:'.length);
  if (path !== ':memory:' && !existsSync(path))
    throw new CliError(`no hostdeck database at ${path}: run "hostdeck init" first, or check --data-dir`);
}

/**
 * Opens the services for one command and closes them after. `setup` (init) may create the installation;
 * every other command needs one with its admin account.
 */
async function withServices<T>(
  opts: Record<string, unknown>,
  fn: (s: Services) => Promise<T>,
  mode: 'setup' | 'installed' = 'installed',
): Promise<T> {
  const config = configFrom(opts);
  if (mode === 'installed') requireDatabase(config);
  ensureDataDir(config.dataDir);
  const services = await openServices(config);
  try {
    if (mode === 'installed') await cliActor(services);
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** The shell acts as the first admin, with the audit trail naming the CLI as the credential. */
async function cliActor(services: Services, as?: string): Promise<Actor> {
  const first = await services.db
    .selectFrom('accounts')
    .selectAll()
    .where('creator_id', 'is', null)
    .executeTakeFirst();
  if (!first) throw new CliError('no admin account yet: run "hostdeck init" first');
  let account: Account = first;
  if (as) {
    const a = await repo.findByUsername(services.db, as.trim().toLowerCase());
    if (!a || a.level === 'user') throw new CliError(`there is no reseller or admin named ${as}`);
    account = a;
  }
  return { account, authenticated: first, credential: { kind: 'cli', id: '' }, ip: 'cli' };
}

/**
 * The actor of `api-url` / `login-url`: the first admin, or with --user the named account (any level),
 * with the audit trail naming the first admin and the CLI.
 */
async function urlActor(services: Services, user?: string): Promise<Actor> {
  const first = await cliActor(services);
  if (user === undefined) return first;
  const a = await repo.findByUsername(services.db, user.trim().toLowerCase());
  if (!a) throw new CliError(`there is no account named ${user}`);
  return { ...first, account: a };
}

/** Collects a repeatable option; each value may also hold several, comma-separated. */
function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

function ipOption(): Option {
  return new Option('--ip <address>', 'allow only this client address, range or CIDR block (repeatable)')
    .argParser(collect)
    .default([], 'any address');
}

function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'data directory (env HOSTDECK_DATA_DIR, default ./data)');
}

function readPassword(opts: { password?: string; passwordStdin?: boolean }): string | undefined {
  if (opts.passwordStdin) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  return opts.password;
}

/** Parses `key=value` arguments given for limits. */
function keyValues(list: string[]): Record<string, string> {
  const rec: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CliError(`"${kv}" is not key=value`);
    rec[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return rec;
}

/** The package version, for `--version` (package.json sits beside src/ and dist/ alike). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

/**
 * Graceful stop: no new connections, requests in flight answered, database closed, exit 0. Requests
 * still running when the grace period ends are abandoned with exit 1.
 */
function shutdown(server: Server, signal: string, graceSeconds: number): void {
  out(`hostdeck: ${signal} received, finishing in-flight requests`);
  const force = setTimeout(() => {
    process.stderr.write('hostdeck: shutdown grace period over, exiting\n');
    process.exit(1);
  }, graceSeconds * 1000);
  force.unref();
  server.close().then(
    () => {
      out('hostdeck: stopped');
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`hostdeck: error while stopping: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}

/** Prints what set-up made; the generated admin password is shown here and never again. */
function reportSetup(r: InitResult, dataDir: string, givenPassword: boolean): void {
  if (r.tlsCreated) out(`hostdeck: created a self-signed TLS certificate in ${dataDir}/tls`);
  if (r.adminCreated) {
    out(`hostdeck: created the admin account in ${dataDir}`);
    if (!givenPassword) out(`hostdeck: admin password (shown once, store it now): ${r.adminPassword}`);
  }
}

/**
 * Commander's own usage errors (unknown option, missing argument, bad choice) become one line naming the
 * command whose help would explain it, like every other failure of the CLI.
 */
function oneLineErrors(cmd: Command, path: string): void {
  cmd.configureOutput({
    outputError: (str, write) =>
      write(
        `hostdeck: ${str
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim()} (see "${path} --help")\n`,
      ),
  });
  for (const sub of cmd.commands) oneLineErrors(sub, `${path} ${sub.name()}`);
}

export function buildCli(): Command {
  const program = new Command('hostdeck')
    .description('hostdeck: a hosting control panel server speaking the DirectAdmin and cPanel APIs')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride();

  program
    .command('init')
    .description('create the data directory, TLS certificate, database and admin account (idempotent)')
    .addOption(dataDirOption())
    .option(
      '--admin-password <password>',
      'password for the admin account (default: generated and printed once)',
    )
    .action(async (opts) => {
      await withServices(
        opts,
        async (s) => {
          const r = await initialize(s, opts.adminPassword, { tls: s.config.tls });
          reportSetup(r, s.config.dataDir, opts.adminPassword !== undefined);
          if (!r.adminCreated) {
            out(`hostdeck: ${s.config.dataDir} is set up`);
            if (opts.adminPassword !== undefined)
              out(
                'hostdeck: the admin account exists already; --admin-password was not applied (see "hostdeck user passwd")',
              );
          }
        },
        'setup',
      );
    });

  program
    .command('serve')
    .description('serve the DirectAdmin API (and the other listeners)')
    .addOption(dataDirOption())
    .option('--no-tls', 'serve plain HTTP (env HOSTDECK_TLS=off)')
    .option('--da-listen <host:port>', 'DirectAdmin API address (default 0.0.0.0:2222)')
    .option('--cpanel-listen <host:port>', 'cPanel API address (default 0.0.0.0:2083)')
    .option('--webmail-listen <host:port>', 'webmail cPanel API address (default 0.0.0.0:2096)')
    .option('--whm-listen <host:port>', 'WHM API address (default 0.0.0.0:2087)')
    .option('--hostname <name>', 'host name for generated URLs')
    .option(
      '--debug <level>',
      'debug level (188: request lines; higher: parameters and answers; 2000: login refusals)',
    )
    .option('--debug-only-cmd <cmd>', 'limit debug output to one command')
    .action(async (opts) => {
      const config = configFrom(opts);
      // Signals are watched from the start: one that arrives while the server is still starting (opening
      // the database, making a certificate) is honoured as soon as it listens, instead of killing the
      // process half way through set-up.
      let server: Server | undefined;
      let stopping: string | undefined;
      const stop = (signal: string) => {
        if (stopping) {
          // A second Ctrl-C means "now": the operator has chosen not to wait for the requests in flight.
          process.stderr.write(`hostdeck: second ${signal}, exiting without waiting\n`);
          process.exit(1);
        }
        stopping = signal;
        if (server) shutdown(server, signal, config.shutdownGraceSeconds);
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      server = await startServer(config, undefined, {
        onSetup: (r) => reportSetup(r, config.dataDir, false),
      });
      const scheme = config.tls ? 'https' : 'http';
      out(`hostdeck: DirectAdmin API on ${scheme}://${server.addresses.da}`);
      out(
        `hostdeck: cPanel ${server.addresses.cpanel}, webmail ${server.addresses.webmail}, WHM ${server.addresses.whm}`,
      );
      if (stopping) shutdown(server, stopping, config.shutdownGraceSeconds);
    });

  const user = program.command('user').description('manage accounts from the shell (as the first admin)');
  user
    .command('create <username>')
    .description('create a user, reseller or admin account')
    .addOption(dataDirOption())
    .requiredOption('--email <email>', 'contact e-mail address')
    .option('--domain <domain>', 'main domain (users and resellers)')
    .addOption(
      new Option('--level <level>', 'account level').choices(['user', 'reseller', 'admin']).default('user'),
    )
    .option('--package <name>', 'package of the owner', 'default')
    .option('--owner <reseller>', 'create the user under this reseller instead of the admin')
    .option('--password <password>', 'password (default: generated and printed)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, opts) => {
      await withServices(opts, async (s) => {
        const actor = await cliActor(s, opts.owner);
        const given = readPassword(opts);
        const password = given ?? randomString(s.random, 20);
        const a = await accounts.createAccount(s, actor, {
          level: opts.level,
          username,
          email: opts.email,
          domain: opts.domain,
          package: opts.level === 'admin' ? undefined : opts.package,
          password: { plain: password },
        });
        out(`created ${a.level} ${a.username}${a.domain ? ` with domain ${a.domain}` : ''}`);
        if (!given) out(`password: ${password}`);
      });
    });
  user
    .command('passwd <username>')
    .description("set an account's password")
    .addOption(dataDirOption())
    .option('--password <password>', 'new password (default: generated and printed)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, opts) => {
      await withServices(opts, async (s) => {
        const given = readPassword(opts);
        const password = given ?? randomString(s.random, 20);
        await accounts.setPassword(s, await cliActor(s), username, { plain: password });
        out(`password of ${username} changed`);
        if (!given) out(`password: ${password}`);
      });
    });
  for (const [name, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const)
    user
      .command(`${name} <usernames...>`)
      .description(`${name} accounts`)
      .addOption(dataDirOption())
      .option('--reason <text>', 'reason shown to the account', '')
      .action(async (usernames: string[], opts) => {
        await withServices(opts, async (s) => {
          const done = await accounts.setSuspended(s, await cliActor(s), usernames, suspended, opts.reason);
          out(`${name}ed: ${done.join(', ')}`);
        });
      });
  user
    .command('delete <usernames...>')
    .description('delete accounts (a reseller with all its users)')
    .addOption(dataDirOption())
    .action(async (usernames: string[], opts) => {
      await withServices(opts, async (s) => {
        const done = await accounts.deleteAccounts(s, await cliActor(s), usernames);
        out(`deleted: ${done.join(', ')}`);
      });
    });
  user
    .command('list')
    .description('list accounts with level, owner, domain and state')
    .addOption(dataDirOption())
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        const rows = await repo.listByLevel(s.db, null);
        const byId = new Map(rows.map((r) => [r.id, r.username]));
        out(['USERNAME', 'LEVEL', 'OWNER', 'DOMAIN', 'PACKAGE', 'STATE'].join('\t'));
        for (const r of rows)
          out(
            [
              r.username,
              r.level,
              r.creator_id ? (byId.get(r.creator_id) ?? '?') : '-',
              r.domain || '-',
              r.package || (r.level === 'admin' ? '-' : 'custom'),
              r.suspended ? 'suspended' : 'active',
            ].join('\t'),
          );
      });
    });

  const pkg = program.command('package').description("manage the admin's packages from the shell");
  const kindOption = () =>
    new Option('--kind <kind>', 'user or reseller package').choices(['user', 'reseller']).default('user');
  pkg
    .command('list')
    .description('list package names')
    .addOption(dataDirOption())
    .addOption(kindOption())
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        for (const n of await packages.listPackages(s, await cliActor(s), opts.kind as PackageKind)) out(n);
      });
    });
  pkg
    .command('show <name>')
    .description("print a package's settings as key=value lines")
    .addOption(dataDirOption())
    .addOption(kindOption())
    .action(async (name: string, opts) => {
      await withServices(opts, async (s) => {
        const settings = await packages.getPackage(s, await cliActor(s), opts.kind as PackageKind, name);
        for (const [k, v] of Object.entries(settings)) out(`${k}=${v}`);
      });
    });
  pkg
    .command('save <name> [settings...]')
    .description(
      'create a package (every limit given, as in the API) or change some settings of one: key=value pairs, e.g. bandwidth=1000 quota=unlimited login_keys=ON',
    )
    .addOption(dataDirOption())
    .addOption(kindOption())
    .action(async (name: string, settings: string[], opts) => {
      await withServices(opts, async (s) => {
        const actor = await cliActor(s);
        const kind = opts.kind as PackageKind;
        const existing = (await packages.listPackages(s, actor, kind)).includes(name);
        const parsed = parseSettings(keyValues(settings), {
          kind,
          requireAll: !existing,
          absentSwitchesOff: !existing,
        });
        // savePackage keeps the stored fields of an existing package that are not given here.
        out(`package ${name} ${await packages.savePackage(s, actor, kind, name, parsed)}`);
      });
    });
  pkg
    .command('delete <names...>')
    .description('delete packages no account uses')
    .addOption(dataDirOption())
    .addOption(kindOption())
    .action(async (names: string[], opts) => {
      await withServices(opts, async (s) => {
        await packages.deletePackages(s, await cliActor(s), opts.kind as PackageKind, names);
        out(`deleted: ${names.join(', ')}`);
      });
    });

  program
    .command('api-url')
    .description(
      'print https://USER:KEY@HOST:PORT with a temporary login key, for one script run: curl "$(hostdeck api-url)/CMD_API_SHOW_USERS?json=yes"',
    )
    .addOption(dataDirOption())
    .option('--user <name>', 'the account the key is for (default: the first admin)')
    .option('--expiry <duration>', 'life of the key: a number and s, m, h, d, M (months) or y', '1h')
    .option('--uses <count>', 'requests the key may make', '1000')
    .addOption(ipOption())
    .option('--hostname <name>', 'host name in the URL (default: the configured one)')
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        if (!/^\d{1,10}$/.test(opts.uses)) throw new CliError('--uses must be a whole number');
        const r = await createApiUrl(s, await urlActor(s, opts.user), {
          expirySeconds: parseDuration(opts.expiry, '--expiry'),
          ips: opts.ip,
          maxUses: Number(opts.uses),
        });
        out(r.url);
      });
    });
  program
    .command('login-url')
    .description('print a one-time URL that logs a browser in (once, and never again)')
    .addOption(dataDirOption())
    .option('--user <name>', 'the account to log in as (default: the first admin)')
    .option('--expiry <duration>', 'how long the URL may be used: a number and s, m, h, d, M or y', '5m')
    .addOption(ipOption())
    .option('--redirect <path>', 'where the browser goes after login: a path on this server or a CMD_ name')
    .option('--hostname <name>', 'host name in the URL (default: the configured one)')
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        const r = await createLoginUrl(s, await urlActor(s, opts.user), {
          expirySeconds: parseDuration(opts.expiry, '--expiry'),
          ips: opts.ip,
          ...(opts.redirect !== undefined ? { redirect: opts.redirect } : {}),
        });
        out(r.url);
      });
    });

  const bfm = program.command('bfm').description('brute-force monitor: failed logins and blocks');
  bfm
    .command('list')
    .description('list recorded login failures and blocks')
    .addOption(dataDirOption())
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        const now = s.clock.now();
        out(['KIND', 'KEY', 'FAILURES', 'BLOCKED_UNTIL', 'LAST_FAILURE'].join('\t'));
        for (const e of await listEntries(s.db))
          out(
            [
              e.kind,
              e.key,
              String(e.failures),
              e.blockedUntil > now ? new Date(e.blockedUntil).toISOString() : '-',
              new Date(e.lastFailure).toISOString(),
            ].join('\t'),
          );
      });
    });
  bfm
    .command('unblock <ip-or-account>')
    .description('lift a block: an IP address, or an account with --account')
    .addOption(dataDirOption())
    .option('--account', 'the argument is an account name')
    .action(async (key: string, opts) => {
      await withServices(opts, async (s) => {
        const kind: BfmKind = opts.account ? 'account' : 'ip';
        const found = await unblock(s.db, kind, opts.account ? key.trim().toLowerCase() : key.trim());
        if (!found) throw new CliError(`no failures or block recorded for ${kind} ${key}`);
        out(`unblocked ${kind} ${key}`);
      });
    });
  const ms = program
    .command('multi-server')
    .description(
      'remote servers of the DNS cluster (DirectAdmin Multi-Server Setup): this server pushes zones to them',
    );
  /** The switches of `multi-server add` and `modify`; in modify each also has a --no-… form. */
  const switchOptions = (c: Command, negatable: boolean) => {
    for (const [flag, what] of [
      ['ssl', 'call the remote over HTTPS'],
      ['verify-tls', "check the remote's TLS certificate (off: a self-signed one is accepted)"],
      ['dns', 'Zone Transfer: push every zone change to it'],
      ['domain-check', 'Domain Check: refuse a new domain that exists there'],
      ['user-check', 'User Check: refuse a new account whose name exists there'],
      ['email', 'stored and listed (e-mail list sync is not done)'],
      ['show-all-users', 'stored and listed'],
    ] as const) {
      c.option(`--${flag}`, what);
      if (negatable) c.option(`--no-${flag}`, `switch ${flag} off`);
    }
    return c;
  };
  const switchesOf = (o: Record<string, unknown>) => {
    const out: Record<string, boolean> = {};
    for (const [opt, key] of [
      ['ssl', 'ssl'],
      ['verifyTls', 'verifyTls'],
      ['dns', 'dns'],
      ['domainCheck', 'domainCheck'],
      ['userCheck', 'userCheck'],
      ['email', 'email'],
      ['showAllUsers', 'showAllUsers'],
    ] as const)
      if (typeof o[opt] === 'boolean') out[key] = o[opt] as boolean;
    return out;
  };
  const readKey = (o: { key?: string; keyStdin?: boolean }) => {
    if (o.keyStdin) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    return o.key;
  };
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const describeRemote = (r: cluster.RemoteInfo) =>
    `${r.host} port=${r.port} user=${r.user} ssl=${yn(r.ssl)} verify_tls=${yn(r.verifyTls)} dns=${yn(r.dns)} domain_check=${yn(r.domainCheck)} user_check=${yn(r.userCheck)} email=${yn(r.email)} show_all_users=${yn(r.showAllUsers)} pending=${r.pending}${r.lastError ? ` last_error=${JSON.stringify(r.lastError)}` : ''}`;
  switchOptions(
    ms
      .command('add <host>')
      .description('register a remote server (its IP address or host name) with a login key of its admin')
      .requiredOption('--user <name>', 'the remote account the login key belongs to')
      .option('--port <port>', 'the remote DirectAdmin API port', '2222')
      .option(
        '--key <value>',
        'the login key (visible to other local users in the process list; prefer --key-stdin)',
      )
      .option('--key-stdin', 'read the login key from standard input')
      .addOption(dataDirOption()),
    false,
  ).action(async (host: string, opts) => {
    const secret = readKey(opts);
    if (!secret) throw new CliError('give the login key with --key-stdin or --key');
    await withServices(opts, async (s) => {
      const r = await cluster.addRemote(s, await cliActor(s), {
        host,
        port: Number(opts.port),
        user: opts.user,
        secret,
        ...switchesOf(opts),
      });
      out(`added ${describeRemote(r)}`);
    });
  });
  ms.command('list')
    .description('list the remote servers (never their login keys), with pushes waiting and the last error')
    .addOption(dataDirOption())
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        for (const r of await cluster.listRemotes(s)) out(describeRemote(r));
      });
    });
  switchOptions(
    ms
      .command('modify <host>')
      .description("change a remote server's port, user, login key or switches (what is not given stays)")
      .option('--user <name>', 'the remote account the login key belongs to')
      .option('--port <port>', 'the remote DirectAdmin API port')
      .option('--key <value>', 'a new login key (prefer --key-stdin)')
      .option('--key-stdin', 'read a new login key from standard input')
      .addOption(dataDirOption()),
    true,
  ).action(async (host: string, opts) => {
    const secret = readKey(opts);
    await withServices(opts, async (s) => {
      const [r] = await cluster.modifyRemotes(s, await cliActor(s), [
        {
          host,
          ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(secret !== undefined ? { secret } : {}),
          ...switchesOf(opts),
        },
      ]);
      if (r) out(`modified ${describeRemote(r)}`);
    });
  });
  ms.command('delete <hosts...>')
    .description('remove remote servers and the pushes waiting for them')
    .addOption(dataDirOption())
    .action(async (hosts: string[], opts) => {
      await withServices(opts, async (s) => {
        out(`deleted: ${(await cluster.deleteRemotes(s, await cliActor(s), hosts)).join(', ')}`);
      });
    });
  ms.command('push <host>')
    .description('queue every zone of this server for a remote server; the running server sends them')
    .addOption(dataDirOption())
    .action(async (host: string, opts) => {
      await withServices(opts, async (s) => {
        const n = await cluster.pushAll(s, await cliActor(s), host);
        out(`queued ${n} zone${n === 1 ? '' : 's'} for ${host}`);
      });
    });

  program
    .command('reconcile')
    .description(
      'rebuild every zone file and the BIND include from the database, remove zone files of deleted zones, reload BIND',
    )
    .addOption(dataDirOption())
    .action(async (opts) => {
      await withServices(opts, async (s) => {
        if (!s.applier)
          throw new CliError('DNS applying is off (dnsApply=OFF): there is nothing to reconcile');
        const r = await s.applier.reconcile();
        const zones = r.written + r.unchanged;
        const failed = r.errors.size ? `, ${r.errors.size} failed` : '';
        out(
          `reconciled ${zones} zone${zones === 1 ? '' : 's'}: ${r.written} written, ${r.unchanged} unchanged, ${r.removed} removed${failed}`,
        );
        for (const [zone, err] of r.errors) process.stderr.write(`hostdeck: ${zone}: ${err}\n`);
        if (r.errors.size) process.exitCode = 1;
      });
    });
  oneLineErrors(program, 'hostdeck');
  return program;
}

/** Runs the CLI; every failure ends as one line on stderr and exit code 1 (commander's usage errors: its own line). */
export async function runCli(argv: string[]): Promise<void> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith('commander.')) {
      // commander already printed its message (or the help).
      process.exitCode = err.exitCode ?? 1;
      return;
    }
    let msg: string;
    if (isAppError(e)) msg = e.details ? `${e.text}: ${e.details}` : e.text;
    else if (e instanceof ConfigError) msg = `invalid configuration: ${e.problems.join('; ')}`;
    else if (e instanceof SetupError || e instanceof CliError) msg = e.message;
    else msg = `unexpected error: ${err.message}`;
    process.stderr.write(`hostdeck: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  }
}
