/**
 * One table describes every route: the router is built from it and so is the OpenAPI document,
 * so the two cannot drift apart.
 */
import type { CallOptions, ContextServices, RawQuery, schemas } from '@cxs/core';
import type { Context } from 'koa';
import type { EventStreamOptions } from '../http/event-stream.js';

/** How a query parameter is written (the core parsers enforce it). */
export type ParamKind =
  | 'boolean'
  | 'instant'
  | 'list'
  | 'integer'
  | 'id'
  | 'string'
  | { enum: readonly string[] };

/** A documented query parameter. */
export interface QueryParam {
  name: string;
  kind: ParamKind;
  description: string;
  required?: boolean;
}

/** Names of core schemas, plus the few small response shapes the adapter adds. */
export type SchemaName =
  | keyof typeof schemas
  | 'ServiceIdResult'
  | 'StateIdResult'
  | 'TaskIdResult'
  | 'PurgeResult'
  | 'FilesResult'
  | 'ExtensionValue'
  | 'ExtensionObject'
  | 'IndexResult';

/** What a handler receives. */
export interface RouteRequest {
  readonly engine: ContextServices;
  /** Path parameters, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: RawQuery;
  /** The tenant of this request for every engine call. */
  readonly call: CallOptions;
  /**
   * Read the JSON body (docs/spec.md §10 limits); `undefined` when there is none. Typed as the engine
   * parameter it is passed to, unchecked: the engine validates every body at run time (400
   * `VALIDATION_FAILED`), so the adapter casts here, once, instead of checking twice.
   */
  body<T = unknown>(): Promise<T>;
  /** The request path as the client sent it (for `Location`), without the query. */
  readonly requestPath: string;
  readonly ctx: Context;
  readonly exportDir: string;
  /** Options of `GET /events`. */
  readonly events: EventStreamOptions;
}

/** What a handler answers; `body: undefined` = empty body. */
export interface RouteResult {
  status: 200 | 201 | 204;
  body?: unknown;
  location?: string;
}

/** One route of docs/spec.md §4. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Koa-router path relative to the base path, parameters as `:name`. */
  path: string;
  operationId: string;
  /** Genesys operation id (CV.WS.SRV.n) when there is one. */
  genesys?: string;
  summary: string;
  query: readonly QueryParam[];
  body?: { schema: SchemaName; required: boolean };
  response: {
    status: 200 | 201 | 204;
    schema?: SchemaName;
    array?: boolean;
    stream?: boolean;
    /** `text/event-stream` (docs/spec.md §12) instead of JSON. */
    eventStream?: boolean;
  };
  /**
   * Error statuses this route can answer beyond those every route shares (400, 500, 503; 401/403
   * with roles; 404 for unknown entities when so configured; 413/415 with a body), for OpenAPI:
   * 409 where a service id can collide, 410 for an expired change position.
   */
  errors?: readonly (409 | 410)[];
  handle(r: RouteRequest): Promise<RouteResult | undefined>;
}

/** The path of `requestPath` with its last segment replaced (`…/services/start` → `…/services/<id>`). */
export function siblingPath(requestPath: string, segment: string | number): string {
  const trimmed = requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
  return `${trimmed.slice(0, trimmed.lastIndexOf('/'))}/${encodeURIComponent(String(segment))}`;
}
