/**
 * `@cxs/level`: the durable LevelDB store for `@cxs/core`.
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { LevelStore } from '@cxs/level';
 * const cs = await createContextServices({ store: new LevelStore({ location: './data' }) });
 * ```
 */
export { LevelStore, type LevelStoreHealth, type LevelStoreOptions } from './level-store.js';
export type { WriteStats } from './write-queue.js';
