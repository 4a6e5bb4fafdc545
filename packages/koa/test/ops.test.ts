/**
 * docs/spec.md §13 in the adapter: health endpoints at the server root (no credentials), request ids, and
 * one request log line with the id, tenant, user, operation, status and time.
 */
import { MemoryStore } from '@cxs/core/memory';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../src/index.js';
import { basicAuth, hashPassword, MAX_REQUEST_ID_LENGTH, saneRequestId } from '../src/index.js';
import { errorOf, send, startServer, type TestServer } from './helpers.js';

/** A memory store whose writes fail, as on a full disk. */
class FullDiskStore extends MemoryStore {
  full = false;
  override batch(...args: Parameters<MemoryStore['batch']>): Promise<void> {
    if (this.full) return Promise.reject(new Error('ENOSPC: no space left on device'));
    return super.batch(...args);
  }
}

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Wait until the server has logged the line of a request (logged when its response finished). */
async function logLine(server: TestServer, reqId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const line = server.logs.find((l) => l.reqId === reqId && l.msg === 'request');
    if (line !== undefined) return line;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no request line for ${reqId}: ${JSON.stringify(server.logs)}`);
}

describe('health endpoints', () => {
  it('/healthz and /readyz answer at the root without credentials, even with roles on; the API still asks', async () => {
    const password = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    t = await startServer({
      authorize: basicAuth([{ username: 'ann', password, roles: ['Administrator'] }]),
    });
    const live = await send(`${t.origin}/healthz`, 'GET');
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ status: 'ok' });
    expect(live.headers.get('cache-control')).toBe('no-store');
    const ready = await send(`${t.origin}/readyz`, 'GET');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });
    expect((await t.req('POST', '/services/start', { customer_id: 'C' })).status).toBe(401);
    // Not under the base path, and no metrics unless a source is given.
    expect((await t.req('GET', '/healthz')).status).toBe(404);
    expect((await send(`${t.origin}/metrics`, 'GET')).status).toBe(404);
    // A wrong method is a 405 in the JSON shape, with Allow.
    const post = await send(`${t.origin}/healthz`, 'POST');
    expect(post.status).toBe(405);
    expect(errorOf(post).code).toBe('METHOD_NOT_ALLOWED');
    expect(post.headers.get('allow')).toContain('GET');
  });

  it('/readyz answers 503 with the reason when the store refuses writes, and 200 again once it accepts them', async () => {
    const store = new FullDiskStore();
    t = await startServer({}, { store });
    store.full = true;
    const r = await send(`${t.origin}/readyz`, 'GET');
    expect(r.status).toBe(503);
    const body = errorOf(r);
    expect(body.code).toBe('STORE_UNAVAILABLE');
    expect(body.message).toContain('ENOSPC');
    // Liveness does not depend on the store.
    expect((await send(`${t.origin}/healthz`, 'GET')).status).toBe(200);
    // A failing probe is a state, not a server error: nothing logged at error level.
    expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    store.full = false;
    expect((await send(`${t.origin}/readyz`, 'GET')).status).toBe(200);
  });

  it('/readyz answers 503 once the engine is closed, and /metrics serves the given source', async () => {
    t = await startServer({
      health: { metrics: { contentType: 'text/plain; version=0.0.4', render: async () => 'up 1\n' } },
    });
    const m = await send(`${t.origin}/metrics`, 'GET');
    expect(m.status).toBe(200);
    expect(m.text).toBe('up 1\n');
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect((await t.req('GET', '/')).json.links.metrics).toBe('/metrics');
    await t.engine.close();
    const r = await send(`${t.origin}/readyz`, 'GET');
    expect(r.status).toBe(503);
    expect(errorOf(r).code).toBe('CLOSED');
  });

  it('health: false leaves them out (and out of the index)', async () => {
    t = await startServer({ health: false });
    expect((await send(`${t.origin}/healthz`, 'GET')).status).toBe(404);
    expect((await t.req('GET', '/')).json.links).not.toHaveProperty('healthz');
  });
});

describe('request ids and request logs', () => {
  it('keeps a sane client id, replaces another, and answers it on errors too', async () => {
    t = await startServer();
    const mine = 'abc-123_x.y:z/W+=@~';
    const r1 = await t.req('POST', '/services/start', { customer_id: 'C' }, { 'X-Request-Id': mine });
    expect(r1.headers.get('x-request-id')).toBe(mine);
    for (const bad of ['has space', 'quote"d', 'x'.repeat(MAX_REQUEST_ID_LENGTH + 1), 'é']) {
      const r = await t.req('GET', '/services/nope', undefined, { 'X-Request-Id': bad });
      const id = r.headers.get('x-request-id');
      expect(id, bad).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.status).toBe(400);
    }
    const unknown = await send(`${t.origin}/nowhere`, 'GET');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(saneRequestId('x'.repeat(MAX_REQUEST_ID_LENGTH))).toBeDefined();
    expect(saneRequestId('')).toBeUndefined();
  });

  it('logs one line per request with id, operation, tenant, user, status and time; probes at debug', async () => {
    const password = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    const seen: RequestInfo[] = [];
    t = await startServer({
      tenants: [{ id: '7', name: 'Seven' }],
      authorize: basicAuth([{ username: 'ann', password, roles: ['Administrator'] }]),
      onRequest: (info) => seen.push(info),
    });
    const auth = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
    const r = await t.req(
      'POST',
      '/services/start',
      { customer_id: 'C' },
      { Authorization: auth, ContactCenterId: 'Seven', 'X-Request-Id': 'req-1' },
    );
    expect(r.status).toBe(201);
    const line = await logLine(t, 'req-1');
    expect(line).toMatchObject({
      level: 30,
      method: 'POST',
      path: '/genesys/1/cs/services/start',
      operation: 'startService',
      tenant: '7',
      user: 'ann',
      status: 201,
    });
    expect(typeof line.ms).toBe('number');
    // Without credentials: no user, a 401, still one info line (client-caused, not an error).
    await t.req('GET', '/services/x', undefined, { 'X-Request-Id': 'req-2', ContactCenterId: '7' });
    const denied = await logLine(t, 'req-2');
    expect(denied).toMatchObject({ level: 30, status: 401 });
    expect(denied).not.toHaveProperty('user');
    await send(`${t.origin}/healthz`, 'GET', undefined, { 'X-Request-Id': 'probe' });
    expect(await logLine(t, 'probe')).toMatchObject({ level: 20, operation: 'healthz', status: 200 });
    await send(`${t.origin}/nowhere`, 'GET', undefined, { 'X-Request-Id': 'lost' });
    expect(await logLine(t, 'lost')).toMatchObject({ level: 30, operation: 'unmatched', status: 404 });
    expect(seen.map((s) => s.requestId)).toEqual(['req-1', 'req-2', 'probe', 'lost']);
  });
});
