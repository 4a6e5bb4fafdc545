import { lifecycleModelSuite } from '@cxs/core/testing';
import { pgFactory } from './pg-harness.js';

// Fewer sequences than the in-process stores (every step is round trips to a server); FC_RUNS=300 for more.
lifecycleModelSuite('PostgresStore', pgFactory(), { runs: 30 });
