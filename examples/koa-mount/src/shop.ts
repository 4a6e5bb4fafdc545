/**
 * The existing application: a small shop API on Koa with its own routes, its own bearer-token
 * authentication and its own error format. Nothing here knows about Context Services except
 * `POST /api/orders`, which records the order in the customer's journey through the engine.
 */
import type { ContextServices } from '@cxs/core';
import { Router } from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';

/** A user of the shop, as its own authentication knows them. */
export interface ShopUser {
  name: string;
  /** The shop's roles: `ops` runs the platform, `agent` answers customers, `sales` takes orders. */
  role: 'ops' | 'agent' | 'sales';
}

/** An order of the shop. */
export interface Order {
  order_id: number;
  customer_id: string;
  item: string;
  /** The Context Services service that records this order in the customer's journey. */
  service_id: string;
}

/**
 * The shop's authentication: `Authorization: Bearer <token>` names a user. It never rejects a
 * request itself; each route decides what it needs, so it sets `ctx.state.user` or leaves it unset.
 */
export function bearerAuth(tokens: ReadonlyMap<string, ShopUser>): Middleware {
  return async (ctx, next) => {
    const m = /^Bearer +(\S+)$/i.exec(ctx.get('Authorization'));
    const user = m === null ? undefined : tokens.get(m[1] as string);
    if (user !== undefined) ctx.state.user = user;
    await next();
  };
}

/** The signed-in user of a request, if any. */
export function userOf(ctx: Context): ShopUser | undefined {
  return ctx.state.user as ShopUser | undefined;
}

/** The shop's error format, `{"error": "…"}`, for every route of the shop. */
const shopErrors: Middleware = async (ctx, next) => {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: `no such page: ${ctx.method} ${ctx.path}` };
    }
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    ctx.status = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    ctx.body = { error: ctx.status < 500 ? (error as Error).message : 'internal error' };
  }
};

async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of ctx.req) text += String(chunk);
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {}
  return ctx.throw(400, 'the body must be a JSON object');
}

/**
 * Build the shop: `GET /health` (public), `GET /api/orders` (any signed-in user) and
 * `POST /api/orders` (`sales` or `ops`), behind the shop's error format and bearer tokens.
 * Returns the app before anything else is mounted, so that more routes can be added to it.
 */
export function createShopApp(engine: ContextServices, tokens: ReadonlyMap<string, ShopUser>): Koa {
  const orders: Order[] = [];
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/api/orders', (ctx) => {
    if (userOf(ctx) === undefined) return ctx.throw(401, 'sign in with a bearer token');
    ctx.body = orders;
  });
  router.post('/api/orders', async (ctx) => {
    const user = userOf(ctx);
    if (user === undefined) return ctx.throw(401, 'sign in with a bearer token');
    if (user.role === 'agent') return ctx.throw(403, 'agents cannot take orders');
    const { customer_id, item } = await readJson(ctx);
    if (typeof customer_id !== 'string' || typeof item !== 'string') {
      return ctx.throw(400, 'customer_id and item must be strings');
    }
    const order_id = orders.length + 1;
    // The order becomes a service of the customer's journey, with the order as attached data.
    const { service_id } = await engine.startService({
      customer_id,
      service_type: 'order',
      Order: { order_id, item, taken_by: user.name },
    });
    const order: Order = { order_id, customer_id, item, service_id };
    orders.push(order);
    ctx.status = 201;
    ctx.body = order;
  });

  const app = new Koa();
  app.use(shopErrors);
  app.use(bearerAuth(tokens));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
