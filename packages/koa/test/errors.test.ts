/**
 * The documented errors of docs/spec.md §2.1 / §2.2 and bad input of every kind (§10): each answers the
 * JSON error shape with its exact status, never a stack trace, and writes nothing.
 */
import { request } from 'node:http';
import { createContextServices, type ErrorCode } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import Koa from 'koa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_ERROR_MAP, createRouter, type ErrorMapping, listen, toErrorResponse } from '../src/index.js';
import { BASE, EXC, errorOf, type Reply, send, startServer, type TestServer } from './helpers.js';

let t: TestServer;
let sid: string;
beforeAll(async () => {
  t = await startServer({ bodyLimit: 64 * 1024 });
  sid = (await t.req('POST', '/services/start', { contact_key: 'k', Data: { a: 1 } })).json.service_id;
  await t.req('POST', `/services/${sid}/states/start`, { state_type: 's' });
  await t.req('POST', `/services/${sid}/tasks/start`, { task_type: 't', state_id: 1 });
});
afterAll(() => t.close());

/** Run `fn`, then check that no service, state, task or extension changed. */
async function writesNothing(fn: () => Promise<void>): Promise<void> {
  const before = JSON.stringify(await t.snapshot());
  await fn();
  expect(JSON.stringify(await t.snapshot())).toBe(before);
}

function expectError(r: Reply, status: number, code: string, message?: string | RegExp): void {
  const e = errorOf(r);
  expect({ status: r.status, code: e.code }).toEqual({ status, code });
  if (typeof message === 'string') expect(e.message).toBe(message);
  else if (message !== undefined) expect(e.message).toMatch(message);
}

