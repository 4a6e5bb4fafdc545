/**
 * The OpenAPI 3.1 document, generated from the route table and the core's TypeBox schemas (which
 * are JSON Schema values, and OpenAPI 3.1 speaks JSON Schema 2020-12).
 */
import { createRequire } from 'node:module';
import { schemas } from '@cxs/core';
import { EXCEPTIONS } from './http/errors.js';
import type { ParamKind, QueryParam, RouteSpec, SchemaName } from './routes/spec.js';

type Json = Record<string, unknown>;

const ref = (name: SchemaName | 'HttpErrorBody') => ({ $ref: `#/components/schemas/${name}` });

function componentSchemas(): Record<string, Json> {
  // A JSON round trip keeps exactly the JSON Schema keywords of the TypeBox values.
  const { ErrorBody: errorBody, ...core } = JSON.parse(JSON.stringify(schemas)) as Record<string, Json>;
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
    IndexResult: {
      type: 'object',
      required: ['version', 'links'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        links: {
          type: 'object',
          description: 'Absolute paths: self, openapi, events, and the health endpoints when served',
          additionalProperties: { type: 'string' },
        },
      },
    },
    HttpErrorBody: {
      ...(errorBody ?? {}),
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

/** The error answers an operation may give, by status, each described once in `components.responses`. */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': {
    name: 'BadRequest',
    description:
      'Invalid input, a rule violated, an unknown or missing tenant, or (unless the server answers 404 for them) an unknown service, state or task',
  },
  '401': { name: 'Unauthorized', description: 'No or wrong credentials (`WWW-Authenticate` tells how)' },
  '403': { name: 'Forbidden', description: 'The user lacks the role this operation needs' },
  '404': { name: 'NotFound', description: 'Unknown service, state or task addressed by the URL' },
  '409': { name: 'Conflict', description: 'A service with this id already exists' },
  '410': { name: 'Gone', description: 'The position is older than the change log retention' },
  '413': {
    name: 'PayloadTooLarge',
    description: 'The body is larger than the server accepts, or the service would pass its size budget',
  },
  '415': { name: 'UnsupportedMediaType', description: 'A body that is not JSON (UTF-8)' },
  '500': { name: 'InternalError', description: 'Unexpected server failure (details are only logged)' },
  '503': {
    name: 'ServiceUnavailable',
    description: 'The store is closed, unreachable, or other writers kept conflicting; retry later',
  },
};

/** What the served routes can answer besides their success, from the server's configuration. */
interface Answers {
  security: boolean;
  notFoundStatus: 400 | 404;
}

function errorStatuses(spec: RouteSpec, a: Answers): string[] {
  const out = ['400'];
  if (a.security) out.push('401', '403');
  if (a.notFoundStatus === 404 && spec.path.includes(':service_id')) out.push('404');
  for (const s of spec.errors ?? []) out.push(String(s));
  if (spec.body !== undefined) out.push('413', '415');
  out.push('500', '503');
  return [...new Set(out)].sort();
}

const errorRef = (status: string) => ({
  $ref: `#/components/responses/${(ERROR_RESPONSES[status] as { name: string }).name}`,
});

function operation(spec: RouteSpec, a: Answers): Json {
  const pathParams = [...spec.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] as string);
  const ok: Json = { description: 'Success' };
  if (spec.response.schema !== undefined) {
    const s = ref(spec.response.schema);
    ok.content = { 'application/json': { schema: spec.response.array ? { type: 'array', items: s } : s } };
  }
  if (spec.response.eventStream) ok.content = { 'text/event-stream': { schema: { type: 'string' } } };
  if (spec.response.status === 201)
    ok.headers = { Location: { description: 'The URL of what was created', schema: { type: 'string' } } };
  const responses: Json = { [String(spec.response.status)]: ok };
  for (const status of errorStatuses(spec, a)) responses[status] = errorRef(status);
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
      ...(spec.response.eventStream
        ? [
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description:
                'Continue after this position (sent by EventSource on reconnection); wins over `since`',
              schema: { type: 'string' },
            },
          ]
        : []),
    ],
    responses,
  };
  if (spec.body !== undefined) {
    op.requestBody = {
      required: spec.body.required,
      content: { 'application/json': { schema: ref(spec.body.schema) } },
    };
  }
  return op;
}

