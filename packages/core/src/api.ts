import type { Clock } from './clock.js';
import type { ChangeEntry, ContextEvent, ContextEventType, EventOf } from './events.js';
import type { Store } from './store.js';

/** Per-call options. */
export interface CallOptions {
  /**
   * Tenant namespace (SPEC §9). Absent or `''` = the single-tenant namespace. The HTTP adapter
   * resolves the `ContactCenterId` header to a tenant id and passes it here.
   */
  tenant?: string;
}

/** Status filter of list queries: all, not completed, completed (SPEC §5). */
export type Status = 'all' | 'active' | 'completed';

/** A "long or string" field (service_type, media_type, disposition …), stored as given. */
export type TypeValue = number | string;

/** Event fields as they appear inside `started` / `completed` (SPEC §3.1). */
export interface EventView {
  timestamp: string;
  session_id?: string;
  interaction_id?: string;
  application_type?: TypeValue;
  application_id?: number;
  resource_type?: TypeValue;
  resource_id?: number;
  media_type?: TypeValue;
}

/** Fields shared by the three representations; extra keys are extensions. */
interface EntityView {
  est_duration?: number;
  started: EventView;
  completed?: EventView;
  disposition?: TypeValue;
  disposition_desc?: string;
  /** Milliseconds, present only when completed. */
  duration?: number;
  [extension: string]: unknown;
}

/** A task as returned by queries (SPEC §3.2). */
export interface TaskView extends EntityView {
  task_id: number;
  task_type?: TypeValue;
  state_id?: number;
  service_id?: string;
}

/** A state as returned by queries (SPEC §3.2). */
export interface StateView extends EntityView {
  state_id: number;
  state_type?: TypeValue;
  service_id?: string;
  active_tasks?: TaskView[];
  completed_tasks?: TaskView[];
}

/** A service as returned by queries (SPEC §3.2). */
export interface ServiceView extends EntityView {
  service_id: string;
  service_type?: TypeValue;
  customer_id?: string;
  contact_key?: string;
  active_states?: StateView[];
  completed_states?: StateView[];
  active_tasks?: TaskView[];
  completed_tasks?: TaskView[];
}

/** What to embed in a service (SPEC §5). */
export interface ServiceQuery {
  active_states?: boolean;
  completed_states?: boolean;
  active_tasks?: boolean;
  completed_tasks?: boolean;
  /** Extension selectors: `name`, `State.name`, `Task.name`, `State`, `State.*`, `Task`, `Task.*`, `*`. */
  extensions?: string[];
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
  service_types?: TypeValue[];
}

export interface StateQuery {
  active_tasks?: boolean;
  completed_tasks?: boolean;
  extensions?: string[];
}

export interface StateListQuery extends StateQuery, Paging {
  status?: Status;
  state_types?: TypeValue[];
}

export interface TaskQuery {
  extensions?: string[];
}

export interface TaskListQuery extends TaskQuery, Paging {
  status?: Status;
  task_types?: TypeValue[];
  state_id?: number;
}

/** Selection of the export (SPEC §8.1). */
export interface ExportQuery {
  time_from: string;
  time_to?: string;
  filter_events?: 'any' | 'started' | 'completed';
  filter_state?: 'any' | 'active' | 'inactive';
  /** false: yield service ids; true: yield full services with all states, tasks, extensions. */
  export_content?: boolean;
}

export type PurgeOperation =
  | 'purge.service.all'
  | 'purge.service.started'
  | 'purge.service.started.anonymous'
  | 'purge.service.completed'
  | 'purge.service.completed.anonymous';

/** Body of the purge operation (SPEC §8.3). */
export interface PurgeRequest {
  limit: string;
  operation: PurgeOperation;
}

/** One item of the composite start response (SPEC §6). */
export interface CompositeItemResult {
  service_id: string;
  service_created: boolean;
  state_id: number;
  state_created: boolean;
  task_id?: number;
  task_created?: boolean;
}

export interface CompositeResult {
  services: CompositeItemResult[];
}

/** Which entity an extension call addresses. */
export interface EntityRef {
  service_id: string;
  state_id?: number;
  task_id?: number;
}

/** Configurable limits (SPEC §10). */
export interface Limits {
  extensionKeysPerEntity: number;
  entitiesPerService: number;
  customerIdLength: number;
  contactKeyLength: number;
  extensionNameLength: number;
  jsonDepth: number;
  listLimit: number;
}

/** Engine configuration. */
export interface EngineConfig {
  /** Default lifetime: `<int><unit>` with units s m h d w M y, or milliseconds. Default `5y`. */
  expiration?: string | number;
  /** SPEC §7.3; default false. */
  autoCompleteEnabled?: boolean;
  /** Seconds of inactivity before auto-complete; no default. */
  autoCompleteAfter?: number;
  limits?: Partial<Limits>;
  /** Max service records held by the LRU cache; 0 disables it (required for shared stores). Default 10,000. */
  cacheSize?: number;
  /** Services handled per round by purge and sweep before yielding. Default 100. */
  batchSize?: number;
  /** The change log (SPEC §12). */
  changes?: {
    /** How long entries are kept: `<int><unit>` (units s m h d w M y) or ms. Default `24h`. */
    retention?: string | number;
    /** Positions kept per tenant: older entries go at the next sweep. Default 1,000,000. */
    maxEntries?: number;
    /** Shared stores: how often (ms) a live reader looks for other processes' entries. Default 1,000. */
    pollInterval?: number;
  };
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
  /** Receives errors thrown by event listeners (default: `process.emitWarning`). */
  onListenerError?: (error: unknown, event: ContextEvent) => void;
}

