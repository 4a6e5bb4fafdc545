import { MemoryStore } from '../src/memory/index.js';
import { lifecycleModelSuite, storeConformanceSuite } from '../src/testing/index.js';

storeConformanceSuite('MemoryStore', { create: () => new MemoryStore() });
storeConformanceSuite(
  'MemoryStore (sharedWriters)',
  { create: () => new MemoryStore({ sharedWriters: true }) },
  { runs: 50 },
);
lifecycleModelSuite('MemoryStore', { create: () => new MemoryStore() });
// The engine's shared-writers path (preconditions, retries, no cache, sweep lease) under the same model.
lifecycleModelSuite('MemoryStore (sharedWriters)', {
  create: () => new MemoryStore({ sharedWriters: true }),
});
