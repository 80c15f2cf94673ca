import { fail } from '../../core/errors.js';
import type { Account } from '../../db/database.js';
import type { PasswordInput } from '../../modules/accounts/accounts.service.js';
import { hasAnySettingField, type PackageKind, parseSettings } from '../../modules/packages/limits.js';
import { checked, type DaCommand, type DaContext, exec, need, peek, requireLevel } from './context.js';
import { dnsAdminCommand, dnsControlCommand } from './dns.js';
import {
  additionalDomainsCommand,
  domainCommand,
  domainOwnersCommand,
  domainPointerCommand,
  subdomainsCommand,
} from './domains.js';
import { loginKeysCommand, showMessagesCommand } from './login-keys.js';
import { multiServerCommand } from './multi-server.js';
import { sslCommand } from './ssl.js';

export type { DaCommand, DaContext } from './context.js';

import type { Params } from '../params.js';
import type { DaAnswer } from './encode.js';

/** `passwd`/`passwd2`, or a crypted hash in `passwd` with `passwd_is_crypted=1`. */
function passwordFrom(p: Params): PasswordInput {
  const pw = need(p, 'passwd', 'passwd (the password)');
  if (checked(p, 'passwd_is_crypted')) return { crypted: pw };
  const pw2 = p.get('passwd2');
  if (pw2 !== undefined && pw2 !== pw) fail('PASSWORDS_DIFFER', 'passwd and passwd2 differ');
  return { plain: pw };
}

/** Selected names from `select0…N` (DA's multi-select). */
function selected(p: Params): string[] {
  const names = p.indexed('select');
  if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one item (select0=…)');
  return names;
}

function accountCreate(level: 'user' | 'reseller' | 'admin'): DaCommand {
  const kind: PackageKind = level === 'reseller' ? 'reseller' : 'user';
  return {
    uses: [`account.${level}.create`, 'account.delete'],
    async run(ctx) {
      const p = ctx.params;
      const action = (p.get('action') ?? 'create').toLowerCase();
      if (action === 'delete') {
        // Deleting resellers and admins is an admin's act, whatever level account.delete itself needs.
        if (level !== 'user') requireLevel(ctx, 'admin');
        await exec(ctx, 'account.delete', { usernames: [need(p, 'username')], level });
        return { kind: 'action', text: 'User deleted', details: '' };
      }
      if (action !== 'create') fail('INVALID_PARAMETER', `Unknown action ${action}`);
      const pkg = p.get('package');
      const custom = level !== 'admin' && !pkg && hasAnySettingField(p.toRecord(), kind);
      const created = await exec<Account>(ctx, `account.${level}.create`, {
        username: need(p, 'username'),
        email: need(p, 'email'),
        password: passwordFrom(p),
        domain: p.get('domain') || undefined,
        package: pkg || undefined,
        settings: custom
          ? parseSettings(p.toRecord(), { kind, requireAll: true, absentSwitchesOff: true })
          : undefined,
        ip: p.get('ip') || undefined,
        name: p.get('name') || undefined,
      });
      const label = level === 'user' ? 'User' : level === 'reseller' ? 'Reseller' : 'Admin';
      return {
        kind: 'action',
        text: `${label} ${created.username} created`,
        details: created.domain ? `Domain ${created.domain} created` : '',
      };
    },
  };
}

function listCommand(scope: 'all' | 'users' | 'resellers' | 'admins'): DaCommand {
  return {
    uses: ['account.list'],
    async run(ctx) {
      const reseller = scope === 'users' ? ctx.params.get('reseller') || undefined : undefined;
      return { kind: 'list', items: await exec<string[]>(ctx, 'account.list', { scope, reseller }) };
    },
  };
}

function packagesList(kind: PackageKind): DaCommand {
  return {
    uses: ['package.list', 'package.show'],
    async run(ctx) {
      const name = ctx.params.get('package');
      if (name)
        return {
          kind: 'record',
          data: await exec<Record<string, string>>(ctx, 'package.show', { kind, name }),
        };
      return { kind: 'list', items: await exec<string[]>(ctx, 'package.list', { kind }) };
    },
  };
}

