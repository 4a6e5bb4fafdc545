/**
 * The lifecycle rules of docs/spec.md §7 as pure functions `(current, command, now) → { next, events }`.
 * They read nothing and write nothing: the engine loads the records a command needs, calls one of
 * these, and commits the returned records (with their index entries) as one atomic batch.
 *
 * `lifecycle/common.ts` holds what the rules share, and one module each holds the rules of a
 * service, of its states and tasks, and of extensions.
 */
export {
  type Change,
  compact,
  type EndInput,
  type EventInput,
  eventRecord,
  type RuleConfig,
  touch,
} from './lifecycle/common.js';
export { type ExtensionTarget, setExtension } from './lifecycle/extensions.js';
export * from './lifecycle/service.js';
export * from './lifecycle/states-tasks.js';
