/**
 * The shop with Context Services mounted under /api/cs, on a real listening server
 * (127.0.0.1, port 0), driven with fetch: the shop's routes and error format are untouched, the
 * Context Services routes answer under the prefix with the shop's tokens mapped to roles, and
 * every error under the prefix has the documented JSON shape.
 */
import { type ContextServices, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { listen, type ServerHandle } from '@cxs/koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CS_PREFIX, createApp } from '../src/app.js';

const EXC = 'com.genesyslab.gsg.services.contextservices.exceptions';

let engine: ContextServices;
let server: ServerHandle;

beforeAll(async () => {
  engine = await createContextServices({ store: new MemoryStore() });
  server = await listen(createApp(engine), { port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server.close(1000);
  await engine.close();
});

/** A request to the shop as `token`'s user (no token: anonymous); JSON in and out. */
async function call(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies read by assertions
  const json: any = text === '' ? undefined : JSON.parse(text);
  return { status: res.status, headers: res.headers, json };
}

/** The documented error shape: exactly message, exception and code. */
function expectCsError(r: Awaited<ReturnType<typeof call>>, status: number, code: string, exception: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(r.json).sort()).toEqual(['code', 'exception', 'message']);
  expect(r.json).toMatchObject({ code, exception: `${EXC}.${exception}` });
  expect(r.json.message).toEqual(expect.any(String));
}

describe("the shop's own routes still work, with the shop's own auth and error format", () => {
  it('GET /health is public', async () => {
    expect(await call('GET', '/health')).toMatchObject({ status: 200, json: { status: 'ok' } });
  });

  it('orders need a bearer token; an order is recorded in the customer journey', async () => {
    expect(await call('GET', '/api/orders')).toMatchObject({
      status: 401,
      json: { error: 'sign in with a bearer token' },
    });
    expect(await call('POST', '/api/orders', 'agent-token', { customer_id: 'c-1', item: 'x' })).toMatchObject(
      { status: 403, json: { error: 'agents cannot take orders' } },
    );
    const order = await call('POST', '/api/orders', 'sales-token', { customer_id: 'c-1', item: 'kettle' });
    expect(order).toMatchObject({ status: 201, json: { order_id: 1, customer_id: 'c-1', item: 'kettle' } });
    expect((await call('GET', '/api/orders', 'agent-token')).json).toEqual([order.json]);

    // The service the shop started in-process is visible through the mounted HTTP API.
    const journey = await call('GET', `${CS_PREFIX}/customers/c-1/services?extensions=Order`, 'agent-token');
    expect(journey.status).toBe(200);
    expect(journey.json).toEqual([
      expect.objectContaining({
        service_id: order.json.service_id,
        service_type: 'order',
        Order: { order_id: 1, item: 'kettle', taken_by: 'sara' },
      }),
    ]);
  });

  it("unknown shop pages and wrong methods keep the shop's format, not the Context Services one", async () => {
    expect(await call('GET', '/nope')).toMatchObject({
      status: 404,
      json: { error: 'no such page: GET /nope' },
    });
    const wrong = await call('DELETE', '/health');
    expect(wrong.status).toBe(405);
    expect(wrong.json).toEqual({ error: expect.any(String) });
    // The documented base path is not served: only the prefix the shop chose.
    expect(
      (await call('POST', '/genesys/1/cs/services/start', 'ops-token', { contact_key: 'k' })).status,
    ).toBe(404);
  });
});

describe('Context Services under /api/cs', () => {
  it('starts a service (201, Location under the prefix), a state and a task, and reads it back', async () => {
    const start = await call('POST', `${CS_PREFIX}/services/start`, 'ops-token', {
      contact_key: '+33123456789',
      service_type: 'support',
    });
    expect(start.status).toBe(201);
    const id = start.json.service_id as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(start.headers.get('location')).toBe(`${CS_PREFIX}/services/${id}`);

    const state = await call('POST', `${CS_PREFIX}/services/${id}/states/start`, 'ops-token', {
      state_type: 'triage',
    });
    expect(state).toMatchObject({ status: 201, json: { state_id: 1 } });
    expect(state.headers.get('location')).toBe(`${CS_PREFIX}/services/${id}/states/1`);
    const task = await call('POST', `${CS_PREFIX}/services/${id}/tasks/start`, 'ops-token', {
      task_type: 'call-back',
      state_id: 1,
    });
    expect(task).toMatchObject({ status: 201, json: { task_id: 1 } });

    // Read it back at the Location, as a Supervisor (the shop's agent).
    const got = await call(
      'GET',
      `${start.headers.get('location')}?active_states=true&active_tasks=true`,
      'agent-token',
    );
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      service_id: id,
      contact_key: '+33123456789',
      service_type: 'support',
      active_states: [{ state_id: 1, state_type: 'triage' }],
      active_tasks: [{ task_id: 1, task_type: 'call-back', state_id: 1 }],
    });
    expect(got.json.completed).toBeUndefined();

    expect((await call('POST', `${CS_PREFIX}/services/${id}/end`, 'ops-token')).status).toBe(204);
    const ended = await call('GET', `${CS_PREFIX}/services/${id}?completed_tasks=true`, 'agent-token');
    expect(ended.json.completed_tasks).toHaveLength(1);
    expect(ended.json.disposition).toBeUndefined();
  });

  it("the shop's auth applies: no token 401 with a Bearer challenge, a role without the right 403", async () => {
    const noToken = await call('GET', `${CS_PREFIX}/customers/c-1/services`);
    expectCsError(noToken, 401, 'UNAUTHORIZED', 'UnauthorizedException');
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer realm="shop"');
    expectCsError(
      await call('GET', `${CS_PREFIX}/customers/c-1/services`, 'not-a-token'),
      401,
      'UNAUTHORIZED',
      'UnauthorizedException',
    );
    // The agent (Supervisor) reads but may not write; sales has no Context Services role at all.
    expectCsError(
      await call('POST', `${CS_PREFIX}/services/start`, 'agent-token', { contact_key: 'k' }),
      403,
      'FORBIDDEN',
      'ForbiddenException',
    );
    expectCsError(
      await call('GET', `${CS_PREFIX}/customers/c-1/services`, 'sales-token'),
      403,
      'FORBIDDEN',
      'ForbiddenException',
    );
    // Nothing was written by the refused start.
    expect((await call('GET', `${CS_PREFIX}/services/anonymous/k`, 'ops-token')).json).toEqual([]);
    // The OpenAPI document stays public.
    const doc = await call('GET', `${CS_PREFIX}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.json.servers).toEqual([{ url: CS_PREFIX }]);
  });

  it('unknown routes, wrong methods and bad input answer the JSON error shape', async () => {
    expectCsError(
      await call('GET', `${CS_PREFIX}/nope`, 'ops-token'),
      404,
      'ROUTE_NOT_FOUND',
      'NotFoundException',
    );
    // The base path itself is the index (docs/spec.md §13), public like the OpenAPI document.
    const index = await call('GET', CS_PREFIX);
    expect(index.status).toBe(200);
    expect(index.json.links).toMatchObject({
      openapi: `${CS_PREFIX}/openapi.json`,
      events: `${CS_PREFIX}/events`,
    });
    const wrong = await call('GET', `${CS_PREFIX}/services/some-id/end`, 'ops-token');
    expectCsError(wrong, 405, 'METHOD_NOT_ALLOWED', 'MethodNotAllowedException');
    expect(wrong.headers.get('allow')).toBe('POST');
    expectCsError(
      await call('GET', `${CS_PREFIX}/services/no-such-service`, 'ops-token'),
      400,
      'SERVICE_NOT_FOUND',
      'NotFoundException',
    );
    expectCsError(
      await call('POST', `${CS_PREFIX}/services/start`, 'ops-token', { service_type: 'no customer, no key' }),
      400,
      'VALIDATION_FAILED',
      'BadRequestException',
    );
  });
});
