import { randomUUID } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A unique hidden temp name next to `path` (same directory, so the rename stays on one file
 * system and is atomic): `.<name>.<uuid>.tmp`.
 * @internal
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
}

/** @internal The fixed name of a resumable export's partial file. */
export function partialPathFor(path: string): string {
  return `${path}.partial`;
}

/**
 * fsyncs a directory so a rename in it survives a power loss. Platforms that cannot open or
 * sync a directory (Windows: EISDIR/EPERM; some file systems: EINVAL) are skipped.
 * @internal
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** @internal Removes a file, ignoring one that is already gone. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}
