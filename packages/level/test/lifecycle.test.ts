import { lifecycleModelSuite } from '@cxs/core/testing';
import { levelFactory } from './helpers.js';

lifecycleModelSuite('LevelStore', levelFactory());
