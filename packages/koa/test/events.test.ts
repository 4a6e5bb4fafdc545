/** docs/spec.md §12 over HTTP: `GET /events` as Server-Sent Events, through a real listening server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChangeEntry, ContextServicesError } from '@cxs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, checkUsers, hashPassword, writeEventStream } from '../src/index.js';
import { BASE, errorOf, startServer, type TestServer } from './helpers.js';
import { type SseMessage, sse } from './sse-client.js';

/** Drive one call through the HTTP API; returns its service id. */
async function call(t: TestServer, headers: Record<string, string> = {}, customer = 'C1'): Promise<string> {
  const start = await t.req('POST', '/services/start', { customer_id: customer, contact_key: 'K1' }, headers);
  expect(start.status).toBe(201);
  const sid = start.json.service_id as string;
  const state = await t.req('POST', `/services/${sid}/states/start`, { state_type: 'ivr' }, headers);
  const task = await t.req(
    'POST',
    `/services/${sid}/tasks/start`,
    { state_id: state.json.state_id },
    headers,
  );
  expect((await t.req('POST', `/services/${sid}/tasks/${task.json.task_id}/end`, {}, headers)).status).toBe(
    204,
  );
  expect((await t.req('POST', `/services/${sid}/end`, {}, headers)).status).toBe(204);
  return sid;
}

const CALL = [
  'service.started',
  'state.started',
  'task.started',
  'task.completed',
  'state.completed',
  'service.completed',
];

const data = (m: SseMessage | undefined) => JSON.parse(m?.data ?? 'null') as Record<string, unknown>;

