/**
 * Service routes of docs/spec.md §4 (SRV.1–4, 10, 11, 14, composite, delete, expiration). Order matters:
 * literal segments (`start`, `anonymous`) come before the `:service_id` routes they overlap.
 */
import { parseId, parseServiceListQuery, parseServiceQuery, type Status } from '@cxs/core';
import { SERVICE_LIST_QUERY, SERVICE_QUERY } from './query-params.js';
import { type RouteRequest, type RouteSpec, siblingPath } from './spec.js';

/** The status suffixes of list routes (docs/spec.md §5): none = all, `/active`, `/completed`. */
export const SUFFIXES: readonly [string, Status, string][] = [
  ['', 'all', ''],
  ['/active', 'active', ' (active only)'],
  ['/completed', 'completed', ' (completed only)'],
];

/** `<base>` from a request path ending in `tail` (`/services_composite/start` …). */
function basePath(requestPath: string, tail: string): string {
  const p = requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
  return p.slice(0, p.length - tail.length);
}

/** Replace and merge routes of the extensions of a service, state or task under `prefix`. */
export function extensionRoutes(prefix: string, what: string, genesys: string): RouteSpec[] {
  const ref = (r: RouteRequest) => ({
    service_id: r.params.service_id as string,
    ...(r.params.state_id === undefined ? {} : { state_id: parseId('state_id', r.params.state_id) }),
    ...(r.params.task_id === undefined ? {} : { task_id: parseId('task_id', r.params.task_id) }),
  });
  return [
    {
      method: 'PUT',
      path: `${prefix}/extensions/:name`,
      operationId: `put${what}Extension`,
      genesys,
      summary: `Replace the whole value of an extension of the ${what.toLowerCase()}`,
      query: [],
      body: { schema: 'ExtensionValue', required: true },
      response: { status: 200 },
      async handle(r) {
        await r.engine.putExtension(ref(r), r.params.name as string, await r.body(), r.call);
        return { status: 200 };
      },
    },
    {
      method: 'PUT',
      path: `${prefix}/extensions/:name/merge`,
      operationId: `merge${what}Extension`,
      summary: `Add or replace keys of an object-valued extension of the ${what.toLowerCase()}`,
      query: [],
      body: { schema: 'ExtensionObject', required: true },
      response: { status: 200 },
      async handle(r) {
        await r.engine.mergeExtension(ref(r), r.params.name as string, await r.body(), r.call);
        return { status: 200 };
      },
    },
  ];
}

/** The service routes, in registration order. */
export const serviceRoutes: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/services/start',
    operationId: 'startService',
    genesys: 'CV.WS.SRV.1',
    summary: 'Start a service',
    query: [],
    body: { schema: 'ServiceStartEvent', required: true },
    response: { status: 201, schema: 'ServiceIdResult' },
    errors: [409],
    async handle(r) {
      const { service_id } = await r.engine.startService(await r.body(), r.call);
      return { status: 201, body: { service_id }, location: siblingPath(r.requestPath, service_id) };
    },
  },
  {
    method: 'POST',
    path: '/services_composite/start',
    operationId: 'compositeStart',
    summary: 'Find or start a service, a state and a task for each item (docs/spec.md §6)',
    query: [],
    body: { schema: 'CompositeStartRequest', required: true },
    response: { status: 200, schema: 'CompositeStartResult' },
    errors: [409],
    async handle(r) {
      const result = await r.engine.compositeStart(await r.body(), r.call);
      const first = result.services[0];
      let location: string | undefined;
      if (first !== undefined) {
        const sid = encodeURIComponent(first.service_id);
        const base = basePath(r.requestPath, '/services_composite/start');
        location =
          first.task_id === undefined
            ? `${base}/services/${sid}/states/${first.state_id}`
            : `${base}/services/${sid}/tasks/${first.task_id}`;
      }
      return { status: 200, body: result, ...(location === undefined ? {} : { location }) };
    },
  },
  ...SUFFIXES.map(
    ([suffix, status, label]): RouteSpec => ({
      method: 'GET',
      path: `/services/anonymous/:contact_key${suffix}`,
      operationId: `listAnonymousServices${status === 'all' ? '' : status === 'active' ? 'Active' : 'Completed'}`,
      genesys: 'CV.WS.SRV.10',
      summary: `Services without customer found by contact key${label}`,
      query: SERVICE_LIST_QUERY,
      response: { status: 200, schema: 'ServiceResource', array: true },
      async handle(r) {
        const q = parseServiceListQuery(r.query, status);
        const body = await r.engine.listAnonymousServices(r.params.contact_key as string, q, r.call);
        return { status: 200, body };
      },
    }),
  ),
  {
    method: 'GET',
    path: '/services/:service_id',
    operationId: 'getService',
    genesys: 'CV.WS.SRV.14',
    summary: 'One service, optionally with its states, tasks and extensions',
    query: SERVICE_QUERY,
    response: { status: 200, schema: 'ServiceResource' },
    async handle(r) {
      const q = parseServiceQuery(r.query);
      return { status: 200, body: await r.engine.getService(r.params.service_id as string, q, r.call) };
    },
  },
  {
    method: 'PUT',
    path: '/services/:service_id',
    operationId: 'updateExpiration',
    summary: "Set the service's lifetime (`ttl` wins over `expiration_time`)",
    query: [],
    body: { schema: 'ExpirationUpdate', required: true },
    response: { status: 200 },
    async handle(r) {
      await r.engine.updateExpiration(r.params.service_id as string, await r.body(), r.call);
      return { status: 200 };
    },
  },
  {
    method: 'DELETE',
    path: '/services/:service_id',
    operationId: 'deleteService',
    summary: 'Delete a service with all its states and tasks',
    query: [],
    response: { status: 200 },
    async handle(r) {
      await r.engine.deleteService(r.params.service_id as string, r.call);
      return { status: 200 };
    },
  },
  {
    method: 'POST',
    path: '/services/:service_id/end',
    operationId: 'endService',
    genesys: 'CV.WS.SRV.3',
    summary: 'End a service and its active states and tasks',
    query: [],
    body: { schema: 'ServiceEndEvent', required: false },
    response: { status: 204 },
    async handle(r) {
      await r.engine.endService(r.params.service_id as string, await r.body(), r.call);
      return { status: 204 };
    },
  },
  ...extensionRoutes('/services/:service_id', 'Service', 'CV.WS.SRV.4'),
  {
    method: 'POST',
    path: '/customers/:customer_id/services/:service_id',
    operationId: 'associate',
    genesys: 'CV.WS.SRV.2',
    summary: 'Attach a service to a customer (or move it to another one)',
    query: [],
    body: { schema: 'AssociateBody', required: false },
    response: { status: 200 },
    async handle(r) {
      const { customer_id, service_id } = r.params as { customer_id: string; service_id: string };
      await r.engine.associate(customer_id, service_id, await r.body(), r.call);
      return { status: 200 };
    },
  },
  ...SUFFIXES.map(
    ([suffix, status, label]): RouteSpec => ({
      method: 'GET',
      path: `/customers/:customer_id/services${suffix}`,
      operationId: `listCustomerServices${status === 'all' ? '' : status === 'active' ? 'Active' : 'Completed'}`,
      genesys: 'CV.WS.SRV.11',
      summary: `The services of a customer${label}`,
      query: SERVICE_LIST_QUERY,
      response: { status: 200, schema: 'ServiceResource', array: true },
      async handle(r) {
        const q = parseServiceListQuery(r.query, status);
        const body = await r.engine.listCustomerServices(r.params.customer_id as string, q, r.call);
        return { status: 200, body };
      },
    }),
  ),
];
