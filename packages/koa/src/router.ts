/** `createRouter`: every route of docs/spec.md §4 on an `@koa/router` Router. */
import type { CallOptions, ContextServices, RawQuery } from '@cxs/core';
import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { type Authorize, requireRoles } from './access/auth.js';
import { type Tenant, tenantResolver } from './access/tenancy.js';
import { DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, readJsonBody } from './http/body.js';
import type { RouteEntry } from './http/dispatch.js';
import { errorHandler, HttpError } from './http/errors.js';
import type { EventStreamOptions } from './http/event-stream.js';
import { jsonArrayBody } from './http/json-stream.js';
import { HEALTH_DOCS, openApiDocument, PACKAGE_VERSION } from './openapi.js';
import { eventRoutes } from './routes/events.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { checkQueryNames, knownQuery } from './routes/query-params.js';
import { serviceRoutes } from './routes/services.js';
import type { RouteRequest, RouteSpec } from './routes/spec.js';
import { stateRoutes, taskRoutes } from './routes/states-tasks.js';

/** The documented base path (docs/spec.md §2). */
export const DEFAULT_BASE_PATH = '/genesys/1/cs';

/** Every route, in registration order (literal segments before the parameters they overlap). */
export const allRoutes: readonly RouteSpec[] = [
  ...serviceRoutes,
  ...stateRoutes,
  ...taskRoutes,
  ...maintenanceRoutes,
  ...eventRoutes,
];

/** Options of {@link createRouter} and {@link createApp}. */
export interface RouterOptions {
  /** Base path of every route. Default `/genesys/1/cs`; `''` to nest the router under your own prefix. */
  prefix?: string;
  /**
   * Status for unknown services, states and tasks addressed by the URL: 400 as the original server
   * (default) or 404. A missing state named in a body (`state_id`, `previous_state_id`,
   * `from.state_id`) is always 400 (docs/spec.md L3, L5).
   */
  notFoundStatus?: 400 | 404;
  /** Largest accepted request body in bytes (default 1 MiB) → 413. */
  bodyLimit?: number;
  /**
   * Milliseconds a client has to send the whole request body once the route starts reading it
   * (default 30,000) → 408 `REQUEST_TIMEOUT` in the JSON shape, and the connection is closed.
   * `Infinity` disables it.
   */
  bodyTimeout?: number;
  /** Tenants; when non-empty the `ContactCenterId` header must name one (docs/spec.md §9). */
  tenants?: readonly Tenant[];
  /** Enables roles: resolves the caller's roles (see `basicAuth`). */
  authorize?: Authorize;
  /** `WWW-Authenticate` value of 401 answers (default `Basic realm="cxs", charset="UTF-8"`). */
  authChallenge?: string;
  /** Directory of the file export (default `./exports`). */
  exportDir?: string;
  /** Receives unexpected errors; `createApp` also logs every request with it. */
  logger?: Logger;
  /**
   * Longest JSON text, in characters, that a list response is sent as in one piece (with
   * `Content-Length`); a longer list is streamed as a chunked JSON array instead, item by item.
   * Default: no limit, so only a list whose JSON cannot be one string at all (V8's limit, about
   * 512 MiB) is streamed. The text is still built to be measured: this chooses how a list is sent,
   * it does not bound memory.
   */
  maxResponseStringLength?: number;
  /** `GET /events` (docs/spec.md §12): keep-alive interval and the slow-subscriber limit. */
  events?: EventStreamOptions;
  /**
   * Links of the index `GET <prefix>/` besides `openapi.json` and `events`, as absolute paths
   * (`createApp` adds its health endpoints: `{ healthz: '/healthz', readyz: '/readyz' }`).
   * Those named `healthz`, `readyz` and `metrics` are also described in the OpenAPI document.
   */
  links?: Readonly<Record<string, string>>;
  /** Version in the index and the OpenAPI document (default: this package's version). */
  version?: string;
  /**
   * Refuse query parameters the operation does not know with 400 `VALIDATION_FAILED` naming the
   * known ones (catches typos such as `active_task=true`). Default false: unknown parameters are
   * ignored, as the original server did, so cache-busters such as jQuery's `_=…` pass (docs/spec.md §5).
   */
  strictQuery?: boolean;
}

/**
 * The path of the request target as the client sent it (`originalUrl`, so it stays right under a
 * mount prefix), for `Location`: without query or fragment, and for an absolute-form target
 * (`POST http://host/… HTTP/1.1`) only the URL's pathname, so the client's host is never reflected.
 */
