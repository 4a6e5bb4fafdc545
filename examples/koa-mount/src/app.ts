/** The whole application: the shop, with Context Services mounted under `/api/cs`. */
import type { ContextServices } from '@cxs/core';
import type Koa from 'koa';
import { mountContextServices } from './context-services.js';
import { createShopApp, type ShopUser } from './shop.js';

/** Where the Context Services routes live in the shop. */
export const CS_PREFIX = '/api/cs';

/** Demo bearer tokens, one per role of the shop (a real shop would check signed tokens). */
export const DEMO_TOKENS: ReadonlyMap<string, ShopUser> = new Map([
  ['ops-token', { name: 'olga', role: 'ops' }],
  ['agent-token', { name: 'adam', role: 'agent' }],
  ['sales-token', { name: 'sara', role: 'sales' }],
]);

/** The shop with Context Services mounted under {@link CS_PREFIX}, on `engine`. */
export function createApp(engine: ContextServices, tokens: ReadonlyMap<string, ShopUser> = DEMO_TOKENS): Koa {
  const app = createShopApp(engine, tokens);
  mountContextServices(app, engine, CS_PREFIX);
  return app;
}
