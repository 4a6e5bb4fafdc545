// The adapter without any store package: strict types of @cxs/core and @cxs/koa compile with
// only koa and @koa/router installed beside them (no @types installed by hand).
import { type ContextServices, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { createApp, listen, type RouterOptions } from '@cxs/koa';

const engine: ContextServices = await createContextServices({ store: new MemoryStore() });
const options: RouterOptions = { bodyLimit: 1024 * 1024 };
const handle = await listen(createApp(engine, options), { port: 0, host: '127.0.0.1' });
const response = await fetch(`${handle.url}/genesys/1/cs/services/nope`);
const status: number = response.status;
await handle.close();
await engine.close();
// @ts-expect-error: createApp takes an engine, not a store
createApp(new MemoryStore());

export { status };
