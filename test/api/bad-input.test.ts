/**
 * Bad input through every parameter of every mutating DirectAdmin command (security.md §6 part F): each
 * hostile value is refused with error=1 and a reason, and changes nothing; a value that is legitimately
 * acceptable (a full name with `;`) is stored exactly as sent. Nothing answers 5xx, nothing runs a shell.
 * Also: importing crypted passwords (sha512/sha256/md5-crypt, bcrypt), their rehash to argon2id on the
 * first good login, and the refusal of malformed or too costly hashes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import {
  LIMIT_FIELDS,
  limitFieldsFor,
  type PackageKind,
  switchFieldsFor,
} from '../../src/modules/packages/limits.js';
import { credentialOf, freshName, packageFields, savePackage } from '../helpers/da-expectations.js';
import {
  type Answer,
  authOf,
  createAccount,
  rawCall,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { snapshot } from '../helpers/services.js';

type Params = Record<string, string>;

/** A file the shell payloads would create; it must never appear. */
const CANARY = `/tmp/hostdeck-canary-${process.pid}`;
const LIMIT_NAMES = new Set<string>(LIMIT_FIELDS);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

type VariantId =
  | 'empty'
  | 'long'
  | 'letters'
  | 'object'
  | 'json-object'
  | 'crlf'
  | 'nul'
  | 'u2028'
  | 'traversal'
  | 'semicolon'
  | 'semicolon-alone'
  | 'subshell'
  | 'subshell-alone'
  | 'backticks'
  | 'backticks-alone'
  | 'pipe'
  | 'pipe-alone'
  | 'dash'
  | 'bad-utf8';

/** `x` inside a value, with something on both sides. */
function inside(base: string, x: string): string {
  if (base.length < 2) return `${base || 'a'}${x}${base || 'b'}`;
  const k = Math.floor(base.length / 2);
  return base.slice(0, k) + x + base.slice(k);
}

/** Each hostile value, built from the field's valid value. `json-object` and `bad-utf8` change the encoding. */
const VARIANTS: readonly { id: VariantId; value: (base: string) => string }[] = [
  { id: 'empty', value: () => '' },
  { id: 'long', value: () => 'a'.repeat(5000) },
  { id: 'letters', value: () => 'abc' },
  { id: 'object', value: () => '{"a":1}' },
  { id: 'json-object', value: () => '{"a":1}' },
  { id: 'crlf', value: (b) => inside(b, '\r\n') },
  { id: 'nul', value: (b) => inside(b, '\u0000') },
  { id: 'u2028', value: (b) => inside(b, '\u2028') },
  { id: 'traversal', value: () => '../../etc/passwd' },
  { id: 'semicolon', value: (b) => `${b};id` },
  { id: 'semicolon-alone', value: () => ';id' },
  { id: 'subshell', value: (b) => `${b}$(touch ${CANARY})` },
  { id: 'subshell-alone', value: () => `$(touch ${CANARY})` },
  { id: 'backticks', value: (b) => `${b}\`touch ${CANARY}\`` },
  { id: 'backticks-alone', value: () => `\`touch ${CANARY}\`` },
  { id: 'pipe', value: (b) => `${b}|id` },
  { id: 'pipe-alone', value: () => '|id' },
  { id: 'dash', value: (b) => `-${b}` },
  { id: 'bad-utf8', value: () => '\ufffd' },
];

type Accepts = (value: string, id: VariantId) => boolean;

