/**
 * The engine's storage side: loads records, turns a lifecycle {@link Change} into one atomic
 * batch (records plus the index entries they imply), serializes writes per service, keeps the
 * bounded cache and emits events after commit. Knows keys and records; knows nothing of HTTP.
 */
import { LRUCache } from 'lru-cache';
import { type ActiveEntry, activeEntrySize, idsUnder, writeThrough } from './active-cache.js';
import { batchOptions, type ChangeLog } from './change-log.js';
import { Emitter, type Listener } from './emitter.js';
import { ContextServicesError } from './errors.js';
import type { ContextEvent } from './events.js';
import { FillGuard } from './fill-guard.js';
import { type ChildKind, lastComponent, prefixEnd, prefixRange, type TenantKeys } from './keys.js';
import { layOut } from './layout.js';
import type { Change } from './lifecycle.js';
import {
  childFromStore,
  diffEntries,
  NO_ENTRIES,
  type ServiceRecord,
  type StateRecord,
  serviceIndexEntries,
  stateIndexEntries,
  type TaskRecord,
  taskIndexEntries,
} from './records.js';
import type {
  Aggregate,
  Before,
  Children,
  ExtensionValues,
  ExtensionWants,
  Guard,
  Removal,
} from './repo-types.js';
import type { BatchOp, Precondition, Store } from './store.js';

export class Repo {
  readonly store: Store;
  /** The change log (docs/spec.md §12): its entries ride in every commit's batch. */
  readonly log: ChangeLog;
  /**
   * Other processes write the store (docs/spec.md §11): every commit carries a precondition on the service
   * record it started from, and the cache is off (another process may have made it stale).
   */
  readonly shared: boolean;
  /** Counters behind `ContextServices.stats()`. */
  readonly counters = { conflictRetries: 0, conflicts: 0 };
  readonly #cache: LRUCache<string, ServiceRecord> | undefined;
  /** Active services' records and markers by service key (single writer only, as `#cache`). */
  readonly #hot: LRUCache<string, ActiveEntry> | undefined;
  /** With shared writers: the stored text of each service record read, for its precondition. */
  readonly #raw = new WeakMap<ServiceRecord, string>();
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #events: Emitter;
  #closed = false;
  readonly #budget: number;
  /**
   * Writes by service key: a read that raced a write of its service must not refill the record
   * cache or the aggregate entry with what it read; writes to other services do not stop a fill.
   */
  readonly #fills = new FillGuard();

