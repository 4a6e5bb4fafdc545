/**
 * The stores the application can run on, picked by `--store`. Each store package is imported
 * only when selected, so a server on memory never loads LevelDB's native binding.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Store } from '@cxs/core';
import { UsageError } from './cli/options.js';

/** Store kinds accepted by `--store`. */
export const STORE_KINDS = ['level', 'memory'] as const;

/** Where a store keeps its data: `data` is the LevelDB directory. */
export interface StoreLocation {
  readonly data: string;
  /** LevelDB: fsync each write before acknowledging it (concurrent writes share one fsync). */
  readonly sync?: boolean;
  /** Told when a durable store starts failing writes (a full disk) and when it recovers. */
  readonly onHealthChange?: (health: { degraded: boolean; reason?: string }) => void;
}

/** Open the store a command asked for (not yet `open()`ed: the engine opens it). */
export async function openStore(kind: string, where: StoreLocation): Promise<Store> {
  switch (kind) {
    case 'memory': {
      if (where.sync === true) throw new UsageError('--sync applies to the level store only');
      const { MemoryStore } = await import('@cxs/core/memory');
      return new MemoryStore();
    }
    case 'level': {
      const { LevelStore } = await import('@cxs/level');
      await mkdir(resolve(where.data), { recursive: true });
      return new LevelStore({
        location: resolve(where.data),
        sync: where.sync === true,
        ...(where.onHealthChange === undefined ? {} : { onHealthChange: where.onHealthChange }),
      });
    }
    default:
      throw new UsageError(`--store must be one of ${STORE_KINDS.join(', ')} (got '${kind}')`);
  }
}
