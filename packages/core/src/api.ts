import type { Clock } from './clock.js';
import type { ChangeEntry, ContextEvent, ContextEventType, EventOf } from './events.js';
import type { Pacer } from './pacer.js';
import type { ReadyOptions } from './ready.js';
import type { Store } from './store.js';
import type {
  AssociateRequestBody,
  CompositeResult,
  CompositeStartRequestBody,
  ExpirationUpdateBody,
  ExtensionValue,
  ImportResult,
  JsonObject,
  PurgeRequest,
  PurgeResult,
  ServiceEndEventBody,
  ServiceStartEventBody,
  ServiceStartResult,
  ServiceView,
  StateEndEventBody,
  StateStartEventBody,
  StateStartResult,
  StateView,
  TaskEndEventBody,
  TaskStartEventBody,
  TaskStartResult,
  TaskView,
  TransitionRequestBody,
  TypeValue,
} from './types.js';

export type * from './types.js';

/** Per-call options. */
export interface CallOptions {
  /**
   * Tenant namespace (docs/spec.md §9). Absent or `''` = the single-tenant namespace. The HTTP adapter
   * resolves the `ContactCenterId` header to a tenant id and passes it here.
   */
  tenant?: string;
}

/** Status filter of list queries: all, not completed, completed (docs/spec.md §5). */
export type Status = 'all' | 'active' | 'completed';

/** What to embed in a service (docs/spec.md §5). */
export interface ServiceQuery {
  active_states?: boolean;
  completed_states?: boolean;
  active_tasks?: boolean;
  completed_tasks?: boolean;
  /** Extension selectors: `name`, `State.name`, `Task.name`, `State`, `State.*`, `Task`, `Task.*`, `*`. */
  extensions?: readonly string[];
}

/** Paging of list queries. `limit` 1…config.limits.listLimit (default: the cap), `offset` ≥ 0. */
export interface Paging {
  limit?: number;
  offset?: number;
}

/** Customer and anonymous service lists (SRV.10, SRV.11). */
export interface ServiceListQuery extends ServiceQuery, Paging {
  status?: Status;
  /** Inclusive ISO instant. */
  started_from?: string;
  /** Exclusive ISO instant. */
  started_to?: string;
  service_types?: readonly TypeValue[];
}

/** What to embed in a state (SRV.15): its own tasks, extension selectors (docs/spec.md §5). */
export interface StateQuery {
  active_tasks?: boolean;
  completed_tasks?: boolean;
  extensions?: readonly string[];
}

/** A service's states (SRV.12). */
export interface StateListQuery extends StateQuery, Paging {
  status?: Status;
  state_types?: readonly TypeValue[];
}

/** Extension selectors of a task (SRV.16). */
export interface TaskQuery {
  extensions?: readonly string[];
}

/** A service's tasks (SRV.13), optionally of one state. */
export interface TaskListQuery extends TaskQuery, Paging {
  status?: Status;
  task_types?: readonly TypeValue[];
  state_id?: number;
}

/** Selection of the export (docs/spec.md §8.1). */
export interface ExportQuery {
  time_from: string;
  time_to?: string;
  filter_events?: 'any' | 'started' | 'completed';
  filter_state?: 'any' | 'active' | 'inactive';
  /** false: yield service ids; true: yield full services with all states, tasks, extensions. */
  export_content?: boolean;
}

/**
 * What an export yields for the query `Q`: full services with `export_content: true`, service ids
 * with `export_content` false or absent, either when the query is only known as `ExportQuery`.
 */
export type ExportItem<Q extends ExportQuery = ExportQuery> = Q extends { export_content: true }
  ? ServiceView
  : // time_from keeps this from being a weak type, which a query without export_content would not match.
    Q extends { time_from: string; export_content?: false }
    ? string
    : string | ServiceView;

/** Which entity an extension call addresses. */
export interface EntityRef {
  service_id: string;
  state_id?: number;
  task_id?: number;
}

/** Configurable limits (docs/spec.md §10). */
export interface Limits {
  extensionKeysPerEntity: number;
  entitiesPerService: number;
  customerIdLength: number;
  contactKeyLength: number;
  extensionNameLength: number;
  jsonDepth: number;
  listLimit: number;
  /**
   * Stored bytes (UTF-8) one service may hold: its record, states, tasks and all extensions
   * (default 64 MiB). A write past it fails with `SERVICE_TOO_LARGE`, so that every accepted
   * service can always be read whole, exported and backed up.
   */
  serviceBytes: number;
}

