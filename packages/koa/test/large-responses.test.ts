/**
 * List responses too long to be one string are streamed as a chunked JSON array instead of
 * failing in Koa after the error middleware (a plain-text 500). V8's limit (~512 MiB) is too large
 * to reach in a test, so the tests lower the threshold with the documented router option
 * `maxResponseStringLength`; the default takes the same path when `JSON.stringify` throws.
 */
import { type ContextServices, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ServerHandle } from '../src/http/server.js';
import { createApp, createRouter } from '../src/index.js';
import { BASE, send } from './helpers.js';

const LIMIT = 20_000;
let engine: ContextServices;
let limited: ServerHandle;
let whole: ServerHandle;
let sid: string;
beforeAll(async () => {
  engine = await createContextServices({ store: new MemoryStore() });
  limited = await listen(createApp(engine, { maxResponseStringLength: LIMIT }), {
    port: 0,
    host: '127.0.0.1',
  });
  whole = await listen(createApp(engine), { port: 0, host: '127.0.0.1' });
  for (let i = 0; i < 40; i++) {
    sid = (await engine.startService({ customer_id: 'huge', Blob: { i, pad: 'x'.repeat(1000) } })).service_id;
  }
  await engine.startService({ customer_id: 'small', Note: 'n' });
});
afterAll(async () => {
  await limited.close(1000);
  await whole.close(1000);
  await engine.close();
});

describe('list responses longer than maxResponseStringLength', () => {
  it('are streamed: chunked, application/json, the same JSON text as when sent whole', async () => {
    const path = `${BASE}/customers/huge/services?extensions=*`;
    const [streamed, sent] = await Promise.all([
      send(`${limited.url}${path}`, 'GET'),
      send(`${whole.url}${path}`, 'GET'),
    ]);
    expect(sent.text.length).toBeGreaterThan(2 * LIMIT);
    expect(sent.headers.get('content-length')).toBe(String(Buffer.byteLength(sent.text)));
    expect(sent.headers.get('transfer-encoding')).toBeNull();
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('transfer-encoding')).toBe('chunked');
    expect(streamed.headers.get('content-length')).toBeNull();
    expect(streamed.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(streamed.text).toBe(sent.text);
    expect(streamed.json).toHaveLength(40);
    expect(streamed.json[0].Blob.pad).toHaveLength(1000);
  });

  it('a list within the limit and every other body keep application/json and a Content-Length', async () => {
    for (const path of [
      '/customers/small/services?extensions=*',
      `/services/${sid}?extensions=*`,
      '/customers/nobody/services',
    ]) {
      const r = await send(`${limited.url}${BASE}${path}`, 'GET');
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe('application/json; charset=utf-8');
      expect(r.headers.get('content-length'), path).toBe(String(Buffer.byteLength(r.text)));
      expect(r.headers.get('transfer-encoding'), path).toBeNull();
    }
    const started = await send(`${limited.url}${BASE}/services/start`, 'POST', { customer_id: 'x' });
    expect(started.status).toBe(201);
    expect(started.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(started.headers.get('content-length')).toBe(String(Buffer.byteLength(started.text)));
    const head = await fetch(`${limited.url}${BASE}/customers/small/services`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(2);
  });

  it('the option must be a number >= 0', () => {
    expect(() => createRouter(engine, { maxResponseStringLength: -1 })).toThrow(TypeError);
    expect(() => createRouter(engine, { maxResponseStringLength: Number.NaN })).toThrow(TypeError);
  });
});
