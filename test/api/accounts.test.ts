import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authOf, createAccount, startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD } from '../helpers/services.js';

const ADMIN = `admin:${ADMIN_PASSWORD}`;

describe('accounts through the DirectAdmin API', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => s.close());

  it('creates a user with a package and shows its config, usage and domain', async () => {
    const r = await createAccount(s, 'user', 'fred');
    expect(r.pairs).toMatchObject({ error: '0', text: 'User fred created' });
    const cfg = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' });
    expect(cfg.pairs).toMatchObject({
      username: 'fred',
      usertype: 'user',
      domain: 'fred.example.com',
      package: 'default',
      creator: 'admin',
      suspended: 'no',
      email: 'fred@example.com',
    });
    expect(cfg.body).not.toMatch(/argon|password_hash|\$argon2/);
    expect(cfg.pairs.date_created).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \d{4}$/);
    const usage = await s.call('/CMD_API_SHOW_USER_USAGE', { auth: authOf('fred') });
    expect(usage.pairs).toMatchObject({ vdomains: '1', bandwidth: '0', quota: '0' });
    const both = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred', both: 'yes' });
    expect(new URLSearchParams(both.pairs.usage).get('vdomains')).toBe('1');
    const json = await s.call('/CMD_API_SHOW_USER_CONFIG?json=yes', { auth: authOf('fred') });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toMatchObject({ username: 'fred', usertype: 'user' });
  });

  it('creates a user with custom limits and enforces vdomains on the main domain', async () => {
    const limits = {
      bandwidth: '1000',
      quota: '500',
      vdomains: '3',
      nsubdomains: '10',
      nemails: '5',
      nemailf: '5',
      nemailml: '0',
      nemailr: '0',
      mysql: '2',
      domainptr: '1',
      ftp: '1',
      inode: 'unlimited',
      login_keys: 'ON',
      dnscontrol: 'ON',
    };
    await createAccount(s, 'user', 'custom', { package: '', ...limits });
    const cfg = await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'custom' });
    expect(cfg.pairs).toMatchObject({
      package: 'custom',
      bandwidth: '1000',
      vdomains: '3',
      inode: 'unlimited',
      login_keys: 'ON',
      ssh: 'OFF',
    });
    const missing = await s.admin('/CMD_API_ACCOUNT_USER', {
      action: 'create',
      username: 'partial',
      email: 'p@example.com',
      passwd: 'Partial-Pass-1',
      passwd2: 'Partial-Pass-1',
      domain: 'partial.example.com',
      bandwidth: '5',
    });
    expect(missing.pairs.error).toBe('1');
    expect(missing.pairs.details).toMatch(/Missing limits: quota/);
    const zero = await s.admin('/CMD_API_ACCOUNT_USER', {
      action: 'create',
      username: 'zerodom',
      email: 'z@example.com',
      passwd: 'Zero-Pass-123',
      passwd2: 'Zero-Pass-123',
      domain: 'zero.example.com',
      ...limits,
      vdomains: '0',
    });
    expect(zero.pairs).toMatchObject({ error: '1', text: 'Limit reached' });
    expect((await s.admin('/CMD_API_SHOW_ALL_USERS')).list).toEqual(['admin', 'custom']);
  });

  it('refuses duplicate names and domains, mismatched passwords and unknown packages', async () => {
    await createAccount(s, 'user', 'fred');
    const base = {
      action: 'create',
      email: 'x@example.com',
      passwd: 'Some-Pass-123',
      passwd2: 'Some-Pass-123',
      package: 'default',
    };
    const dup = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'fred',
      domain: 'other.example.com',
    });
    expect(dup.pairs).toMatchObject({ error: '1', text: 'That username already exists on the system' });
    const dupDomain = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'george',
      domain: 'fred.example.com',
    });
    expect(dupDomain.pairs).toMatchObject({ error: '1', text: 'That domain already exists on the system' });
    const mismatch = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'george',
      domain: 'g.example.com',
      passwd2: 'Other-Pass-123',
    });
    expect(mismatch.pairs).toMatchObject({ error: '1', text: 'Passwords do not match' });
    const nopkg = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'george',
      domain: 'g.example.com',
      package: 'gold',
    });
    expect(nopkg.pairs).toMatchObject({ error: '1', text: 'Package not found' });
    const reserved = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'mysql',
      domain: 'g.example.com',
    });
    expect(reserved.pairs).toMatchObject({ error: '1', text: 'reserved username' });
    const upper = await s.admin('/CMD_API_ACCOUNT_USER', {
      ...base,
      username: 'George',
      domain: 'g.example.com',
    });
    expect(upper.pairs.details).toMatch(/lower case/);
    expect((await s.admin('/CMD_API_SHOW_ALL_USERS')).list).toEqual(['admin', 'fred']);
  });

  it('builds the admin ▸ reseller ▸ user hierarchy with listings per level', async () => {
    await createAccount(s, 'admin', 'admin2');
    await createAccount(s, 'reseller', 'res1');
    await createAccount(s, 'reseller', 'res2');
    await createAccount(s, 'user', 'fred');
    // A reseller creates users with its own packages.
    const save = await s.call('/CMD_API_MANAGE_USER_PACKAGES', {
      auth: authOf('res1'),
      params: {
        add: 'Save',
        packagename: 'basic',
        bandwidth: '100',
        quota: '100',
        inode: '1000',
        vdomains: '1',
        nsubdomains: '1',
        nemails: '1',
        nemailf: '1',
        nemailml: '0',
        nemailr: '0',
        mysql: '1',
        domainptr: '0',
        ftp: '1',
        login_keys: 'ON',
      },
    });
    expect(save.pairs).toMatchObject({ error: '0', text: 'Saved' });
    await createAccount(s, 'user', 'bob', { package: 'basic' }, authOf('res1'));
    // A new reseller has no packages of its own: it gives custom limits.
    const custom = {
      package: '',
      bandwidth: '10',
      quota: '10',
      inode: '10',
      vdomains: '1',
      nsubdomains: '0',
      nemails: '0',
      nemailf: '0',
      nemailml: '0',
      nemailr: '0',
      mysql: '0',
      domainptr: '0',
      ftp: '0',
    };
    await createAccount(s, 'user', 'carol', custom, authOf('res2'));
    expect((await s.admin('/CMD_API_SHOW_ALL_USERS')).list).toEqual([
      'admin',
      'admin2',
      'bob',
      'carol',
      'fred',
      'res1',
      'res2',
    ]);
    expect((await s.admin('/CMD_API_SHOW_RESELLERS')).list).toEqual(['res1', 'res2']);
    expect((await s.admin('/CMD_API_SHOW_ADMINS')).list).toEqual(['admin', 'admin2']);
    expect((await s.admin('/CMD_API_SHOW_USERS')).list).toEqual(['fred']);
    expect((await s.admin('/CMD_API_SHOW_USERS', { reseller: 'res1' })).list).toEqual(['bob']);
    expect((await s.call('/CMD_API_SHOW_USERS', { auth: authOf('res1') })).list).toEqual(['bob']);
    const resCfg = await s.admin('/CMD_API_SHOW_RESELLER_CONFIG', { user: 'res1' });
    expect(resCfg.pairs).toMatchObject({ usertype: 'reseller', username: 'res1', oversell: 'OFF' });
    const notRes = await s.admin('/CMD_API_SHOW_RESELLER_CONFIG', { user: 'fred' });
    expect(notRes.pairs.error).toBe('1');
    // Login-as: the admin and the owning reseller act as the user.
    const asBob = await s.call('/CMD_API_SHOW_USER_CONFIG', { auth: `res1|bob:res1-Pass-123` });
    expect(asBob.pairs.username).toBe('bob');
    const adminAsCarol = await s.call('/CMD_API_SHOW_DOMAINS', { auth: `admin|carol:${ADMIN_PASSWORD}` });
    expect(adminAsCarol.list).toEqual(['carol.example.com']);
    const res2AsBob = await s.call('/CMD_API_SHOW_DOMAINS', { auth: `res2|bob:res2-Pass-123` });
    expect(res2AsBob.status).toBe(401);
  });

  it('suspends, unsuspends and deletes with select0…N, all or nothing', async () => {
    await createAccount(s, 'user', 'fred');
    await createAccount(s, 'user', 'george');
    const sus = await s.admin('/CMD_API_SELECT_USERS', {
      location: 'CMD_SELECT_USERS',
      suspend: 'Suspend',
      select0: 'fred',
      select1: 'george',
    });
    expect(sus.pairs).toMatchObject({ error: '0', text: 'User suspended' });
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: authOf('fred') })).status).toBe(401);
    expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs.suspended).toBe('yes');
    const un = await s.admin('/CMD_API_SELECT_USERS', { dounsuspend: 'yes', select0: 'fred' });
    expect(un.pairs).toMatchObject({ error: '0', text: 'User unsuspended' });
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: authOf('fred') })).pairs.error).toBe('0');
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: authOf('george') })).status).toBe(401);
    // One unknown name: nothing is deleted.
    const bad = await s.admin('/CMD_API_SELECT_USERS', {
      confirmed: 'Confirm',
      delete: 'yes',
      select0: 'fred',
      select1: 'nobody',
    });
    expect(bad.pairs).toMatchObject({ error: '1', text: 'Unable to find that account' });
    expect((await s.admin('/CMD_API_SHOW_ALL_USERS')).list).toEqual(['admin', 'fred', 'george']);
    const del = await s.admin('/CMD_API_SELECT_USERS', {
      confirmed: 'Confirm',
      delete: 'yes',
      select0: 'fred',
    });
    expect(del.pairs).toMatchObject({ error: '0', text: 'User deleted' });
    expect((await s.admin('/CMD_API_SHOW_ALL_USERS')).list).toEqual(['admin', 'george']);
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: authOf('fred') })).status).toBe(401);
    // The domain is free again and the audit keeps the history.
    await createAccount(s, 'user', 'fred2', { domain: 'fred.example.com' });
    const audit = await s.services.db
      .selectFrom('audit_events')
      .select(['command', 'target', 'actor_username'])
      .execute();
    expect(audit.map((a) => `${a.command} ${a.target}`)).toEqual(
      expect.arrayContaining([
        'account.user.create fred',
        'account.suspend fred',
        'account.unsuspend fred',
        'account.user.delete fred',
      ]),
    );
    // DA's other delete spelling (action=delete on CMD_API_ACCOUNT_USER).
    const del2 = await s.admin('/CMD_API_ACCOUNT_USER', {
      action: 'delete',
      delete: 'yes',
      username: 'fred2',
    });
    expect(del2.pairs.error).toBe('0');
  });

  it('changes passwords: by the owner (the seed script), by the account itself, and checks existence', async () => {
    await createAccount(s, 'user', 'fred');
    await createAccount(s, 'user', 'george');
    // The seed's "change all users' passwords" loop: every account but the admin.
    for (const u of (await s.admin('/CMD_API_SHOW_ALL_USERS')).list.filter((u) => u !== 'admin')) {
      const r = await s.admin('/CMD_API_USER_PASSWD', {
        username: u,
        passwd: `New-${u}-Pass-1`,
        passwd2: `New-${u}-Pass-1`,
      });
      expect(r.pairs).toMatchObject({ error: '0', text: 'Password Changed' });
    }
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: authOf('fred') })).status).toBe(401);
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:New-fred-Pass-1' })).pairs.error).toBe('0');
    const wrong = await s.call('/CMD_API_PASSWD', {
      auth: 'fred:New-fred-Pass-1',
      params: { oldpass: 'nope-nope-nope', passwd: 'Fred-Own-Pass-9', passwd2: 'Fred-Own-Pass-9' },
    });
    expect(wrong.pairs).toMatchObject({ error: '1', text: 'Current password is incorrect' });
    const own = await s.call('/CMD_API_PASSWD', {
      auth: 'fred:New-fred-Pass-1',
      params: { oldpass: 'New-fred-Pass-1', passwd: 'Fred-Own-Pass-9', passwd2: 'Fred-Own-Pass-9' },
    });
    expect(own.pairs.error).toBe('0');
    expect((await s.call('/CMD_API_LOGIN_TEST', { auth: 'fred:Fred-Own-Pass-9' })).pairs.error).toBe('0');
    expect((await s.admin('/CMD_API_USER_EXISTS', { user: 'fred' })).body).toBe('error=0&exists=1');
    expect((await s.admin('/CMD_API_USER_EXISTS', { user: 'nosuchuser' })).body).toBe('error=0&exists=0');
    expect((await s.admin('/CMD_API_USER_EXISTS', { user: 'apache' })).pairs).toMatchObject({
      error: '1',
      text: 'reserved username',
    });
  });

  it('modifies a user: package, customize, single fields', async () => {
    await createAccount(s, 'user', 'fred');
    await s.admin('/CMD_API_MANAGE_USER_PACKAGES', {
      add: 'Save',
      packagename: 'small',
      bandwidth: '10',
      quota: '10',
      inode: '10',
      vdomains: '2',
      nsubdomains: '0',
      nemails: '0',
      nemailf: '0',
      nemailml: '0',
      nemailr: '0',
      mysql: '0',
      domainptr: '0',
      ftp: '0',
    });
    const p = await s.admin('/CMD_API_MODIFY_USER', { action: 'package', user: 'fred', package: 'small' });
    expect(p.pairs.error).toBe('0');
    let cfg = (await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs;
    expect(cfg).toMatchObject({ package: 'small', bandwidth: '10', login_keys: 'OFF' });
    const c = await s.admin('/CMD_API_MODIFY_USER', {
      action: 'customize',
      user: 'fred',
      ubandwidth: 'ON',
      login_keys: 'ON',
    });
    expect(c.pairs.error).toBe('0');
    cfg = (await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs;
    expect(cfg).toMatchObject({ package: 'custom', bandwidth: 'unlimited', quota: '10', login_keys: 'ON' });
    const e = await s.admin('/CMD_API_MODIFY_USER', {
      action: 'single',
      user: 'fred',
      email: 'Save',
      evalue: 'new@example.org',
    });
    expect(e.pairs.error).toBe('0');
    expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs.email).toBe(
      'new@example.org',
    );
    const below = await s.admin('/CMD_API_MODIFY_USER', { action: 'customize', user: 'fred', vdomains: '0' });
    expect(below.pairs).toMatchObject({ error: '1', text: 'Limit reached' });
    // Changing the package definition reaches the users on it.
    await s.admin('/CMD_API_MODIFY_USER', { action: 'package', user: 'fred', package: 'small' });
    await s.admin('/CMD_API_MANAGE_USER_PACKAGES', { add: 'Save', packagename: 'small', bandwidth: '20' });
    expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs).toMatchObject({
      bandwidth: '20',
      quota: '10',
    });
  });

  it('manages user and reseller packages: list, show, rename, delete, refuse deleting one in use', async () => {
    const fields = {
      bandwidth: 'unlimited',
      quota: 'unlimited',
      inode: 'unlimited',
      vdomains: 'unlimited',
      nsubdomains: 'unlimited',
      nemails: 'unlimited',
      nemailf: 'unlimited',
      nemailml: 'unlimited',
      nemailr: 'unlimited',
      mysql: 'unlimited',
      domainptr: 'unlimited',
      ftp: 'unlimited',
    };
    expect(
      (
        await s.admin('/CMD_API_MANAGE_USER_PACKAGES', {
          add: 'Save',
          packagename: 'gold',
          ...fields,
          dnscontrol: 'ON',
        })
      ).pairs.text,
    ).toBe('Saved');
    expect((await s.admin('/CMD_API_PACKAGES_USER')).list).toEqual(['default', 'gold']);
    const show = await s.admin('/CMD_API_PACKAGES_USER', { package: 'gold' });
    expect(show.pairs).toMatchObject({ bandwidth: 'unlimited', dnscontrol: 'ON', login_keys: 'OFF' });
    const json = await s.call('/CMD_API_PACKAGES_USER?json=yes', { auth: ADMIN });
    expect(json.json()).toEqual(['default', 'gold']);
    await createAccount(s, 'user', 'fred', { package: 'gold' });
    const inUse = await s.admin('/CMD_API_MANAGE_USER_PACKAGES', { delete: 'yes', delete0: 'gold' });
    expect(inUse.pairs).toMatchObject({ error: '1', text: 'Package is in use' });
    expect(
      (
        await s.admin('/CMD_API_MANAGE_USER_PACKAGES', {
          action: 'rename',
          old_package: 'gold',
          new_package: 'platinum',
        })
      ).pairs.error,
    ).toBe('0');
    expect((await s.admin('/CMD_API_SHOW_USER_CONFIG', { user: 'fred' })).pairs.package).toBe('platinum');
    await s.admin('/CMD_API_SELECT_USERS', { delete: 'yes', confirmed: 'Confirm', select0: 'fred' });
    expect(
      (await s.admin('/CMD_API_MANAGE_USER_PACKAGES', { delete: 'yes', delete0: 'platinum' })).pairs.text,
    ).toBe('Deleted');
    expect((await s.admin('/CMD_API_PACKAGES_USER')).list).toEqual(['default']);
    // Reseller packages are the admin's; resellers and users may not manage them.
    expect(
      (
        await s.admin('/CMD_API_MANAGE_RESELLER_PACKAGES', {
          add: 'Save',
          packagename: 'resgold',
          ...fields,
          ips: '2',
          oversell: 'ON',
          dns: 'TWO',
        })
      ).pairs.text,
    ).toBe('Saved');
    expect((await s.admin('/CMD_API_PACKAGES_RESELLER', { package: 'resgold' })).pairs).toMatchObject({
      ips: '2',
      oversell: 'ON',
      dns: 'TWO',
    });
    await createAccount(s, 'reseller', 'res1', { package: 'resgold' });
    expect((await s.call('/CMD_API_PACKAGES_RESELLER', { auth: authOf('res1') })).pairs.error).toBe('1');
  });
});

