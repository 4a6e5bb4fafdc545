import { MemoryStore } from '../src/memory/index.js';
import { lifecycleModelSuite, storeConformanceSuite } from '../src/testing/index.js';

storeConformanceSuite('MemoryStore', { create: () => new MemoryStore() });
lifecycleModelSuite('MemoryStore', { create: () => new MemoryStore() });
