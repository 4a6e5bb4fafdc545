/**
 * Baseline: a bare Koa + @koa/router app on the conversation's routes (see ./bare-routes.ts),
 * using the very Koa and @koa/router that @cxs/koa runs on (resolved from that package, so the
 * versions always match).
 * `node --import tsx bench/servers/bare-koa.ts [--port 0] [--get-body file]`
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { BASE, getDocument, nextId, portArg, readJson } from './bare-routes.js';

/** The part of a Koa context used here. */
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  status: number;
  body: unknown;
}
type Handler = (ctx: Ctx) => Promise<void> | void;
interface KoaApp {
  use(mw: unknown): KoaApp;
  listen(port: number, host: string, cb: () => void): Server;
}
interface KoaRouter {
  get(path: string, h: Handler): KoaRouter;
  post(path: string, h: Handler): KoaRouter;
  routes(): unknown;
  allowedMethods(): unknown;
}

const fromKoaPackage = createRequire(new URL('../../packages/koa/package.json', import.meta.url));
const load = async (name: string) =>
  (await import(pathToFileURL(fromKoaPackage.resolve(name)).href)) as Record<string, unknown>;
const koaModule = await load('koa');
const routerModule = await load('@koa/router');
const Koa = (koaModule.default ?? koaModule) as new () => KoaApp;
const Router = (routerModule.Router ?? routerModule.default) as new (opts: { prefix: string }) => KoaRouter;

const doc = getDocument(process.argv);
const router = new Router({ prefix: BASE });
const start: Handler = async (ctx) => {
  await readJson(ctx.req);
  ctx.status = 201;
  ctx.body = { id: nextId() };
};
const end: Handler = async (ctx) => {
  await readJson(ctx.req);
  ctx.status = 204;
};
router
  .post('/services/start', start)
  .post('/services/:sid/states/start', start)
  .post('/services/:sid/tasks/start', start)
  .post('/services/:sid/end', end)
  .post('/services/:sid/states/:id/end', end)
  .post('/services/:sid/tasks/:id/end', end)
  .get('/services/:sid', (ctx) => {
    ctx.body = doc;
  });

const app = new Koa();
app.use(router.routes()).use(router.allowedMethods());
const server = app.listen(portArg(process.argv), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
