/**
 * The OpenAPI 3.1 document, generated from the route table and the core's TypeBox schemas (which
 * are JSON Schema values, and OpenAPI 3.1 speaks JSON Schema 2020-12).
 */
import { schemas } from '@cxs/core';
import { EXCEPTIONS } from './http/errors.js';
import type { ParamKind, QueryParam, RouteSpec, SchemaName } from './routes/spec.js';

type Json = Record<string, unknown>;

const ref = (name: SchemaName | 'HttpErrorBody') => ({ $ref: `#/components/schemas/${name}` });

function componentSchemas(): Record<string, Json> {
  // A JSON round trip keeps exactly the JSON Schema keywords of the TypeBox values.
  const core = JSON.parse(JSON.stringify(schemas)) as Record<string, Json>;
  const id = (name: string, type: string) => ({
    type: 'object',
    required: [name],
    properties: { [name]: { type } },
  });
  return {
    ...core,
    ServiceIdResult: id('service_id', 'string'),
    StateIdResult: id('state_id', 'integer'),
    TaskIdResult: id('task_id', 'integer'),
    PurgeResult: id('purged', 'integer'),
    FilesResult: {
      type: 'object',
      required: ['created'],
      properties: { created: { type: 'array', items: { type: 'string' }, minItems: 3, maxItems: 3 } },
    },
    ExtensionValue: { description: 'Any JSON value (usually an object or an array)' },
    ExtensionObject: { type: 'object', description: 'Keys to add or replace' },
    HttpErrorBody: {
      ...(core.ErrorBody ?? {}),
      description: `\`exception\` is a Genesys name such as ${EXCEPTIONS.notFound}; \`code\` is stable`,
    },
  };
}

function paramSchema(kind: ParamKind): Json {
  if (typeof kind === 'object') return { type: 'string', enum: [...kind.enum] };
  switch (kind) {
    case 'boolean':
      return { type: 'string', enum: ['true', 'false'] };
    case 'instant':
      return { type: 'string', format: 'date-time' };
    case 'integer':
      return { type: 'integer', minimum: 0 };
    case 'id':
      return { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 };
    case 'list':
      return { type: 'array', items: { type: 'string' } };
    case 'string':
      return { type: 'string' };
  }
}

function queryParameter(p: QueryParam): Json {
  return {
    name: p.name,
    in: 'query',
    required: p.required === true,
    description: p.description,
    schema: paramSchema(p.kind),
    ...(p.kind === 'list' ? { style: 'form', explode: false } : {}),
  };
}

const PATH_PARAM_DOC: Record<string, string> = {
  service_id: 'Service id',
  state_id: 'State id (positive integer)',
  task_id: 'Task id (positive integer)',
  customer_id: 'Customer id (any Unicode, percent-encoded)',
  contact_key: 'Contact key (any Unicode, percent-encoded)',
  name: 'Extension name',
};

/** `/services/:service_id` → `/services/{service_id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function operation(spec: RouteSpec): Json {
  const pathParams = [...spec.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] as string);
  const error = { description: 'Error', content: { 'application/json': { schema: ref('HttpErrorBody') } } };
  const ok: Json = { description: 'Success' };
  if (spec.response.schema !== undefined) {
    const s = ref(spec.response.schema);
    ok.content = { 'application/json': { schema: spec.response.array ? { type: 'array', items: s } : s } };
  }
  if (spec.response.eventStream) ok.content = { 'text/event-stream': { schema: { type: 'string' } } };
  if (spec.response.status === 201) ok.headers = { Location: { schema: { type: 'string' } } };
  const op: Json = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.genesys === undefined ? {} : { description: `Genesys operation ${spec.genesys}.` }),
    parameters: [
      ...pathParams.map((name) => ({
        name,
        in: 'path',
        required: true,
        description: PATH_PARAM_DOC[name] ?? name,
        schema: name === 'state_id' || name === 'task_id' ? paramSchema('id') : { type: 'string' },
      })),
      ...spec.query.map(queryParameter),
      {
        name: 'ContactCenterId',
        in: 'header',
        required: false,
        description: 'Tenant id or name (required when the server has tenants)',
        schema: { type: 'string' },
      },
    ],
    responses: {
      [String(spec.response.status)]: ok,
      '400': error,
      '401': error,
      '403': error,
      ...(spec.response.eventStream ? { '410': error } : {}),
    },
  };
  if (spec.body !== undefined) {
    op.requestBody = {
      required: spec.body.required,
      content: { 'application/json': { schema: ref(spec.body.schema) } },
    };
  }
  return op;
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** Base path the routes are served under (the `servers` URL). */
  prefix: string;
  version?: string;
}

/**
 * Build the OpenAPI 3.1 document of `routes`, plus the document's own route `GET /openapi.json`.
 *
 * @example
 * ```ts
 * const doc = openApiDocument(allRoutes, { prefix: '/genesys/1/cs' });
 * ```
 */
export function openApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const spec of routes) {
    const p = openApiPath(spec.path);
    paths[p] ??= {};
    (paths[p] as Record<string, Json>)[spec.method.toLowerCase()] = operation(spec);
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'openApi',
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Context Services (Genesys 8.5 Service API)',
      version: options.version ?? '0.1.0',
      description:
        'Services, states and tasks of customer journeys. Errors answer `{message, exception, code}`; unknown services, states and tasks answer 400 (or 404 when the server is so configured).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: options.prefix === '' ? '/' : options.prefix }],
    components: {
      schemas: componentSchemas(),
      securitySchemes: { basic: { type: 'http', scheme: 'basic' } },
    },
    paths,
  };
}
