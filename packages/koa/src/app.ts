/** `createApp`: a complete Koa application on the documented routes. */
import type { ContextServices } from '@cxs/core';
import Koa, { type Context, type Middleware } from 'koa';
import type { Logger } from 'pino';
import { dispatcher, type RouteEntry } from './http/dispatch.js';
import { answerError, fallbackLogger, HttpError, isClientError } from './http/errors.js';
import { assignRequestId } from './http/request-id.js';
import { HEALTH_PATHS, type HealthOptions, healthRoutes } from './ops/health.js';
import { type RouterOptions, routeTable } from './router.js';

/** Options of {@link createApp}: the router's, plus the health endpoints and request hooks. */
export interface AppOptions extends RouterOptions {
  /**
   * `GET /healthz`, `GET /readyz` (and `GET /metrics` with `health.metrics`) at the server root,
   * without credentials (see `healthRouter`). Default on; `false` to leave them out.
   */
  health?: HealthOptions | false;
  /** Called once per request (after the response), e.g. to count requests by operation and status. */
  onRequest?: (info: RequestInfo) => void;
}

/** What is known of a request once it is answered (or its connection closed). */
export interface RequestInfo {
  /** The request id (`X-Request-Id`). */
  requestId: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** The matched route's name (its OpenAPI `operationId`), or `unmatched`. */
  operation: string;
  status: number;
  /** Time from the request to the end of the response, in ms. */
  ms: number;
  /** The resolved tenant id, when the request named one. */
  tenant?: string;
  /** The authenticated user, when roles are enabled and the credentials were accepted. */
  user?: string;
  /** True when the connection closed before the response was complete. */
  aborted?: boolean;
}

/** Options of {@link requestLogger}. */
export interface RequestLogOptions {
  /** Called once per request with what is logged (metrics, for instance). */
  onRequest?: (info: RequestInfo) => void;
  /** Operations logged at debug rather than info (health probes and scrapes). Default none. */
  quiet?: ReadonlySet<string>;
}

/**
 * Log one line per request when the response is finished or the connection closes: request id,
 * method, path (without the query string), operation, tenant, user, status, duration in ms. Never
 * bodies or headers (credentials). Put it after `requestId`.
 */
export function requestLogger(logger: Logger | undefined, options: RequestLogOptions = {}): Middleware {
  return (ctx, next) => {
    watchRequest(ctx, logger, options);
    return next();
  };
}

const WATCH = Symbol('cxs.requestWatch');

interface Watch {
  readonly ctx: Context;
  readonly start: bigint;
  readonly logger: Logger | undefined;
  readonly options: RequestLogOptions;
}

type WatchedResponse = Context['res'] & { [WATCH]?: Watch | undefined };

/**
 * What {@link requestLogger} does for a request: report it once its response is finished or its
 * connection closed. A response emits `close` after `finish` as well, so one listener serves both;
 * the listener is shared by every request and the log line is only built when its level is on.
 */
function watchRequest(ctx: Context, logger: Logger | undefined, options: RequestLogOptions): void {
  const res = ctx.res as WatchedResponse;
  res[WATCH] = { ctx, start: process.hrtime.bigint(), logger, options };
  res.once('close', onClose);
}

function onClose(this: WatchedResponse): void {
  const watch = this[WATCH];
  if (watch === undefined) return;
  this[WATCH] = undefined;
  const { ctx, logger, options } = watch;
  const ms = Number(process.hrtime.bigint() - watch.start) / 1e6;
  const state = ctx.state as { requestId?: unknown; tenant?: unknown; user?: unknown };
  const info: RequestInfo = {
    requestId: typeof state.requestId === 'string' ? state.requestId : '',
    method: ctx.method,
    path: ctx.path,
    operation: (ctx as { _matchedRouteName?: string })._matchedRouteName ?? 'unmatched',
    status: ctx.status,
    ms: Math.round(ms * 10) / 10,
  };
  if (typeof state.tenant === 'string' && state.tenant !== '') info.tenant = state.tenant;
  if (typeof state.user === 'string') info.user = state.user;
  if (!this.writableFinished) info.aborted = true;
  options.onRequest?.(info);
  if (logger === undefined) return;
  const level = options.quiet?.has(info.operation) === true ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const { requestId: reqId, ...rest } = info;
  logger[level]({ reqId, ...rest }, 'request');
}

