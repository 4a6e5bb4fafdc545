import { MemoryStore } from '../src/memory/index.js';
import { changeStreamProperty } from '../src/testing/index.js';

changeStreamProperty('MemoryStore', { create: () => new MemoryStore() }, { runs: 100 });
