import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@cxs/core';
import { LevelStore, type LevelStoreOptions } from '../src/index.js';

/**
 * Makes LevelStores in fresh temporary directories and removes them: the shape of `StoreFactory`
 * from `@cxs/core/testing` (create / reopen / destroy).
 */
export function levelFactory(options: Omit<LevelStoreOptions, 'location'> = {}) {
  const dirs = new Map<Store, string>();
  return {
    async create(): Promise<LevelStore> {
      const dir = await mkdtemp(join(tmpdir(), 'cxs-level-'));
      const store = new LevelStore({ ...options, location: join(dir, 'db') });
      dirs.set(store, dir);
      return store;
    },
    reopen(store: Store): LevelStore {
      const dir = dirs.get(store);
      if (dir === undefined) throw new Error('levelFactory: unknown store');
      const next = new LevelStore({ ...options, location: (store as LevelStore).location });
      dirs.delete(store);
      dirs.set(next, dir);
      return next;
    },
    async destroy(store: Store): Promise<void> {
      const dir = dirs.get(store);
      dirs.delete(store);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh temporary directory (removed by the returned cleanup). */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cxs-level-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every entry of a store, in key order. */
export { dumpStore as dump } from '@cxs/core/testing';

/** The rejection reason of `p` (fails the test when `p` resolves). */
export async function reason(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}