describe('documented errors (docs/spec.md §2.1)', () => {
  const missing = 'AAAAAAAAAAAAAAAAAAAAAA';
  const ops: [string, string, unknown?][] = [
    ['GET', `/services/${missing}`],
    ['PUT', `/services/${missing}`, { ttl: 10 }],
    ['DELETE', `/services/${missing}`],
    ['POST', `/services/${missing}/end`],
    ['PUT', `/services/${missing}/extensions/X`, { a: 1 }],
    ['PUT', `/services/${missing}/extensions/X/merge`, { a: 1 }],
    ['POST', `/customers/C/services/${missing}`],
    ['POST', `/services/${missing}/states/start`, {}],
    ['POST', `/services/${missing}/states/transition`, { from: { state_id: 1 } }],
    ['POST', `/services/${missing}/states/1/end`],
    ['GET', `/services/${missing}/states`],
    ['GET', `/services/${missing}/states/active`],
    ['GET', `/services/${missing}/states/1`],
    ['PUT', `/services/${missing}/states/1/extensions/X`, { a: 1 }],
    ['POST', `/services/${missing}/tasks/start`, {}],
    ['POST', `/services/${missing}/tasks/1/end`],
    ['GET', `/services/${missing}/tasks/completed`],
    ['GET', `/services/${missing}/tasks/1`],
    ['PUT', `/services/${missing}/tasks/1/extensions/X/merge`, { a: 1 }],
  ];

  it('unknown service: 400 NotFoundException "There are no service found for : <id>" on every operation', async () => {
    await writesNothing(async () => {
      for (const [method, path, body] of ops) {
        const r = await t.req(method, path, body);
        expectError(r, 400, 'SERVICE_NOT_FOUND', `There are no service found for : ${missing}`);
        expect(r.json.exception, `${method} ${path}`).toBe(`${EXC}.NotFoundException`);
      }
    });
  });

  it('unknown state / task: 400 NotFoundException naming it', async () => {
    await writesNothing(async () => {
      expectError(await t.req('GET', `/services/${sid}/states/9`), 400, 'STATE_NOT_FOUND', /state.*9/);
      expectError(await t.req('POST', `/services/${sid}/states/9/end`), 400, 'STATE_NOT_FOUND', /state.*9/);
      expectError(await t.req('GET', `/services/${sid}/tasks/7`), 400, 'TASK_NOT_FOUND', /task.*7/);
      expectError(await t.req('POST', `/services/${sid}/tasks/7/end`), 400, 'TASK_NOT_FOUND', /task.*7/);
      const r = await t.req('POST', `/services/${sid}/tasks/start`, { state_id: 5 });
      expect(r.status).toBe(400);
    });
  });

  it('notFoundStatus: 404 answers 404 with the same body for services, states and tasks', async () => {
    const s = await startServer({ notFoundStatus: 404 });
    try {
      const r = await s.req('GET', `/services/${missing}`);
      expectError(r, 404, 'SERVICE_NOT_FOUND', `There are no service found for : ${missing}`);
      expect(r.json.exception).toBe(`${EXC}.NotFoundException`);
      const id = (await s.req('POST', '/services/start', { customer_id: 'c' })).json.service_id;
      expectError(await s.req('GET', `/services/${id}/states/1`), 404, 'STATE_NOT_FOUND');
      expectError(await s.req('GET', `/services/${id}/tasks/1`), 404, 'TASK_NOT_FOUND');
      expectError(await s.req('GET', `/services/${id}/tasks/x`), 400, 'VALIDATION_FAILED');
    } finally {
      await s.close();
    }
  });

  it('notFoundStatus: 404 keeps 400 for a missing state named in a body (L3, L5): task state_id, previous_state_id, from.state_id', async () => {
    const s = await startServer({ notFoundStatus: 404 });
    try {
      const id = (await s.req('POST', '/services/start', { customer_id: 'ref' })).json.service_id;
      await s.req('POST', `/services/${id}/states/start`, { state_type: 'one' });
      const before = JSON.stringify(await s.snapshot());
      const cases: [string, Record<string, unknown>, string][] = [
        [`/services/${id}/tasks/start`, { task_type: 't', state_id: 7 }, 'state_id'],
        [`/services/${id}/states/start`, { state_type: 's', previous_state_id: 7 }, 'previous_state_id'],
        [
          `/services/${id}/states/transition`,
          { from: { state_id: 7 }, to: { state_type: 's' } },
          'from.state_id',
        ],
      ];
      const answers: unknown[] = [];
      for (const [path, body, field] of cases) {
        const r = await s.req('POST', path, body);
        answers.push([field, r.status, errorOf(r).code, r.json.exception]);
        expect(r.json.message).toMatch(/state.*7/);
      }
      expect(answers).toEqual(
        cases.map(([, , field]) => [field, 400, 'STATE_NOT_FOUND', `${EXC}.NotFoundException`]),
      );
      expect(JSON.stringify(await s.snapshot())).toBe(before);
      // The state the URL addresses still follows the option.
      expectError(await s.req('POST', `/services/${id}/states/7/end`, {}), 404, 'STATE_NOT_FOUND');
    } finally {
      await s.close();
    }
  });

  it('lifecycle rule violations are 400 BadRequestException with their codes', async () => {
    const id = (
      await t.req('POST', '/services/start', { contact_key: 'life', timestamp: '2020-01-01T00:00:00Z' })
    ).json.service_id;
    const early = await t.req('POST', `/services/${id}/end`, { timestamp: '2019-01-01T00:00:00Z' });
    expectError(early, 400, 'COMPLETED_BEFORE_START');
    expect(early.json.exception).toBe(`${EXC}.BadRequestException`);
    await t.req('POST', `/services/${id}/states/start`, {});
    await t.req('POST', `/services/${id}/states/1/end`, {});
    expectError(
      await t.req('POST', `/services/${id}/states/transition`, { from: { state_id: 1 } }),
      400,
      'STATE_NOT_ACTIVE',
    );
    expectError(await t.req('POST', `/services/${id}/states/1/end`, {}), 400, 'ALREADY_COMPLETED');
  });
});

describe('routing errors', () => {
  it('unknown route → 404 ROUTE_NOT_FOUND in the JSON shape', async () => {
    for (const path of ['/nothing', '/services', '/services/x/unknown', '/genesys/1/cs/services/start']) {
      const r = await t.req('GET', path);
      expectError(r, 404, 'ROUTE_NOT_FOUND');
    }
    expectError(await send(`${t.origin}/`, 'GET'), 404, 'ROUTE_NOT_FOUND');
  });

  it('paths are case-sensitive', async () => {
    expectError(await t.req('POST', '/Services/start', { contact_key: 'x' }), 404, 'ROUTE_NOT_FOUND');
  });

  it('wrong method → 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const r = await t.req('PATCH', `/services/${sid}`, {});
    expectError(r, 405, 'METHOD_NOT_ALLOWED');
    expect(r.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT']);
    const g = await t.req('GET', '/services/start');
    expectError(g, 400, 'SERVICE_NOT_FOUND', 'There are no service found for : start');
    const p = await t.req('DELETE', '/maintenance/purge');
    expectError(p, 405, 'METHOD_NOT_ALLOWED');
    expect(p.headers.get('allow')).toBe('POST');
  });

  it('unknown method → 501 NOT_IMPLEMENTED', async () => {
    expectError(await t.req('PROPFIND', `/services/${sid}`), 501, 'NOT_IMPLEMENTED');
  });

  it('malformed percent-encoding in a path segment → 400', async () => {
    expectError(await t.req('GET', '/services/anonymous/%E0%A4%A'), 400, 'BAD_REQUEST', /percent-encoding/);
    expectError(await t.req('GET', '/customers/%FF/services'), 400, 'BAD_REQUEST');
  });
});

