/**
 * Run the shop with Context Services under /api/cs, on the memory store, or on LevelDB when a
 * directory is given:  node --conditions=source --import tsx src/main.ts [--port 3000] [--data ./data]
 */
import { parseArgs } from 'node:util';
import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { listen } from '@cxs/koa';
import { LevelStore } from '@cxs/level';
import { CS_PREFIX, createApp, DEMO_TOKENS } from './app.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '3000' }, data: { type: 'string' } },
});
const store = values.data === undefined ? new MemoryStore() : new LevelStore({ location: values.data });
const engine = await createContextServices({ store });
const server = await listen(createApp(engine), { port: Number(values.port), host: '127.0.0.1' });
console.log(`shop listening on ${server.url}, Context Services under ${server.url}${CS_PREFIX}`);
console.log(`bearer tokens: ${[...DEMO_TOKENS].map(([token, u]) => `${token} (${u.role})`).join(', ')}`);

// Ctrl-C: finish the requests in flight, then close the store.
process.once('SIGINT', () => {
  void server.close().then(() => engine.close());
});
process.once('SIGTERM', () => {
  void server.close().then(() => engine.close());
});