describe('GET /events', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ events: { keepAliveMs: 20 } }, { config: { changes: { maxEntries: 20 } } });
  });
  afterAll(() => t.close());
  const url = (q = '') => `${t.origin}${BASE}/events${q}`;

  it("streams a live call's events: id = position, event = type, data = the event", async () => {
    const c = await sse(url());
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const sid = await call(t);
    const got = await c.take(6);
    expect(got.map((m) => m.event)).toEqual(CALL);
    expect(got.map((m) => m.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    for (const m of got) {
      expect(data(m)).toMatchObject({ type: m.event, service_id: sid, customer_id: 'C1', contact_key: 'K1' });
    }
    c.close();
  });

  it('sends keep-alive comments while idle', async () => {
    const c = await sse(url());
    await new Promise<void>((resolve) => {
      const check = () => (c.comments >= 2 ? resolve() : c.res.once('data', check));
      check();
    });
    c.close();
  });

  it('filters by types (prefixes), customer_id, contact_key, service_id', async () => {
    const tasks = await sse(url('?types=task.*,service.completed&since=6'));
    const byCustomer = await sse(url('?customer_id=C2&since=6'));
    const byKey = await sse(url('?contact_key=K1&types=service.started&since=6'));
    const other = await call(t, {}, 'C3');
    const sid = await call(t, {}, 'C2');
    const byService = await sse(url(`?service_id=${sid}&since=0`));
    expect((await tasks.take(6)).map((m) => [m.event, data(m).service_id])).toEqual([
      ['task.started', other],
      ['task.completed', other],
      ['service.completed', other],
      ['task.started', sid],
      ['task.completed', sid],
      ['service.completed', sid],
    ]);
    expect((await byCustomer.take(6)).map((m) => m.event)).toEqual(CALL);
    expect((await byKey.take(2)).map((m) => data(m).service_id)).toEqual([other, sid]);
    expect((await byService.take(6)).map((m) => Number(m.id))).toEqual([13, 14, 15, 16, 17, 18]);
    for (const c of [tasks, byCustomer, byKey, byService]) c.close();
  });

  it('resumes after Last-Event-ID (which wins over since): nothing lost, nothing repeated', async () => {
    const c = await sse(url('?since=0'), { 'Last-Event-ID': '16' });
    expect((await c.take(2)).map((m) => m.id)).toEqual(['17', '18']);
    const sid = await call(t);
    const next = await c.next();
    expect(next).toMatchObject({ id: '19', event: 'service.started' });
    expect(data(next).service_id).toBe(sid);
    c.close();
  });

  it('answers 410 CHANGES_EXPIRED for a position older than retention, 400 for bad filters', async () => {
    await t.engine.sweep();
    const gone = await t.req('GET', '/events?since=1');
    expect(gone.status).toBe(410);
    expect(errorOf(gone).code).toBe('CHANGES_EXPIRED');
    const ahead = await t.req('GET', '/events', undefined, { 'Last-Event-ID': '9999' });
    expect(ahead.status).toBe(410);
    for (const q of ['types=nope', 'since=-3', 'since=x', 'customer_id=a&customer_id=b']) {
      const r = await t.req('GET', `/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(errorOf(r).code).toBe('VALIDATION_FAILED');
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.req('GET', '/openapi.json')).json;
    expect(doc.paths['/events'].get.responses['200'].content).toHaveProperty('text/event-stream');
    expect(doc.paths['/events'].get.responses).toHaveProperty('410');
  });
});

describe('GET /events: a slow subscriber', () => {
  it('is disconnected with a last `resume` message once its socket stays full, and can resume from it', async () => {
    const t = await startServer({ events: { slowSubscriberMs: 50 } });
    const long = 'x'.repeat(250);
    const c = await sse(`${t.origin}${BASE}/events?since=0`);
    c.res.pause();
    // Write until the server gives up on the paused client (bounded, so a bug fails instead of hanging).
    const cut = () => t.logs.some((l) => l.msg === 'slow event-stream subscriber disconnected');
    let written = 0;
    while (!cut() && written < 40_000) {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          t.engine.startService({ customer_id: `${long}${i}`, contact_key: long }),
        ),
      );
      written += 200;
      // Memory-store writes never leave the microtask queue: let the socket and timers run.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(cut()).toBe(true);
    c.res.resume();
    const all: SseMessage[] = [];
    for (let m = await c.next(); m !== undefined; m = await c.next()) all.push(m);
    const last = all.at(-1);
    expect(last?.event).toBe('resume');
    const since = JSON.parse(last?.data ?? '{}').since as string;
    expect(since).toBe(all.at(-2)?.id);
    expect(Number(since)).toBeLessThan(written);
    // Resuming from the position it was given continues right after it.
    const again = await sse(`${t.origin}${BASE}/events`, { 'Last-Event-ID': since });
    expect((await again.next())?.id).toBe(String(Number(since) + 1));
    again.close();
    await t.close();
  });
});

describe('writeEventStream', () => {
  it('ends with `event: error` in the JSON error shape when the log fails after the headers', async () => {
    async function* failing(): AsyncGenerator<ChangeEntry> {
      yield { position: 7, event: { type: 'service.started', tenant: '', service_id: 's', timestamp: 't' } };
      throw new ContextServicesError(
        'CHANGES_EXPIRED',
        'Position 7 was removed by retention before it was read',
      );
    }
    const server = createServer(
      (_req, res) => void writeEventStream(res, failing(), new AbortController(), 6),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const c = await sse(`http://127.0.0.1:${port}/`);
    const got = await c.take(3);
    expect(got.map((m) => [m.id, m.event])).toEqual([
      ['7', 'service.started'],
      [undefined, 'error'],
    ]);
    expect(JSON.parse(got[1]?.data ?? '')).toMatchObject({
      code: 'CHANGES_EXPIRED',
      message: expect.any(String),
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('GET /events: shutdown', () => {
  it('closing the server ends open streams promptly', async () => {
    const t = await startServer();
    const streams = await Promise.all([1, 2, 3].map(() => sse(`${t.origin}${BASE}/events`)));
    // A generous timeout: the close must not need it.
    const closing = t.handle.close(60_000);
    await Promise.all(streams.map((s) => s.ended));
    await closing;
    await t.engine.close();
  });
});

describe('GET /events: tenancy and roles (as for reads)', () => {
  let t: TestServer;
  const basic = (user: string, password: string) => ({
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  const admin = { ...basic('ann', 'a'), ContactCenterId: 'Acme' };
  beforeAll(async () => {
    const fast = { N: 1024, r: 8, p: 1 };
    const users = checkUsers({
      users: [
        { username: 'ann', password: await hashPassword('a', fast), roles: ['Administrator'] },
        { username: 'sue', password: await hashPassword('s', fast), roles: ['Supervisor'] },
        { username: 'al', password: await hashPassword('g', fast), roles: ['Agent'] },
      ],
    });
    t = await startServer({
      authorize: basicAuth(users),
      tenants: [
        { id: '101', name: 'Environment' },
        { id: '202', name: 'Acme' },
      ],
    });
  });
  afterAll(() => t.close());

  it('401 without credentials, 403 for another role, 400 without a tenant', async () => {
    expect((await t.req('GET', '/events', undefined, { ContactCenterId: '202' })).status).toBe(401);
    const agent = await t.req('GET', '/events', undefined, { ...basic('al', 'g'), ContactCenterId: '202' });
    expect(agent.status).toBe(403);
    const none = await t.req('GET', '/events', undefined, basic('sue', 's'));
    expect(none.status).toBe(400);
    expect(errorOf(none).code).toBe('TENANT_REQUIRED');
  });

  it("a Supervisor follows its tenant's events only", async () => {
    const acme = await sse(`${t.origin}${BASE}/events`, { ...basic('sue', 's'), ContactCenterId: 'Acme' });
    const env = await sse(`${t.origin}${BASE}/events`, { ...basic('sue', 's'), ContactCenterId: '101' });
    expect(acme.status).toBe(200);
    await call(t, { ...basic('ann', 'a'), ContactCenterId: 'Environment' }, 'E');
    const sid = await call(t, admin, 'A');
    const got = await acme.take(6);
    expect(got.map((m) => [m.id, data(m).service_id, data(m).tenant])).toEqual(
      CALL.map((_, i) => [String(i + 1), sid, '202']),
    );
    expect((await env.take(6)).every((m) => data(m).customer_id === 'E')).toBe(true);
    acme.close();
    env.close();
  });
});
