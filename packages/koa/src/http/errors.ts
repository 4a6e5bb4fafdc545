/**
 * The one error path of the HTTP adapter: every failure, from the core, from Koa, from the router
 * or unexpected, becomes the JSON body `{message, exception, code}` of docs/spec.md §2.1 with its status.
 */
import { type ErrorCode, isContextServicesError } from '@cxs/core';
import type { Context, Middleware } from 'koa';
import { type Logger, pino } from 'pino';

const NS = 'com.genesyslab.gsg.services.contextservices.exceptions';

/** The Genesys exception names used in error bodies. */
export const EXCEPTIONS = {
  notFound: `${NS}.NotFoundException`,
  badRequest: `${NS}.BadRequestException`,
  tenant: `${NS}.ContextServicesExceptionResource`,
  conflict: `${NS}.ConflictException`,
  unavailable: `${NS}.ServiceUnavailableException`,
  internal: `${NS}.ContextServicesException`,
  methodNotAllowed: `${NS}.MethodNotAllowedException`,
  notImplemented: `${NS}.NotImplementedException`,
  tooLarge: `${NS}.RequestEntityTooLargeException`,
  requestTimeout: `${NS}.RequestTimeoutException`,
  tooManyRequests: `${NS}.TooManyRequestsException`,
  mediaType: `${NS}.UnsupportedMediaTypeException`,
  unauthorized: `${NS}.UnauthorizedException`,
  forbidden: `${NS}.ForbiddenException`,
} as const;

/** How one error code is answered. `notFound` codes follow the `notFoundStatus` option. */
export interface ErrorMapping {
  readonly status: number;
  readonly exception: string;
  readonly notFound?: boolean;
}

/**
 * Core error code → HTTP status and Genesys exception name. Typed `satisfies Record<ErrorCode, …>`:
 * a code added to the core without a row here fails the build.
 */
export const CORE_ERROR_MAP = {
  SERVICE_NOT_FOUND: { status: 400, exception: EXCEPTIONS.notFound, notFound: true },
  STATE_NOT_FOUND: { status: 400, exception: EXCEPTIONS.notFound, notFound: true },
  TASK_NOT_FOUND: { status: 400, exception: EXCEPTIONS.notFound, notFound: true },
  VALIDATION_FAILED: { status: 400, exception: EXCEPTIONS.badRequest },
  ALREADY_COMPLETED: { status: 400, exception: EXCEPTIONS.badRequest },
  STATE_NOT_ACTIVE: { status: 400, exception: EXCEPTIONS.badRequest },
  COMPLETED_BEFORE_START: { status: 400, exception: EXCEPTIONS.badRequest },
  EXTENSION_NOT_OBJECT: { status: 400, exception: EXCEPTIONS.badRequest },
  LIMIT_EXCEEDED: { status: 400, exception: EXCEPTIONS.badRequest },
  SERVICE_EXISTS: { status: 409, exception: EXCEPTIONS.conflict },
  TENANT_INVALID: { status: 400, exception: EXCEPTIONS.tenant },
  TENANT_REQUIRED: { status: 400, exception: EXCEPTIONS.tenant },
  CLOSED: { status: 503, exception: EXCEPTIONS.unavailable },
  STORE_LOCKED: { status: 503, exception: EXCEPTIONS.unavailable },
  STORE_FAILED: { status: 500, exception: EXCEPTIONS.internal },
  STORE_UNAVAILABLE: { status: 503, exception: EXCEPTIONS.unavailable },
  PRECONDITION_FAILED: { status: 503, exception: EXCEPTIONS.unavailable },
  CONFLICT: { status: 503, exception: EXCEPTIONS.unavailable },
  SERVICE_TOO_LARGE: { status: 413, exception: EXCEPTIONS.tooLarge },
  EXPIRATION_IN_PAST: { status: 400, exception: EXCEPTIONS.badRequest },
  CHANGES_EXPIRED: { status: 410, exception: EXCEPTIONS.badRequest },
} as const satisfies Record<ErrorCode, ErrorMapping>;

/** Codes that only the HTTP layer raises (routing, transport, authentication). */
export type HttpErrorCode =
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_IMPLEMENTED'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MALFORMED_JSON'
  | 'BAD_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'TOO_MANY_REQUESTS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INTERNAL_ERROR';

