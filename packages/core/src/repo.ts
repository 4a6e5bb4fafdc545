/**
 * The engine's storage side: loads records, turns a lifecycle {@link Change} into one atomic
 * batch (records plus the index entries they imply), serializes writes per service, keeps the
 * bounded cache and emits events after commit. Knows keys and records; knows nothing of HTTP.
 */
import { LRUCache } from 'lru-cache';
import type { ChangeLog } from './change-log.js';
import { ContextServicesError } from './errors.js';
import type { ContextEvent } from './events.js';
import { lastComponent, prefixRange, type TenantKeys, unescapeComponent } from './keys.js';
import type { Change } from './lifecycle.js';
import {
  type ServiceRecord,
  type StateRecord,
  serviceIndexEntries,
  stateIndexEntries,
  type TaskRecord,
  taskIndexEntries,
} from './records.js';
import type { BatchOp, Store } from './store.js';

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

type Listener = (event: ContextEvent) => void;

function diff(
  ops: BatchOp[],
  puts: BatchOp[],
  before: Map<string, string>,
  after: Map<string, string>,
): void {
  for (const k of before.keys()) if (!after.has(k)) ops.push({ type: 'del', key: k });
  for (const [k, v] of after) if (before.get(k) !== v) puts.push({ type: 'put', key: k, value: v });
}

const NO_ENTRIES = new Map<string, string>();

export class Repo {
  readonly store: Store;
  /** The change log (SPEC §12): its entries ride in every commit's batch. */
  readonly log: ChangeLog;
  readonly #cache: LRUCache<string, ServiceRecord> | undefined;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #onListenerError: (error: unknown, event: ContextEvent) => void;
  #closed = false;
  /** Bumped before every write: a read that raced a write must not refill the cache with the old record. */
  #writes = 0;
  #writing = 0;

  constructor(
    store: Store,
    log: ChangeLog,
    cacheSize: number,
    onListenerError: (error: unknown, event: ContextEvent) => void,
  ) {
    this.store = store;
    this.log = log;
    this.#cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : undefined;
    this.#onListenerError = onListenerError;
  }

