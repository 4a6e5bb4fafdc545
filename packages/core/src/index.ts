export type * from './api.js';
export { type Clock, SimulatedClock, systemClock } from './clock.js';
export { DEFAULT_LIMITS } from './config.js';
export { createContextServices } from './engine.js';
export { ContextServicesError, type ErrorCode, isContextServicesError } from './errors.js';
export {
  type ChangeEntry,
  type ChangeEvent,
  CONTEXT_EVENT_TYPES,
  type ContextEvent,
  type ContextEventType,
  type EventOf,
} from './events.js';
export { encodePosition, escapeComponent, POSITION_WIDTH, prefixEnd, unescapeComponent } from './keys.js';
export {
  type LoopDelaySource,
  MAX_PAUSE_MS,
  Pacer,
  type PacerDeps,
  type PacerStats,
  paceAt,
} from './pacer.js';
export {
  parseExportQuery,
  parseId,
  parseServiceListQuery,
  parseServiceQuery,
  parseStateListQuery,
  parseStateQuery,
  parseTaskListQuery,
  parseTaskQuery,
  type RawQuery,
} from './query.js';
export { probeStore, type ReadyOptions } from './ready.js';
export { schemas, validators } from './schemas.js';
export type {
  AppendOp,
  BatchOp,
  BatchOptions,
  Precondition,
  Range,
  Store,
  StoreCapabilities,
} from './store.js';
export {
  checkBatch,
  checkKey,
  checkRange,
  failedPrecondition,
  preconditionFailed,
} from './store-checks.js';
export { formatInstant, parseInstant, parseLifetime } from './time.js';
export { DOCUMENTED_FIELDS } from './validate.js';