describe('the current password of CMD_API_PASSWD is a login attempt', () => {
  it('counts wrong current passwords and then refuses even the right one', async () => {
    const s = await startTestServer({ settings: { bfmAccountThreshold: 2, bfmIpThreshold: 100 } });
    try {
      await createAccount(s, 'user', 'fred');
      for (let i = 0; i < 2; i++) {
        const r = await s.call('/CMD_API_PASSWD', {
          auth: authOf('fred'),
          params: { oldpass: `wrong-${i}-pass`, passwd: 'Fred-New-Pass-1', passwd2: 'Fred-New-Pass-1' },
        });
        expect(r.pairs).toMatchObject({ error: '1', text: 'Current password is incorrect' });
      }
      const verifications = s.services.hasher.verifications;
      const r = await s.call('/CMD_API_PASSWD', {
        auth: authOf('fred'),
        params: { oldpass: 'fred-Pass-123', passwd: 'Fred-New-Pass-1', passwd2: 'Fred-New-Pass-1' },
      });
      // The account is now blocked: even Basic auth with the right password is refused, without hashing.
      expect(r.status).toBe(401);
      expect(s.services.hasher.verifications).toBe(verifications);
    } finally {
      await s.close();
    }
  });
});

describe('deleting an account with credentials', () => {
  it('removes its login keys with it and keeps their history', async () => {
    const s = await startTestServer();
    try {
      await createAccount(s, 'user', 'fred');
      const k = await s.call('/CMD_API_LOGIN_KEYS', {
        auth: authOf('fred'),
        params: { action: 'create', keyname: 'script', never_expires: 'yes', passwd: 'fred-Pass-123' },
      });
      expect(k.pairs.error).toBe('0');
      expect((await s.call('/CMD_API_LOGIN_TEST', { auth: `fred:${k.pairs.key}` })).pairs.error).toBe('0');
      const del = await s.admin('/CMD_API_SELECT_USERS', {
        confirmed: 'Confirm',
        delete: 'yes',
        select0: 'fred',
      });
      expect(del.pairs).toMatchObject({ error: '0', text: 'User deleted' });
      expect(await s.services.db.selectFrom('login_keys').selectAll().execute()).toEqual([]);
      await s.services.keyUsage.flush();
      expect(
        (await s.services.db.selectFrom('login_key_history').selectAll().execute()).length,
      ).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
