/**
 * How a change is laid out in the store beyond its index entries: the records of its states and
 * tasks, each extension value under a key of its own, and the service's stored size, kept exact
 * by every write and held to the budget of docs/spec.md §10 (so that every service that was accepted can
 * always be read whole, exported and backed up).
 */
import { ContextServicesError } from './errors.js';
import type { ChildKind, TenantKeys } from './keys.js';
import { prefixRange } from './keys.js';
import type { Change } from './lifecycle.js';
import { type ServiceRecord, type StateRecord, storedBytes, type TaskRecord, valueBytes } from './records.js';
import type { Before } from './repo-types.js';
import type { BatchOp, Store } from './store.js';

/** A change as stored: puts of child records and extension values, and the service record with its new size. */
export interface Layout {
  readonly service: ServiceRecord;
  /** `service` as stored (its JSON). */
  readonly serviceValue: string;
  readonly puts: BatchOp[];
}

/** The refusal of a write that would take a service past its budget (413 over HTTP). */
export function serviceTooLarge(sid: string, size: number, budget: number): ContextServicesError {
  return new ContextServicesError(
    'SERVICE_TOO_LARGE',
    `Service ${sid} would store ${size} bytes: the budget of one service is ${budget} bytes`,
    { details: { service_id: sid, size, limit: budget } },
  );
}

/** A child record as stored: without the extension values it carried (they go under keys of their own). */
function bare<T extends StateRecord | TaskRecord>(rec: T): T {
  const { ext: _values, ...rest } = rec;
  return rest as T;
}

/**
 * Bytes of the values stored for a service written before its size was kept: its states, tasks
 * and extensions, counted once by reading them.
 */
async function measure(store: Store, keys: TenantKeys, sid: string): Promise<number> {
  const skip = [keys.service(sid), keys.activeStatesPrefix(sid), keys.activeTasksPrefix(sid)];
  let bytes = 0;
  for await (const [k, v] of store.iterate(prefixRange(keys.service(sid)))) {
    if (k === skip[0] || k.startsWith(skip[1] as string) || k.startsWith(skip[2] as string)) continue;
    bytes += valueBytes(v);
  }
  return bytes;
}

/**
 * Lay out `change` for one batch and account for its size: every value it writes adds its bytes,
 * every value it replaces takes away what it stored (the old values of replaced extensions are
 * read for their size). The service record keeps the sum in `bytes`.
 *
 * @throws ContextServicesError `SERVICE_TOO_LARGE` when the service (its record included) would
 * pass `budget` bytes: nothing is written.
 */
export async function layOut(
  store: Store,
  keys: TenantKeys,
  before: Before,
  change: Change,
  budget: number,
): Promise<Layout> {
  const sid = change.service.id;
  const puts: BatchOp[] = [];
  let delta = 0;
  /** Keys of extension values that existed and are replaced: their old size is taken away. */
  const replaced: string[] = [];
  const put = (key: string, value: string) => {
    puts.push({ type: 'put', key, value });
    delta += valueBytes(value);
  };
  const had = before.service?.ext_names ?? [];
  for (const [name, value] of Object.entries(change.serviceExt ?? {})) {
    const key = keys.serviceExtension(sid, name);
    if (had.includes(name)) replaced.push(key);
    put(key, JSON.stringify(value));
  }
  const children = (kind: ChildKind, list: readonly (StateRecord | TaskRecord)[]) => {
    const prevs = kind === 's' ? before.states : before.tasks;
    for (const rec of list) {
      const prev = prevs?.get(rec.id);
      if (prev !== undefined) delta -= storedBytes.get(prev) ?? valueBytes(JSON.stringify(bare(prev)));
      put(kind === 's' ? keys.state(sid, rec.id) : keys.task(sid, rec.id), JSON.stringify(bare(rec)));
      for (const [name, value] of Object.entries(rec.ext ?? {})) {
        const key = keys.childExtension(sid, kind, rec.id, name);
        // A value the old record carried inline was counted with that record.
        const inline = prev?.ext !== undefined && Object.hasOwn(prev.ext, name);
        if (prev?.ext_names.includes(name) && !inline) replaced.push(key);
        put(key, JSON.stringify(value));
      }
    }
  };
  children('s', change.states);
  children('t', change.tasks);
  if (replaced.length > 0) {
    for (const old of await store.getMany(replaced)) if (old !== undefined) delta -= valueBytes(old);
  }
  const s = before.service;
  const base = s === undefined ? 0 : (s.bytes ?? (await measure(store, keys, sid)));
  const bytes = base + delta;
  const service: ServiceRecord = { ...change.service, bytes };
  const serviceValue = JSON.stringify(service);
  const size = bytes + valueBytes(serviceValue);
  // Only a write that grows the service is held to the budget: one that shrinks it always passes.
  if (size > budget && size > (s === undefined ? 0 : base + valueBytes(JSON.stringify(s))))
    throw serviceTooLarge(sid, size, budget);
  return { service, serviceValue, puts };
}
