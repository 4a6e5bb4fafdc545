/** The shapes the repo reads and commits: records a change started from, loaded aggregates, extension selections. */
import type { ChildKind } from './keys.js';
import type { ServiceRecord, StateRecord, TaskRecord } from './records.js';
import type { BatchOp, Precondition } from './store.js';

/** The records a change started from (absent = new). */
export interface Before {
  readonly service?: ServiceRecord;
  readonly states?: ReadonlyMap<number, StateRecord>;
  readonly tasks?: ReadonlyMap<number, TaskRecord>;
}

/** A service with its extensions and every state and task, read from one snapshot. */
export interface Aggregate {
  readonly service: ServiceRecord;
  readonly ext: Record<string, unknown>;
  readonly states: StateRecord[];
  readonly tasks: TaskRecord[];
}

/** A service record with the states and tasks a read asked for, from one snapshot iterator. */
export interface Children {
  readonly service: ServiceRecord;
  readonly states: StateRecord[];
  readonly tasks: TaskRecord[];
}

/** The extensions a read selects: of the service by name, and of some states and tasks. */
export interface ExtensionWants {
  readonly service?: readonly string[];
  readonly states?: readonly StateRecord[];
  readonly tasks?: readonly TaskRecord[];
  /** The names wanted of one state or task (default: all it has). */
  readonly names?: (kind: ChildKind, rec: StateRecord | TaskRecord) => readonly string[];
  /** Check the service version even when no value is read: the records came from several reads. */
  readonly check?: boolean;
}

/** Values read for {@link ExtensionWants}; states and tasks come back with `ext` holding theirs. */
export interface ExtensionValues {
  readonly service: Record<string, unknown>;
  readonly states: StateRecord[];
  readonly tasks: TaskRecord[];
}

/** Writes a commit carries beside its change (coordination keys such as a composite claim). */
export interface Guard {
  readonly ops: readonly BatchOp[];
  readonly preconditions: readonly Precondition[];
}

/** A service about to be removed: its record and every key stored under it (one range read). */
export interface Removal {
  readonly service: ServiceRecord;
  readonly under: readonly string[];
}