function packagesManage(kind: PackageKind): DaCommand {
  return {
    uses: ['package.save', 'package.delete', 'package.rename', 'package.list'],
    async run(ctx) {
      const p = ctx.params;
      const action = p.get('action')?.toLowerCase();
      if (action === 'rename') {
        const from = p.get('old_package') ?? need(p, 'package', 'old_package');
        const to = p.get('new_package') ?? need(p, 'new_name', 'new_package');
        await exec(ctx, 'package.rename', { kind, from, to });
        return { kind: 'action', text: 'Saved', details: `Package ${from} renamed to ${to}` };
      }
      if (p.has('delete') || action === 'delete') {
        const names = [...p.indexed('delete'), ...p.indexed('select')];
        if (names.length === 0) fail('MISSING_PARAMETER', 'Select at least one package (delete0=…)');
        await exec(ctx, 'package.delete', { kind, names });
        return { kind: 'action', text: 'Deleted', details: '' };
      }
      if (p.has('add') || action === 'create' || action === 'add' || p.has('packagename')) {
        const name = need(p, 'packagename');
        const existing = (await peek<string[]>(ctx, 'package.list', { kind })).includes(name);
        // A new package must describe every limit; saving an existing one changes the fields sent.
        const settings = parseSettings(p.toRecord(), {
          kind,
          requireAll: !existing,
          absentSwitchesOff: !existing,
        });
        await exec(ctx, 'package.save', { kind, name, settings });
        return { kind: 'action', text: 'Saved', details: `Package ${name} saved` };
      }
      return fail(
        'MISSING_PARAMETER',
        'Say what to do: add=Save with packagename, delete=yes with delete0=…, or action=rename',
      );
    },
  };
}

async function modifyUser(ctx: DaContext): Promise<DaAnswer> {
  const p = ctx.params;
  // Refuse by level before reading the target, so a user learns nothing about other accounts.
  requireLevel(ctx, 'reseller');
  const username = p.get('user') ?? need(p, 'username', 'user');
  const action = (p.get('action') ?? '').toLowerCase();
  if (action === 'package') {
    await exec(ctx, 'account.modify', { username, package: need(p, 'package') });
    return {
      kind: 'action',
      text: 'User Modified',
      details: `${username} is now on package ${p.get('package')}`,
    };
  }
  if (action === 'customize') {
    const target = await peek<Record<string, string>>(ctx, 'account.config.show', { username });
    const kind: PackageKind = target.usertype === 'reseller' ? 'reseller' : 'user';
    const settings = parseSettings(p.toRecord(), { kind, requireAll: false, absentSwitchesOff: false });
    if (Object.keys(settings).length === 0)
      fail('MISSING_PARAMETER', 'Give at least one limit or feature to change');
    await exec(ctx, 'account.modify', {
      username,
      settings,
      ns1: p.get('ns1') || undefined,
      ns2: p.get('ns2') || undefined,
    });
    return { kind: 'action', text: 'User Modified', details: '' };
  }
  if (action === 'single') {
    const input: Record<string, string> = { username };
    if (p.has('email') || p.has('evalue')) input.email = need(p, 'evalue');
    if (p.has('name') || p.has('nvalue')) input.name = p.get('nvalue') ?? '';
    if (p.has('ns') || p.has('ns1')) {
      input.ns1 = need(p, 'ns1');
      input.ns2 = need(p, 'ns2');
    }
    if (Object.keys(input).length === 1)
      fail('MISSING_PARAMETER', 'Give email=Save&evalue=…, name=Save&nvalue=… or ns1/ns2');
    await exec(ctx, 'account.modify', input);
    return { kind: 'action', text: 'User Modified', details: '' };
  }
  return fail('INVALID_PARAMETER', 'action must be customize, package or single');
}

