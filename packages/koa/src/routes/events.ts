/** The change stream (docs/spec.md §12): `GET <base>/events`, Server-Sent Events. */
import { ContextServicesError, type RawQuery } from '@cxs/core';
import { writeEventStream } from '../http/event-stream.js';
import type { QueryParam, RouteSpec } from './spec.js';

/** The query of `GET /events`. */
export const EVENTS_QUERY: readonly QueryParam[] = [
  {
    name: 'types',
    kind: 'list',
    description: 'Event types, comma-separated or repeated; `service.*`, `state.*`, `task.*` select a family',
  },
  { name: 'customer_id', kind: 'string', description: "Only the events of this customer's services" },
  {
    name: 'contact_key',
    kind: 'string',
    description: 'Only the events of the services with this contact key',
  },
  { name: 'service_id', kind: 'string', description: 'Only the events of this service' },
  {
    name: 'since',
    kind: 'string',
    description: 'Continue after this position, or `now` (default). The `Last-Event-ID` header wins over it',
  },
];

function single(query: RawQuery, name: string): string | undefined {
  const v = query[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new ContextServicesError('VALIDATION_FAILED', `Invalid '${name}': give it once`, {
    details: { field: name, rule: 'give it once' },
  });
}

/** The `GET /events` route. */
export const eventRoutes: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/events',
    operationId: 'changeStream',
    summary:
      'Follow the change log as Server-Sent Events: `id` = position, `event` = type, `data` = the event as JSON',
    query: EVENTS_QUERY,
    response: { status: 200, eventStream: true },
    errors: [410],
    async handle(r) {
      const types = r.query.types;
      const lastEventId = r.ctx.get('Last-Event-ID').trim();
      const since = lastEventId !== '' ? lastEventId : single(r.query, 'since');
      const filters: Record<string, string> = {};
      for (const name of ['customer_id', 'contact_key', 'service_id']) {
        const v = single(r.query, name);
        if (v !== undefined) filters[name] = v;
      }
      const stop = new AbortController();
      // Validated, and the position checked (410 CHANGES_EXPIRED), before the first byte is sent.
      const entries = await r.engine.changes(
        {
          ...filters,
          ...(types === undefined ? {} : { types: Array.isArray(types) ? types.join(',') : types }),
          ...(since === undefined ? {} : { since }),
          signal: stop.signal,
        },
        r.call,
      );
      r.ctx.status = 200;
      r.ctx.respond = false;
      const from = since === undefined || since === 'now' ? undefined : Number(since);
      void writeEventStream(r.ctx.res, entries, stop, from, r.events).catch((error: unknown) => {
        r.ctx.app.emit('error', error, r.ctx);
      });
      return undefined;
    },
  },
];
