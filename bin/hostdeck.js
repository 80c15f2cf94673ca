#!/usr/bin/env node
// Entry point of the `hostdeck` command; the code lives in the built dist/ folder (npm run build).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('hostdeck: not built yet; run "npm run build" first\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
