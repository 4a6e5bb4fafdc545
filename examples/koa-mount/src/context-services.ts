/**
 * Mounting Context Services in the shop: the routes of `@cxs/koa` under a prefix of the shop,
 * guarded by the shop's own bearer tokens mapped to Context Services roles, and answering every
 * error under that prefix (unknown route and wrong method included) in the documented JSON shape,
 * while the shop's own routes keep the shop's error format.
 */
import type { ContextServices } from '@cxs/core';
import { type Authorize, createRouter, errorHandler, HttpError, ROLES } from '@cxs/koa';
import type { RouterContext } from '@koa/router';
import type Koa from 'koa';
import { type ShopUser, userOf } from './shop.js';

/** Which Context Services roles each role of the shop gets: writes need Administrator, reads Supervisor. */
export const CS_ROLES: Readonly<Record<ShopUser['role'], readonly string[]>> = {
  ops: [ROLES.admin],
  agent: [ROLES.supervisor],
  sales: [],
};

/**
 * The router's `authorize` option: the shop has already authenticated the request (its bearer
 * middleware runs first); map its user to roles. `undefined` (no user) answers 401, a user
 * without the role the route needs answers 403.
 */
export const authorizeShopUser: Authorize = (ctx) => {
  const user = userOf(ctx);
  return user === undefined ? undefined : CS_ROLES[user.role];
};

/**
 * Mount the Context Services routes on `app` under `prefix` (e.g. `/api/cs`). Call it after the
 * shop's own middleware, so that its bearer authentication has run.
 */
export function mountContextServices(app: Koa, engine: ContextServices, prefix: string): void {
  const router = createRouter(engine, {
    prefix,
    authorize: authorizeShopUser,
    authChallenge: 'Bearer realm="shop"',
  });
  const routes = router.routes();
  const methods = router.allowedMethods({ throw: true });
  const jsonErrors = errorHandler();
  const under = (path: string) => path === prefix || path.startsWith(`${prefix}/`);
  app.use(async (ctx: RouterContext, next) => {
    if (!under(ctx.path)) return next();
    // Only requests under the prefix get here; none of them falls through to the shop's 404.
    await jsonErrors(ctx, async () => {
      await methods(ctx, () => routes(ctx, async () => {}));
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError('ROUTE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      }
    });
  });
}
