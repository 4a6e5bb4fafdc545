/**
 * The aggregate cache of active services (single-writer stores only): what the next writes of an
 * active service read again and again, its state and task records and its active markers. The
 * repo fills an entry by writing each committed batch through to it, and by the reads that miss.
 */
import { lastComponent, type TenantKeys } from './keys.js';
import type { ServiceRecord, StateRecord, TaskRecord } from './records.js';
import type { BatchOp } from './store.js';

/** One active service's entry. */
export interface ActiveEntry {
  /** State and task records by store key: as stored (parsed at the first read), or read. */
  readonly records: Map<string, StateRecord | TaskRecord | string>;
  /** Keys of the active-state markers, once known. */
  activeStates?: Set<string>;
  /** Keys of the active-task markers (all states), once known. */
  activeTasks?: Set<string>;
  /** The index entries of the service record last committed (the next write's old entries). */
  index?: { readonly service: ServiceRecord; readonly entries: Map<string, string> };
}

/** LRU weight of an entry: one per record and marker it holds. */
export const activeEntrySize = (h: ActiveEntry) =>
  1 + h.records.size + (h.activeStates?.size ?? 0) + (h.activeTasks?.size ?? 0);

/** Ids at the end of marker keys under `prefix`, in key order (the order a range read gives). */
export function idsUnder(markers: ReadonlySet<string>, prefix: string): number[] {
  const keys: string[] = [];
  for (const k of markers) if (k.startsWith(prefix)) keys.push(k);
  keys.sort();
  return keys.map((k) => Number(lastComponent(k)));
}

/**
 * The entry of service `sid` after a committed batch: `hot` (taken out of the cache before the
 * batch) with the batch's records and markers applied; a new service starts an entry that knows
 * it has no markers yet, an existing one unknown to the cache an entry that will learn them.
 */
export function writeThrough(
  keys: TenantKeys,
  sid: string,
  hot: ActiveEntry | undefined,
  created: boolean,
  ops: readonly BatchOp[],
): ActiveEntry {
  const entry: ActiveEntry =
    hot ??
    (created
      ? { records: new Map(), activeStates: new Set(), activeTasks: new Set() }
      : { records: new Map() });
  const states = keys.statesPrefix(sid);
  const tasks = keys.tasksPrefix(sid);
  const activeStates = keys.activeStatesPrefix(sid);
  const activeTasks = keys.activeTasksPrefix(sid);
  for (const op of ops) {
    const k = op.key;
    if (op.type === 'put') {
      if (k.startsWith(states) || k.startsWith(tasks)) entry.records.set(k, op.value);
      else if (k.startsWith(activeStates)) entry.activeStates?.add(k);
      else if (k.startsWith(activeTasks)) entry.activeTasks?.add(k);
    } else if (k.startsWith(states) || k.startsWith(tasks)) entry.records.delete(k);
    else if (k.startsWith(activeStates)) entry.activeStates?.delete(k);
    else if (k.startsWith(activeTasks)) entry.activeTasks?.delete(k);
  }
  return entry;
}