/** Send raw bytes with exact headers (fetch would add or fix some). */
function raw(path: string, headers: Record<string, string>, chunks: (string | Buffer)[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${t.origin}${BASE}${path}`);
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: new Headers(res.headers as Record<string, string>),
          text,
          json: text === '' ? undefined : JSON.parse(text),
        }),
      );
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('bodies (docs/spec.md §10)', () => {
  it('too large → 413, by Content-Length and while streaming chunked; nothing written', async () => {
    await writesNothing(async () => {
      const big = JSON.stringify({ contact_key: 'big', Blob: 'x'.repeat(64 * 1024) });
      expectError(
        await t.req('POST', '/services/start', big, { 'content-type': 'application/json' }),
        413,
        'BODY_TOO_LARGE',
      );
      const chunked = await raw(
        '/services/start',
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        ['{"contact_key":"big","Blob":"', ...Array.from({ length: 20 }, () => 'y'.repeat(8192)), '"}'],
      );
      expectError(chunked, 413, 'BODY_TOO_LARGE', /65536 bytes/);
      // The connection stays usable: the next request on the server is answered normally.
      expect((await t.req('GET', `/services/${sid}`)).status).toBe(200);
    });
  });

  it('content types: other → 415; json with or without a UTF-8 charset (utf-8 or utf8), or none → accepted', async () => {
    await writesNothing(async () => {
      for (const type of [
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'application/json; charset=iso-8859-1',
        'application/json; charset=utf-16',
        'application/json; charset=utf',
      ]) {
        const r = await t.req('POST', '/services/start', '{"contact_key":"ct"}', { 'content-type': type });
        expectError(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
        expect(r.json.exception).toBe(`${EXC}.UnsupportedMediaTypeException`);
      }
    });
    for (const type of [
      'application/json',
      'application/json; charset=UTF-8',
      'Application/JSON;charset="utf-8"',
      'application/json; charset=utf8',
      'application/json;charset=UTF8',
      'application/json; charset="Utf8"',
    ]) {
      const r = await t.req('POST', '/services/start', '{"contact_key":"ct"}', { 'content-type': type });
      expect(r.status, type).toBe(201);
    }
    const none = await raw('/services/start', { 'content-length': '20' }, ['{"contact_key":"ct"}']);
    expect(none.status).toBe(201);
  });

  it('malformed JSON, invalid UTF-8, non-object bodies → 400; nothing written', async () => {
    await writesNothing(async () => {
      for (const body of ['{bad', '{"contact_key":"x"} trailing', '{"contact_key":', "{'a':1}"]) {
        expectError(
          await t.req('POST', '/services/start', body, { 'content-type': 'application/json' }),
          400,
          'MALFORMED_JSON',
        );
      }
      const latin1 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
      expectError(
        await raw('/services/start', { 'content-type': 'application/json', 'content-length': '9' }, [latin1]),
        400,
        'MALFORMED_JSON',
        /UTF-8/,
      );
      for (const body of [[], 'str', 42, null]) {
        const r = await t.req('POST', '/services/start', JSON.stringify(body), {
          'content-type': 'application/json',
        });
        expect(r.status, JSON.stringify(body)).toBe(400);
        errorOf(r);
      }
      expect((await t.req('POST', '/services/start')).status).toBe(400);
    });
  });

  it('documented fields of another entity, forbidden keys, too deep, too long → 400; nothing written', async () => {
    const deep = (n: number) => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = { v };
      return v;
    };
    await writesNothing(async () => {
      const cases: [string, string | Record<string, unknown>][] = [
        ['/services/start', { contact_key: 'k', state_type: 'x' }],
        ['/services/start', { contact_key: 'k', task_id: 1 }],
        [`/services/${sid}/states/start`, { customer_id: 'c' }],
        [`/services/${sid}/states/start`, { task_type: 't' }],
        [`/services/${sid}/tasks/start`, { service_type: 1 }],
        [`/services/${sid}/tasks/start`, { previous_state_id: 1 }],
        [`/services/${sid}/end`, { state_type: 'x' }],
        ['/services/start', '{"contact_key":"k","__proto__":{"polluted":true}}'],
        ['/services/start', '{"contact_key":"k","constructor":1}'],
        ['/services/start', '{"contact_key":"k","X":{"prototype":1}}'],
        ['/services/start', '{"contact_key":"k","X":[{"__proto__":1}]}'],
        ['/services/start', { contact_key: 'k', Deep: deep(40) }],
        ['/services/start', `{"contact_key":"k","X":${'['.repeat(30_000)}${']'.repeat(30_000)}}`],
        ['/services/start', { contact_key: 'k', session_id: 's'.repeat(33) }],
        ['/services/start', { contact_key: 'k', interaction_id: 'i'.repeat(51) }],
        [`/services/${sid}/tasks/1/end`, { disposition_desc: 'd'.repeat(65) }],
        ['/services/start', { contact_key: 'k', application_id: 'abc' }],
        ['/services/start', { contact_key: 'k', est_duration: -1 }],
        ['/services/start', { contact_key: 'k', timestamp: '2014-02-30T00:00:00Z' }],
        ['/services/start', { contact_key: 'k', [`E${'x'.repeat(128)}`]: 1 }],
        ['/services/start', { service_type: 1 }],
        [`/services/${sid}/states/transition`, { from: { state_id: 1, extra: 1 } }],
        ['/maintenance/purge', { limit: 'yesterday', operation: 'purge.service.all' }],
        ['/maintenance/purge', { limit: '2100-01-01T00:00:00Z', operation: 'purge.everything' }],
        [
          '/services_composite/start',
          {
            services: [
              { service: { contact_key: 'c' }, state: {} },
              { service: {}, state: {} },
            ],
          },
        ],
      ];
      for (const [path, body] of cases) {
        const r =
          typeof body === 'string'
            ? await t.req('POST', path, body, { 'content-type': 'application/json' })
            : await t.req('POST', path, body);
        expect(
          r.status,
          `${path} ${typeof body === 'string' ? body.slice(0, 60) : JSON.stringify(body).slice(0, 60)}`,
        ).toBe(400);
        expect(['VALIDATION_FAILED', 'LIMIT_EXCEEDED']).toContain(errorOf(r).code);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('extension names in the path: documented field names and forbidden keys are rejected', async () => {
    await writesNothing(async () => {
      for (const name of ['customer_id', 'state_id', '__proto__', 'constructor', 'x'.repeat(129)]) {
        expectError(
          await t.req('PUT', `/services/${sid}/extensions/${name}`, { a: 1 }),
          400,
          'VALIDATION_FAILED',
        );
      }
    });
  });
});

describe('path ids and query strings (docs/spec.md §5)', () => {
  it('state and task ids that are not positive 32-bit integers → 400 before anything is read or written', async () => {
    await writesNothing(async () => {
      for (const id of ['0', '01', '-1', '1.5', 'abc', '1e3', '2147483648', '%20', '+1']) {
        expectError(
          await t.req('GET', `/services/${sid}/states/${id}`),
          400,
          'VALIDATION_FAILED',
          /state_id/,
        );
        expectError(
          await t.req('POST', `/services/${sid}/tasks/${id}/end`, {}),
          400,
          'VALIDATION_FAILED',
          /task_id/,
        );
        expectError(
          await t.req('PUT', `/services/${sid}/states/${id}/extensions/X`, { a: 1 }),
          400,
          'VALIDATION_FAILED',
        );
      }
    });
  });

  it('bad booleans, instants, integers, enums; repeated parameters → 400', async () => {
    const bad = [
      `/services/${sid}?active_states=1`,
      `/services/${sid}?active_states=true&active_states=false`,
      '/customers/c/services?started_from=yesterday',
      '/customers/c/services?started_to=2014-13-01T00:00:00Z',
      '/customers/c/services?limit=0',
      '/customers/c/services?limit=10001',
      '/customers/c/services?offset=-1',
      '/services/anonymous/k/active?limit=abc',
      `/services/${sid}/tasks?state_id=abc`,
      `/services/${sid}/tasks?state_id=0`,
      `/services/${sid}/states?completed_tasks=yes`,
      '/maintenance/services/stream',
      '/maintenance/services/stream?time_from=2014-01-01',
      '/maintenance/services/stream?time_from=2014-01-01T00:00:00Z&filter_events=all',
      '/maintenance/services/stream?time_from=2014-01-01T00:00:00Z&filter_state=done',
      '/maintenance/services/stream?time_from=2014-01-01T00:00:00Z&export_content=yes',
    ];
    for (const path of bad) {
      const r = await t.req('GET', path);
      expect(r.status, path).toBe(400);
      expect(errorOf(r).code).toBe('VALIDATION_FAILED');
    }
    const files = await t.req(
      'POST',
      '/maintenance/services/files?time_from=2014-01-01T00:00:00Z&format=xml',
    );
    expectError(files, 400, 'VALIDATION_FAILED', /format/);
  });
});

describe('unexpected failures', () => {
  it('a failing store answers 500 in the JSON shape with a generic message, and is logged', async () => {
    class FailingStore extends MemoryStore {
      failing = false;
      override async get(key: string) {
        if (this.failing) throw new Error('disk on fire at /secret/path');
        return super.get(key);
      }
      override async getMany(keys: readonly string[]) {
        if (this.failing) throw new Error('disk on fire at /secret/path');
        return super.getMany(keys);
      }
    }
    const store = new FailingStore();
    const s = await startServer({}, { store, config: { cacheSize: 0 } });
    try {
      const id = (await s.req('POST', '/services/start', { contact_key: 'f' })).json.service_id;
      store.failing = true;
      const r = await s.req('GET', `/services/${id}`);
      expectError(r, 500, 'INTERNAL_ERROR', 'Internal server error');
      expect(r.json.exception).toBe(`${EXC}.ContextServicesException`);
      expect(r.text).not.toContain('secret');
      expect(s.logs.some((l) => l.level === 50 && JSON.stringify(l).includes('disk on fire'))).toBe(true);
    } finally {
      store.failing = false;
      await s.close();
    }
  });

  it('a body parser mounted before the router: a clear 500 at once instead of a request that hangs', async () => {
    const engine = await createContextServices({ store: new MemoryStore() });
    const app = new Koa();
    app.use(async (ctx, next) => {
      // What a body parser does: consume the request stream before the router sees it.
      for await (const _ of ctx.req) {
        // drained
      }
      await next();
    });
    // A logger of its own, so that the 500 this test provokes is not printed in the test output.
    app.use(createRouter(engine, { logger: pino({ level: 'silent' }) }).routes());
    const handle = await listen(app, { port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${handle.url}${BASE}/services/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"contact_key":"k"}',
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        code: 'INTERNAL_ERROR',
        message: expect.stringMatching(/already read by another middleware/),
      });
      expect(await engine.listAnonymousServices('k')).toEqual([]);
    } finally {
      await handle.close(1000);
      await engine.close();
    }
  });

  it('a closed engine answers 503 CLOSED', async () => {
    const s = await startServer();
    await s.engine.close();
    const r = await s.req('POST', '/services/start', { contact_key: 'late' });
    expectError(r, 503, 'CLOSED');
    await s.handle.close(1000);
  });

  it('error table: every core code maps to a 4xx/5xx and the not-found codes follow the option', () => {
    for (const [code, m] of Object.entries(CORE_ERROR_MAP) as [ErrorCode, ErrorMapping][]) {
      expect(m.status, code).toBeGreaterThanOrEqual(400);
      expect(m.exception, code).toMatch(/^com\.genesyslab\.gsg\.services\.contextservices\.exceptions\.\w+$/);
    }
    expect(toErrorResponse(new Error('x')).status).toBe(500);
    expect(toErrorResponse('a string').body.code).toBe('INTERNAL_ERROR');
    // A table missing a code does not compile:
    // @ts-expect-error SERVICE_NOT_FOUND and the others are missing
    const partial = { CLOSED: { status: 503, exception: 'x' } } satisfies Record<ErrorCode, ErrorMapping>;
    expect(partial).toBeDefined();
  });
});
