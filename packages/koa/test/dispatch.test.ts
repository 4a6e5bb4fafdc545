/**
 * `createApp` matches its route table itself: it must answer exactly as the `@koa/router`
 * composition it replaces (the health router, `createRouter`, `allowedMethods({ throw: true })`),
 * which library users still mount.
 */
import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ServerHandle } from '../src/http/server.js';
import {
  basicAuth,
  createApp,
  createRouter,
  errorHandler,
  HttpError,
  hashPassword,
  healthRouter,
  requestId,
} from '../src/index.js';
import { BASE, send } from './helpers.js';

/** The composition `createApp` used before it dispatched its table itself. */
function routerApp(...args: Parameters<typeof createRouter>): Koa {
  const [engine, options = {}] = args;
  const app = new Koa();
  const router = createRouter(engine, { ...options, links: { healthz: '/healthz', readyz: '/readyz' } });
  app.use(requestId());
  app.use(errorHandler({ notFoundStatus: options.notFoundStatus ?? 400 }));
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined)
      throw new HttpError('ROUTE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
  });
  app.use(healthRouter(engine).routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new HttpError('METHOD_NOT_ALLOWED', 'Method not allowed on this route'),
      notImplemented: () => new HttpError('NOT_IMPLEMENTED', 'Method not implemented'),
    }),
  );
  app.use(router.routes());
  return app;
}

const REQUESTS: [string, string][] = [
  ['GET', '/healthz'],
  ['GET', '/healthz/'],
  ['GET', '/healthz//'],
  ['HEAD', '/healthz'],
  ['OPTIONS', '/healthz'],
  ['POST', '/healthz'],
  ['GET', '/HEALTHZ'],
  ['GET', '/nowhere'],
  ['FOO', '/nowhere'],
  ['FOO', `${BASE}/services/x`],
  ['PATCH', `${BASE}/services/x`],
  ['OPTIONS', `${BASE}/services/x`],
  ['OPTIONS', `${BASE}/services/x/states/1`],
  ['OPTIONS', '/nowhere'],
  ['POST', `${BASE}/services/x`],
  ['GET', BASE],
  ['GET', `${BASE}/`],
  ['GET', `${BASE}//`],
  ['GET', `${BASE}/openapi.json`],
  ['GET', `${BASE}/openapi.json/`],
  ['HEAD', `${BASE}/openapi.json`],
  ['GET', `${BASE}/services/start`],
  ['GET', `${BASE}/services//states`],
  ['GET', `${BASE}/Services/x`],
  ['GET', `${BASE}/services/nope`],
  ['GET', `${BASE}/services/nope/`],
  ['GET', `${BASE}/services/a%2Fb`],
  ['GET', `${BASE}/services/a%zz`],
  ['GET', `${BASE}/services/anonymous/states`],
  ['GET', `${BASE}/services/nope/states/active`],
  ['GET', `${BASE}/services/nope/states/7`],
  ['GET', `${BASE}/services/nope/states/x`],
  ['PUT', `${BASE}/services/nope/extensions/e/merge`],
  ['POST', `${BASE}/genesys/1/cs/customers/c/services/nope`],
  ['GET', `${BASE}/genesys/1/cs/customers/c/services/nope`],
  ['POST', `${BASE}/services/start`],
  ['POST', `${BASE}/services/start/`],
];

async function answers(origin: string, headers: Record<string, string> = {}) {
  const out: unknown[] = [];
  for (const [method, path] of REQUESTS) {
    const body = method === 'POST' && path.endsWith('start') ? { contact_key: 'k' } : undefined;
    const r = await send(`${origin}${path}`, method, body, headers);
    const json = r.json as { code?: unknown; service_id?: unknown } | undefined;
    out.push({
      request: `${method} ${path}`,
      status: r.status,
      allow: r.headers.get('allow'),
      auth: r.headers.get('www-authenticate'),
      code: json?.code,
      text: json?.code === undefined && json?.service_id === undefined ? r.text.slice(0, 60) : undefined,
    });
  }
  return out;
}

describe.each([
  { label: 'defaults', roles: false },
  { label: 'roles', roles: true },
])('createApp answers as the router composition ($label)', ({ roles }) => {
  const handles: ServerHandle[] = [];
  let origins: string[] = [];
  let auth: Record<string, string> = {};
  beforeAll(async () => {
    const options = roles
      ? {
          authorize: basicAuth([
            {
              username: 'a',
              password: await hashPassword('pw', { N: 2, r: 1, p: 1 }),
              roles: ['Administrator'],
            },
          ]),
        }
      : {};
    auth = roles ? { authorization: `Basic ${Buffer.from('a:pw').toString('base64')}` } : {};
    for (const make of [createApp, routerApp]) {
      const engine = await createContextServices({ store: new MemoryStore() });
      handles.push(await listen(make(engine, options), { port: 0, host: '127.0.0.1' }));
    }
    origins = handles.map((h) => h.url);
  });
  afterAll(async () => {
    for (const h of handles) await h.close(1000);
  });

  it('same status, Allow, WWW-Authenticate and error code for every request', async () => {
    const [mine, theirs] = [await answers(origins[0] as string), await answers(origins[1] as string)];
    expect(mine).toEqual(theirs);
    if (roles) {
      const [a, b] = [await answers(origins[0] as string, auth), await answers(origins[1] as string, auth)];
      expect(a).toEqual(b);
    }
  });
});