  constructor(
    store: Store,
    log: ChangeLog,
    cacheSize: number,
    onListenerError: (error: unknown, event: ContextEvent) => void,
    /** Stored bytes one service may hold (docs/spec.md §10). */
    serviceBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#budget = serviceBytes;
    this.store = store;
    this.log = log;
    this.shared = store.capabilities.sharedWriters === true;
    this.#cache = cacheSize > 0 && !this.shared ? new LRUCache({ max: cacheSize }) : undefined;
    this.#hot =
      this.#cache === undefined
        ? undefined
        : new LRUCache<string, ActiveEntry>({
            max: cacheSize,
            maxSize: cacheSize * 16,
            sizeCalculation: activeEntrySize,
          });
    this.#events = new Emitter(onListenerError);
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
    const since = this.#fills.epoch;
    const raw = await this.store.get(key);
    if (raw === undefined) return undefined;
    const rec = JSON.parse(raw) as ServiceRecord;
    if (this.shared) this.#raw.set(rec, raw);
    if (this.#fills.mayFill(key, since)) this.#cache?.set(key, rec);
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
    const since = this.#fills.epoch;
    const raws = await this.store.getMany(missing.map((i) => keys.service(sids[i] as string)));
    const cache = fill ? this.#cache : undefined;
    missing.forEach((i, j) => {
      const raw = raws[j];
      if (raw === undefined) return;
      const rec = JSON.parse(raw) as ServiceRecord;
      if (this.shared) this.#raw.set(rec, raw);
      out[i] = rec;
      const key = keys.service(rec.id);
      if (cache !== undefined && this.#fills.mayFill(key, since)) cache.set(key, rec);
    });
    return out;
  }

  async getChildren<T extends StateRecord | TaskRecord>(
    keysOf: (id: number) => string,
    ids: readonly number[],
  ): Promise<Map<number, T>> {
    const raws = await this.store.getMany(ids.map(keysOf));
    const out = new Map<number, T>();
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw !== undefined) out.set(id, childFromStore<T>(raw));
    });
    return out;
  }

  /**
   * State or task records of one service by id, from the aggregate cache where it has them; those
   * read from the store enter it when no write ran meanwhile.
   */
  async #children<T extends StateRecord | TaskRecord>(
    keys: TenantKeys,
    sid: string,
    keyOf: (id: number) => string,
    ids: readonly number[],
  ): Promise<Map<number, T>> {
    const hot = this.#hot?.get(keys.service(sid));
    if (hot === undefined) return this.getChildren<T>(keyOf, ids);
    const out = new Map<number, T>();
    const missing: number[] = [];
    for (const id of ids) {
      const key = keyOf(id);
      const rec = hot.records.get(key);
      if (rec === undefined) missing.push(id);
      else if (typeof rec !== 'string') out.set(id, rec as T);
      else {
        const parsed = childFromStore<T>(rec);
        hot.records.set(key, parsed);
        out.set(id, parsed);
      }
    }
    if (missing.length === 0) return out;
    const since = this.#fills.epoch;
    const read = await this.getChildren<T>(keyOf, missing);
    const fill = this.#fills.mayFill(keys.service(sid), since) && this.#hot?.peek(keys.service(sid)) === hot;
    for (const [id, rec] of read) if (fill) hot.records.set(keyOf(id), rec);
    // Keep the order asked for (the order of the markers' range read).
    if (out.size === 0) return read;
    const all = new Map<number, T>();
    for (const id of ids) {
      const rec = out.get(id) ?? read.get(id);
      if (rec !== undefined) all.set(id, rec);
    }
    return all;
  }

  async getState(keys: TenantKeys, sid: string, id: number): Promise<StateRecord | undefined> {
    return (await this.#children<StateRecord>(keys, sid, (i) => keys.state(sid, i), [id])).get(id);
  }

  async getTask(keys: TenantKeys, sid: string, id: number): Promise<TaskRecord | undefined> {
    return (await this.#children<TaskRecord>(keys, sid, (i) => keys.task(sid, i), [id])).get(id);
  }

  /**
   * Ids of the markers under `prefix` (within the service's `all` marker prefix): from the
   * aggregate cache when it knows the service's markers, else one range read of `all` that then
   * teaches it (when no write ran meanwhile).
   */
  async #markerIds(
    keys: TenantKeys,
    sid: string,
    which: 'activeStates' | 'activeTasks',
    all: string,
    prefix: string,
  ): Promise<number[]> {
    const hot = this.#hot?.get(keys.service(sid));
    const known = hot?.[which];
    if (known !== undefined) return idsUnder(known, prefix);
    const since = this.#fills.epoch;
    const range = hot === undefined ? prefix : all;
    const markers = new Set<string>();
    for await (const [k] of this.store.iterate(prefixRange(range))) markers.add(k);
    const key = keys.service(sid);
    if (hot !== undefined && this.#fills.mayFill(key, since) && this.#hot?.peek(key) === hot) {
      hot[which] = markers;
    }
    return idsUnder(markers, prefix);
  }

  /** Active states, found through their markers (cost ∝ active states, not all states). */
  async activeStates(keys: TenantKeys, sid: string): Promise<StateRecord[]> {
    const prefix = keys.activeStatesPrefix(sid);
    const ids = await this.#markerIds(keys, sid, 'activeStates', prefix, prefix);
    return [...(await this.#children<StateRecord>(keys, sid, (i) => keys.state(sid, i), ids)).values()];
  }

  /** Active tasks of the service, or of one state (`0`: tasks without a state). */
  async activeTasks(keys: TenantKeys, sid: string, stateId?: number): Promise<TaskRecord[]> {
    const ids = await this.#markerIds(
      keys,
      sid,
      'activeTasks',
      keys.activeTasksPrefix(sid),
      keys.activeTasksPrefix(sid, stateId),
    );
    return [...(await this.#children<TaskRecord>(keys, sid, (i) => keys.task(sid, i), ids)).values()];
  }

  /**
   * Write a committed batch through to the aggregate entry `hot` of service `sid` (taken out of
   * the cache before the batch), and put it back while the service is active (the entry put
   * back is returned). A new service starts an entry that knows it has no markers yet.
   */
  #writeThrough(
    keys: TenantKeys,
    sid: string,
    hot: ActiveEntry | undefined,
    created: boolean,
    active: boolean,
    ops: readonly BatchOp[],
  ): ActiveEntry | undefined {
    if (this.#hot === undefined || !active) return undefined;
    const entry = writeThrough(keys, sid, hot, created, ops);
    this.#hot.set(keys.service(sid), entry);
    return entry;
  }

  /** Ids of the active services under a composite-start match prefix. */
  async activeMatches(_keys: TenantKeys, matchPrefix: string): Promise<string[]> {
    const sids: string[] = [];
    for await (const [k] of this.store.iterate(prefixRange(matchPrefix))) sids.push(lastComponent(k));
    return sids;
  }

  /**
   * The service record with its states (and, with `tasks`, its tasks) from one snapshot
   * iterator. The range ends before every extension key (they sort after the records), so it
   * reads no extension, however large.
   */
  async loadChildren(keys: TenantKeys, sid: string, tasks: boolean): Promise<Children | undefined> {
    const serviceKey = keys.service(sid);
    const statesPrefix = keys.statesPrefix(sid);
    const tasksPrefix = keys.tasksPrefix(sid);
    let service: ServiceRecord | undefined;
    const out: Children = { service: undefined as unknown as ServiceRecord, states: [], tasks: [] };
    const range = { gte: serviceKey, lt: prefixEnd(tasks ? tasksPrefix : statesPrefix) };
    for await (const [k, v] of this.store.iterate(range)) {
      if (k === serviceKey) service = JSON.parse(v) as ServiceRecord;
      else if (k.startsWith(statesPrefix)) out.states.push(childFromStore<StateRecord>(v));
      else if (k.startsWith(tasksPrefix)) out.tasks.push(childFromStore<TaskRecord>(v));
    }
    return service === undefined ? undefined : { ...out, service };
  }

  /** Every task record of a service, and nothing else (one range read). */
  async loadTasks(keys: TenantKeys, sid: string): Promise<TaskRecord[]> {
    const tasks: TaskRecord[] = [];
    for await (const [, v] of this.store.iterate(prefixRange(keys.tasksPrefix(sid))))
      tasks.push(childFromStore<TaskRecord>(v));
    return tasks;
  }

  /**
   * Extension values of a service and of some of its states and tasks, by key, in one `getMany`
   * with the service record: when the record is still at the version of `service`, nothing was
   * written to the service since it was read, so the values belong to the records the caller
   * holds (L7). Resolves to undefined when a write came in between (the caller reads again) or
   * the service is gone. Values a record carries inline (stored before extensions had keys of
   * their own) are taken from it.
   */
  async extensionValues(
    keys: TenantKeys,
    service: ServiceRecord,
    want: ExtensionWants,
  ): Promise<ExtensionValues | undefined> {
    const sid = service.id;
    const names = want.names ?? ((_k, r) => r.ext_names);
    const wanted: string[] = [keys.service(sid)];
    const serviceNames = want.service ?? [];
    for (const n of serviceNames) wanted.push(keys.serviceExtension(sid, n));
    const plan: [ChildKind, StateRecord | TaskRecord, string[]][] = [];
    for (const [kind, list] of [
      ['s', want.states ?? []],
      ['t', want.tasks ?? []],
    ] as const) {
      for (const rec of list) {
        const stored = names(kind, rec).filter((n) => !(rec.ext !== undefined && Object.hasOwn(rec.ext, n)));
        plan.push([kind, rec, stored]);
        for (const n of stored) wanted.push(keys.childExtension(sid, kind, rec.id, n));
      }
    }
    // Nothing stored under keys of their own wanted: the records hold all there is to return.
    const read = wanted.length > 1 || want.check === true;
    const raws = read ? await this.store.getMany(wanted) : [];
    if (read) {
      const head = raws[0];
      if (head === undefined || (JSON.parse(head) as ServiceRecord).version !== service.version)
        return undefined;
    }
    let i = 1;
    const next = () => raws[i++];
    const serviceExt: Record<string, unknown> = {};
    for (const n of serviceNames) {
      const raw = next();
      if (raw !== undefined) serviceExt[n] = JSON.parse(raw);
    }
    const out: ExtensionValues = { service: serviceExt, states: [], tasks: [] };
    for (const [kind, rec, stored] of plan) {
      const ext: Record<string, unknown> = {};
      for (const n of names(kind, rec))
        if (rec.ext !== undefined && Object.hasOwn(rec.ext, n)) ext[n] = rec.ext[n];
      for (const n of stored) {
        const raw = next();
        if (raw !== undefined) ext[n] = JSON.parse(raw);
      }
      if (kind === 's') out.states.push({ ...(rec as StateRecord), ext });
      else out.tasks.push({ ...(rec as TaskRecord), ext });
    }
    return out;
  }

  /** The service with its extensions and all its states and tasks, with all their extensions, as of one instant. */
  async loadAll(keys: TenantKeys, sid: string): Promise<Aggregate | undefined> {
    for (;;) {
      const c = await this.loadChildren(keys, sid, true);
      if (c === undefined) return undefined;
      const v = await this.extensionValues(keys, c.service, {
        service: c.service.ext_names,
        states: c.states,
        tasks: c.tasks,
      });
      if (v !== undefined) return { service: c.service, ext: v.service, states: v.states, tasks: v.tasks };
    }
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

  /** The current value of one extension of a state (`s`) or task (`t`) (undefined when absent). */
  async childExtension(
    keys: TenantKeys,
    sid: string,
    kind: ChildKind,
    rec: StateRecord | TaskRecord,
    name: string,
  ): Promise<unknown> {
    if (rec.ext !== undefined && Object.hasOwn(rec.ext, name)) return rec.ext[name];
    if (!rec.ext_names.includes(name)) return undefined;
    const raw = await this.store.get(keys.childExtension(sid, kind, rec.id, name));
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  /** The current value of one extension of a service (undefined when absent). */
  async serviceExtension(keys: TenantKeys, sid: string, name: string): Promise<unknown> {
    const raw = await this.store.get(keys.serviceExtension(sid, name));
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  /**
   * The precondition that the service record is still the one a write started from (or still
   * absent for a new service): every write changes the record (its version), so it holding means
   * nothing of the service changed since it was read. Only with shared writers.
   */
  #unchanged(key: string, service: ServiceRecord | undefined): Precondition[] {
    if (!this.shared) return [];
    if (service === undefined) return [{ key, absent: true }];
    return [{ key, value: this.#raw.get(service) ?? JSON.stringify(service) }];
  }

  /** The stored value of a coordination key (claims, leases); never cached. */
  readRaw(key: string): Promise<string | undefined> {
    return this.store.get(key);
  }

  /**
   * Commit a change as one atomic batch, then update the cache, then emit its events. With shared
   * writers the batch holds only if the service record is still `before.service` (else
   * `PRECONDITION_FAILED`, nothing written, no event); `guard` adds writes and preconditions.
   */
  async commit(keys: TenantKeys, before: Before, change: Change, guard?: Guard): Promise<void> {
    const sid = change.service.id;
    const key = keys.service(sid);
    const dels: BatchOp[] = [];
    const puts: BatchOp[] = [];
    // The old record's entries are those the previous commit built for it, when it is that record.
    const known = this.#hot?.peek(key)?.index;
    const entries = serviceIndexEntries(keys, change.service);
    diffEntries(
      dels,
      puts,
      before.service === undefined
        ? NO_ENTRIES
        : known?.service === before.service
          ? known.entries
          : serviceIndexEntries(keys, before.service),
      entries,
    );
    // Records and extension values, with the service's stored size (docs/spec.md §10 budget).
    const laid = await layOut(this.store, keys, before, change, this.#budget);
    puts.push({ type: 'put', key: keys.service(sid), value: laid.serviceValue });
    for (const op of laid.puts) puts.push(op);
    for (const st of change.states) {
      const prev = before.states?.get(st.id);
      diffEntries(
        dels,
        puts,
        prev ? stateIndexEntries(keys, sid, prev) : NO_ENTRIES,
        stateIndexEntries(keys, sid, st),
      );
    }
    for (const t of change.tasks) {
      const prev = before.tasks?.get(t.id);
      diffEntries(
        dels,
        puts,
        prev ? taskIndexEntries(keys, sid, prev) : NO_ENTRIES,
        taskIndexEntries(keys, sid, t),
      );
    }
    const preconditions = this.#unchanged(key, before.service);
    if (guard !== undefined) {
      preconditions.push(...guard.preconditions);
      puts.push(...guard.ops);
    }
    // Last before the batch: from here every path settles the entries (once per attempt; a write
    // retried after PRECONDITION_FAILED appends, and settles, again).
    const log = await this.log.append(keys, change.service, change.events);
    // A failed batch may or may not have reached the store: forget the cached record either way.
    this.#fills.begin(key);
    this.#cache?.delete(key);
    // Taken out while the batch runs: a failed batch leaves no entry that may be stale.
    const hot = this.#hot?.get(key);
    this.#hot?.delete(key);
    // Deletes first, then puts, then the log's entries (which the write-through passes over).
    const ops = dels;
    for (const op of puts) ops.push(op);
    for (const op of log.ops) ops.push(op);
    try {
      await this.store.batch(ops, batchOptions(log, preconditions));
      this.#cache?.set(key, laid.service);
      const entry = this.#writeThrough(
        keys,
        sid,
        hot,
        before.service === undefined,
        change.service.completed === undefined,
        ops,
      );
      if (entry !== undefined) entry.index = { service: laid.service, entries };
    } finally {
      this.#fills.end(key);
      log.settle();
    }
    this.emit(change.events);
  }

  /**
   * A service's record and every key under it, from one range read, for purge and the sweep: a
   * point read of the record beside it nearly doubled purge's CPU per service on LevelDB.
   */
  async readForRemoval(keys: TenantKeys, sid: string): Promise<Removal | undefined> {
    const key = keys.service(sid);
    let service: ServiceRecord | undefined;
    const under: string[] = [];
    for await (const [k, v] of this.store.iterate(prefixRange(key))) {
      if (k === key) {
        service = JSON.parse(v) as ServiceRecord;
        if (this.shared) this.#raw.set(service, v);
      }
      under.push(k);
    }
    return service === undefined ? undefined : { service, under };
  }

  /**
   * Delete a service, everything under it and every index entry (L8), atomically. With shared
   * writers, only if the record is still `service` (else `PRECONDITION_FAILED`). `under`: its keys.
   */
  async remove(keys: TenantKeys, service: ServiceRecord, event: ContextEvent, under?: readonly string[]) {
    const ops: BatchOp[] = [];
    if (under !== undefined) for (const k of under) ops.push({ type: 'del', key: k });
    else
      for await (const [k] of this.store.iterate(prefixRange(keys.service(service.id))))
        ops.push({ type: 'del', key: k });
    for (const k of serviceIndexEntries(keys, service).keys()) ops.push({ type: 'del', key: k });
    const preconditions = this.#unchanged(keys.service(service.id), service);
    const log = await this.log.append(keys, service, [event]);
    this.#fills.begin(keys.service(service.id));
    this.#cache?.delete(keys.service(service.id));
    this.#hot?.delete(keys.service(service.id));
    try {
      await this.store.batch([...ops, ...log.ops], batchOptions(log, preconditions));
    } finally {
      this.#fills.end(keys.service(service.id));
      log.settle();
    }
    this.emit([event]);
  }

  on(type: string, listener: Listener): () => void {
    return this.#events.on(type, listener);
  }

  emit(events: readonly ContextEvent[]): void {
    this.#events.emit(events);
  }
}