/** Health probes and scrapes come every few seconds: their request lines are debug. */
const QUIET: ReadonlySet<string> = new Set(['healthz', 'readyz', 'metrics']);

function healthLinks(metrics: boolean): Record<string, string> {
  return {
    healthz: HEALTH_PATHS.healthz,
    readyz: HEALTH_PATHS.readyz,
    ...(metrics ? { metrics: HEALTH_PATHS.metrics } : {}),
  };
}

/**
 * The outer frame of every request, one middleware rather than four: the request id, the request
 * log and `onRequest`, the error middleware, and 404 for what nothing answered.
 */
function requestFrame(
  notFoundStatus: 400 | 404,
  logger: Logger | undefined,
  log: RequestLogOptions | undefined,
): Middleware {
  return async (ctx, next) => {
    assignRequestId(ctx);
    if (log !== undefined) watchRequest(ctx, logger, log);
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError('ROUTE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      }
    } catch (error) {
      answerError(ctx, error, notFoundStatus, logger);
    }
  };
}

/**
 * A Koa app serving {@link createRouter}'s routes with: request ids (`X-Request-Id`); the error
 * middleware; request logs (when `options.logger` is given) and `options.onRequest`; the health
 * endpoints at the root (docs/spec.md §13); 404 for unknown routes, 405 (with `Allow`) for a wrong method
 * and 501 for an unknown one, all in the JSON error shape of docs/spec.md §2.1.
 *
 * @example
 * ```ts
 * const engine = await createContextServices({ store: new MemoryStore() });
 * createApp(engine).listen(8080, '127.0.0.1');
 * ```
 */
export function createApp(engine: ContextServices, options: AppOptions = {}): Koa {
  const app = new Koa();
  const { health: healthOptions, onRequest, ...routerOptions } = options;
  const health = healthOptions === false ? undefined : healthRoutes(engine, healthOptions);
  const links =
    health === undefined ? {} : healthLinks(healthOptions !== false && healthOptions?.metrics !== undefined);
  const table = routeTable(engine, { ...routerOptions, links: { ...links, ...routerOptions.links } });
  const prefix = table.prefix.replace(/\/$/, '');
  const routes: RouteEntry[] = [
    ...(health ?? []),
    ...table.routes.map((r) => ({
      ...r,
      path: r.path === '/' && prefix !== '' ? prefix : `${prefix}${r.path}`,
    })),
  ];
  const logger = options.logger;
  const log =
    logger !== undefined || onRequest !== undefined
      ? { quiet: QUIET, ...(onRequest ? { onRequest } : {}) }
      : undefined;
  app.use(requestFrame(options.notFoundStatus ?? 400, logger, log));
  // One table matched once per request; the same answers as the Router of `createRouter` mounted
  // with `allowedMethods({ throw: true })` after the health router.
  app.use(
    dispatcher(routes, {
      ...(options.authorize === undefined ? {} : { authorize: options.authorize }),
      ...(options.authChallenge === undefined ? {} : { authChallenge: options.authChallenge }),
    }),
  );
  // Errors the error middleware could not answer (a stream failing after its headers).
  app.on('error', (error: unknown) => {
    // A client that goes away, times out or sends garbage mid-response is not a server failure.
    if (isClientError(error)) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      logger?.debug({ code, reason: message }, 'client went away');
    } else (logger ?? fallbackLogger()).error({ err: error }, 'response failed');
  });
  return app;
}
