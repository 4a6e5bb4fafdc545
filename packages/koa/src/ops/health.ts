/**
 * Health endpoints (docs/spec.md §13): liveness, readiness and (when given a source) metrics, on a router
 * of their own so that they can be served at the server root, outside the base path and without
 * credentials, beside the Context Services routes.
 */
import type { ContextServices } from '@cxs/core';
import { Router } from '@koa/router';
import type { RouteEntry } from '../http/dispatch.js';
import { EXCEPTIONS } from '../http/errors.js';

/** A metrics exposition (Prometheus text format, for instance), rendered on each scrape. */
export interface MetricsSource {
  /** `Content-Type` of the exposition (e.g. prom-client's `register.contentType`). */
  readonly contentType: string;
  render(): Promise<string>;
}

/** Options of {@link healthRouter}. */
export interface HealthOptions {
  /**
   * The readiness check; resolves when ready, throws with the reason otherwise. Default:
   * `engine.ready({ timeoutMs: readyTimeoutMs })` (a store read and a one-op write).
   */
  ready?: () => Promise<void>;
  /** Timeout of the default readiness check, in ms (default 2000). */
  readyTimeoutMs?: number;
  /** Serves `GET /metrics` when given. */
  metrics?: MetricsSource;
}

/** Paths of the health endpoints, relative to the router (at the server root with `createApp`). */
export const HEALTH_PATHS = { healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' } as const;

function reasonOf(error: unknown): { message: string; code: string } {
  const e = error as { message?: unknown; code?: unknown } | null;
  return {
    message: typeof e?.message === 'string' ? e.message : String(error),
    code: typeof e?.code === 'string' ? e.code : 'STORE_UNAVAILABLE',
  };
}

/**
 * The health routes of {@link healthRouter} as a table (paths at the root), for `createApp`'s
 * dispatcher.
 */
export function healthRoutes(engine: ContextServices, options: HealthOptions = {}): RouteEntry[] {
  const timeoutMs = options.readyTimeoutMs ?? 2000;
  const ready = options.ready ?? (() => engine.ready({ timeoutMs }));
  const routes: RouteEntry[] = [
    {
      name: 'healthz',
      method: 'GET',
      path: HEALTH_PATHS.healthz,
      public: true,
      handler: (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok' };
      },
    },
    {
      name: 'readyz',
      method: 'GET',
      path: HEALTH_PATHS.readyz,
      public: true,
      handler: async (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        try {
          await ready();
          ctx.body = { status: 'ready' };
        } catch (error) {
          // Answered here rather than thrown: a failing probe is a state to report, not a server error
          // to log with its stack on every probe.
          const { message, code } = reasonOf(error);
          ctx.status = 503;
          ctx.body = { message, exception: EXCEPTIONS.unavailable, code };
        }
      },
    },
  ];
  const metrics = options.metrics;
  if (metrics !== undefined) {
    routes.push({
      name: 'metrics',
      method: 'GET',
      path: HEALTH_PATHS.metrics,
      public: true,
      handler: async (ctx) => {
        const text = await metrics.render();
        ctx.set('Cache-Control', 'no-store');
        ctx.type = metrics.contentType;
        ctx.body = text;
      },
    });
  }
  return routes;
}

/**
 * A router with `GET /healthz` (200 while the process serves), `GET /readyz` (200 when the store
 * answers a read and accepts a write, else 503 with the reason in the JSON error shape of docs/spec.md
 * §2.1), and `GET /metrics` when `options.metrics` is given. No credentials are asked: mount it
 * outside any authentication. Answers are never cached (`Cache-Control: no-store`).
 *
 * @example
 * ```ts
 * app.use(healthRouter(engine).routes()); // /healthz, /readyz at the root
 * app.use(createRouter(engine, { authorize }).routes());
 * ```
 */
export function healthRouter(engine: ContextServices, options: HealthOptions = {}): Router {
  const router = new Router({ sensitive: true });
  for (const r of healthRoutes(engine, options))
    router.register(r.path, [r.method], r.handler, { name: r.name });
  return router;
}
