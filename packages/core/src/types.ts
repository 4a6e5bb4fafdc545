/**
 * The static types of every request body and resource of the engine, derived with `Static` from
 * the TypeBox schemas that validate them at run time (schemas.ts): one definition, so the types a
 * TypeScript caller compiles against and the checks a JavaScript caller meets cannot drift apart.
 *
 * `Static` knows nothing of `additionalProperties: true`, so the open bodies (docs/spec.md §3.1: other
 * top-level keys are attached data) add two things here: an index signature of JSON values for
 * the extensions, and `?: never` for the documented fields of other entity kinds, which the
 * engine refuses at run time too.
 */
import type { Static } from 'typebox';
import type {
  AssociateBody,
  CompositeItem,
  CompositeStartRequest,
  CompositeStartResult,
  ExpirationUpdate,
  PurgeOperationSchema,
  PurgeRequestSchema,
  ServiceEndEvent,
  ServiceResource,
  ServiceStartEvent,
  StateEndEvent,
  StateResource,
  StateStartEvent,
  TaskEndEvent,
  TaskResource,
  TaskStartEvent,
  TransitionRequest,
  TypeValueSchema,
} from './schemas.js';
import type { DocumentedField } from './validate.js';

/**
 * Any JSON value: what an extension (attached data) holds. Arrays may be readonly, so `as const`
 * data is accepted. Objects declared with `interface` have no index signature and are not
 * assignable: declare them with `type`, or spread them (`{ ...value }`).
 */
export type JsonValue = string | number | boolean | null | JsonArray | JsonObject;

/** A JSON array (see {@link JsonValue}). */
export type JsonArray = JsonValue[] | readonly JsonValue[];

/** A JSON object (see {@link JsonValue}): the value of a merge (docs/spec.md §4). */
export type JsonObject = { [key: string]: JsonValue };

/**
 * The value of an extension replace (SRV.4, SRV.17, SRV.18): any JSON value but `null`, as the
 * engine checks at run time (spec §4).
 */
export type ExtensionValue = Exclude<JsonValue, null>;

/** The extensions (attached data) of a body or a resource: any other top-level key, any JSON value. */
export type Extensions = { [extension: string]: JsonValue };

/** A documented field of another entity kind is not an extension: the engine refuses it (docs/spec.md §3.1). */
type Foreign<T> = { [K in Exclude<DocumentedField, keyof T>]?: never };

/** A body whose documented fields are `T` and whose other top-level keys are extensions. */
type OpenBody<T> = T & Foreign<T> & Extensions;

/** A "long or string" field (service_type, media_type, disposition …), stored and returned as given. */
export type TypeValue = Static<typeof TypeValueSchema>;

/**
 * Service start event (SRV.1): `customer_id` or `contact_key` is required (checked at run time),
 * other top-level keys are extensions.
 *
 * @example
 * ```ts
 * const event: ServiceStartEventBody = { contact_key: '555-0100', Feedback: { rating: 7 } };
 * ```
 */
export type ServiceStartEventBody = OpenBody<Static<typeof ServiceStartEvent>>;

/** Service end event (SRV.3), plus extensions. */
export type ServiceEndEventBody = OpenBody<Static<typeof ServiceEndEvent>>;

/** State start event (SRV.5), plus extensions. */
export type StateStartEventBody = OpenBody<Static<typeof StateStartEvent>>;

/** State end event (SRV.6), plus extensions. */
export type StateEndEventBody = OpenBody<Static<typeof StateEndEvent>>;

/** Task start event (SRV.8), plus extensions. */
export type TaskStartEventBody = OpenBody<Static<typeof TaskStartEvent>>;

/** Task end event (SRV.9), plus extensions. */
export type TaskEndEventBody = OpenBody<Static<typeof TaskEndEvent>>;

/** Associate body (SRV.2): start-event fields to overwrite, plus extensions that replace. */
export type AssociateRequestBody = OpenBody<Static<typeof AssociateBody>>;

/**
 * Transition body (SRV.7): `from` names the state to end, `to` describes the state to start;
 * top-level event fields are shared by the end and the start, other top-level keys are extensions
 * of the new state.
 */
export type TransitionRequestBody = OpenBody<Static<typeof TransitionRequest>>;

type Expiration = Static<typeof ExpirationUpdate>;

/** Expiration update (docs/spec.md §4, §7.2): `ttl` (seconds), `expiration_time` (ISO instant), at least one; ttl wins. */
export type ExpirationUpdateBody = {
  [K in keyof Expiration]-?: Expiration & Required<Pick<Expiration, K>>;
}[keyof Expiration];

type Item = Static<typeof CompositeItem>;

/**
 * One item of a composite start (docs/spec.md §6): the start events of the service to find or start, of
 * the state, and optionally of the task. Where the state and task go is composite start's own
 * decision, so `state.previous_state_id` and `task.state_id` are refused.
 */
export type CompositeStartItem = Omit<Item, 'service' | 'state' | 'task'> & {
  service: ServiceStartEventBody;
  state: OpenBody<Omit<Static<typeof StateStartEvent>, 'previous_state_id'>>;
  task?: OpenBody<Omit<Static<typeof TaskStartEvent>, 'state_id'>>;
};

/** Composite start body (docs/spec.md §6): 1 to 100 items (checked at run time). */
export type CompositeStartRequestBody = Omit<Static<typeof CompositeStartRequest>, 'services'> & {
  services: readonly CompositeStartItem[];
};

/** Composite start result (docs/spec.md §6): one entry per item, in order. */
export type CompositeResult = Static<typeof CompositeStartResult>;

/** One item of the composite start result (docs/spec.md §6). */
export type CompositeItemResult = CompositeResult['services'][number];

/** The operation of a purge (docs/spec.md §8.3). */
export type PurgeOperation = Static<typeof PurgeOperationSchema>;

/** Body of the purge operation (docs/spec.md §8.3): delete the matching services started before `limit`. */
export type PurgeRequest = Static<typeof PurgeRequestSchema>;

/** Event fields as they appear inside `started` / `completed` of a representation (docs/spec.md §3.1). */
export type EventView = Static<typeof ServiceResource>['started'];

/**
 * A task as returned by queries (docs/spec.md §3.2); `service_id` only on a top-level task. Extensions
 * appear only when requested (§5).
 */
export type TaskView = Static<typeof TaskResource> & Extensions;

type Tasks = { active_tasks?: TaskView[]; completed_tasks?: TaskView[] };

/** A state as returned by queries (docs/spec.md §3.2); its own tasks only when requested. */
export type StateView = Omit<Static<typeof StateResource>, keyof Tasks> & Tasks & Extensions;

type States = { active_states?: StateView[]; completed_states?: StateView[] };

/** A service as returned by queries and by an `export_content` export (docs/spec.md §3.2, §8.1). */
export type ServiceView = Omit<Static<typeof ServiceResource>, keyof Tasks | keyof States> &
  States &
  Tasks &
  Extensions;

/** Result of {@link ContextServices.startService}. */
export type ServiceStartResult = { service_id: string };

/** Result of {@link ContextServices.startState} and {@link ContextServices.transition}: the new state. */
export type StateStartResult = { state_id: number };

/** Result of {@link ContextServices.startTask}. */
export type TaskStartResult = { task_id: number };

/** Result of {@link ContextServices.purge}: how many services were deleted. */
export type PurgeResult = { purged: number };

/** Result of {@link ContextServices.importServices}: how many services were written. */
export type ImportResult = {
  imported: number;
  /** Items skipped because their service id was already stored (`skipExisting`). */
  skipped: number;
};
