/**
 * Every error code the core can raise. Codes are a stable contract: messages may change between
 * versions, codes may not. The HTTP adapter maps each code to a status and a Genesys exception
 * name in a table typed `satisfies Record<ErrorCode, …>`, so adding a code here without a mapping
 * fails the build.
 */
export type ErrorCode =
  /** The service does not exist, was deleted, or has expired (docs/spec.md §2.1, L8, §7.2). */
  | 'SERVICE_NOT_FOUND'
  /** No state with that id in the service. */
  | 'STATE_NOT_FOUND'
  /** No task with that id in the service. */
  | 'TASK_NOT_FOUND'
  /** A body, query or argument failed validation (field, rule and value in `details`). */
  | 'VALIDATION_FAILED'
  /** Ending an entity that is already completed (L1). */
  | 'ALREADY_COMPLETED'
  /** Transition from a state that is not active (L5). */
  | 'STATE_NOT_ACTIVE'
  /** A completion timestamp earlier than the start (L6). */
  | 'COMPLETED_BEFORE_START'
  /** Merge into an extension whose value is not an object (docs/spec.md §4). */
  | 'EXTENSION_NOT_OBJECT'
  /** A configured limit of docs/spec.md §10 would be exceeded (extension keys, states + tasks, …). */
  | 'LIMIT_EXCEEDED'
  /** Import of a service whose id already exists. */
  | 'SERVICE_EXISTS'
  /** The tenant named by the caller is not configured (docs/spec.md §9). */
  | 'TENANT_INVALID'
  /** Multi-tenant mode and no tenant named (docs/spec.md §9). */
  | 'TENANT_REQUIRED'
  /** The engine or its store is closed. */
  | 'CLOSED'
  /** Another process holds the store's directory. */
  | 'STORE_LOCKED'
  /** The store failed for a reason that is not the caller's fault. */
  | 'STORE_FAILED'
  /** The store (a database) cannot be reached for now; retriable (docs/spec.md §11). */
  | 'STORE_UNAVAILABLE'
  /** A batch precondition did not hold (store level; the engine re-reads and retries). */
  | 'PRECONDITION_FAILED'
  /** Another process kept changing the service: retries ran out; retriable (docs/spec.md §11). */
  | 'CONFLICT'
  /** The write would take the service past its stored size budget (docs/spec.md §10). */
  | 'SERVICE_TOO_LARGE'
  /** An `expiration_time` that is not in the future (docs/spec.md §7.2). */
  | 'EXPIRATION_IN_PAST'
  /** A change-stream position older than the retention (docs/spec.md §12). */
  | 'CHANGES_EXPIRED';

const BRAND = Symbol.for('cxs.ContextServicesError');

/**
 * The one error class of the core. Recognise it with {@link isContextServicesError}, not
 * `instanceof`: two copies of the core may coexist in one process.
 *
 * @example
 * try { await cs.endService(id) } catch (e) { if (isContextServicesError(e) && e.code === 'ALREADY_COMPLETED') … }
 */
export class ContextServicesError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (field, rule, limit, ids). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly [BRAND] = true;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ContextServicesError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `e` is a {@link ContextServicesError} from any copy of the core. */
export function isContextServicesError(e: unknown): e is ContextServicesError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** The documented Genesys message for an unknown service (docs/spec.md §2.1). */
export function serviceNotFound(serviceId: string): ContextServicesError {
  return new ContextServicesError('SERVICE_NOT_FOUND', `There are no service found for : ${serviceId}`, {
    details: { service_id: serviceId },
  });
}

/** Validation failure naming the field and the rule broken. */
export function invalid(
  field: string,
  rule: string,
  details?: Record<string, unknown>,
): ContextServicesError {
  return new ContextServicesError('VALIDATION_FAILED', `Invalid '${field}': ${rule}`, {
    details: { field, rule, ...details },
  });
}

/**
 * Unknown state (docs/spec.md §2.1: 400 with NotFoundException, naming the state). `field` names the body
 * field that referred to it (`state_id` of a task, `previous_state_id`, `from.state_id`) when the
 * state was not the one the call addresses: adapters answer that as bad input (L3, L5), never 404.
 */
export function stateNotFound(serviceId: string, id: number, field?: string): ContextServicesError {
  return new ContextServicesError(
    'STATE_NOT_FOUND',
    `There are no state found for : ${id} in service ${serviceId}`,
    {
      details: { service_id: serviceId, state_id: id, ...(field === undefined ? {} : { field }) },
    },
  );
}

/** Unknown task (docs/spec.md §2.1: 400 with NotFoundException, naming the task). */
export function taskNotFound(serviceId: string, id: number): ContextServicesError {
  return new ContextServicesError(
    'TASK_NOT_FOUND',
    `There are no task found for : ${id} in service ${serviceId}`,
    {
      details: { service_id: serviceId, task_id: id },
    },
  );
}