function requestPath(ctx: Context): string {
  const target = ctx.originalUrl;
  const end = target.search(/[?#]/);
  let path = end < 0 ? target : target.slice(0, end);
  if (!path.startsWith('/')) {
    try {
      path = new URL(path).pathname;
    } catch {
      path = ctx.path;
    }
  }
  // `//host/…` would read as a protocol-relative URL in `Location`.
  return path.replace(/^\/{2,}/, '/');
}

/** Path segments must be valid percent-encoding (the router would otherwise pass them raw). */
function checkCaptures(ctx: Context): void {
  for (const raw of (ctx as { captures?: string[] }).captures ?? []) {
    if (!raw.includes('%')) continue;
    try {
      decodeURIComponent(raw);
    } catch {
      throw new HttpError('BAD_REQUEST', `Malformed percent-encoding in path segment '${raw}'`);
    }
  }
}

/** What every handler of one router shares, computed once. */
interface Shared {
  readonly engine: ContextServices;
  readonly resolveTenant: (header: string | undefined) => string;
  readonly events: EventStreamOptions;
  readonly exportDir: string;
  readonly bodyLimit: number;
  readonly bodyTimeout: number;
  readonly maxString: number;
  readonly strict: boolean;
}

function sharedOf(engine: ContextServices, options: RouterOptions): Shared {
  return {
    engine,
    resolveTenant: tenantResolver(options.tenants),
    events: { ...(options.logger ? { logger: options.logger } : {}), ...options.events },
    exportDir: options.exportDir ?? './exports',
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    bodyTimeout: options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT,
    maxString: options.maxResponseStringLength ?? Number.POSITIVE_INFINITY,
    strict: options.strictQuery === true,
  };
}

/** One request as a handler sees it; the request path (for `Location`) is worked out on demand. */
class Request implements RouteRequest {
  readonly #shared: Shared;
  readonly ctx: Context;
  readonly params: Readonly<Record<string, string>>;
  readonly query: RawQuery;
  readonly call: CallOptions;

  constructor(shared: Shared, ctx: Context, query: RawQuery, call: CallOptions) {
    this.#shared = shared;
    this.ctx = ctx;
    this.params = (ctx as unknown as { params: Record<string, string> }).params;
    this.query = query;
    this.call = call;
  }

  get engine(): ContextServices {
    return this.#shared.engine;
  }

  get exportDir(): string {
    return this.#shared.exportDir;
  }

  get events(): EventStreamOptions {
    return this.#shared.events;
  }

  get requestPath(): string {
    return requestPath(this.ctx);
  }

  body<T>(): Promise<T> {
    return readJsonBody(this.ctx.req, this.#shared.bodyLimit, this.#shared.bodyTimeout) as Promise<T>;
  }
}

const NO_QUERY: RawQuery = Object.freeze({});

/**
 * Operations whose duration says nothing of how fast requests are served: the streams, and
 * maintenance itself. Every other route records its duration into the engine, which paces purge and
 * the sweep by them (`ContextServices.recordLatency`).
 */
const UNPACED: ReadonlySet<string> = new Set(['exportStream', 'exportFiles', 'purge', 'changeStream']);

function handlerFor(spec: RouteSpec, shared: Shared): Middleware {
  const handle = answer(spec, shared);
  if (UNPACED.has(spec.operationId)) return handle;
  const { engine } = shared;
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await handle(ctx, next);
    } finally {
      engine.recordLatency(performance.now() - start);
    }
  };
}

function answer(spec: RouteSpec, shared: Shared): Middleware {
  const { resolveTenant, maxString, strict } = shared;
  const known = spec.query;
  return async (ctx) => {
    checkCaptures(ctx);
    let query = NO_QUERY;
    if (strict) {
      query = ctx.query as RawQuery;
      checkQueryNames(query, known);
    } else if (known.length > 0) query = knownQuery(ctx.query as RawQuery, known);
    const header = ctx.req.headers.contactcenterid;
    const tenant = resolveTenant(typeof header === 'string' && header !== '' ? header : undefined);
    ctx.state.tenant = tenant;
    const result = await spec.handle(new Request(shared, ctx, query, tenant === '' ? {} : { tenant }));
    if (result === undefined) return;
    if (result.location !== undefined) ctx.set('Location', result.location);
    if (result.body === undefined) {
      ctx.body = null;
      ctx.status = result.status;
    } else {
      // Serialized here, not by Koa after the middleware: a failure still answers the JSON shape.
      const body = Array.isArray(result.body)
        ? await jsonArrayBody(result.body, maxString)
        : JSON.stringify(result.body);
      ctx.status = result.status;
      // What `ctx.type = 'application/json'` sets, without the MIME lookup.
      ctx.set('Content-Type', JSON_TYPE);
      ctx.body = body;
    }
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The routes of {@link createRouter}, paths relative to `prefix`, in table order. */
export interface RouteTable {
  readonly prefix: string;
  readonly routes: readonly RouteEntry[];
}

/**
 * Every route of docs/spec.md §4 with its handler, plus the public index and OpenAPI document:
 * the one table that {@link createRouter} registers on a Router and that `createApp` dispatches.
 *
 * @throws TypeError for a bad `maxResponseStringLength` or `bodyTimeout`.
 */
export function routeTable(engine: ContextServices, options: RouterOptions = {}): RouteTable {
  const max = options.maxResponseStringLength;
  if (max !== undefined && !(max >= 0))
    throw new TypeError('createRouter: maxResponseStringLength must be a number >= 0');
  if (options.bodyTimeout !== undefined && !(options.bodyTimeout > 0))
    throw new TypeError('createRouter: bodyTimeout must be a number of milliseconds > 0');
  const prefix = options.prefix ?? DEFAULT_BASE_PATH;
  const version = options.version ?? PACKAGE_VERSION;
  const links = options.links ?? {};
  const doc = openApiDocument(allRoutes, {
    prefix,
    version,
    security: options.authorize !== undefined,
    notFoundStatus: options.notFoundStatus ?? 400,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    health: Object.fromEntries(Object.entries(links).filter(([k]) => k in HEALTH_DOCS)),
  });
  const index = {
    name: 'Context Services',
    version,
    links: { self: `${prefix}/`, openapi: `${prefix}/openapi.json`, events: `${prefix}/events`, ...links },
  };
  const routes: RouteEntry[] = [
    // The document and the index are public: they answer before the roles check.
    {
      name: 'openApi',
      method: 'GET',
      path: '/openapi.json',
      public: true,
      handler: (ctx) => {
        ctx.body = doc;
      },
    },
    {
      name: 'index',
      method: 'GET',
      path: '/',
      public: true,
      handler: (ctx) => {
        ctx.body = index;
      },
    },
  ];
  const shared = sharedOf(engine, options);
  for (const spec of allRoutes) {
    routes.push({
      name: spec.operationId,
      method: spec.method,
      path: spec.path,
      handler: handlerFor(spec, shared),
    });
  }
  // The operation list of the original documents associate at a doubled base path; clients written
  // from it call that path (docs/spec.md §2). Served as an alias, not advertised in the OpenAPI document.
  const associate = allRoutes.find((r) => r.operationId === 'associate') as RouteSpec;
  routes.push({
    name: 'associateDoubledPath',
    method: associate.method,
    path: `${DEFAULT_BASE_PATH}${associate.path}`,
    handler: handlerFor(associate, shared),
  });
  return { prefix, routes };
}

/**
 * Build an `@koa/router` Router serving every route of docs/spec.md §4 (and `GET <prefix>/openapi.json`)
 * on `engine`. Mount it in any Koa app beside your own routes; errors raised inside it already
 * answer the JSON shape of docs/spec.md §2.1. For 404/405 in that shape too, put {@link errorHandler}
 * first in your app and add `router.allowedMethods({ throw: true })`, as `createApp` does.
 *
 * @example
 * ```ts
 * const router = createRouter(engine, { prefix: '/genesys/1/cs', notFoundStatus: 404 });
 * app.use(errorHandler()).use(router.routes()).use(router.allowedMethods({ throw: true }));
 * ```
 */
export function createRouter(engine: ContextServices, options: RouterOptions = {}): Router {
  const { prefix, routes } = routeTable(engine, options);
  const router = new Router({ prefix, sensitive: true });
  router.use(
    errorHandler({
      notFoundStatus: options.notFoundStatus ?? 400,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  );
  for (const r of routes)
    if (r.public === true) router.register(r.path, [r.method], r.handler, { name: r.name });
  if (options.authorize !== undefined) router.use(requireRoles(options.authorize, options.authChallenge));
  for (const r of routes)
    if (r.public !== true) router.register(r.path, [r.method], r.handler, { name: r.name });
  return router;
}