/** HTTP-layer code → status and exception name; complete by type like {@link CORE_ERROR_MAP}. */
export const HTTP_ERROR_MAP = {
  ROUTE_NOT_FOUND: { status: 404, exception: EXCEPTIONS.notFound },
  METHOD_NOT_ALLOWED: { status: 405, exception: EXCEPTIONS.methodNotAllowed },
  NOT_IMPLEMENTED: { status: 501, exception: EXCEPTIONS.notImplemented },
  BODY_TOO_LARGE: { status: 413, exception: EXCEPTIONS.tooLarge },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exception: EXCEPTIONS.mediaType },
  MALFORMED_JSON: { status: 400, exception: EXCEPTIONS.badRequest },
  BAD_REQUEST: { status: 400, exception: EXCEPTIONS.badRequest },
  REQUEST_TIMEOUT: { status: 408, exception: EXCEPTIONS.requestTimeout },
  TOO_MANY_REQUESTS: { status: 429, exception: EXCEPTIONS.tooManyRequests },
  UNAUTHORIZED: { status: 401, exception: EXCEPTIONS.unauthorized },
  FORBIDDEN: { status: 403, exception: EXCEPTIONS.forbidden },
  INTERNAL_ERROR: { status: 500, exception: EXCEPTIONS.internal },
} as const satisfies Record<HttpErrorCode, ErrorMapping>;

const BRAND = Symbol.for('cxs.HttpError');

/** An error raised by the HTTP layer itself, with one of the {@link HttpErrorCode}s. */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  /** Extra response headers (`Allow`, `WWW-Authenticate`, `Connection`). */
  readonly headers: Readonly<Record<string, string>>;
  readonly [BRAND] = true;

  constructor(code: HttpErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.headers = headers;
  }
}

/** True for an {@link HttpError} from any copy of this package. */
export function isHttpError(e: unknown): e is HttpError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** The JSON error body of docs/spec.md §2.1. */
export interface ErrorBody {
  message: string;
  exception: string;
  code: string;
}

/** What the error middleware answers for one error. */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Readonly<Record<string, string>>;
  /**
   * False for failures that are not the caller's fault (logged at error level with their stack).
   * Client-caused conditions (4xx, an unknown method's 501) are expected.
   */
  expected: boolean;
}

/**
 * What a client is told for a core error answered with a 5xx: the core's message names the data
 * path and the OS error (`LevelDB write failed at /srv/data: IO error: … No space left on device`),
 * which is for the log only (docs/spec.md §2.1: never internals in an answer).
 */
const GENERIC_5XX: Partial<Record<string, string>> = {
  STORE_FAILED: 'The store failed to complete the operation; the server log has the details',
  STORE_UNAVAILABLE: 'The store is unavailable; try again later',
  STORE_LOCKED: 'The store is unavailable; try again later',
  CLOSED: 'The service is not available (shutting down or not started)',
  PRECONDITION_FAILED: 'Concurrent updates conflicted; try again',
  CONFLICT: 'Concurrent updates conflicted; try again',
};

/** Statuses Koa, the router or http-errors may raise themselves, mapped to our codes. */
const STATUS_CODES: Record<number, HttpErrorCode> = {
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  501: 'NOT_IMPLEMENTED',
};

function fromMapping(
  m: ErrorMapping,
  code: string,
  message: string,
  headers: Record<string, string>,
  notFoundStatus: number,
): ErrorResponse {
  const status = m.notFound === true ? notFoundStatus : m.status;
  const text = status >= 500 ? (GENERIC_5XX[code] ?? message) : message;
  // 501 answers an unknown method: the client's doing, not a server failure.
  const expected = status < 500 || code === 'NOT_IMPLEMENTED';
  return { status, body: { message: text, exception: m.exception, code }, headers, expected };
}

/**
 * Map any thrown value to its response. Core errors keep their message (it names the field and
 * the rule); unexpected errors answer a generic message, never a stack trace. `notFoundStatus`
 * applies to the resource the URL addresses: a not-found error whose `details.field` names a body
 * field (a task's `state_id`, a state's `previous_state_id`, a transition's `from.state_id`) is a
 * bad reference in the request and stays 400 (docs/spec.md L3, L5).
 */
