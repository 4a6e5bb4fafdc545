/**
 * `@cxs/server`: the standalone Context Services server and the `cxs` command line (`serve`,
 * `export`, `import`, `purge`, `hash-password`), on the `@cxs/koa` adapter, picking a store by
 * option and loading only the store it runs on.
 *
 * @example
 * ```ts
 * import { main } from '@cxs/server';
 * process.exitCode = await main(['serve', '--store', 'memory', '--port', '9000']);
 * ```
 */
export { main } from './cli/main.js';
export { type OptionSpec, UsageError } from './cli/options.js';
export { MeasuredStore, type StoreCall, type StoreObserver } from './measured-store.js';
export { Metrics } from './metrics.js';
export { openStore, STORE_KINDS, type StoreLocation } from './stores.js';
export { type SweepReport, startSweeps } from './sweeper.js';
