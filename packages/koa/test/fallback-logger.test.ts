/**
 * Without a configured logger, an unexpected failure inside a route is still logged (pino on
 * stderr, with its stack), while the client gets the generic 500 body. Run in a child process,
 * since the fallback logger writes to file descriptor 2 directly.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { finished } from './helpers.js';

const KOA = fileURLToPath(new URL('..', import.meta.url));

const SCRIPT = `
import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { createApp, createRouter, listen } from '@cxs/koa';
import Koa from 'koa';

class FailingStore extends MemoryStore {
  failing = false;
  async get(key) { if (this.failing) throw new Error('disk on fire'); return super.get(key); }
  async getMany(keys) { if (this.failing) throw new Error('disk on fire'); return super.getMany(keys); }
}
const store = new FailingStore();
const engine = await createContextServices({ store, config: { cacheSize: 0 } });
const mounted = new Koa();
mounted.use(createRouter(engine, { prefix: '/cs' }).routes());
for (const [app, base] of [[createApp(engine), '/genesys/1/cs'], [mounted, '/cs']]) {
  const h = await listen(app, { port: 0, host: '127.0.0.1' });
  store.failing = false;
  const start = await fetch(h.url + base + '/services/start', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"contact_key":"k"}',
  });
  const { service_id } = await start.json();
  store.failing = true;
  const r = await fetch(h.url + base + '/services/' + service_id);
  process.stdout.write(r.status + ' ' + (await r.text()) + '\\n');
  await h.close(1000);
}
store.failing = false;
await engine.close();
`;

it('an unexpected failure is logged on stderr when no logger is configured (createApp and createRouter)', async () => {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', SCRIPT],
    {
      cwd: KOA,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { code, stdout, stderr } = await finished(child);
  expect(code, stderr).toBe(0);
  const answers = stdout.trim().split('\n');
  expect(answers).toHaveLength(2);
  for (const a of answers) {
    expect(a).toMatch(/^500 /);
    expect(a).toContain('"code":"INTERNAL_ERROR"');
    expect(a).not.toContain('disk on fire');
  }
  const logs = stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string; stack: string } });
  const failures = logs.filter((l) => l.msg === 'request failed');
  expect(failures).toHaveLength(2);
  for (const l of failures) {
    expect(l.level).toBe(50);
    expect(l.err?.message).toBe('disk on fire');
    expect(l.err?.stack).toContain('FailingStore');
  }
});
