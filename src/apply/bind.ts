import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where BIND's files live and how it is checked and reloaded. */
export interface BindSettings {
  /** Directory holding only hostdeck's zone files, `<origin>.db`. */
  zoneDir: string;
  /** The named.conf include listing hostdeck's zones. */
  includePath: string;
  checkzone: string;
  checkconf: string;
  /** argv of the command reloading one zone; `{zone}` is replaced by the origin. */
  reloadCommand: string[];
  /** argv of the command making BIND re-read its configuration (zones added or removed). */
  reconfigCommand: string[];
  /** Upper bound for each command (a hung rndc must not stall the applier). */
  timeoutMs?: number;
}

/** Splits a configured command line on whitespace into an argv array (no shell, no quoting). */
export function splitCommand(line: string): string[] {
  return line.trim().split(/\s+/).filter(Boolean);
}

interface RunResult {
  ok: boolean;
  output: string;
}

/** Runs argv without a shell; never rejects, the outcome and combined output are returned. */
function run(argv: string[], timeoutMs: number): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.resolve({ ok: false, output: 'empty command' });
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`.trim();
        if (!err) return resolve({ ok: true, output });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        const why =
          e.code === 'ENOENT'
            ? `${cmd} not found`
            : e.killed
              ? `${cmd} did not finish within ${timeoutMs} ms`
              : output || e.message;
        resolve({ ok: false, output: why });
      },
    );
  });
}

/** Several lines of tool output as one line, shortened for a log entry or an outbox row. */
function oneLine(text: string): string {
  const s = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'OK')
    .join('; ');
  return s.length > 500 ? `${s.slice(0, 497)}...` : s;
}

/** Runs a configured command; null on success, else its output as one line named after the program. */
async function command(argv: string[], timeoutMs: number): Promise<string | null> {
  const r = await run(argv, timeoutMs);
  if (r.ok) return null;
  const name = basename(argv[0] ?? 'command');
  const out = oneLine(r.output);
  // rndc and most tools already start their messages with their own name.
  return out.startsWith(`${name}:`) ? out : `${name}: ${out}`;
}

const ZONE_FILE = /^([a-z0-9_.-]+)\.db$/;

/** The BIND side of applying: file names, checks with named-checkzone/-checkconf, reload commands. */
export class BindDriver {
  readonly timeoutMs: number;
  constructor(readonly settings: BindSettings) {
    this.timeoutMs = settings.timeoutMs ?? 15_000;
  }

  /** The live zone file of an origin (the origin is validated by the renderer before it gets here). */
  zoneFile(origin: string): string {
    return join(this.settings.zoneDir, `${origin}.db`);
  }

  /** Creates the zone and include directories when missing. */
  async ensureDirs(): Promise<void> {
    await mkdir(this.settings.zoneDir, { recursive: true, mode: 0o755 });
    await mkdir(dirname(this.settings.includePath), { recursive: true, mode: 0o755 });
  }

  /** Origins with a zone file in the zone directory (hostdeck owns that directory). */
  async zoneFiles(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.settings.zoneDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .map((n) => ZONE_FILE.exec(n)?.[1])
      .filter((o): o is string => o !== undefined)
      .sort();
  }

  /** Checks a candidate zone file as the zone `origin`; null when BIND would load it, else the reason. */
  async checkZone(origin: string, file: string): Promise<string | null> {
    // -k fail and -i local are named's own defaults for a primary zone: what passes here, named loads.
    const r = await run([this.settings.checkzone, '-k', 'fail', '-i', 'local', origin, file], this.timeoutMs);
    return r.ok ? null : `named-checkzone: ${oneLine(r.output.split(file).join(this.zoneFile(origin)))}`;
  }

  /** Checks a candidate include file; null when it parses, else the reason. */
  async checkConf(file: string): Promise<string | null> {
    const r = await run([this.settings.checkconf, file], this.timeoutMs);
    return r.ok ? null : `named-checkconf: ${oneLine(r.output.split(file).join(this.settings.includePath))}`;
  }

  /** Asks BIND to reload one zone; null on success, else the reason. */
  async reloadZone(origin: string): Promise<string | null> {
    return command(
      this.settings.reloadCommand.map((a) => a.split('{zone}').join(origin)),
      this.timeoutMs,
    );
  }

  /** Asks BIND to re-read its configuration (new and removed zones); null on success, else the reason. */
  async reconfig(): Promise<string | null> {
    return command(this.settings.reconfigCommand, this.timeoutMs);
  }

  /** Null when named-checkzone and named-checkconf can be run, else why not. */
  async probe(): Promise<string | null> {
    for (const tool of [this.settings.checkzone, this.settings.checkconf]) {
      const r = await run([tool, '-v'], this.timeoutMs);
      if (!r.ok) return r.output;
    }
    return null;
  }
}
