/** Every route of docs/spec.md §4 on its success path: status, body and Location of docs/spec.md §2.2. */

import { connect } from 'node:net';
import { Router } from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../src/http/server.js';
import { createRouter, errorHandler } from '../src/index.js';
import { BASE, ids, send, startServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

const T0 = '2014-09-02T08:00:00.000Z';

async function newService(body: Record<string, unknown> = { contact_key: '+33123456789' }): Promise<string> {
  const r = await t.req('POST', '/services/start', body);
  expect(r.status).toBe(201);
  return r.json.service_id as string;
}

describe('services', () => {
  it('CV.WS.SRV.1 start: 201, {service_id}, Location <base>/services/<id>', async () => {
    const r = await t.req('POST', '/services/start', {
      customer_id: 'C1',
      service_type: 400,
      timestamp: T0,
      est_duration: 600,
      Feedback: { rating: 7 },
    });
    expect(r.status).toBe(201);
    expect(Object.keys(r.json)).toEqual(['service_id']);
    expect(r.json.service_id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(r.headers.get('location')).toBe(`${BASE}/services/${r.json.service_id}`);
    const g = await t.req('GET', `/services/${r.json.service_id}?extensions=Feedback`);
    expect(g.status).toBe(200);
    expect(g.json).toEqual({
      service_id: r.json.service_id,
      service_type: 400,
      customer_id: 'C1',
      est_duration: 600,
      started: { timestamp: T0 },
      Feedback: { rating: 7 },
    });
  });

  it('CV.WS.SRV.14 get with embedded states and tasks, extensions only when asked', async () => {
    const sid = await newService({ customer_id: 'C14', Note: 'n' });
    await t.req('POST', `/services/${sid}/states/start`, { state_type: 'ident', Color: 'red' });
    await t.req('POST', `/services/${sid}/tasks/start`, { task_type: 'ask', state_id: 1, Size: 3 });
    const plain = await t.req('GET', `/services/${sid}`);
    expect(plain.json.active_states).toBeUndefined();
    expect(plain.json.Note).toBeUndefined();
    const full = await t.req(
      'GET',
      `/services/${sid}?active_states=true&completed_states=false&active_tasks=true&extensions=Note&extensions=State.Color,Task`,
    );
    expect(full.status).toBe(200);
    expect(full.json.Note).toBe('n');
    expect(full.json.completed_states).toBeUndefined();
    expect(full.json.active_states).toHaveLength(1);
    expect(full.json.active_states[0]).toMatchObject({ state_id: 1, state_type: 'ident', Color: 'red' });
    expect(full.json.active_states[0].service_id).toBeUndefined();
    expect(full.json.active_tasks[0]).toMatchObject({ task_id: 1, state_id: 1, Size: 3 });
  });

  it('CV.WS.SRV.3 end: 204 empty; ending twice is 400 ALREADY_COMPLETED', async () => {
    const sid = await newService();
    const r = await t.req('POST', `/services/${sid}/end`, { disposition: 'resolved' });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    const g = await t.req('GET', `/services/${sid}`);
    expect(g.json.disposition).toBe('resolved');
    expect(typeof g.json.duration).toBe('number');
    expect((await t.req('POST', `/services/${sid}/end`)).json.code).toBe('ALREADY_COMPLETED');
  });

  it('end without a body and without a content type', async () => {
    const sid = await newService();
    const r = await send(`${t.origin}${BASE}/services/${sid}/end`, 'POST');
    expect(r.status).toBe(204);
  });

  it('CV.WS.SRV.2 associate: 200 empty; the service leaves anonymous lists and joins the customer', async () => {
    const key = `assoc-${Date.now()}`;
    const sid = await newService({ contact_key: key });
    expect((await t.req('GET', `/services/anonymous/${key}`)).json).toHaveLength(1);
    const r = await t.req('POST', `/customers/C2/services/${sid}`, { Verified: { by: 'pin' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect((await t.req('GET', `/services/anonymous/${key}`)).json).toEqual([]);
    const list = await t.req('GET', '/customers/C2/services?extensions=Verified');
    expect(list.json.map((s: { service_id: string }) => s.service_id)).toContain(sid);
    expect(list.json[0].Verified).toEqual({ by: 'pin' });
  });

  it('PUT /services/{id}: expiration update 200 empty', async () => {
    const sid = await newService();
    const r = await t.req('PUT', `/services/${sid}`, { ttl: 3600 });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  it('DELETE /services/{id}: 200 empty, then not found', async () => {
    const sid = await newService();
    const r = await t.req('DELETE', `/services/${sid}`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect((await t.req('GET', `/services/${sid}`)).status).toBe(400);
  });

  it('CV.WS.SRV.4 extension replace and merge', async () => {
    const sid = await newService({ contact_key: 'ext', Profile: { a: 1 } });
    expect((await t.req('PUT', `/services/${sid}/extensions/Profile`, { b: 2 })).status).toBe(200);
    expect((await t.req('PUT', `/services/${sid}/extensions/Profile/merge`, { c: 3 })).status).toBe(200);
    expect((await t.req('PUT', `/services/${sid}/extensions/List`, [1, 2])).status).toBe(200);
    const g = await t.req('GET', `/services/${sid}?extensions=*`);
    expect(g.json.Profile).toEqual({ b: 2, c: 3 });
    expect(g.json.List).toEqual([1, 2]);
    const bad = await t.req('PUT', `/services/${sid}/extensions/List/merge`, { x: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('EXTENSION_NOT_OBJECT');
  });

  it('CV.WS.SRV.4/17/18 replace takes any JSON value but null (docs/spec.md §4)', async () => {
    const sid = await newService({ contact_key: 'scalar', Score: 3 });
    await t.req('POST', `/services/${sid}/states/start`, {});
    await t.req('POST', `/services/${sid}/tasks/start`, {});
    const json = { 'content-type': 'application/json' };
    for (const at of [`/services/${sid}`, `/services/${sid}/states/1`, `/services/${sid}/tasks/1`]) {
      expect((await t.req('PUT', `${at}/extensions/Score`, 4)).status).toBe(200);
      expect((await t.req('PUT', `${at}/extensions/Note`, '"text"', json)).status).toBe(200);
      expect((await t.req('PUT', `${at}/extensions/Flag`, 'false', json)).status).toBe(200);
      const bad = await t.req('PUT', `${at}/extensions/Score`, 'null', json);
      expect(bad.status).toBe(400);
      expect(bad.json.code).toBe('VALIDATION_FAILED');
    }
    const g = await t.req('GET', `/services/${sid}?extensions=*&active_states=true&active_tasks=true`);
    expect(g.json).toMatchObject({ Score: 4, Note: 'text', Flag: false });
    expect(g.json.active_states[0]).toMatchObject({ Score: 4, Note: 'text', Flag: false });
    expect(g.json.active_tasks[0]).toMatchObject({ Score: 4, Note: 'text', Flag: false });
  });

  it('an expiration_time in the past: 400 EXPIRATION_IN_PAST, nothing written (docs/spec.md §7.2)', async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const start = await t.req('POST', '/services/start', { customer_id: 'past', expiration_time: past });
    expect(start.status).toBe(400);
    expect(start.json.code).toBe('EXPIRATION_IN_PAST');
    expect((await t.req('GET', '/customers/past/services')).json).toEqual([]);
    const sid = await newService({ contact_key: 'past' });
    const put = await t.req('PUT', `/services/${sid}`, { expiration_time: past });
    expect([put.status, put.json.code]).toEqual([400, 'EXPIRATION_IN_PAST']);
    const end = await t.req('POST', `/services/${sid}/end`, { expiration_time: past });
    expect([end.status, end.json.code]).toEqual([400, 'EXPIRATION_IN_PAST']);
    expect((await t.req('GET', `/services/${sid}`)).json.completed).toBeUndefined();
  });
});

describe('lists and path segments', () => {
  it('CV.WS.SRV.10 anonymous list with /active and /completed, keys with %2F and any Unicode', async () => {
    const key = 'tél/+33 1 23?#%é😀';
    const a = await newService({ contact_key: key, service_type: 'billing' });
    const b = await newService({ contact_key: key, service_type: 400 });
    await t.req('POST', `/services/${b}/end`);
    const enc = encodeURIComponent(key);
    const all = await t.req('GET', `/services/anonymous/${enc}`);
    expect(all.status).toBe(200);
    expect(all.json.map((s: { service_id: string }) => s.service_id)).toEqual([a, b]);
    expect(all.json[0].contact_key).toBe(key);
    expect(ids((await t.req('GET', `/services/anonymous/${enc}/active`)).json, 'service_id')).toEqual([a]);
    expect(ids((await t.req('GET', `/services/anonymous/${enc}/completed`)).json, 'service_id')).toEqual([b]);
    const typed = await t.req('GET', `/services/anonymous/${enc}?service_types=400`);
    expect(ids(typed.json, 'service_id')).toEqual([b]);
    const both = await t.req('GET', `/services/anonymous/${enc}?service_types=400,billing`);
    expect(both.json).toHaveLength(2);
    const paged = await t.req('GET', `/services/anonymous/${enc}?limit=1&offset=1`);
    expect(ids(paged.json, 'service_id')).toEqual([b]);
  });

  it('contact keys that look like routes go to the anonymous list, not to a service', async () => {
    for (const key of ['start', 'states', 'active', 'tasks', 'completed']) {
      const sid = await newService({ contact_key: key });
      const list = await t.req('GET', `/services/anonymous/${key}`);
      expect(list.status).toBe(200);
      expect(ids(list.json, 'service_id')).toContain(sid);
      const active = await t.req('GET', `/services/anonymous/${key}/active`);
      expect(ids(active.json, 'service_id')).toContain(sid);
    }
  });

  it('CV.WS.SRV.11 customer list with started_from / started_to and status suffixes', async () => {
    const cid = 'Cust/42 ü';
    const s1 = await newService({ customer_id: cid, timestamp: '2020-01-01T00:00:00Z' });
    const s2 = await newService({ customer_id: cid, timestamp: '2021-01-01T00:00:00.000Z' });
    await t.req('POST', `/services/${s1}/end`, { timestamp: '2020-01-02T00:00:00Z' });
    const enc = encodeURIComponent(cid);
    const all = await t.req('GET', `/customers/${enc}/services`);
    expect(ids(all.json, 'service_id')).toEqual([s1, s2]);
    expect(all.json[0].customer_id).toBe(cid);
    const window = await t.req(
      'GET',
      `/customers/${enc}/services?started_from=2020-06-01T00:00:00Z&started_to=2021-01-01T00:00:00.001Z`,
    );
    expect(ids(window.json, 'service_id')).toEqual([s2]);
    expect(ids((await t.req('GET', `/customers/${enc}/services/completed`)).json, 'service_id')).toEqual([
      s1,
    ]);
    expect(ids((await t.req('GET', `/customers/${enc}/services/active`)).json, 'service_id')).toEqual([s2]);
  });
});

describe('states and tasks', () => {
  it('CV.WS.SRV.5/6/7/12/15 states: start 201 + Location, transition 201 new id, end 204, lists, get', async () => {
    const sid = await newService();
    const s1 = await t.req('POST', `/services/${sid}/states/start`, {
      state_type: 'ident',
      est_duration: 30,
    });
    expect(s1.status).toBe(201);
    expect(s1.json).toEqual({ state_id: 1 });
    expect(s1.headers.get('location')).toBe(`${BASE}/services/${sid}/states/1`);
    const tr = await t.req('POST', `/services/${sid}/states/transition`, {
      from: { state_id: 1, disposition: 'identified' },
      to: { state_type: 'waiting' },
      media_type: 'voice',
    });
    expect(tr.status).toBe(201);
    expect(tr.json).toEqual({ state_id: 2 });
    expect(tr.headers.get('location')).toBe(`${BASE}/services/${sid}/states/2`);
    await t.req('POST', `/services/${sid}/states/start`, { state_type: 'extra' });
    const end = await t.req('POST', `/services/${sid}/states/3/end`, { disposition_desc: 'done' });
    expect(end.status).toBe(204);
    expect(end.text).toBe('');
    const all = await t.req('GET', `/services/${sid}/states`);
    expect(ids(all.json, 'state_id')).toEqual([1, 2, 3]);
    expect(ids((await t.req('GET', `/services/${sid}/states/active`)).json, 'state_id')).toEqual([2]);
    expect(ids((await t.req('GET', `/services/${sid}/states/completed`)).json, 'state_id')).toEqual([1, 3]);
    expect(ids((await t.req('GET', `/services/${sid}/states?state_types=waiting`)).json, 'state_id')).toEqual(
      [2],
    );
    const one = await t.req('GET', `/services/${sid}/states/1`);
    expect(one.json).toMatchObject({
      state_id: 1,
      state_type: 'ident',
      est_duration: 30,
      disposition: 'identified',
    });
  });

  it('CV.WS.SRV.8/9/13/16 tasks, and state queries embedding their own tasks', async () => {
    const sid = await newService();
    await t.req('POST', `/services/${sid}/states/start`, { state_type: 's' });
    const t1 = await t.req('POST', `/services/${sid}/tasks/start`, { task_type: 'a', state_id: 1 });
    expect(t1.status).toBe(201);
    expect(t1.json).toEqual({ task_id: 1 });
    expect(t1.headers.get('location')).toBe(`${BASE}/services/${sid}/tasks/1`);
    await t.req('POST', `/services/${sid}/tasks/start`, { task_type: 'b' });
    const end = await t.req('POST', `/services/${sid}/tasks/1/end`, { disposition: 1 });
    expect(end.status).toBe(204);
    expect(ids((await t.req('GET', `/services/${sid}/tasks`)).json, 'task_id')).toEqual([1, 2]);
    expect(ids((await t.req('GET', `/services/${sid}/tasks/active`)).json, 'task_id')).toEqual([2]);
    expect(ids((await t.req('GET', `/services/${sid}/tasks/completed`)).json, 'task_id')).toEqual([1]);
    expect(ids((await t.req('GET', `/services/${sid}/tasks?state_id=1`)).json, 'task_id')).toEqual([1]);
    expect(
      ids((await t.req('GET', `/services/${sid}/tasks?task_types=b&task_types=zzz`)).json, 'task_id'),
    ).toEqual([2]);
    expect((await t.req('GET', `/services/${sid}/tasks/1`)).json).toMatchObject({
      task_id: 1,
      state_id: 1,
      disposition: 1,
    });
    const st = await t.req('GET', `/services/${sid}/states/1?completed_tasks=true&active_tasks=true`);
    expect(ids(st.json.completed_tasks, 'task_id')).toEqual([1]);
    expect(st.json.active_tasks).toEqual([]);
    const sts = await t.req('GET', `/services/${sid}/states?completed_tasks=true`);
    expect(sts.json[0].completed_tasks).toHaveLength(1);
  });

  it('CV.WS.SRV.17/18 state and task extensions (replace and merge)', async () => {
    const sid = await newService();
    await t.req('POST', `/services/${sid}/states/start`, {});
    await t.req('POST', `/services/${sid}/tasks/start`, {});
    expect((await t.req('PUT', `/services/${sid}/states/1/extensions/Note`, { a: 1 })).status).toBe(200);
    expect((await t.req('PUT', `/services/${sid}/states/1/extensions/Note/merge`, { b: 2 })).status).toBe(
      200,
    );
    expect((await t.req('PUT', `/services/${sid}/tasks/1/extensions/Note`, { c: 3 })).status).toBe(200);
    expect((await t.req('PUT', `/services/${sid}/tasks/1/extensions/Note/merge`, { d: 4 })).status).toBe(200);
    expect((await t.req('GET', `/services/${sid}/states/1?extensions=Note`)).json.Note).toEqual({
      a: 1,
      b: 2,
    });
    expect((await t.req('GET', `/services/${sid}/tasks/1?extensions=Note`)).json.Note).toEqual({
      c: 3,
      d: 4,
    });
  });
});

describe('composite start (docs/spec.md §6)', () => {
  it('200, created flags, Location of the first task; a second call finds the same entities', async () => {
    const item = {
      service: { customer_id: 'comp-1', service_type: 'booking' },
      state: { state_type: 'collect' },
      task: { task_type: 'dates' },
      associate_state_task: true,
    };
    const r = await t.req('POST', '/services_composite/start', { services: [item] });
    expect(r.status).toBe(200);
    const [first] = r.json.services;
    expect(first).toMatchObject({
      service_created: true,
      state_id: 1,
      state_created: true,
      task_id: 1,
      task_created: true,
    });
    expect(r.headers.get('location')).toBe(`${BASE}/services/${first.service_id}/tasks/1`);
    const again = await t.req('POST', '/services_composite/start', { services: [item] });
    expect(again.json.services[0]).toEqual({
      ...first,
      service_created: false,
      state_created: false,
      task_created: false,
    });
    const noTask = await t.req('POST', '/services_composite/start', {
      services: [{ service: { contact_key: 'comp-2' }, state: { state_type: 'x' } }],
    });
    expect(noTask.json.services[0].task_id).toBeUndefined();
    expect(noTask.headers.get('location')).toBe(
      `${BASE}/services/${noTask.json.services[0].service_id}/states/1`,
    );
  });
});

describe('mounting', () => {
  it('createRouter mounts under another prefix beside the host app routes; Location follows the mount', async () => {
    const app = new Koa();
    const host = new Router();
    host.get('/health', (ctx) => {
      ctx.body = { ok: true };
    });
    const router = createRouter(t.engine, { prefix: '/api/cs', notFoundStatus: 404 });
    app.use(errorHandler({ notFoundStatus: 404 }));
    app
      .use(host.routes())
      .use(router.routes())
      .use(router.allowedMethods({ throw: true }));
    const h = await listen(app, { port: 0, host: '127.0.0.1' });
    try {
      expect((await send(`${h.url}/health`, 'GET')).json).toEqual({ ok: true });
      const r = await send(`${h.url}/api/cs/services/start`, 'POST', { contact_key: 'mounted' });
      expect(r.status).toBe(201);
      expect(r.headers.get('location')).toBe(`/api/cs/services/${r.json.service_id}`);
      const missing = await send(`${h.url}/api/cs/services/nope`, 'GET');
      expect(missing.status).toBe(404);
      expect(missing.json.message).toBe('There are no service found for : nope');
      expect((await send(`${h.url}/api/cs/openapi.json`, 'GET')).json.servers).toEqual([{ url: '/api/cs' }]);
    } finally {
      await h.close(1000);
    }
  });
});

/** Send one raw HTTP/1.1 request with `target` exactly as written; resolve to status and headers. */
function rawPost(target: string, body: string): Promise<{ status: number; headers: Map<string, string> }> {
  const { hostname, port } = new URL(t.origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      text += c;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
    socket.write(
      `POST ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

describe('Location from the request target', () => {
  it('a #fragment is not part of the path', async () => {
    const r = await rawPost(`${BASE}/services/start#/x/y`, '{"contact_key":"fragment"}');
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toMatch(new RegExp(`^${BASE}/services/[A-Za-z0-9_-]+$`));
    const sid = r.headers.get('location')?.split('/').pop();
    const s = await rawPost(`${BASE}/services/${sid}/states/start#frag`, '{}');
    expect(s.headers.get('location')).toBe(`${BASE}/services/${sid}/states/1`);
  });

  it("an absolute-form target: only its path, never the client's host", async () => {
    const r = await rawPost(`http://evil.example${BASE}/services/start`, '{"contact_key":"absolute"}');
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toMatch(new RegExp(`^${BASE}/services/[A-Za-z0-9_-]+$`));
    const sid = r.headers.get('location')?.split('/').pop();
    const c = await rawPost(
      `http://evil.example:8080${BASE}/services_composite/start?#x`,
      `{"services":[{"service":{"contact_key":"absolute"},"state":{"state_type":"s"}}]}`,
    );
    expect(c.status).toBe(200);
    expect(c.headers.get('location')).toBe(`${BASE}/services/${sid}/states/1`);
  });
});