/** Engine configuration. */
export interface EngineConfig {
  /** Default lifetime: `<int><unit>` with units s m h d w M y, or milliseconds. Default `5y`. */
  expiration?: string | number;
  /** docs/spec.md §7.3; default false. */
  autoCompleteEnabled?: boolean;
  /** Seconds of inactivity before auto-complete; no default. */
  autoCompleteAfter?: number;
  limits?: Partial<Limits>;
  /** Max service records held by the LRU cache; 0 disables it (required for shared stores). Default 10,000. */
  cacheSize?: number;
  /** Services handled per round by purge and sweep before yielding. Default 100. */
  batchSize?: number;
  /** The change log (docs/spec.md §12). */
  changes?: {
    /** How long entries are kept: `<int><unit>` (units s m h d w M y) or ms. Default `24h`. */
    retention?: string | number;
    /** Positions kept per tenant: older entries go at the next sweep. Default 1,000,000. */
    maxEntries?: number;
    /** Shared stores: how often (ms) a live reader looks for other processes' entries. Default 1,000. */
    pollInterval?: number;
  };
  /**
   * Stores with shared writers (docs/spec.md §11): how many times a write whose records another process
   * changed meanwhile is read again and re-applied (with jittered exponential back-off) before the
   * call fails with the retriable `CONFLICT`. Default 10; 0 fails at the first conflict.
   */
  conflictRetries?: number;
  /** Pacing of purge and the sweep by the latency of the requests they compete with. */
  maintenance?: MaintenanceConfig;
}

/**
 * How purge and the sweep pace themselves (`EngineConfig.maintenance`): between groups of services
 * they wait while the requests served are slower than a latency budget (see
 * {@link ContextServices.recordLatency}), down to a minimum pace: one service at a time, working a
 * fifth of the time.
 */
export interface MaintenanceConfig {
  /**
   * true: pace by the requests' latency. Default false (unless `latencyBudget` is set): the fixed
   * pace, 4 services at a time, yielding to the event loop in between. `cxs serve` turns it on; on
   * LevelDB it kept the requests' p99 during a purge within 1.1–1.8 × their p99 without it, for
   * pauses of at most a tenth of the purge's time (packages/core/README.md).
   */
  pacing?: boolean;
  /**
   * The p99 (ms) of recent requests above which maintenance backs off. Default: 1.5 × the p99 of
   * the requests recorded while no maintenance ran (at least 5 ms), or 20 ms before 100 of them
   * were recorded.
   */
  latencyBudget?: number;
  /**
   * Also back off while the event loop's delay (p99 over 100 ms) is above `max(latencyBudget, 50 ms)`;
   * this works without requests. Default true.
   */
  eventLoopDelay?: boolean;
}

/**
 * What {@link ContextServices.changes} reads. Each filter given must match; the customer, contact
 * key and service filters select every event of the matching services (states and tasks too).
 */
export interface ChangesQuery {
  /**
   * Continue right after this position (a number or its decimal string), or `'now'` (default):
   * only what commits from now on.
   */
  since?: number | string;
  /** Event types, or prefixes such as `service.*` (`*`: all); a string is comma-separated. */
  types?: string | readonly string[];
  customer_id?: string;
  contact_key?: string;
  service_id?: string;
  /** Ends the iteration, also while it waits for the next event. */
  signal?: AbortSignal;
}

/** Arguments of {@link createContextServices}. */
export interface EngineOptions {
  store: Store;
  clock?: Clock;
  /**
   * Service id generator; default 128 random bits, base64url. Ids must be 1–64 characters of
   * `[A-Za-z0-9_-]` (else a TypeError); with a generator of your own, a start whose id is already
   * stored fails with `SERVICE_EXISTS` (one more read per start).
   */
  ids?: () => string;
  config?: EngineConfig;
  /**
   * Paces purge and the sweep (see {@link MaintenanceConfig}); default one of the engine's own made
   * from `config.maintenance`, which is then ignored. Engines of one process may share one.
   */
  pacer?: Pacer;
  /** Receives errors thrown by event listeners (default: `process.emitWarning`). */
  onListenerError?: (error: unknown, event: ContextEvent) => void;
}