/** Which hostile values a kind of parameter legitimately takes. */
const ACCEPTS = {
  /** Names, numbers, choices, references: none of the values is valid. */
  none: () => false,
  /** A DA checkbox: empty means OFF ("if OFF, the variable should not be passed at all"). */
  switch: (_v, id) => id === 'empty',
  /** A submit button or an option without a meaning yet: only its presence counts, its value is never used. */
  button: (_v, id) => id !== 'bad-utf8',
  /** A checkbox that must be on for the request to do anything: any value but empty means on. */
  checkbox: (_v, id) => id !== 'bad-utf8' && id !== 'empty',
  /** An optional value whose empty form means "the default". */
  optional: (_v, id) => id === 'empty',
  /** A one-line free text (full name, reason): anything printable up to 128 characters. */
  text: (v, id) => id !== 'bad-utf8' && v.length <= 128 && !CONTROL.test(v),
  /** A password: 8–256 printable characters; shell metacharacters are just characters. */
  password: (v, id) => id !== 'bad-utf8' && v.length >= 8 && v.length <= 256 && !CONTROL.test(v),
  /** An e-mail address: a local part may start with `-` (RFC 5322 dot-atom); nothing else here is valid. */
  email: (_v, id) => id === 'dash',
} satisfies Record<string, Accepts>;

interface CaseContext {
  params: Params;
  value: string;
  answer: Answer;
}

interface Field {
  name: string;
  /** Parameters that always carry the same value (passwd2 with passwd). */
  also?: string[];
  /** A valid value the hostile ones are built from. */
  base: string;
  accepts: Accepts;
  /** A number or ON/OFF field, for which letters (`abc`) are the wrong type. */
  numeric?: boolean;
  /** For an accepted value: checks what was stored. */
  verify?(c: CaseContext): Promise<void>;
}

interface Scenario {
  label: string;
  cmd: string;
  auth(): string;
  /** The valid parameters of one request, made fresh for each case (new names, new victims). */
  params(): Promise<Params>;
  fields: Field[];
}

