import { storeConformanceSuite } from '@cxs/core/testing';
import { levelFactory } from './helpers.js';

storeConformanceSuite('LevelStore', levelFactory());
storeConformanceSuite('LevelStore (sync)', levelFactory({ sync: true }), { runs: 30 });
