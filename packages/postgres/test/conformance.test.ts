import { storeConformanceSuite } from '@cxs/core/testing';
import { pgFactory } from './pg-harness.js';

storeConformanceSuite('PostgresStore', pgFactory(), { runs: 100 });
