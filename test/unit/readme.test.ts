import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsTable } from '../../scripts/settings-table.js';

describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  it('starts with the two commands', () => {
    expect(readme.split('\n').slice(0, 6).join('\n')).toContain('npm install && npm start\nnpm run test:all');
  });
  it('lists every setting exactly as config.ts defines it (regenerate with `npx tsx scripts/settings-table.ts`)', () => {
    expect(readme).toContain(settingsTable());
  });
});
