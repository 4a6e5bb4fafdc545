/** `createApp`: a complete Koa application on the documented routes. */
import type { ContextServices } from '@cxs/core';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorHandler, fallbackLogger, HttpError, isClientError } from './http/errors.js';
import { requestId, requestIdOf } from './http/request-id.js';
import { HEALTH_PATHS, type HealthOptions, healthRouter } from './ops/health.js';
import { createRouter, type RouterOptions } from './router.js';

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
 * bodies or headers (credentials). Put it after {@link requestId}.
 */
export function requestLogger(logger: Logger | undefined, options: RequestLogOptions = {}): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const done = () => {
      ctx.res.off('finish', done);
      ctx.res.off('close', done);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const state = ctx.state as { tenant?: unknown; user?: unknown };
      const info: RequestInfo = {
        requestId: requestIdOf(ctx) ?? '',
        method: ctx.method,
        path: ctx.path,
        operation: (ctx as { _matchedRouteName?: string })._matchedRouteName ?? 'unmatched',
        status: ctx.status,
        ms: Math.round(ms * 10) / 10,
      };
      if (typeof state.tenant === 'string' && state.tenant !== '') info.tenant = state.tenant;
      if (typeof state.user === 'string') info.user = state.user;
      if (!ctx.res.writableFinished) info.aborted = true;
      options.onRequest?.(info);
      if (logger === undefined) return;
      const { requestId: reqId, ...rest } = info;
      const line = { reqId, ...rest };
      if (options.quiet?.has(info.operation)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    };
    ctx.res.once('finish', done);
    ctx.res.once('close', done);
    await next();
  };
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

const routeNotFound: Middleware = async (ctx, next) => {
  await next();
  if (ctx.status === 404 && ctx.body === undefined) {
    throw new HttpError('ROUTE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
  }
};

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
  const health = healthOptions === false ? undefined : healthRouter(engine, healthOptions);
  const links =
    health === undefined ? {} : healthLinks(healthOptions !== false && healthOptions?.metrics !== undefined);
  const router = createRouter(engine, { ...routerOptions, links: { ...links, ...routerOptions.links } });
  const logger = options.logger;
  app.use(requestId());
  app.use(errorHandler({ notFoundStatus: options.notFoundStatus ?? 400, ...(logger ? { logger } : {}) }));
  if (logger !== undefined || onRequest !== undefined) {
    app.use(requestLogger(logger, { quiet: QUIET, ...(onRequest ? { onRequest } : {}) }));
  }
  app.use(routeNotFound);
  if (health !== undefined) app.use(health.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new HttpError('METHOD_NOT_ALLOWED', 'Method not allowed on this route'),
      notImplemented: () => new HttpError('NOT_IMPLEMENTED', 'Method not implemented'),
    }),
  );
  app.use(router.routes());
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
