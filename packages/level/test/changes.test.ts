import { changeStreamProperty } from '@cxs/core/testing';
import { levelFactory } from './helpers.js';

changeStreamProperty('LevelStore', levelFactory(), { runs: 60 });
