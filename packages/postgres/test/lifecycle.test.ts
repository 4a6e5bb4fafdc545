import { lifecycleModelSuite } from '@cxs/core/testing';
import { pgFactory } from './pg-harness.js';

// Fewer sequences than the in-process stores: every step is several round trips to the server.
lifecycleModelSuite('PostgresStore', pgFactory(), { runs: 50 });
