import type { TypeValue } from './api.js';
import { encodeTime, type TenantKeys } from './keys.js';
import type { BatchOp } from './store.js';

/** Event fields as stored: `ts` is epoch ms. */
export interface EventRecord {
  readonly ts: number;
  readonly session_id?: string;
  readonly interaction_id?: string;
  readonly application_type?: TypeValue;
  readonly application_id?: number;
  readonly resource_type?: TypeValue;
  readonly resource_id?: number;
  readonly media_type?: TypeValue;
}

/** Event field names other than the timestamp, in output order. */
export const EVENT_FIELDS = [
  'session_id',
  'interaction_id',
  'application_type',
  'application_id',
  'resource_type',
  'resource_id',
  'media_type',
] as const;

interface EntityRecord {
  readonly started: EventRecord;
  readonly completed?: EventRecord;
  readonly est_duration?: number;
  readonly disposition?: TypeValue;
  readonly disposition_desc?: string;
}

/**
 * States and tasks list their extensions (attached data), each stored under a key of its own
 * (like the service's), so that reading a state or a task reads only the extensions a query selects.
 */
interface ChildRecord extends EntityRecord {
  /** The names of the extensions, each stored under its own key. */
  readonly ext_names: readonly string[];
  /**
   * Extension values at hand, by name: in memory, those a read loaded; in records stored before
   * extensions had keys of their own, all of them inline. A write stores them under their own keys
   * and drops the field, so such a record moves to the current layout on its next write.
   */
  readonly ext?: Readonly<Record<string, unknown>>;
}

/**
 * A service as stored under its own key. States, tasks and the service's extensions each live
 * under keys of their own, so that a write to a state or task rewrites neither the others nor
 * the service's attached data, however large.
 */
export interface ServiceRecord extends EntityRecord {
  readonly id: string;
  /**
   * The names of the service's extensions, each stored under its own key: a reader fetches the
   * ones it wants by key (in batches across services), and the limit of docs/spec.md §10 is their count.
   */
  readonly ext_names: readonly string[];
  /** Incremented by every write; the door to conditional batches on shared stores. */
  readonly version: number;
  readonly service_type?: TypeValue;
  readonly customer_id?: string;
  readonly contact_key?: string;
  /** Own auto-complete delay in seconds (docs/spec.md §7.3). */
  readonly auto_complete_after?: number;
  /** Own lifetime in seconds (docs/spec.md §7.2). */
  readonly ttl?: number;
  /** Absolute expiry instant (ms) that updates do not move. */
  readonly expiration_time?: number;
  /** Default lifetime (ms) captured at start: config changes apply to later services only. */
  readonly lifetime: number;
  /** Server time (ms) of the last write to the service or anything under it. */
  readonly updated: number;
  /** Expiry instant (ms): the service is invisible from then on. */
  readonly expires: number;
  /** Auto-complete deadline (ms), only while active with a known delay. */
  readonly auto_at?: number;
  readonly next_state: number;
  readonly next_task: number;
  /** States + tasks (docs/spec.md §10 limit). */
  readonly children: number;
  /**
   * Stored bytes (UTF-8) of the values of the service's states, tasks and every extension (its own
   * record is measured when a write is checked against the budget of docs/spec.md §10). Absent in records
   * written before it was kept: the next write counts it once.
   */
  readonly bytes?: number;
}

export interface StateRecord extends ChildRecord {
  readonly id: number;
  readonly state_type?: TypeValue;
  readonly previous_state_id?: number;
}

export interface TaskRecord extends ChildRecord {
  readonly id: number;
  readonly task_type?: TypeValue;
  readonly state_id?: number;
}

/** String form used by filters and composite matching (`400` matches `"400"`). */
export function typeKey(v: TypeValue | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

/** No index entries: those of a record not stored before. */
export const NO_ENTRIES: ReadonlyMap<string, string> = new Map();

/** The deletes (into `dels`) and puts (into `puts`) that turn the index entries `before` into `after`. */
export function diffEntries(
  dels: BatchOp[],
  puts: BatchOp[],
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): void {
  for (const k of before.keys()) if (!after.has(k)) dels.push({ type: 'del', key: k });
  for (const [k, v] of after) if (before.get(k) !== v) puts.push({ type: 'put', key: k, value: v });
}

/**
 * Every index entry a service record implies, as key → value. The engine writes the difference
 * between a record's entries before and after a change in the same batch as the record, so
 * indexes can never disagree with data (L7, L8).
 */
export function serviceIndexEntries(keys: TenantKeys, s: ServiceRecord): Map<string, string> {
  const out = new Map<string, string>();
  const start = encodeTime(s.started.ts);
  if (s.customer_id !== undefined) out.set(`${keys.byCustomerPrefix(s.customer_id)}${start}/${s.id}`, '');
  else if (s.contact_key !== undefined)
    out.set(`${keys.byContactKeyPrefix(s.contact_key)}${start}/${s.id}`, '');
  // Value: the completion instant ('' while active), so an export can select services started
  // before its window by their completion without reading their records.
  out.set(
    `${keys.byStartPrefix()}${start}/${s.id}`,
    s.completed === undefined ? '' : encodeTime(s.completed.ts),
  );
  if (s.completed !== undefined) {
    out.set(`${keys.byCompletionPrefix()}${encodeTime(s.completed.ts)}/${s.id}`, start);
  } else {
    out.set(`${keys.matchPrefix(s.customer_id, s.contact_key, typeKey(s.service_type))}${s.id}`, '');
  }
  out.set(keys.expiry(s.expires, s.id), '');
  if (s.auto_at !== undefined) out.set(keys.autoComplete(s.auto_at, s.id), '');
  return out;
}

/** Index entries of a state: the active marker while active. */
export function stateIndexEntries(keys: TenantKeys, sid: string, st: StateRecord): Map<string, string> {
  return new Map(st.completed === undefined ? [[keys.activeState(sid, st.id), '']] : []);
}

/** Index entries of a task: the active marker (grouped by state) while active. */
export function taskIndexEntries(keys: TenantKeys, sid: string, t: TaskRecord): Map<string, string> {
  return new Map(t.completed === undefined ? [[keys.activeTask(sid, t.state_id, t.id), '']] : []);
}

/** Bytes of a stored value as the store keeps it (UTF-8). */
export function valueBytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The stored size of state and task records read by {@link childFromStore}: what a write replacing one frees. */
export const storedBytes = new WeakMap<StateRecord | TaskRecord, number>();

/** A state or task record as stored: records written before `ext_names` existed list their inline extensions. */
export function childFromStore<T extends StateRecord | TaskRecord>(raw: string): T {
  const parsed = JSON.parse(raw) as T & { ext_names?: readonly string[] };
  const rec: T =
    parsed.ext_names === undefined ? { ...parsed, ext_names: Object.keys(parsed.ext ?? {}) } : parsed;
  storedBytes.set(rec, valueBytes(raw));
  return rec;
}
