import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { describe, expect, it } from 'vitest';
import { listen } from '../src/http/server.js';
import { createApp } from '../src/index.js';
import { BASE, send } from './helpers.js';

describe('request latencies fed to the engine (maintenance pacing)', () => {
  it('records each request served by a route, not purge, exports, the change stream or health probes', async () => {
    const engine = await createContextServices({ store: new MemoryStore() });
    const recorded: number[] = [];
    const watched = {
      ...engine,
      recordLatency: (ms: number) => {
        recorded.push(ms);
        engine.recordLatency(ms);
      },
    };
    const handle = await listen(createApp(watched), { port: 0, host: '127.0.0.1' });
    try {
      const base = `${handle.url}${BASE}`;
      const started = await send(`${base}/services/start`, 'POST', { customer_id: 'C1' });
      expect(started.status).toBe(201);
      // A refused request is served too: its duration counts.
      expect((await send(`${base}/services/nope`, 'GET')).status).toBe(400);
      expect(recorded).toHaveLength(2);
      expect(recorded.every((ms) => ms >= 0 && ms < 60_000)).toBe(true);
      const purge = await send(`${base}/maintenance/purge`, 'POST', {
        limit: new Date(Date.now() + 60_000).toISOString(),
        operation: 'purge.service.all',
      });
      expect(purge.status).toBe(200);
      expect(
        (await send(`${base}/maintenance/services/stream?time_from=2020-01-01T00:00:00Z`, 'GET')).status,
      ).toBe(200);
      expect((await send(`${handle.url}/healthz`, 'GET')).status).toBe(200);
      expect((await send(`${base}/no-such-route`, 'GET')).status).toBe(404);
      expect(recorded).toHaveLength(2);
    } finally {
      await handle.close();
      await engine.close();
    }
  });
});
