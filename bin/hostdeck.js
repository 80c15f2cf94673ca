#!/usr/bin/env node
// Entry point of the `hostdeck` command; the code lives in the built dist/ folder (npm run build).
// Whatever goes wrong before the CLI itself runs is still reported as one line, never a stack trace.
import { existsSync } from 'node:fs';

const fail = (msg) => {
  process.stderr.write(`hostdeck: ${msg}\n`);
  process.exit(1);
};

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node.js 20 or newer is needed, this is ${process.version}`);

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) fail('not built yet; run "npm run build" first');

let runCli;
try {
  ({ runCli } = await import(entry.href));
} catch (e) {
  // A native module built for another Node.js (better-sqlite3, argon2) fails here, with a long message.
  const first = String(e?.message ?? e).split('\n')[0];
  fail(
    `cannot load ${entry.pathname}: ${first}${e?.code ? ` (${e.code})` : ''}; try "npm rebuild" or "npm run build"`,
  );
}
await runCli(process.argv);
