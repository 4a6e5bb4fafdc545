// Plain ESM JavaScript against the installed tarballs: memory store, LevelDB store (written,
// closed, reopened), the adapter mounted in a Koa app on port 0 (one request), then close.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContextServices, isContextServicesError } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { createRouter, errorHandler, listen } from '@cxs/koa';
import { LevelStore } from '@cxs/level';
import { STORE_KINDS } from '@cxs/server';
import Koa from 'koa';

async function journey(cs) {
  const types = [];
  cs.on('*', (event) => types.push(event.type));
  const { service_id } = await cs.startService({ contact_key: '+33123456789', service_type: 'billing' });
  await cs.startState(service_id, { state_type: 'identification' });
  await cs.endService(service_id, { disposition: 'resolved' });
  assert.deepEqual(types, ['service.started', 'state.started', 'state.completed', 'service.completed']);
  return service_id;
}

const memory = await createContextServices({ store: new MemoryStore() });
await journey(memory);
await assert.rejects(
  memory.getService('nope'),
  (error) => isContextServicesError(error) && error.code === 'SERVICE_NOT_FOUND',
);

const dir = await mkdtemp(join(tmpdir(), 'cxs-run-'));
try {
  const first = await createContextServices({ store: new LevelStore({ location: dir }) });
  const id = await journey(first);
  await first.close();
  const again = await createContextServices({ store: new LevelStore({ location: dir }) });
  assert.equal((await again.getService(id)).disposition, 'resolved');
  await again.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.path === '/health') ctx.body = { ok: true };
  else await next();
});
const router = createRouter(memory, { prefix: '/cs' });
app.use(errorHandler());
app.use(router.routes());
app.use(router.allowedMethods());
const server = await listen(app, { port: 0, host: '127.0.0.1' });
try {
  const response = await fetch(`${server.url}/cs/services/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contact_key: '+33123456789', service_type: 'billing' }),
  });
  assert.equal(response.status, 201);
  const { service_id } = await response.json();
  assert.equal((await memory.getService(service_id)).contact_key, '+33123456789');
} finally {
  await server.close();
  await memory.close();
}
assert.deepEqual([...STORE_KINDS].sort(), ['level', 'memory', 'postgres']);
console.log(`  run.mjs (memory, LevelDB, Koa mount, @cxs/server) on Node ${process.version}: ok`);