export function toErrorResponse(error: unknown, notFoundStatus: 400 | 404 = 400): ErrorResponse {
  if (isContextServicesError(error)) {
    const m: ErrorMapping | undefined = CORE_ERROR_MAP[error.code];
    const referred = error.details?.field !== undefined;
    if (m !== undefined)
      return fromMapping(m, error.code, error.message, {}, referred ? m.status : notFoundStatus);
  }
  if (isHttpError(error)) {
    return fromMapping(HTTP_ERROR_MAP[error.code], error.code, error.message, { ...error.headers }, 404);
  }
  // http-errors style (Koa's ctx.throw, the router's 501): trust only 4xx with `expose`.
  const e = error as { status?: unknown; expose?: unknown; message?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status !== undefined && status >= 400 && status < 500 && e?.expose === true) {
    const code = STATUS_CODES[status] ?? 'BAD_REQUEST';
    const message = typeof e.message === 'string' ? e.message : 'Bad request';
    return {
      status,
      body: { message, exception: HTTP_ERROR_MAP[code].exception, code },
      headers: {},
      expected: true,
    };
  }
  if (status === 501)
    return fromMapping(HTTP_ERROR_MAP.NOT_IMPLEMENTED, 'NOT_IMPLEMENTED', 'Not implemented', {}, 404);
  return fromMapping(HTTP_ERROR_MAP.INTERNAL_ERROR, 'INTERNAL_ERROR', 'Internal server error', {}, 404);
}

let stderrLogger: Pick<Logger, 'error'> | undefined;

/** Where unexpected errors go when no logger is configured: pino on stderr, level error. */
export function fallbackLogger(): Pick<Logger, 'error'> {
  stderrLogger ??= pino({ level: 'error', base: { name: 'cxs' } }, pino.destination(2));
  return stderrLogger;
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /**
   * Status for unknown services, states and tasks addressed by the URL: 400 as the original server
   * (default) or 404. A missing state named in a body is always 400.
   */
  notFoundStatus?: 400 | 404;
  /** Receives unexpected errors (5xx) with their stack; default: pino on stderr. */
  logger?: Pick<Logger, 'error'>;
}

const CLIENT_GONE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_HTTP_REQUEST_TIMEOUT',
]);

/**
 * True for errors the client caused at the transport level: it went away, timed out, or sent
 * bytes that do not parse as HTTP. They are logged at debug level, without stack (docs/spec.md §13).
 */
export function isClientError(error: unknown): boolean {
  const e = error as { code?: unknown; status?: unknown; expose?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CLIENT_GONE.has(code) || code.startsWith('HPE_')) return true;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500;
}

/** Methods of the routes whose path matched, for the `Allow` header of a 405. */
function allowedMethods(ctx: Context): string | undefined {
  const matched = (ctx as { matched?: { methods: string[] }[] }).matched;
  if (matched === undefined) return undefined;
  const methods = new Set(matched.flatMap((l) => l.methods));
  return methods.size === 0 ? undefined : [...methods].join(', ');
}

/**
 * The error middleware: put it first in the chain (`createApp` does). Turns every error into the
 * JSON shape of docs/spec.md §2.1; 5xx are logged, never shown. When headers are already sent (a stream
 * failing half-way) the connection is closed so the client sees a truncated body, not a valid one.
 *
 * @example
 * ```ts
 * app.use(errorHandler({ notFoundStatus: 404 }));
 * app.use(createRouter(engine).routes());
 * ```
 */
export function errorHandler(options: ErrorHandlerOptions = {}): Middleware {
  const notFoundStatus = options.notFoundStatus ?? 400;
  const logger = options.logger;
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      answerError(ctx, error, notFoundStatus, logger);
    }
  };
}

/**
 * Answer `error` on `ctx` as {@link errorHandler} does (the body of its `catch`, for middlewares
 * that combine it with others).
 */
export function answerError(
  ctx: Context,
  error: unknown,
  notFoundStatus: 400 | 404,
  logger: Pick<Logger, 'error'> | undefined,
): void {
  const r = toErrorResponse(error, notFoundStatus);
  if (!r.expected)
    (logger ?? fallbackLogger()).error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
  if (ctx.headerSent || !ctx.writable) {
    ctx.req.socket.destroy();
    return;
  }
  ctx.remove('Location');
  for (const [k, v] of Object.entries(r.headers)) ctx.set(k, v);
  if (r.status === 405) {
    const allow = allowedMethods(ctx);
    if (allow !== undefined) ctx.set('Allow', allow);
  }
  ctx.status = r.status;
  ctx.type = 'application/json';
  ctx.body = r.body;
}
