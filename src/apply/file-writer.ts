import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `content` to a new temporary file beside `path` (same directory, so the rename cannot cross
 * file systems) and flushes it to disk. The caller checks it and then calls `commit` or `discard`.
 */
export async function writeTemp(path: string, content: string, mode = 0o644): Promise<StagedFile> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    // open() applies the umask; daemons reading these files (named runs as its own user) need the mode.
    await fh.chmod(mode);
    await fh.writeFile(content);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return {
    tmp,
    path,
    commit: async () => {
      await rename(tmp, path);
      await syncDir(dirname(path));
    },
    discard: () => rm(tmp, { force: true }),
  };
}

/** A written and flushed temporary file waiting to replace its target. */
export interface StagedFile {
  tmp: string;
  path: string;
  /** Atomically replaces the target (rename) and makes the rename durable. */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Replaces `path` atomically: readers see the old content or the new, never a partial file. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const staged = await writeTemp(path, content, mode);
  try {
    await staged.commit();
  } catch (e) {
    await staged.discard();
    throw e;
  }
}

/** Removes a file (missing is fine) and makes the removal durable. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
  await syncDir(dirname(path));
}

/** The current content of a file, or null when it does not exist. */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** fsync of a directory, so a rename or unlink in it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