describe('bad input through every parameter of every mutating DA command', () => {
  let s: TestServer;
  const adminAuth = credentialOf('admin');
  let pwuserPassword = 'pwuser-Pass-123';

  beforeAll(async () => {
    rmSync(CANARY, { force: true });
    s = await startTestServer({ settings: { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 } });
    for (const u of ['mvictim', 'svictim', 'pvictim', 'pwuser']) await createAccount(s, 'user', u);
  });
  afterAll(async () => {
    await s?.close();
    rmSync(CANARY, { force: true });
  });

  const row = (username: string) =>
    s.services.db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
  const settingsOf = async (username: string) => JSON.parse((await row(username))?.settings ?? '{}');
  const packageSettings = async (kind: PackageKind, name: string) => {
    const p = await s.services.db
      .selectFrom('packages')
      .select('settings')
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
    return JSON.parse(p?.settings ?? '{}');
  };
  const login = (auth: string) => rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth });

  /** Where an accepted limit or switch of a case ends up: the new account's or package's settings. */
  type SettingsOf = (p: Params) => Promise<Record<string, string>>;

  function settingFields(kind: PackageKind, stored: SettingsOf, numberBase = '50'): Field[] {
    const fields: Field[] = [];
    for (const f of limitFieldsFor(kind)) {
      fields.push({ name: f, base: numberBase, accepts: ACCEPTS.none, numeric: true });
      fields.push({
        name: `u${f}`,
        base: 'OFF',
        accepts: ACCEPTS.switch,
        numeric: true,
        verify: async (c) => expect((await stored(c.params))[f]).toBe(c.params[f] ?? numberBase),
      });
    }
    for (const f of switchFieldsFor(kind))
      fields.push({
        name: f,
        base: 'ON',
        accepts: ACCEPTS.switch,
        numeric: true,
        verify: async (c) => expect((await stored(c.params))[f]).toBe('OFF'),
      });
    if (kind === 'reseller') fields.push({ name: 'dns', base: 'OFF', accepts: ACCEPTS.none });
    fields.push({ name: 'skin', base: 'evolution', accepts: ACCEPTS.none });
    fields.push({ name: 'language', base: 'en', accepts: ACCEPTS.none });
    return fields;
  }

  function newAccount(level: 'user' | 'reseller' | 'admin', extra: Params = {}): Params {
    const username = freshName('b');
    const pw = `${username}-Pass-123`;
    return {
      action: 'create',
      add: 'Submit',
      username,
      email: `${username}@example.com`,
      passwd: pw,
      passwd2: pw,
      notify: 'no',
      name: 'Fred Example',
      ...(level === 'admin' ? {} : { domain: `${username}.example.com`, ip: 'shared' }),
      ...extra,
    };
  }

  const nameStored: Field['verify'] = async (c) => {
    expect((await row(c.params.username ?? ''))?.name).toBe(c.value);
    const cfg = await rawCall(s.port, '/CMD_API_SHOW_USER_CONFIG', {
      auth: adminAuth,
      params: { user: c.params.username ?? '' },
    });
    expect(cfg.pairs.name).toBe(c.value);
    expect(cfg.body.split('&').every((kv) => /^[^=&\r\n]+=[^&\r\n]*$/.test(kv))).toBe(true);
  };

  function accountFields(level: 'user' | 'reseller' | 'admin'): Field[] {
    const fields: Field[] = [
      { name: 'action', base: 'create', accepts: ACCEPTS.none },
      { name: 'add', base: 'Submit', accepts: ACCEPTS.button },
      { name: 'username', base: 'badname', accepts: ACCEPTS.none },
      {
        name: 'email',
        base: 'owner@example.com',
        accepts: ACCEPTS.email,
        verify: async (c) => expect((await row(c.params.username ?? ''))?.email).toBe(c.value),
      },
      {
        name: 'passwd',
        also: ['passwd2'],
        base: 'Good-Pass-123',
        accepts: ACCEPTS.password,
        verify: async (c) => {
          expect((await login(`${c.params.username}:${c.value}`)).pairs.error).toBe('0');
        },
      },
      { name: 'passwd2', base: 'Other-Pass-123', accepts: ACCEPTS.none },
      {
        name: 'passwd_is_crypted',
        base: '0',
        accepts: ACCEPTS.switch,
        numeric: true,
        verify: async (c) => {
          expect((await login(`${c.params.username}:${c.params.passwd}`)).pairs.error).toBe('0');
        },
      },
      { name: 'notify', base: 'no', accepts: ACCEPTS.button },
      { name: 'name', base: 'Fred Example', accepts: ACCEPTS.text, verify: nameStored },
    ];
    if (level === 'admin')
      fields.push({
        name: 'domain',
        base: 'admindomain.example.com',
        accepts: ACCEPTS.optional,
        verify: async (c) => expect((await row(c.params.username ?? ''))?.domain).toBe(''),
      });
    else
      fields.push(
        { name: 'domain', base: 'somewhere.example.com', accepts: ACCEPTS.none },
        { name: 'package', base: 'default', accepts: ACCEPTS.none },
        {
          name: 'ip',
          base: 'shared',
          accepts: ACCEPTS.optional,
          verify: async (c) => expect((await row(c.params.username ?? ''))?.ip).toBe('shared'),
        },
      );
    return fields;
  }

  const accountSettings: SettingsOf = (p) => settingsOf(p.username ?? '');

  function packageScenarios(kind: PackageKind): Scenario[] {
    const cmd = kind === 'user' ? 'CMD_API_MANAGE_USER_PACKAGES' : 'CMD_API_MANAGE_RESELLER_PACKAGES';
    const fresh = async () => {
      const name = freshName('p');
      await savePackage(s, adminAuth, kind, name);
      return name;
    };
    return [
      {
        label: `${cmd} save`,
        cmd,
        auth: () => adminAuth,
        params: async () => ({ add: 'Save', packagename: freshName('p'), ...packageFields(kind, '50') }),
        fields: [
          { name: 'add', base: 'Save', accepts: ACCEPTS.button },
          { name: 'packagename', base: 'newpackage', accepts: ACCEPTS.none },
          ...settingFields(kind, (p) => packageSettings(kind, p.packagename ?? '')),
        ],
      },
      {
        label: `${cmd} delete`,
        cmd,
        auth: () => adminAuth,
        params: async () => ({ delete: 'yes', delete0: await fresh() }),
        fields: [
          { name: 'delete', base: 'yes', accepts: ACCEPTS.button },
          { name: 'delete0', base: 'somepackage', accepts: ACCEPTS.none },
        ],
      },
      {
        label: `${cmd} rename`,
        cmd,
        auth: () => adminAuth,
        params: async () => ({ action: 'rename', old_package: await fresh(), new_package: freshName('r') }),
        fields: [
          { name: 'action', base: 'rename', accepts: ACCEPTS.none },
          { name: 'old_package', base: 'somepackage', accepts: ACCEPTS.none },
          { name: 'new_package', base: 'renamed', accepts: ACCEPTS.none },
        ],
      },
    ];
  }

  const nsKept = (field: 'ns1' | 'ns2') => async () =>
    expect((await row('mvictim'))?.[field]).toBe(`${field}.panel.example.net`);

  const victim = async () => {
    const name = freshName('d');
    await createAccount(s, 'user', name);
    return name;
  };

  const SCENARIOS: Scenario[] = [
    {
      label: 'CMD_API_ACCOUNT_USER create with a package',
      cmd: 'CMD_API_ACCOUNT_USER',
      auth: () => adminAuth,
      params: async () => newAccount('user', { package: 'default' }),
      fields: accountFields('user'),
    },
    {
      label: 'CMD_API_ACCOUNT_USER create with custom limits',
      cmd: 'CMD_API_ACCOUNT_USER',
      auth: () => adminAuth,
      params: async () => newAccount('user', packageFields('user', '50')),
      fields: settingFields('user', accountSettings),
    },
    {
      label: 'CMD_API_ACCOUNT_RESELLER create with a package',
      cmd: 'CMD_API_ACCOUNT_RESELLER',
      auth: () => adminAuth,
      params: async () => newAccount('reseller', { package: 'default' }),
      fields: accountFields('reseller'),
    },
    {
      label: 'CMD_API_ACCOUNT_RESELLER create with custom limits',
      cmd: 'CMD_API_ACCOUNT_RESELLER',
      auth: () => adminAuth,
      params: async () => newAccount('reseller', packageFields('reseller', '50')),
      fields: settingFields('reseller', accountSettings),
    },
    {
      label: 'CMD_API_ACCOUNT_ADMIN create',
      cmd: 'CMD_API_ACCOUNT_ADMIN',
      auth: () => adminAuth,
      params: async () => newAccount('admin'),
      fields: accountFields('admin'),
    },
    {
      label: 'CMD_API_MODIFY_USER customize',
      cmd: 'CMD_API_MODIFY_USER',
      auth: () => adminAuth,
      params: async () => ({ action: 'customize', user: 'mvictim', nemails: '5' }),
      fields: [
        { name: 'action', base: 'customize', accepts: ACCEPTS.none },
        { name: 'user', base: 'mvictim', accepts: ACCEPTS.none },
        // Empty name servers mean "keep the current ones".
        { name: 'ns1', base: 'ns1.example.net', accepts: ACCEPTS.optional, verify: nsKept('ns1') },
        { name: 'ns2', base: 'ns2.example.net', accepts: ACCEPTS.optional, verify: nsKept('ns2') },
        ...settingFields('user', () => settingsOf('mvictim')).map((f) => {
          // Modifying keeps what is not sent: `u<field>=` (OFF) without the number leaves the limit as it was.
          if (!f.name.startsWith('u') || !LIMIT_NAMES.has(f.name.slice(1))) return f;
          const { verify: _, ...rest } = f;
          return rest;
        }),
      ],
    },
    {
      label: 'CMD_API_MODIFY_USER package',
      cmd: 'CMD_API_MODIFY_USER',
      auth: () => adminAuth,
      params: async () => ({ action: 'package', user: 'mvictim', package: 'default' }),
      fields: [
        { name: 'action', base: 'package', accepts: ACCEPTS.none },
        { name: 'user', base: 'mvictim', accepts: ACCEPTS.none },
        { name: 'package', base: 'default', accepts: ACCEPTS.none },
      ],
    },
    {
      label: 'CMD_API_MODIFY_USER single e-mail',
      cmd: 'CMD_API_MODIFY_USER',
      auth: () => adminAuth,
      params: async () => ({ action: 'single', user: 'mvictim', email: 'Save', evalue: 'mv@example.org' }),
      fields: [
        { name: 'action', base: 'single', accepts: ACCEPTS.none },
        { name: 'user', base: 'mvictim', accepts: ACCEPTS.none },
        { name: 'email', base: 'Save', accepts: ACCEPTS.button },
        {
          name: 'evalue',
          base: 'mv@example.org',
          accepts: ACCEPTS.email,
          verify: async (c) => expect((await row('mvictim'))?.email).toBe(c.value),
        },
      ],
    },
    {
      label: 'CMD_API_MODIFY_USER single name',
      cmd: 'CMD_API_MODIFY_USER',
      auth: () => adminAuth,
      params: async () => ({ action: 'single', user: 'mvictim', name: 'Save', nvalue: 'Mary Victim' }),
      fields: [
        { name: 'name', base: 'Save', accepts: ACCEPTS.button },
        {
          name: 'nvalue',
          base: 'Mary Victim',
          accepts: ACCEPTS.text,
          verify: async (c) => nameStored({ ...c, params: { ...c.params, username: 'mvictim' } }),
        },
      ],
    },
    {
      label: 'CMD_API_MODIFY_USER single name servers',
      cmd: 'CMD_API_MODIFY_USER',
      auth: () => adminAuth,
      params: async () => ({
        action: 'single',
        user: 'mvictim',
        ns: 'Save',
        ns1: 'ns1.example.org',
        ns2: 'ns2.example.org',
      }),
      fields: [
        { name: 'ns', base: 'Save', accepts: ACCEPTS.button },
        { name: 'ns1', base: 'ns1.example.org', accepts: ACCEPTS.none },
        { name: 'ns2', base: 'ns2.example.org', accepts: ACCEPTS.none },
      ],
    },
    {
      label: 'CMD_API_SELECT_USERS delete',
      cmd: 'CMD_API_SELECT_USERS',
      auth: () => adminAuth,
      params: async () => ({ confirmed: 'Confirm', delete: 'yes', select0: await victim() }),
      fields: [
        { name: 'select0', base: 'somebody', accepts: ACCEPTS.none },
        { name: 'confirmed', base: 'Confirm', accepts: ACCEPTS.button },
        {
          name: 'delete',
          base: 'yes',
          accepts: ACCEPTS.checkbox,
          verify: async (c) => expect(await row(c.params.select0 ?? '')).toBeUndefined(),
        },
      ],
    },
    {
      label: 'CMD_API_SELECT_USERS suspend',
      cmd: 'CMD_API_SELECT_USERS',
      auth: () => adminAuth,
      params: async () => ({
        location: 'CMD_SELECT_USERS',
        suspend: 'Suspend',
        select0: 'svictim',
        reason: 'late payment',
      }),
      fields: [
        { name: 'select0', base: 'svictim', accepts: ACCEPTS.none },
        { name: 'location', base: 'CMD_SELECT_USERS', accepts: ACCEPTS.button },
        { name: 'suspend', base: 'Suspend', accepts: ACCEPTS.none },
        {
          name: 'reason',
          base: 'late payment',
          accepts: ACCEPTS.text,
          verify: async (c) => expect((await row('svictim'))?.suspended_reason).toBe(c.value),
        },
      ],
    },
    {
      label: 'CMD_API_SELECT_USERS dosuspend',
      cmd: 'CMD_API_SELECT_USERS',
      auth: () => adminAuth,
      params: async () => ({ dosuspend: 'yes', select0: 'svictim' }),
      fields: [{ name: 'dosuspend', base: 'yes', accepts: ACCEPTS.button }],
    },
    {
      label: 'CMD_API_USER_PASSWD',
      cmd: 'CMD_API_USER_PASSWD',
      auth: () => adminAuth,
      params: async () => ({ username: 'pvictim', passwd: 'Pvictim-New-123', passwd2: 'Pvictim-New-123' }),
      fields: [
        { name: 'username', base: 'pvictim', accepts: ACCEPTS.none },
        {
          name: 'passwd',
          also: ['passwd2'],
          base: 'Pvictim-New-123',
          accepts: ACCEPTS.password,
          verify: async (c) => expect((await login(`pvictim:${c.value}`)).pairs.error).toBe('0'),
        },
        { name: 'passwd2', base: 'Pvictim-Other-1', accepts: ACCEPTS.none },
        {
          name: 'passwd_is_crypted',
          base: '0',
          accepts: ACCEPTS.switch,
          numeric: true,
          verify: async () => expect((await login('pvictim:Pvictim-New-123')).pairs.error).toBe('0'),
        },
      ],
    },
    {
      label: 'CMD_API_PASSWD',
      cmd: 'CMD_API_PASSWD',
      auth: () => `pwuser:${pwuserPassword}`,
      params: async () => ({
        oldpass: pwuserPassword,
        passwd: 'Pwuser-Next-123',
        passwd2: 'Pwuser-Next-123',
      }),
      fields: [
        { name: 'oldpass', base: 'pwuser-Pass-123', accepts: ACCEPTS.none },
        {
          name: 'passwd',
          also: ['passwd2'],
          base: 'Pwuser-Next-123',
          accepts: ACCEPTS.password,
          verify: async (c) => {
            pwuserPassword = c.value;
            expect((await login(`pwuser:${c.value}`)).pairs.error).toBe('0');
          },
        },
        { name: 'passwd2', base: 'Pwuser-Other-1', accepts: ACCEPTS.none },
      ],
    },
    ...packageScenarios('user'),
    ...packageScenarios('reseller'),
  ];

  /** Sends the request with `field` (and its twins) set to the variant, in the variant's encoding. */
  function send(sc: Scenario, params: Params, field: Field, id: VariantId, value: string): Promise<Answer> {
    const names = [field.name, ...(field.also ?? [])];
    const auth = sc.auth();
    if (id === 'bad-utf8') {
      const rest = Object.entries(params).filter(([k]) => !names.includes(k));
      const body = [new URLSearchParams(rest).toString(), ...names.map((n) => `${n}=%FF%FE`)].join('&');
      return rawCall(s.port, `/${sc.cmd}`, {
        method: 'POST',
        auth,
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    }
    if (id === 'json-object') {
      const obj: Record<string, unknown> = { ...params };
      for (const n of names) obj[n] = { a: 1 };
      return rawCall(s.port, `/${sc.cmd}`, {
        method: 'POST',
        auth,
        body: JSON.stringify(obj),
        headers: { 'content-type': 'application/json' },
      });
    }
    const p = { ...params };
    for (const n of names) p[n] = value;
    return rawCall(s.port, `/${sc.cmd}`, { method: 'POST', auth, params: p });
  }

  for (const sc of SCENARIOS) {
    for (const field of sc.fields) {
      it(`${sc.label}: ${field.name}`, { timeout: 120_000 }, async () => {
        const problems: string[] = [];
        for (const v of VARIANTS) {
          if (v.id === 'letters' && !field.numeric) continue;
          const params = await sc.params();
          const value = v.value(field.base);
          const accepted = field.accepts(value, v.id);
          const before = await snapshot(s.services);
          const answer = await send(sc, params, field, v.id, value);
          const where = `${v.id} (${JSON.stringify(value.slice(0, 40))})`;
          // Legacy answers carry an unexpected error as HTTP 200 with text "Internal error": a crash all the same.
          if (answer.status >= 500 || answer.pairs.text === ERRORS.INTERNAL.text) {
            problems.push(`${where}: server error ${answer.status} ${answer.body}`);
            continue;
          }
          if (accepted) {
            if (answer.pairs.error !== '0') {
              problems.push(`${where}: a legitimate value was refused: ${answer.status} ${answer.body}`);
              continue;
            }
            const sent = { ...params };
            for (const n of [field.name, ...(field.also ?? [])]) sent[n] = value;
            try {
              await field.verify?.({ params: sent, value, answer });
            } catch (e) {
              problems.push(`${where}: accepted but not stored as sent: ${(e as Error).message}`);
            }
            continue;
          }
          if (answer.pairs.error !== '1' || !answer.pairs.text)
            problems.push(`${where}: not refused with error=1 and a text: ${answer.status} ${answer.body}`);
          else if ((await snapshot(s.services)) !== before)
            problems.push(`${where}: refused, but data changed`);
        }
        expect(problems).toEqual([]);
        expect(existsSync(CANARY), 'no shell ran a payload').toBe(false);
      });
    }
  }

  it('still serves requests, and no payload ever reached a shell', async () => {
    expect((await login(adminAuth)).pairs.error).toBe('0');
    expect(existsSync(CANARY)).toBe(false);
  });
});