async function selectUsers(ctx: DaContext): Promise<DaAnswer> {
  const p = ctx.params;
  const names = selected(p);
  const suspendWord = (p.get('suspend') ?? '').toLowerCase();
  if (checked(p, 'delete') || p.get('action')?.toLowerCase() === 'delete') {
    const done = await exec<string[]>(ctx, 'account.delete', { usernames: names });
    return {
      kind: 'action',
      text: names.length === 1 ? 'User deleted' : 'Users deleted',
      details: done.join(', '),
    };
  }
  if (p.has('dounsuspend') || suspendWord === 'unsuspend' || p.get('action')?.toLowerCase() === 'unsuspend') {
    await exec(ctx, 'account.unsuspend', { usernames: names });
    return { kind: 'action', text: 'User unsuspended', details: names.join(', ') };
  }
  if (p.has('dosuspend') || suspendWord === 'suspend' || p.get('action')?.toLowerCase() === 'suspend') {
    const reason = p.get('reason');
    await exec(ctx, 'account.suspend', {
      usernames: names,
      reason: reason && reason !== 'none' ? reason : '',
    });
    return { kind: 'action', text: 'User suspended', details: names.join(', ') };
  }
  return fail('MISSING_PARAMETER', 'Say what to do: delete=yes, suspend=Suspend or suspend=Unsuspend');
}

async function showConfig(ctx: DaContext, expectReseller: boolean): Promise<DaAnswer> {
  const p = ctx.params;
  if (expectReseller) requireLevel(ctx, 'reseller');
  const data = await exec<Record<string, string>>(ctx, 'account.config.show', {
    username: p.get('user') || undefined,
  });
  if (expectReseller && data.usertype === 'user')
    fail('ACCOUNT_NOT_FOUND', `${data.username} is not a reseller`);
  if (p.get('both') === 'yes') {
    const usage = await exec<Record<string, string>>(ctx, 'account.usage.show', {
      username: p.get('user') || undefined,
    });
    const nested = Object.entries(usage)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    return { kind: 'record', data: { ...data, usage: nested } };
  }
  return { kind: 'record', data };
}

/**
 * The DirectAdmin commands served so far, by their `CMD_API_*` name. The browser names (`CMD_*`) reach
 * the same handlers (see router.ts).
 */
