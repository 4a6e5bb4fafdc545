// The adapter without any store package, at run time: createApp on the memory store, port 0,
// one request, close.
import assert from 'node:assert/strict';
import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { createApp, listen } from '@cxs/koa';

const engine = await createContextServices({ store: new MemoryStore() });
const handle = await listen(createApp(engine), { port: 0, host: '127.0.0.1' });
try {
  const response = await fetch(`${handle.url}/genesys/1/cs/services/nope`);
  assert.equal(response.status, 400);
  assert.equal((await response.json()).code, 'SERVICE_NOT_FOUND');
} finally {
  await handle.close();
  await engine.close();
}
console.log(`  run.mjs (adapter only, memory store, createApp) on Node ${process.version}: ok`);
