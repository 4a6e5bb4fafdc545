// Compiled with tsc --noEmit (strict, exactOptionalPropertyTypes, NodeNext) against the types of
// the installed tarballs: memory store, LevelDB store, the adapter mounted in a Koa app, the server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ContextEvent,
  type ContextServices,
  ContextServicesError,
  createContextServices,
  isContextServicesError,
  type Store,
} from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import {
  createRouter,
  errorHandler,
  HttpError,
  listen,
  type RouterOptions,
  type ServerHandle,
} from '@cxs/koa';
import { LevelStore, type LevelStoreOptions } from '@cxs/level';
import { main, STORE_KINDS } from '@cxs/server';
import Koa from 'koa';

async function journey(cs: ContextServices): Promise<string> {
  const events: ContextEvent[] = [];
  cs.on('*', (event) => {
    events.push(event);
  });
  const { service_id } = await cs.startService({ contact_key: '+33123456789', service_type: 'billing' });
  await cs.startState(service_id, { state_type: 'identification' });
  await cs.endService(service_id, { disposition: 'resolved' });
  const service = await cs.getService(service_id);
  const id: string = service.service_id;
  return `${id} ${events.length}`;
}

const memory: Store = new MemoryStore();
const inMemory = await createContextServices({ store: memory });
await journey(inMemory);
try {
  await inMemory.getService('nope');
} catch (error) {
  if (isContextServicesError(error)) console.log(error.code);
  if (error instanceof ContextServicesError) console.log(error.message);
}

const dir = await mkdtemp(join(tmpdir(), 'cxs-check-'));
const options: LevelStoreOptions = { location: dir, sync: true };
const onDisk = await createContextServices({ store: new LevelStore(options) });
await journey(onDisk);
await onDisk.close();
await rm(dir, { recursive: true, force: true });

// @ts-expect-error: the location of a LevelDB store is a path
new LevelStore({ location: 42 });

// The adapter mounted under a prefix of the application's own Koa app.
const routerOptions: RouterOptions = { prefix: '/cs', notFoundStatus: 404 };
const router = createRouter(inMemory, routerOptions);
const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.path === '/health') {
    ctx.body = { ok: true };
    return;
  }
  await next();
});
app.use(errorHandler());
app.use(router.routes());
app.use(
  router.allowedMethods({ throw: true, methodNotAllowed: () => new HttpError('METHOD_NOT_ALLOWED', 'no') }),
);
const server: ServerHandle = await listen(app, { port: 0, host: '127.0.0.1' });
const response = await fetch(`${server.url}/cs/services/start`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ contact_key: '+33123456789' }),
});
console.log(response.status, await response.json());
await server.close();
await inMemory.close();

const kinds: readonly string[] = STORE_KINDS;
const code: number = await main(['--help']);
console.log(kinds, code);