export const DA_COMMANDS: Record<string, DaCommand> = {
  CMD_API_LOGIN_TEST: {
    uses: ['account.login.test'],
    async run(ctx) {
      await exec(ctx, 'account.login.test', {});
      return { kind: 'action', text: 'Login OK', details: '' };
    },
  },
  CMD_API_ACCOUNT_USER: accountCreate('user'),
  CMD_API_ACCOUNT_RESELLER: accountCreate('reseller'),
  CMD_API_ACCOUNT_ADMIN: accountCreate('admin'),
  // Admin-only lists and reseller packages: their registry commands are reseller level (the services
  // narrow them by caller), so the level for login-key lists is declared here.
  CMD_API_SHOW_ALL_USERS: { ...listCommand('all'), level: 'admin' },
  CMD_API_SHOW_USERS: listCommand('users'),
  CMD_API_SHOW_RESELLERS: { ...listCommand('resellers'), level: 'admin' },
  CMD_API_SHOW_ADMINS: { ...listCommand('admins'), level: 'admin' },
  CMD_API_SHOW_USER_CONFIG: {
    uses: ['account.config.show', 'account.usage.show'],
    run: (ctx) => showConfig(ctx, false),
  },
  CMD_API_SHOW_RESELLER_CONFIG: {
    uses: ['account.config.show', 'account.usage.show'],
    level: 'reseller',
    run: (ctx) => showConfig(ctx, true),
  },
  CMD_API_SHOW_USER_USAGE: {
    uses: ['account.usage.show'],
    async run(ctx) {
      return {
        kind: 'record',
        data: await exec<Record<string, string>>(ctx, 'account.usage.show', {
          username: ctx.params.get('user') || undefined,
        }),
      };
    },
  },
  CMD_API_MODIFY_USER: { uses: ['account.modify', 'account.config.show'], run: modifyUser },
  CMD_API_SELECT_USERS: {
    uses: ['account.delete', 'account.suspend', 'account.unsuspend'],
    run: selectUsers,
  },
  CMD_API_USER_EXISTS: {
    uses: ['account.exists'],
    async run(ctx) {
      const exists = await exec<boolean>(ctx, 'account.exists', {
        username: ctx.params.get('user') ?? need(ctx.params, 'username', 'user'),
      });
      // Legacy clients read `error=0&exists=1`; JSON clients treat any `error` key as a failure.
      return {
        kind: 'record',
        data: { error: '0', exists: exists ? '1' : '0' },
        json: { exists: exists ? '1' : '0' },
      };
    },
  },
  CMD_API_USER_PASSWD: {
    uses: ['account.password.set'],
    async run(ctx) {
      const username = ctx.params.get('username') ?? need(ctx.params, 'user', 'username');
      await exec(ctx, 'account.password.set', { username, password: passwordFrom(ctx.params) });
      return { kind: 'action', text: 'Password Changed', details: `The password of ${username} was changed` };
    },
  },
  CMD_API_PASSWD: {
    uses: ['account.password.change'],
    async run(ctx) {
      const p = ctx.params;
      const current =
        p.get('oldpass') ?? p.get('old_password') ?? need(p, 'oldpass', 'oldpass (the current password)');
      const next = need(p, 'passwd', 'passwd (the new password)');
      const next2 = p.get('passwd2');
      if (next2 !== undefined && next2 !== next) fail('PASSWORDS_DIFFER', 'passwd and passwd2 differ');
      await exec(ctx, 'account.password.change', { current, next });
      return { kind: 'action', text: 'Password Changed', details: '' };
    },
  },
  CMD_API_PACKAGES_USER: packagesList('user'),
  CMD_API_PACKAGES_RESELLER: { ...packagesList('reseller'), level: 'admin' },
  CMD_API_MANAGE_USER_PACKAGES: packagesManage('user'),
  CMD_API_MANAGE_RESELLER_PACKAGES: { ...packagesManage('reseller'), level: 'admin' },
  CMD_API_LOGIN_KEYS: loginKeysCommand,
  CMD_API_SHOW_MESSAGES: showMessagesCommand,
  CMD_API_SHOW_DOMAINS: {
    uses: ['domain.list'],
    async run(ctx) {
      return { kind: 'list', items: await exec<string[]>(ctx, 'domain.list', {}) };
    },
  },
  CMD_API_DOMAIN: domainCommand,
  CMD_API_ADDITIONAL_DOMAINS: additionalDomainsCommand,
  CMD_API_SUBDOMAINS: subdomainsCommand,
  CMD_API_DOMAIN_POINTER: domainPointerCommand,
  CMD_API_DOMAIN_OWNERS: domainOwnersCommand,
  CMD_API_DNS_CONTROL: dnsControlCommand,
  CMD_API_DNS_ADMIN: dnsAdminCommand,
  CMD_API_SSL: sslCommand,
  CMD_API_MULTI_SERVER: multiServerCommand,
};

/** Finds the handler for a path name: `CMD_API_X`, or the browser name `CMD_X` of the same command. */
export function findDaCommand(name: string): { apiName: string; command: DaCommand } | undefined {
  const direct = Object.hasOwn(DA_COMMANDS, name) ? DA_COMMANDS[name] : undefined;
  if (direct) return { apiName: name, command: direct };
  if (name.startsWith('CMD_') && !name.startsWith('CMD_API_')) {
    const apiName = `CMD_API_${name.slice(4)}`;
    const c = Object.hasOwn(DA_COMMANDS, apiName) ? DA_COMMANDS[apiName] : undefined;
    if (c) return { apiName, command: c };
  }
  return undefined;
}
