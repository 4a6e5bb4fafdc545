import { MemoryStore } from '../src/memory/index.js';
import { changeStreamProperty } from '../src/testing/index.js';

changeStreamProperty('MemoryStore', { create: () => new MemoryStore() }, { runs: 100 });

// Declared shared: the store numbers the log (ordered append), and commits carry preconditions.
changeStreamProperty(
  'MemoryStore as a shared store',
  { create: () => new MemoryStore({ sharedWriters: true }) },
  { runs: 50 },
);
