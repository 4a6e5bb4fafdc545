/**
 * The export stream (docs/spec.md §8.1) when things go wrong: a failure before the first byte answers the
 * JSON error of docs/spec.md §2.1, a failure later cuts the connection, and the engine's export iterator
 * is closed whenever the client goes away, even before the stream started.
 */
import { request } from 'node:http';
import { type ContextServices, ContextServicesError, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { listen, type ServerHandle } from '../src/http/server.js';
import { createApp } from '../src/index.js';
import { BASE, EXC, errorOf, send, startServer } from './helpers.js';

const STREAM = `${BASE}/maintenance/services/stream?time_from=2000-01-01T00:00:00Z`;
/** Services of ~4 KiB: an export of ~20 MiB, far more than socket buffers hold (~4 MiB here). */
const BIG = 5000;

/** A memory store whose reads fail on demand, or wait at a gate: a disk gone bad, a slow disk. */
class TroubledStore extends MemoryStore {
  failWith: Error | undefined;
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;

  #check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }
  override async getMany(keys: readonly string[]) {
    this.#check();
    return super.getMany(keys);
  }
  override iterate(range: Parameters<MemoryStore['iterate']>[0]) {
    this.#check();
    const inner = super.iterate(range);
    const store = this;
    return {
      async *[Symbol.asyncIterator]() {
        store.entered?.();
        if (store.gate !== undefined) await store.gate;
        yield* inner;
      },
    };
  }
}

/** An engine whose export iterators report when they are closed, behind a real server. */
async function watchedServer(store: TroubledStore) {
  const engine = await createContextServices({ store, config: { cacheSize: 0 } });
  const closed: boolean[] = [];
  const watched: ContextServices = {
    ...engine,
    async exportServices(query, options) {
      const items = await engine.exportServices(query, options);
      const index = closed.push(false) - 1;
      return (async function* () {
        try {
          yield* items;
        } finally {
          closed[index] = true;
        }
      })();
    },
  };
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const handle = await listen(createApp(watched, { logger }), { port: 0, host: '127.0.0.1' });
  return { engine, handle, closed, logs };
}

async function fill(engine: ContextServices, n: number): Promise<void> {
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, () =>
        engine.startService({ customer_id: 'x', Pad: 'p'.repeat(4000) }),
      ),
    );
  }
}

/**
 * Wait for `check` to hold, however long a loaded machine takes: the test timeout bounds it, and
 * `what` is logged every few seconds of waiting so that a hang says what it waits for.
 */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 1; !(await check()); i++) {
    if (i % 200 === 0) console.log(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stop(handle: ServerHandle, engine: ContextServices): Promise<void> {
  await handle.close(1000);
  await engine.close();
}

describe('export stream failures before the first byte answer the JSON error', () => {
  it('the store fails on the first read: 500 in the JSON shape (STORE_FAILED, and an unexpected error)', async () => {
    const store = new TroubledStore();
    const { engine, handle, closed, logs } = await watchedServer(store);
    try {
      await fill(engine, 10);
      store.failWith = new ContextServicesError('STORE_FAILED', 'The store cannot be read');
      const failed = await send(`${handle.url}${STREAM}`, 'GET');
      expect({ status: failed.status, code: errorOf(failed).code }).toEqual({
        status: 500,
        code: 'STORE_FAILED',
      });
      expect(failed.json.exception).toBe(`${EXC}.ContextServicesException`);
      expect(failed.headers.get('content-type')).toMatch(/^application\/json/);
      store.failWith = new Error('disk on fire');
      const unexpected = await send(`${handle.url}${STREAM}&export_content=true`, 'GET');
      expect({ status: unexpected.status, ...errorOf(unexpected) }).toMatchObject({
        status: 500,
        code: 'INTERNAL_ERROR',
        message: 'Internal server error',
      });
      expect(unexpected.text).not.toContain('fire');
      expect(logs.some((l) => l.level === 50 && JSON.stringify(l).includes('disk on fire'))).toBe(true);
      store.failWith = undefined;
      const ok = await send(`${handle.url}${STREAM}`, 'GET');
      expect(ok.json).toHaveLength(10);
      expect(closed).toEqual([true, true, true]);
    } finally {
      store.failWith = undefined;
      await stop(handle, engine);
    }
  });

  it('an engine closed before the request: 503 CLOSED in the JSON shape', async () => {
    const s = await startServer();
    try {
      await s.engine.startService({ customer_id: 'late' });
      await s.engine.close();
      const r = await s.req('GET', '/maintenance/services/stream?time_from=2000-01-01T00:00:00Z');
      expect({ status: r.status, code: errorOf(r).code }).toEqual({ status: 503, code: 'CLOSED' });
      expect(r.json.exception).toBe(`${EXC}.ServiceUnavailableException`);
    } finally {
      await s.handle.close(1000);
    }
  });
});

describe('export stream failures after the first byte', () => {
  it('cut the connection: the client sees a truncated body, never a complete array', async () => {
    const store = new TroubledStore();
    const { engine, handle, closed } = await watchedServer(store);
    try {
      await fill(engine, BIG);
      const res = await fetch(`${handle.url}${STREAM}&export_content=true`);
      expect(res.status).toBe(200);
      expect(res.headers.get('transfer-encoding')).toBe('chunked');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(
        Buffer.from(first.value ?? [])
          .toString()
          .startsWith('[{'),
      ).toBe(true);
      // The rest waits on backpressure (megabytes the client has not read): now the store fails.
      expect(closed).toEqual([false]);
      store.failWith = new ContextServicesError('STORE_FAILED', 'The store cannot be read');
      let text = '';
      await expect(
        (async () => {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            text += Buffer.from(value).toString();
          }
        })(),
      ).rejects.toThrow();
      expect(text.endsWith(']')).toBe(false);
      await until(() => closed[0] === true, 'the export iterator to close');
    } finally {
      store.failWith = undefined;
      await stop(handle, engine);
    }
  });
});

describe('a client that goes away closes the export iterator', () => {
  it('mid-stream', async () => {
    const store = new TroubledStore();
    const { engine, handle, closed } = await watchedServer(store);
    try {
      await fill(engine, BIG);
      const ac = new AbortController();
      const res = await fetch(`${handle.url}${STREAM}&export_content=true`, { signal: ac.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      expect(closed).toEqual([false]);
      ac.abort();
      await reader.read().catch(() => undefined);
      await until(() => closed[0] === true, 'the export iterator to close');
    } finally {
      await stop(handle, engine);
    }
  });

  it('while the first chunk is still being read, before the stream exists', async () => {
    const store = new TroubledStore();
    const { engine, handle, closed } = await watchedServer(store);
    try {
      await fill(engine, 1000);
      let open: () => void = () => undefined;
      store.gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const entered = new Promise<void>((resolve) => {
        store.entered = resolve;
      });
      const req = request(`${handle.url}${STREAM}&export_content=true`);
      req.on('error', () => undefined);
      req.end();
      await entered;
      req.destroy();
      await until(
        () => new Promise<boolean>((r) => handle.server.getConnections((_, n) => r(n === 0))),
        'the server to see the client go',
      );
      store.entered = undefined;
      store.gate = undefined;
      open();
      await until(() => closed[0] === true, 'the export iterator to close');
    } finally {
      await stop(handle, engine);
    }
  });
});
