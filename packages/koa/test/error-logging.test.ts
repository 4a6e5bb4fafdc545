/**
 * What is logged and what is told (docs/spec.md §2.1, §13): a store failure answers a generic message
 * and the detail (path, OS message) goes to the log; client-caused conditions (unknown methods,
 * timeouts, aborted requests, parse errors, 4xx) never log at error level nor with a stack.
 */
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { type BatchOp, ContextServicesError, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/index.js';
import { BASE, errorOf, startServer, type TestServer } from './helpers.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const SECRET =
  'LevelDB write failed at /srv/secret/data: IO error: /srv/secret/data/000012.log: No space left on device';

class FullDiskStore extends MemoryStore {
  full = false;
  override async batch(ops: readonly BatchOp[]): Promise<void> {
    if (this.full)
      throw new ContextServicesError('STORE_FAILED', SECRET, { details: { location: '/srv/secret/data' } });
    return super.batch(ops);
  }
}

/** Log lines at error level or above, or carrying a stack. */
function loud(logs: Record<string, unknown>[]): Record<string, unknown>[] {
  return logs.filter((l) => (l.level as number) >= 50 || JSON.stringify(l).includes('"stack"'));
}

describe('5xx answers (docs/spec.md §2.1)', () => {
  it('STORE_FAILED: a generic message to the client, the path and OS message to the log', async () => {
    const store = new FullDiskStore();
    t = await startServer({}, { store });
    store.full = true;
    const r = await t.req('POST', '/services/start', { contact_key: 'k' });
    expect(r.status).toBe(500);
    const e = errorOf(r);
    expect(e.code).toBe('STORE_FAILED');
    expect(e.message).not.toMatch(/secret|No space|LevelDB/);
    expect(e.message).toMatch(/store/i);
    const logged = t.logs.filter((l) => l.level === 50);
    expect(JSON.stringify(logged)).toContain('No space left on device');
  });
});

describe('client-caused conditions are not errors (docs/spec.md §13)', () => {
  it('unknown method (501), 4xx, and an aborted upload: info or debug, no stack', async () => {
    t = await startServer();
    const unknown = await new Promise<number>((resolve, reject) => {
      const req = request(`${t?.origin}${BASE}/services/start`, { method: 'PROPFIND' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(unknown).toBe(501);
    expect((await t.req('GET', '/services/nope')).status).toBe(400);
    const malformed = await t.req('POST', '/services/start', '{bad json', {
      'content-type': 'application/json',
    });
    expect(malformed.status).toBe(400);
    // An upload the client abandons half-way.
    const socket = connect(t.handle.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"contact`,
    );
    const seen = t.logs.length;
    socket.destroy();
    // The request log line marks the end of the aborted request.
    while (!t.logs.slice(seen).some((l) => l.msg === 'request')) await new Promise((r) => setImmediate(r));
    // Garbage that is not HTTP.
    const garbage = connect(t.handle.port, '127.0.0.1');
    garbage.on('error', () => undefined);
    garbage.resume();
    garbage.end('NOT HTTP AT ALL\r\n\r\n');
    await once(garbage, 'close');
    expect(loud(t.logs)).toEqual([]);
  });

  it('a request timed out by the server (Node requestTimeout) is not logged as an error', async () => {
    const engine = await createContextServices({ store: new MemoryStore() });
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
    const app = createApp(engine, { logger, bodyTimeout: 60_000 });
    const server = createServer(
      { requestTimeout: 200, headersTimeout: 100, connectionsCheckingInterval: 20 },
      app.callback(),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      await once(socket, 'connect');
      socket.write(
        `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
      await once(socket, 'close');
      while (!logs.some((l) => l.msg === 'request')) await new Promise((r) => setImmediate(r));
      expect(loud(logs)).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
      await engine.close();
    }
  });
});