const HAS_OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** `openssl passwd -6|-5|-1` with the password on stdin (never in argv, where `ps` would show it). */
function opensslCrypt(flag: '-6' | '-5' | '-1', password: string): string {
  return execFileSync('openssl', ['passwd', flag, '-stdin'], { input: `${password}\n` })
    .toString()
    .trim();
}

describe('crypted passwords (passwd_is_crypted=1)', () => {
  let s: TestServer;
  const adminAuth = credentialOf('admin');
  beforeAll(async () => {
    s = await startTestServer({ settings: { bfmIpThreshold: 1_000_000, bfmAccountThreshold: 1_000_000 } });
    await createAccount(s, 'user', 'cryptvic');
  });
  afterAll(async () => s?.close());

  const storedHash = async (username: string) =>
    (
      await s.services.db
        .selectFrom('accounts')
        .select('password_hash')
        .where('username', '=', username)
        .executeTakeFirst()
    )?.password_hash;
  const login = (auth: string) => rawCall(s.port, '/CMD_API_LOGIN_TEST', { auth });

  /** The account logs in with the plain password, and its hash becomes argon2id at that first login. */
  async function importsAndRehashes(username: string, hash: string, plain: string) {
    expect(await storedHash(username)).toBe(hash);
    expectUnauthorizedLogin(await login(`${username}:${plain}x`));
    expect(await storedHash(username), 'a wrong password does not rehash').toBe(hash);
    const ok = await login(`${username}:${plain}`);
    expect(ok.pairs.error, ok.body).toBe('0');
    expect(await storedHash(username)).toMatch(/^\$argon2id\$v=19\$/);
    expect((await login(`${username}:${plain}`)).pairs.error).toBe('0');
    expectUnauthorizedLogin(await login(`${username}:${plain}x`));
  }

  function expectUnauthorizedLogin(a: Answer) {
    expect(a.status).toBe(401);
    expect(a.headers['x-directadmin']).toBe('Unauthorized');
  }

  const formats: { label: string; needsOpenssl: boolean; make: (pw: string) => string }[] = [
    {
      label: 'sha512-crypt ($6$, openssl passwd -6)',
      needsOpenssl: true,
      make: (pw) => opensslCrypt('-6', pw),
    },
    {
      label: 'sha256-crypt ($5$, openssl passwd -5)',
      needsOpenssl: true,
      make: (pw) => opensslCrypt('-5', pw),
    },
    { label: 'md5-crypt ($1$, openssl passwd -1)', needsOpenssl: true, make: (pw) => opensslCrypt('-1', pw) },
    {
      label: 'bcrypt ($2y$, bcryptjs)',
      needsOpenssl: false,
      make: (pw) => bcrypt.hashSync(pw, 10).replace(/^\$2[ab]\$/, '$2y$'),
    },
    { label: 'bcrypt ($2b$, bcryptjs)', needsOpenssl: false, make: (pw) => bcrypt.hashSync(pw, 10) },
  ];

  for (const f of formats) {
    it.skipIf(f.needsOpenssl && !HAS_OPENSSL)(`creates an account from ${f.label}`, async () => {
      const username = freshName('h');
      const plain = `${username}-Plain-9;$(x)`;
      const hash = f.make(plain);
      const a = await rawCall(s.port, '/CMD_API_ACCOUNT_USER', {
        method: 'POST',
        auth: adminAuth,
        params: {
          action: 'create',
          username,
          email: `${username}@example.com`,
          passwd: hash,
          passwd2: hash,
          passwd_is_crypted: '1',
          domain: `${username}.example.com`,
          package: 'default',
        },
      });
      expect(a.pairs.error, a.body).toBe('0');
      await importsAndRehashes(username, hash, plain);
    });

    it.skipIf(f.needsOpenssl && !HAS_OPENSSL)(`sets a password from ${f.label}`, async () => {
      const plain = `Crypt-Set-${f.label.length}-Pass`;
      const hash = f.make(plain);
      const a = await rawCall(s.port, '/CMD_API_USER_PASSWD', {
        method: 'POST',
        auth: adminAuth,
        params: { username: 'cryptvic', passwd: hash, passwd_is_crypted: '1' },
      });
      expect(a.pairs.error, a.body).toBe('0');
      await importsAndRehashes('cryptvic', hash, plain);
    });
  }

  const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const chars = (n: number) => Array.from({ length: n }, (_, i) => CRYPT64[(i * 7) % 64]).join('');
  const BAD_HASHES: [string, string][] = [
    ['sha512-crypt with 999999999 rounds', `$6$rounds=999999999$saltsaltsalt$${chars(86)}`],
    ['sha256-crypt with 999999999 rounds', `$5$rounds=999999999$saltsaltsalt$${chars(43)}`],
    ['bcrypt cost 31', `$2y$31$${chars(53)}`],
    ['bcrypt cost 20', `$2b$20$${chars(53)}`],
    [
      'argon2id with 8 GiB and t=1000',
      `$argon2id$v=19$m=8388608,t=1000,p=1$c2FsdHNhbHRzYWx0$${'A'.repeat(43)}`,
    ],
    ['garbage', 'garbage'],
    ['empty-ish', '$6$'],
    ['sha512-crypt with a short digest', `$6$salt$${chars(20)}`],
    ['md5-crypt with a newline', `$1$salt$${chars(11)}\n${chars(10)}`],
    ['a plain password', 'Just-A-Password-1'],
    ['unsupported yescrypt', `$y$j9T$${chars(22)}$${chars(43)}`],
    ['too long', `$6$salt$${chars(300)}`],
  ];

  for (const [label, hash] of BAD_HASHES) {
    it(`refuses ${label} at creation and at a password change, quickly and with no change`, async () => {
      const username = freshName('x');
      const before = await snapshot(s.services);
      const started = performance.now();
      const created = await rawCall(s.port, '/CMD_API_ACCOUNT_USER', {
        method: 'POST',
        auth: adminAuth,
        params: {
          action: 'create',
          username,
          email: `${username}@example.com`,
          passwd: hash,
          passwd_is_crypted: '1',
          domain: `${username}.example.com`,
          package: 'default',
        },
      });
      const set = await rawCall(s.port, '/CMD_API_USER_PASSWD', {
        method: 'POST',
        auth: adminAuth,
        params: { username: 'cryptvic', passwd: hash, passwd_is_crypted: '1' },
      });
      expect(performance.now() - started, 'refused before any hashing').toBeLessThan(2000);
      for (const a of [created, set]) {
        expect(a.status).toBeLessThan(500);
        expect(a.pairs.text).not.toBe(ERRORS.INTERNAL.text);
        expect(a.pairs.error, a.body).toBe('1');
        expect(a.pairs.text).toBeTruthy();
      }
      expect(await snapshot(s.services)).toBe(before);
    });
  }

  it('keeps working after all of it', async () => {
    expect((await login(adminAuth)).pairs.error).toBe('0');
    expect((await login(authOf('cryptvic'))).status).toBe(401);
  });
});