/** The version of this package (the default version of the index and of the document). */
export const PACKAGE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** The health endpoints the document can describe (served at the root, outside the base path). */
export const HEALTH_DOCS: Readonly<Record<string, { summary: string; ok: string; text?: boolean }>> = {
  healthz: { summary: 'Liveness: 200 while the process serves', ok: '`{"status":"ok"}`' },
  readyz: {
    summary: 'Readiness: 200 when the store answers a read and accepts a write, else 503 with the reason',
    ok: '`{"status":"ready"}`',
  },
  metrics: { summary: 'Metrics in the Prometheus text format', ok: 'Prometheus text format', text: true },
};

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** Base path the routes are served under (the `servers` URL). */
  prefix: string;
  version?: string;
  /** The routes ask for HTTP Basic credentials (roles enabled): documents 401/403 and the scheme. */
  security?: boolean;
  /** Status of unknown services, states and tasks (default 400). */
  notFoundStatus?: 400 | 404;
  /** The body limit, in bytes, for the 413 answers' description. */
  bodyLimit?: number;
  /** Health endpoints served at the root: name (`healthz`, `readyz`, `metrics`) → absolute path. */
  health?: Readonly<Record<string, string>>;
}

const PUBLIC = { security: [] };

function publicOperations(options: OpenApiOptions, used: Set<string>): Record<string, Record<string, Json>> {
  const paths: Record<string, Record<string, Json>> = {
    '/': {
      get: {
        operationId: 'index',
        summary: 'Index: version and links to this document, the change stream and the health endpoints',
        ...PUBLIC,
        responses: {
          '200': {
            description: 'The index',
            content: { 'application/json': { schema: ref('IndexResult') } },
          },
          '400': errorRef('400'),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document',
        ...PUBLIC,
        responses: {
          '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } },
          '400': errorRef('400'),
        },
      },
    },
  };
  used.add('400');
  for (const [name, path] of Object.entries(options.health ?? {})) {
    const d = HEALTH_DOCS[name];
    if (d === undefined) continue;
    const responses: Json = {
      '200': {
        description: d.ok,
        content: d.text ? { 'text/plain': { schema: { type: 'string' } } } : { 'application/json': {} },
      },
    };
    if (name === 'readyz') {
      responses['503'] = errorRef('503');
      used.add('503');
    }
    responses['404'] = {
      description: 'Not served (a mount without this endpoint)',
      content: { 'application/json': { schema: ref('HttpErrorBody') } },
    };
    paths[path] = {
      servers: [{ url: '/', description: 'The server root, outside the base path' }],
      get: { operationId: name, summary: d.summary, ...PUBLIC, responses },
    } as unknown as Record<string, Json>;
  }
  return paths;
}

/**
 * Build the OpenAPI 3.1 document of `routes`, plus the public routes: the index `GET /`, the
 * document's own `GET /openapi.json`, and the health endpoints named in `options.health`. Every
 * operation lists the errors it can answer under this configuration (roles, not-found status).
 *
 * @example
 * ```ts
 * const doc = openApiDocument(allRoutes, { prefix: '/genesys/1/cs', security: true });
 * ```
 */
export function openApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions): Json {
  const answers: Answers = {
    security: options.security === true,
    notFoundStatus: options.notFoundStatus ?? 400,
  };
  const used = new Set<string>();
  const paths: Record<string, Record<string, Json>> = {};
  for (const spec of routes) {
    const p = openApiPath(spec.path);
    paths[p] ??= {};
    (paths[p] as Record<string, Json>)[spec.method.toLowerCase()] = operation(spec, answers);
    for (const s of errorStatuses(spec, answers)) used.add(s);
  }
  Object.assign(paths, publicOperations(options, used));
  const responses: Record<string, Json> = {};
  for (const status of [...used].sort()) {
    const r = ERROR_RESPONSES[status] as { name: string; description: string };
    const limit =
      status === '413' && options.bodyLimit !== undefined ? ` (limit: ${options.bodyLimit} bytes)` : '';
    responses[r.name] = {
      description: `${r.description}${limit}`,
      content: { 'application/json': { schema: ref('HttpErrorBody') } },
    };
  }
  const notFound =
    answers.notFoundStatus === 404
      ? '404'
      : '400 (as the original server; this server can be set to answer 404)';
  return {
    openapi: '3.1.0',
    info: {
      title: 'Context Services (Genesys 8.5 Service API)',
      version: options.version ?? PACKAGE_VERSION,
      description: `Services, states and tasks of customer journeys. Errors answer \`{message, exception, code}\`; unknown services, states and tasks answer ${notFound}. Any other method on a documented path answers 405 with \`Allow\`; an unknown path answers 404.${answers.security ? ' Every operation but the public ones (index, this document, health) needs HTTP Basic credentials: reads the Administrator or Supervisor role, writes Administrator.' : ''}`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: options.prefix === '' ? '/' : options.prefix }],
    ...(answers.security ? { security: [{ basic: [] }] } : { security: [] }),
    components: {
      schemas: componentSchemas(),
      responses,
      ...(answers.security ? { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } } : {}),
    },
    paths,
  };
}