/** Result of one sweep. */
export interface SweepResult {
  expired: number;
  autoCompleted: number;
}

/**
 * The Context Services engine: one method per operation of SPEC §4. Every method validates its
 * input with the core schemas and throws `ContextServicesError` (see `ErrorCode`); a rejected call
 * writes nothing. Every write is one atomic store batch, serialized per service.
 */
export interface ContextServices {
  /** SRV.1: start a service. Requires `customer_id` or `contact_key`. */
  startService(event: unknown, options?: CallOptions): Promise<{ service_id: string }>;
  /** SRV.3: end a service and its active states and tasks (L1, L2, L6). */
  endService(serviceId: string, event?: unknown, options?: CallOptions): Promise<void>;
  /** SRV.2: attach a service to a customer, or move it; body fields overwrite, extensions replace. */
  associate(customerId: string, serviceId: string, body?: unknown, options?: CallOptions): Promise<void>;
  /** Composite start (SPEC §6). */
  compositeStart(body: unknown, options?: CallOptions): Promise<CompositeResult>;
  /** SRV.14. */
  getService(serviceId: string, query?: ServiceQuery, options?: CallOptions): Promise<ServiceView>;
  /** Delete a service and everything under it (L8). */
  deleteService(serviceId: string, options?: CallOptions): Promise<void>;
  /** `{ttl?, expiration_time?}`, at least one; ttl wins (SPEC §4, §7.2). */
  updateExpiration(serviceId: string, body: unknown, options?: CallOptions): Promise<void>;
  /** SRV.4 / SRV.17 / SRV.18: replace an extension's whole value. */
  putExtension(ref: EntityRef, name: string, value: unknown, options?: CallOptions): Promise<void>;
  /** Merge keys into an object-valued extension, creating it if absent. */
  mergeExtension(ref: EntityRef, name: string, value: unknown, options?: CallOptions): Promise<void>;
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
  startState(serviceId: string, event: unknown, options?: CallOptions): Promise<{ state_id: number }>;
  /** SRV.6: ends the state and its active tasks (L2). */
  endState(serviceId: string, stateId: number, event?: unknown, options?: CallOptions): Promise<void>;
  /** SRV.7: atomic end + start (L5); returns the new state. */
  transition(serviceId: string, body: unknown, options?: CallOptions): Promise<{ state_id: number }>;
  /** SRV.12. */
  listStates(serviceId: string, query?: StateListQuery, options?: CallOptions): Promise<StateView[]>;
  /** SRV.15. */
  getState(serviceId: string, stateId: number, query?: StateQuery, options?: CallOptions): Promise<StateView>;
  /** SRV.8. */
  startTask(serviceId: string, event: unknown, options?: CallOptions): Promise<{ task_id: number }>;
  /** SRV.9. */
  endTask(serviceId: string, taskId: number, event?: unknown, options?: CallOptions): Promise<void>;
  /** SRV.13. */
  listTasks(serviceId: string, query?: TaskListQuery, options?: CallOptions): Promise<TaskView[]>;
  /** SRV.16. */
  getTask(serviceId: string, taskId: number, query?: TaskQuery, options?: CallOptions): Promise<TaskView>;
  /** SPEC §8.3: delete matching services started before `limit`, in bounded batches. */
  purge(body: unknown, options?: CallOptions): Promise<{ purged: number }>;
  /**
   * SPEC §8.1: validates the query (throws before anything is read), then resolves to a lazy
   * iterable ordered by start time that never holds all results in memory.
   */
  exportServices(query: ExportQuery, options?: CallOptions): Promise<AsyncIterable<string | ServiceView>>;
  /** Write services produced by an `export_content` export, keeping their ids. */
  importServices(
    services: AsyncIterable<unknown> | Iterable<unknown>,
    options?: CallOptions,
  ): Promise<{ imported: number }>;
  /** Remove expired services and auto-complete inactive ones whose deadline is ≤ `now` (default: the clock). */
  sweep(now?: number): Promise<SweepResult>;
  /** Run {@link sweep} every `intervalMs` (default 60 s) on an unref'd timer. */
  startSweeper(intervalMs?: number): void;
  stopSweeper(): Promise<void>;
  /**
   * Follow the tenant's change log (SPEC §12): validates the query and checks the position (throws
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
  /** Subscribe to events emitted after each commit (SPEC §7.4); returns the unsubscribe function. */
  on<T extends ContextEventType>(type: T, listener: (event: EventOf<T>) => void): () => void;
  on(type: '*', listener: (event: ContextEvent) => void): () => void;
  /** Wait for writes in flight, stop the sweeper, close the store. */
  close(): Promise<void>;
}
