/** `createApp`: a complete Koa application on the documented routes. */
import type { ContextServices } from '@cxs/core';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorHandler, fallbackLogger, HttpError, isClientError } from './http/errors.js';
import { createRouter, type RouterOptions } from './router.js';

/**
 * Log one line per request when the response is finished or the connection closes: method, path
 * (without the query string), status, duration in ms. Never bodies or headers (credentials).
 */
export function requestLogger(logger: Logger): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const done = () => {
      ctx.res.off('finish', done);
      ctx.res.off('close', done);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const aborted = !ctx.res.writableFinished;
      logger.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round(ms * 10) / 10,
          ...(aborted ? { aborted } : {}),
        },
        'request',
      );
    };
    ctx.res.once('finish', done);
    ctx.res.once('close', done);
    await next();
  };
}

const routeNotFound: Middleware = async (ctx, next) => {
  await next();
  if (ctx.status === 404 && ctx.body === undefined) {
    throw new HttpError('ROUTE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
  }
};

/**
 * A Koa app serving {@link createRouter}'s routes with: the error middleware first; request logs
 * (when `options.logger` is given); 404 for unknown routes, 405 (with `Allow`) for a wrong method
 * and 501 for an unknown one, all in the JSON error shape of SPEC §2.1.
 *
 * @example
 * ```ts
 * const engine = await createContextServices({ store: new MemoryStore() });
 * createApp(engine).listen(8080, '127.0.0.1');
 * ```
 */
export function createApp(engine: ContextServices, options: RouterOptions = {}): Koa {
  const app = new Koa();
  const router = createRouter(engine, options);
  const logger = options.logger;
  app.use(errorHandler({ notFoundStatus: options.notFoundStatus ?? 400, ...(logger ? { logger } : {}) }));
  if (logger !== undefined) app.use(requestLogger(logger));
  app.use(routeNotFound);
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
