// Prints the settings table of the README from src/config/config.ts (one source for both).
import { SETTINGS } from '../src/config/config.js';

/** The markdown table of every setting: flag, environment variable, hostdeck.json key, default, meaning. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const raw = s.default('<data-dir>');
    const def =
      raw === ''
        ? '(none)'
        : s.key === 'databaseUrl'
          ? '`sqlite:<data-dir>/hostdeck.sqlite`'
          : s.key === 'hostname'
            ? 'the machine name'
            : `\`${JSON.stringify(raw).replace(/^"|"$/g, '')}\``;
    // A `|` inside a cell, even in code, ends the cell in GitHub's tables unless escaped.
    const cells = [s.flag ? `\`${s.flag}\`` : '', `\`${s.env}\``, `\`${s.key}\``, def, s.doc];
    return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  });
  return [
    '| flag | environment | hostdeck.json | default | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? ''))
  console.log(settingsTable());