/** Counters of an engine since it was created (for metrics). */
export interface EngineStats {
  /** Writes read again and re-applied because another process changed their records (shared stores). */
  readonly conflictRetries: number;
  /** Calls that failed with `CONFLICT` once their retries ran out. */
  readonly conflicts: number;
  /** Pauses purge and the sweep took because requests were slow (see {@link MaintenanceConfig}). */
  readonly maintenancePauses: number;
  /** Their total, ms. */
  readonly maintenancePausedMs: number;
}

/** Options of `importServices`. */
export interface ImportOptions extends CallOptions {
  /**
   * Skip (and count) an item whose `service_id` is already stored instead of failing with
   * `SERVICE_EXISTS`: re-running an interrupted import then completes it. The item is still
   * validated first. Default false.
   */
  skipExisting?: boolean;
}

/** Result of one sweep. */
export interface SweepResult {
  expired: number;
  autoCompleted: number;
}

/**
 * The Context Services engine: one method per operation of docs/spec.md §4. Inputs and results are typed
 * from the core schemas (see `ServiceStartEventBody` …), so a wrongly typed documented field does
 * not compile; every method still validates its input at run time, for JavaScript callers and
 * untyped data, and throws `ContextServicesError` (see `ErrorCode`); a rejected call writes
 * nothing. Every write is one atomic store batch, serialized per service.
 */