  /** Run `fn` after every earlier call with the same key has settled (per-service serialization, L7). */
  serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ContextServicesError('CLOSED', 'The engine is closed'));
    const prev = this.#queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  /** Stop taking writes and wait for those in flight. */
  async drain(): Promise<void> {
    this.#closed = true;
    while (this.#queues.size > 0) await Promise.all([...this.#queues.values()]);
  }

  async getService(keys: TenantKeys, sid: string): Promise<ServiceRecord | undefined> {
    const key = keys.service(sid);
    const cached = this.#cache?.get(key);
    if (cached !== undefined) return cached;
    const epoch = this.#writing === 0 ? this.#writes : -1;
    const raw = await this.store.get(key);
    if (raw === undefined) return undefined;
    const rec = JSON.parse(raw) as ServiceRecord;
    if (epoch === this.#writes) this.#cache?.set(key, rec);
    return rec;
  }

  /**
   * Several services at once (cache first), in the order asked; missing ones are undefined.
   * With `fill`, records read from the store enter the cache (lists of one customer, read again
   * and again); without it they do not (exports, which would flush the cache).
   */
  async getServices(
    keys: TenantKeys,
    sids: readonly string[],
    fill = false,
  ): Promise<(ServiceRecord | undefined)[]> {
    const out: (ServiceRecord | undefined)[] = sids.map((sid) => this.#cache?.get(keys.service(sid)));
    const missing = sids.flatMap((_, i) => (out[i] === undefined ? [i] : []));
    if (missing.length === 0) return out;
    const epoch = this.#writing === 0 ? this.#writes : -1;
    const raws = await this.store.getMany(missing.map((i) => keys.service(sids[i] as string)));
    const cache = fill && epoch === this.#writes ? this.#cache : undefined;
    missing.forEach((i, j) => {
      const raw = raws[j];
      if (raw === undefined) return;
      const rec = JSON.parse(raw) as ServiceRecord;
      out[i] = rec;
      cache?.set(keys.service(rec.id), rec);
    });
    return out;
  }

  async getChildren<T>(keysOf: (id: number) => string, ids: readonly number[]): Promise<Map<number, T>> {
    const raws = await this.store.getMany(ids.map(keysOf));
    const out = new Map<number, T>();
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw !== undefined) out.set(id, JSON.parse(raw) as T);
    });
    return out;
  }

  async getState(keys: TenantKeys, sid: string, id: number): Promise<StateRecord | undefined> {
    return (await this.getChildren<StateRecord>((i) => keys.state(sid, i), [id])).get(id);
  }

  async getTask(keys: TenantKeys, sid: string, id: number): Promise<TaskRecord | undefined> {
    return (await this.getChildren<TaskRecord>((i) => keys.task(sid, i), [id])).get(id);
  }

  /** Ids at the end of the keys under a marker prefix. */
  async #markerIds(prefix: string): Promise<number[]> {
    const ids: number[] = [];
    for await (const [k] of this.store.iterate(prefixRange(prefix))) ids.push(Number(lastComponent(k)));
    return ids;
  }

  /** Active states, found through their markers (cost ∝ active states, not all states). */
  async activeStates(keys: TenantKeys, sid: string): Promise<StateRecord[]> {
    const ids = await this.#markerIds(keys.activeStatesPrefix(sid));
    return [...(await this.getChildren<StateRecord>((i) => keys.state(sid, i), ids)).values()];
  }

  /** Active tasks of the service, or of one state (`0`: tasks without a state). */
  async activeTasks(keys: TenantKeys, sid: string, stateId?: number): Promise<TaskRecord[]> {
    const ids = await this.#markerIds(keys.activeTasksPrefix(sid, stateId));
    return [...(await this.getChildren<TaskRecord>((i) => keys.task(sid, i), ids)).values()];
  }

  /** Ids of the active services under a composite-start match prefix. */
  async activeMatches(_keys: TenantKeys, matchPrefix: string): Promise<string[]> {
    const sids: string[] = [];
    for await (const [k] of this.store.iterate(prefixRange(matchPrefix))) sids.push(lastComponent(k));
    return sids;
  }

  /** The service with its extensions and all its states and tasks, from one snapshot iterator (a reader never sees half a write). */
  async loadAll(keys: TenantKeys, sid: string): Promise<Aggregate | undefined> {
    const serviceKey = keys.service(sid);
    const statesPrefix = keys.statesPrefix(sid);
    const tasksPrefix = keys.tasksPrefix(sid);
    const extPrefix = keys.serviceExtensionsPrefix(sid);
    let service: ServiceRecord | undefined;
    const ext: Record<string, unknown> = {};
    const states: StateRecord[] = [];
    const tasks: TaskRecord[] = [];
    for await (const [k, v] of this.store.iterate(prefixRange(serviceKey))) {
      if (k === serviceKey) service = JSON.parse(v) as ServiceRecord;
      else if (k.startsWith(statesPrefix)) states.push(JSON.parse(v) as StateRecord);
      else if (k.startsWith(tasksPrefix)) tasks.push(JSON.parse(v) as TaskRecord);
      else if (k.startsWith(extPrefix)) ext[unescapeComponent(k.slice(extPrefix.length))] = JSON.parse(v);
    }
    return service === undefined ? undefined : { service, ext, states, tasks };
  }

  /**
   * Services with some of their extensions (`names` picks them from a record). Each record is
   * read again in the same `getMany` as its extension keys, one snapshot, so a write that changed
   * both is seen whole or not at all (L7); a record whose names moved in between is read again.
   * A service deleted meanwhile maps to undefined.
   */
  async withExtensions(
    keys: TenantKeys,
    records: readonly ServiceRecord[],
    names: (s: ServiceRecord) => readonly string[],
  ): Promise<Map<string, { service: ServiceRecord; ext: Record<string, unknown> } | undefined>> {
    const out = new Map<string, { service: ServiceRecord; ext: Record<string, unknown> } | undefined>();
    let pending = records;
    while (pending.length > 0) {
      const wanted = pending.map((s) => ({ s, names: names(s) }));
      const reads = wanted.filter((w) => w.names.length > 0);
      for (const w of wanted) if (w.names.length === 0) out.set(w.s.id, { service: w.s, ext: {} });
      const raws = await this.store.getMany(
        reads.flatMap((w) => [keys.service(w.s.id), ...w.names.map((n) => keys.serviceExtension(w.s.id, n))]),
      );
      const again: ServiceRecord[] = [];
      let i = 0;
      for (const w of reads) {
        const raw = raws[i];
        const values = raws.slice(i + 1, i + 1 + w.names.length);
        i += 1 + w.names.length;
        if (raw === undefined) {
          out.set(w.s.id, undefined);
          continue;
        }
        const service = JSON.parse(raw) as ServiceRecord;
        if (names(service).some((n) => !w.names.includes(n))) {
          again.push(service);
          continue;
        }
        const ext: Record<string, unknown> = {};
        w.names.forEach((n, k) => {
          const v = values[k];
          if (v !== undefined) ext[n] = JSON.parse(v);
        });
        out.set(w.s.id, { service, ext });
      }
      pending = again;
    }
    return out;
  }

  /** The current value of one extension of a service (undefined when absent). */
  async serviceExtension(keys: TenantKeys, sid: string, name: string): Promise<unknown> {
    const raw = await this.store.get(keys.serviceExtension(sid, name));
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  /** Commit a change as one atomic batch, then update the cache, then emit its events. */
  async commit(keys: TenantKeys, before: Before, change: Change): Promise<void> {
    const sid = change.service.id;
    const dels: BatchOp[] = [];
    const puts: BatchOp[] = [];
    diff(
      dels,
      puts,
      before.service ? serviceIndexEntries(keys, before.service) : NO_ENTRIES,
      serviceIndexEntries(keys, change.service),
    );
    puts.push({ type: 'put', key: keys.service(sid), value: JSON.stringify(change.service) });
    for (const [name, value] of Object.entries(change.serviceExt ?? {})) {
      puts.push({ type: 'put', key: keys.serviceExtension(sid, name), value: JSON.stringify(value) });
    }
    for (const st of change.states) {
      const prev = before.states?.get(st.id);
      diff(
        dels,
        puts,
        prev ? stateIndexEntries(keys, sid, prev) : NO_ENTRIES,
        stateIndexEntries(keys, sid, st),
      );
      puts.push({ type: 'put', key: keys.state(sid, st.id), value: JSON.stringify(st) });
    }
    for (const t of change.tasks) {
      const prev = before.tasks?.get(t.id);
      diff(dels, puts, prev ? taskIndexEntries(keys, sid, prev) : NO_ENTRIES, taskIndexEntries(keys, sid, t));
      puts.push({ type: 'put', key: keys.task(sid, t.id), value: JSON.stringify(t) });
    }
    const key = keys.service(sid);
    const log = await this.log.append(keys, change.service, change.events);
    // A failed batch may or may not have reached the store: forget the cached record either way.
    this.#writes++;
    this.#writing++;
    this.#cache?.delete(key);
    try {
      await this.store.batch([...dels, ...puts, ...log.ops], log.options);
      this.#cache?.set(key, change.service);
    } finally {
      this.#writing--;
      log.settle();
    }
    this.emit(change.events);
  }

  /** Delete a service, everything under it and every index entry (L8), atomically. */
  async remove(keys: TenantKeys, service: ServiceRecord, event: ContextEvent): Promise<void> {
    const ops: BatchOp[] = [];
    for await (const [k] of this.store.iterate(prefixRange(keys.service(service.id))))
      ops.push({ type: 'del', key: k });
    for (const k of serviceIndexEntries(keys, service).keys()) ops.push({ type: 'del', key: k });
    const log = await this.log.append(keys, service, [event]);
    this.#writes++;
    this.#writing++;
    this.#cache?.delete(keys.service(service.id));
    try {
      await this.store.batch([...ops, ...log.ops], log.options);
    } finally {
      this.#writing--;
      log.settle();
    }
    this.emit([event]);
  }

  on(type: string, listener: Listener): () => void {
    const set = this.#listeners.get(type) ?? new Set<Listener>();
    this.#listeners.set(type, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(events: readonly ContextEvent[]): void {
    for (const event of events) {
      for (const type of [event.type, '*']) {
        for (const listener of this.#listeners.get(type) ?? []) {
          try {
            listener(event);
          } catch (error) {
            this.#onListenerError(error, event);
          }
        }
      }
    }
  }
}
