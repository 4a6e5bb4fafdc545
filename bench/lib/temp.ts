/** Temporary data directories under bench/.tmp (gitignored), removed after use. */

import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** `bench/.tmp`, the directory for quick results, logs and data. */
export const TMP = fileURLToPath(new URL('../.tmp', import.meta.url));

/** A new empty directory under bench/.tmp. */
export async function tempDir(prefix: string): Promise<string> {
  mkdirSync(TMP, { recursive: true });
  return mkdtemp(`${TMP}/${prefix}-`);
}

/** Remove a directory made by {@link tempDir}. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
