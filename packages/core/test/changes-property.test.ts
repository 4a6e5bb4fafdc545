import type { StoreCapabilities } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { changeStreamProperty } from '../src/testing/index.js';

changeStreamProperty('MemoryStore', { create: () => new MemoryStore() }, { runs: 100 });

/** The memory store declared shared: the log is numbered by the store's ordered append instead. */
class SharedMemoryStore extends MemoryStore {
  override readonly capabilities: StoreCapabilities = {
    persistent: false,
    snapshotIterators: true,
    sharedWriters: true,
    orderedAppend: true,
  };
}
changeStreamProperty(
  'MemoryStore as a shared store',
  { create: () => new SharedMemoryStore() },
  { runs: 50 },
);
