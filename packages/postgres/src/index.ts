/**
 * `@cxs/postgres`: the PostgreSQL store for `@cxs/core`, for several engine processes over one
 * database (docs/spec.md §11).
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { PostgresStore } from '@cxs/postgres';
 * const cs = await createContextServices({
 *   store: new PostgresStore({ connectionString: 'postgres://cxs@localhost:5432/cxs' }),
 * });
 * ```
 */
export { isUnavailable } from './errors.js';
export type { OperationEvent, PostgresStats, PostgresStoreOptions } from './options.js';
export { PostgresStore } from './postgres-store.js';
export { MIGRATIONS, type MigrationResult, SCHEMA_VERSION } from './schema.js';
