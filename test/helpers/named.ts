import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** named and rndc live in /usr/sbin on Debian, which is not in every user's PATH. */
function sbin(tool: string): string {
  const p = join('/usr/sbin', tool);
  return existsSync(p) ? p : tool;
}

/** A free TCP port on 127.0.0.1 (named uses the same number for UDP). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface NamedServer {
  /** DNS port on 127.0.0.1. */
  port: number;
  /** rndc control port on 127.0.0.1. */
  controlPort: number;
  dir: string;
  /** The include named reads hostdeck's zones from. */
  includePath: string;
  /** Directory for hostdeck's zone files. */
  zoneDir: string;
  /** argv prefix for rndc talking to this server. */
  rndc: string[];
  /** named's output so far (for failure messages). */
  log(): string;
  /** Answers of `dig +short` for a name and type. */
  dig(name: string, type: string): Promise<string[]>;
  /** The response code dig reports (NOERROR, NXDOMAIN, REFUSED…). */
  status(name: string, type: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a real `named -g` on loopback ports with a generated configuration (its own directory, rndc
 * key and controls, recursion off) including hostdeck's zone include, and waits until it runs.
 */
export async function startNamed(): Promise<NamedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hostdeck-named-'));
  const port = await freePort();
  let controlPort = await freePort();
  while (controlPort === port) controlPort = await freePort();
  const zoneDir = join(dir, 'zones');
  const includePath = join(dir, 'hostdeck-zones.conf');
  const secret = randomBytes(32).toString('base64');
  const key = `key "hostdeck-test" { algorithm hmac-sha256; secret "${secret}"; };\n`;
  writeFileSync(join(dir, 'rndc.key'), key, { mode: 0o600 });
  writeFileSync(
    join(dir, 'rndc.conf'),
    `${key}options { default-key "hostdeck-test"; default-server 127.0.0.1; default-port ${controlPort}; };\n`,
    { mode: 0o600 },
  );
  writeFileSync(includePath, '');
  writeFileSync(
    join(dir, 'named.conf'),
    `options {
  directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  dnssec-validation no;
  notify no;
};
include "${join(dir, 'rndc.key')}";
controls { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { "hostdeck-test"; }; };
include "${includePath}";
`,
  );
  let output = '';
  const child: ChildProcess = spawn(sbin('named'), ['-g', '-n', '1', '-c', join(dir, 'named.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that dies without stopping it must not leave a named behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const collect = (b: Buffer) => {
    output += b.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`named did not start within 15 s:\n${output}`)),
        15_000,
      );
      const check = () => {
        if (/\brunning\b/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`named exited with ${code} while starting:\n${output}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  const rndc = [sbin('rndc'), '-c', join(dir, 'rndc.conf')];
  const digArgs = (name: string, type: string, extra: string[]) => [
    '@127.0.0.1',
    '-p',
    String(port),
    '+time=1',
    '+tries=2',
    ...extra,
    name,
    type,
  ];
  return {
    port,
    controlPort,
    dir,
    includePath,
    zoneDir,
    rndc,
    log: () => output,
    async dig(name, type) {
      const { stdout } = await run('dig', digArgs(name, type, ['+short']));
      return stdout.split('\n').filter(Boolean);
    },
    async status(name, type) {
      const { stdout } = await run('dig', digArgs(name, type, ['+noall', '+comments']));
      return /status: ([A-Z]+)/.exec(stdout)?.[1] ?? `no status in: ${stdout}`;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
        ]);
        if (!killed) {
          child.kill('SIGKILL');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        }
      }
      if (existsSync(dir)) cleanup();
    },
  };
}