export interface ContextServices {
  /** SRV.1: start a service. Requires `customer_id` or `contact_key`; other top-level keys are extensions. */
  startService(event: ServiceStartEventBody, options?: CallOptions): Promise<ServiceStartResult>;
  /** SRV.3: end a service and its active states and tasks (L1, L2, L6). */
  endService(serviceId: string, event?: ServiceEndEventBody, options?: CallOptions): Promise<void>;
  /** SRV.2: attach a service to a customer, or move it; body fields overwrite, extensions replace. */
  associate(
    customerId: string,
    serviceId: string,
    body?: AssociateRequestBody,
    options?: CallOptions,
  ): Promise<void>;
  /** Composite start (docs/spec.md §6). */
  compositeStart(body: CompositeStartRequestBody, options?: CallOptions): Promise<CompositeResult>;
  /** SRV.14. */
  getService(serviceId: string, query?: ServiceQuery, options?: CallOptions): Promise<ServiceView>;
  /** Delete a service and everything under it (L8). */
  deleteService(serviceId: string, options?: CallOptions): Promise<void>;
  /** `{ttl?, expiration_time?}`, at least one; ttl wins (docs/spec.md §4, §7.2). */
  updateExpiration(serviceId: string, body: ExpirationUpdateBody, options?: CallOptions): Promise<void>;
  /** SRV.4 / SRV.17 / SRV.18: replace an extension's whole value. */
  putExtension(ref: EntityRef, name: string, value: ExtensionValue, options?: CallOptions): Promise<void>;
  /** Merge keys into an object-valued extension, creating it if absent. */
  mergeExtension(ref: EntityRef, name: string, value: JsonObject, options?: CallOptions): Promise<void>;
  /** SRV.10: services without customer whose contact_key matches. */
  listAnonymousServices(
    contactKey: string,
    query?: ServiceListQuery,
    options?: CallOptions,
  ): Promise<ServiceView[]>;
  /** SRV.11: a customer's services. */
  listCustomerServices(
    customerId: string,
    query?: ServiceListQuery,
    options?: CallOptions,
  ): Promise<ServiceView[]>;
  /** SRV.5. */
  startState(serviceId: string, event: StateStartEventBody, options?: CallOptions): Promise<StateStartResult>;
  /** SRV.6: ends the state and its active tasks (L2). */
  endState(
    serviceId: string,
    stateId: number,
    event?: StateEndEventBody,
    options?: CallOptions,
  ): Promise<void>;
  /** SRV.7: atomic end + start (L5); returns the new state. */
  transition(
    serviceId: string,
    body: TransitionRequestBody,
    options?: CallOptions,
  ): Promise<StateStartResult>;
  /** SRV.12. */
  listStates(serviceId: string, query?: StateListQuery, options?: CallOptions): Promise<StateView[]>;
  /** SRV.15. */
  getState(serviceId: string, stateId: number, query?: StateQuery, options?: CallOptions): Promise<StateView>;
  /** SRV.8. */
  startTask(serviceId: string, event: TaskStartEventBody, options?: CallOptions): Promise<TaskStartResult>;
  /** SRV.9. */
  endTask(serviceId: string, taskId: number, event?: TaskEndEventBody, options?: CallOptions): Promise<void>;
  /** SRV.13. */
  listTasks(serviceId: string, query?: TaskListQuery, options?: CallOptions): Promise<TaskView[]>;
  /** SRV.16. */
  getTask(serviceId: string, taskId: number, query?: TaskQuery, options?: CallOptions): Promise<TaskView>;
  /** docs/spec.md §8.3: delete matching services started before `limit`, in bounded batches. */
  purge(body: PurgeRequest, options?: CallOptions): Promise<PurgeResult>;
  /**
   * docs/spec.md §8.1: validates the query (throws before anything is read), then resolves to a lazy
   * iterable ordered by start time that never holds all results in memory: full services with
   * `export_content: true`, service ids otherwise.
   */
  exportServices<const Q extends ExportQuery>(
    query: Q,
    options?: CallOptions,
  ): Promise<AsyncIterable<ExportItem<Q>>>;
  /**
   * Write services produced by an `export_content` export, keeping their ids. Items are validated
   * at run time like any body (data read from a file may be cast to `ServiceView`).
   */
  importServices(
    services: AsyncIterable<ServiceView> | Iterable<ServiceView>,
    options?: ImportOptions,
  ): Promise<ImportResult>;
  /**
   * Remove expired services and auto-complete inactive ones whose deadline is ≤ `now` (default:
   * the clock). On a store with shared writers, engines take turns through a lease in the store:
   * a sweep while another live engine holds it does nothing (all counts 0), and each service is
   * handled by one engine once.
   */
  sweep(now?: number): Promise<SweepResult>;
  /**
   * Run {@link sweep} every `intervalMs` (default 60 s) on an unref'd timer. With shared writers
   * the sweep lease lasts one interval, so another engine takes over within about one interval
   * when this one dies; `stopSweeper` gives it back.
   */
  startSweeper(intervalMs?: number): void;
  /**
   * Record how long (ms) one request took to serve: purge and the sweep pace themselves by these
   * (see {@link MaintenanceConfig}). The Koa adapter records every request but the long-lived
   * ones (export, purge, the change stream); an application serving the engine otherwise records
   * its own.
   */
  recordLatency(ms: number): void;
  /** Stop the sweeper started by {@link startSweeper} and wait for a sweep in progress. */
  stopSweeper(): Promise<void>;
  /**
   * Follow the tenant's change log (docs/spec.md §12): validates the query and checks the position (throws
   * before anything is read), then resolves to an async iterable of the entries after `since`, in
   * position order, nothing lost and nothing repeated, that waits for new commits once caught up.
   * It reads the log page by page as it is pulled, so a slow consumer costs no memory. It ends when
   * `signal` aborts or the engine closes; it throws `CHANGES_EXPIRED` if retention removes entries
   * it has not read yet.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * for await (const { position, event } of await cs.changes({ types: 'service.*', signal: ac.signal })) {
   *   console.log(position, event.type, event.service_id);
   * }
   * ```
   * @throws ContextServicesError `VALIDATION_FAILED` (bad query), `CHANGES_EXPIRED` (`since` is
   *   older than the retained log, or ahead of it).
   */
  changes(query?: ChangesQuery, options?: CallOptions): Promise<AsyncIterable<ChangeEntry>>;
  /** Subscribe to events emitted after each commit (docs/spec.md §7.4); returns the unsubscribe function. */
  on<T extends ContextEventType>(type: T, listener: (event: EventOf<T>) => void): () => void;
  on(type: '*', listener: (event: ContextEvent) => void): () => void;
  /** Counters since the engine was created: conflict retries and conflicts (shared stores). */
  stats(): EngineStats;
  /**
   * Readiness (docs/spec.md §13): resolves when the store answers a read and accepts a write (a `get` and
   * a one-op batch on a reserved key), each within `timeoutMs` (default 2 s).
   * @throws ContextServicesError `STORE_UNAVAILABLE` with the reason, `CLOSED` after `close()`.
   */
  ready(options?: ReadyOptions): Promise<void>;
  /** Wait for writes in flight, stop the sweeper, close the store. */
  close(): Promise<void>;
}
