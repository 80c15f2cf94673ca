import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BindDriver, splitCommand } from '../../src/apply/bind.js';

const dir = mkdtempSync(join(tmpdir(), 'hostdeck-bind-driver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function driver(over: Partial<ConstructorParameters<typeof BindDriver>[0]> = {}): BindDriver {
  return new BindDriver({
    zoneDir: join(dir, 'zones'),
    includePath: join(dir, 'zones.conf'),
    checkzone: 'named-checkzone',
    checkconf: 'named-checkconf',
    reloadCommand: ['true'],
    reconfigCommand: ['true'],
    ...over,
  });
}

describe('BindDriver', () => {
  it('splits a configured command on whitespace', () => {
    expect(splitCommand('  rndc  -s 127.0.0.1\treload {zone} ')).toEqual([
      'rndc',
      '-s',
      '127.0.0.1',
      'reload',
      '{zone}',
    ]);
  });

  it('reports a failed zone check on one line, naming the live file rather than the candidate', async () => {
    const d = driver();
    await d.ensureDirs();
    const tmp = join(dir, 'zones', '.example.com.db.1.tmp');
    writeFileSync(
      tmp,
      '$TTL 300\n@ IN SOA ns1.example.com. h.example.com. 1 1 1 1 1\n@ IN NS ns1.example.com.\nns1 IN A 192.0.2\n',
    );
    const err = await d.checkZone('example.com', tmp);
    expect(err).toMatch(/^named-checkzone: .*bad dotted quad/);
    expect(err).not.toContain(tmp);
    expect(err).toContain(`${d.zoneFile('example.com')}:4`);
    expect(err).not.toContain('\n');
  });

  it('runs commands without a shell, with the zone as one argument', async () => {
    const marker = join(dir, 'injected');
    const d = driver({ reloadCommand: ['sh', '-c', 'test "$0" = "a.example; touch x" || exit 7', '{zone}'] });
    expect(await d.reloadZone('a.example; touch x')).toBeNull();
    expect(await d.reloadZone('other.example')).toMatch(/^sh: /);
    const e = driver({ reloadCommand: ['echo', '{zone}', '&&', 'touch', marker] });
    expect(await e.reloadZone('example.com')).toBeNull();
    expect(existsSync(marker)).toBe(false);
  });

  it('names a missing program and stops one that hangs', async () => {
    expect(await driver({ reconfigCommand: ['/nonexistent/rndc', 'reconfig'] }).reconfig()).toBe(
      'rndc: /nonexistent/rndc not found',
    );
    const slow = new BindDriver({ ...driver().settings, reconfigCommand: ['sleep', '5'], timeoutMs: 200 });
    const t = Date.now();
    expect(await slow.reconfig()).toBe('sleep: sleep did not finish within 200 ms');
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await driver({ checkzone: '/nonexistent/named-checkzone' }).probe()).toBe(
      '/nonexistent/named-checkzone not found',
    );
    expect(await driver().probe()).toBeNull();
  });
});
