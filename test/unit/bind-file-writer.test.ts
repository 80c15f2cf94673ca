import {
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readIfExists, removeFile, writeFileAtomic, writeTemp } from '../../src/apply/file-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'hostdeck-file-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic file writes', () => {
  it('writes the content with the mode asked for, whatever the umask', async () => {
    const path = join(dir, 'a.db');
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(path, 'one\n');
    } finally {
      process.umask(old);
    }
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it('replaces by rename: a reader holding the old file keeps reading the old content', async () => {
    const path = join(dir, 'b.db');
    await writeFileAtomic(path, 'old content\n');
    const fd = openSync(path, 'r');
    const before = statSync(path).ino;
    await writeFileAtomic(path, 'new content\n');
    expect(statSync(path).ino).not.toBe(before);
    const buf = Buffer.alloc(64);
    expect(buf.subarray(0, readSync(fd, buf)).toString()).toBe('old content\n');
    expect(readFileSync(path, 'utf8')).toBe('new content\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a staged file that is discarded leaves the live file and no temporary file', async () => {
    const path = join(dir, 'c.db');
    writeFileSync(path, 'live\n');
    const staged = await writeTemp(path, 'candidate\n');
    expect(staged.tmp.startsWith(join(dir, '.c.db.'))).toBe(true);
    expect(readFileSync(staged.tmp, 'utf8')).toBe('candidate\n');
    await staged.discard();
    expect(readFileSync(path, 'utf8')).toBe('live\n');
    expect(existsSync(staged.tmp)).toBe(false);
  });

  it('fails in a missing directory, removes files idempotently, reads missing files as null', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x.db'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const path = join(dir, 'd.db');
    await writeFileAtomic(path, 'x');
    await removeFile(path);
    await removeFile(path);
    expect(await readIfExists(path)).toBeNull();
  });
});
