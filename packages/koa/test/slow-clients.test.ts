/**
 * Slow and idle clients cannot hold the server (docs/spec.md §13): a body sent a byte at a time gets 408 in
 * the JSON shape once the body timeout passes, connections past the limit are refused, and a
 * too-large `Content-Length` with `Expect: 100-continue` gets 413 without `100 Continue`.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE, startServer, type TestServer } from './helpers.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A raw connection that collects everything the server sends until it closes. */
async function rawConnection(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => {
    data += c;
  });
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  return { socket, received: () => data, closed };
}

/** Resolves when `predicate` holds on what the connection received, or when it closes. */
async function until(conn: { socket: Socket; received: () => string }, predicate: (s: string) => boolean) {
  while (!predicate(conn.received()) && !conn.socket.destroyed) {
    await Promise.race([once(conn.socket, 'data'), once(conn.socket, 'close')]);
  }
}

describe('slow clients', () => {
  it('a body trickling in a byte at a time gets 408 REQUEST_TIMEOUT in the JSON shape, and the connection is closed', async () => {
    const bodyTimeout = 300;
    t = await startServer({ bodyTimeout });
    const conn = await rawConnection(t.handle.port);
    const body = JSON.stringify({ contact_key: 'slow', Note: 'x'.repeat(1000) });
    conn.socket.write(
      `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const started = performance.now();
    // One byte every 20 ms: the whole body would take 20 s, far past the timeout.
    let i = 0;
    const trickle = setInterval(() => {
      if (!conn.socket.destroyed && i < body.length) conn.socket.write(body[i++] as string);
    }, 20);
    try {
      await conn.closed;
    } finally {
      clearInterval(trickle);
    }
    const elapsed = performance.now() - started;
    console.log(
      `slow body: ${i} of ${body.length} bytes sent, 408 after ${Math.round(elapsed)} ms (bodyTimeout ${bodyTimeout} ms)`,
    );
    const reply = conn.received();
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toMatch(/connection: close/i);
    const json = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    expect(json).toMatchObject({
      code: 'REQUEST_TIMEOUT',
      exception: expect.stringMatching(/RequestTimeoutException$/),
    });
    // Cut at the timeout, not when the client finished sending.
    expect(elapsed).toBeGreaterThanOrEqual(bodyTimeout - 20);
    expect(i).toBeLessThan(body.length);
    expect(await t.snapshot()).toEqual([]);
  });

  it('connections past maxConnections are closed when accepted; freed slots serve again', async () => {
    t = await startServer({}, {}, { maxConnections: 2 });
    const a = await rawConnection(t.handle.port);
    const b = await rawConnection(t.handle.port);
    // Make sure both are accepted and counted before the third arrives.
    for (const c of [a, b]) {
      c.socket.write(`GET ${BASE}/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n`);
      await until(c, (s) => s.includes('\r\n\r\n'));
    }
    const extra = await rawConnection(t.handle.port);
    extra.socket.write(`GET ${BASE}/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n`);
    await extra.closed;
    expect(extra.received()).toBe('');
    a.socket.destroy();
    await a.closed;
    // The server counts the closed connection once it sees the close.
    let served = false;
    for (let attempt = 0; attempt < 50 && !served; attempt++) {
      const c = await rawConnection(t.handle.port);
      c.socket.write(`GET ${BASE}/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await c.closed;
      served = c.received().startsWith('HTTP/1.1 200');
    }
    expect(served).toBe(true);
    b.socket.destroy();
  });

  it('Expect: 100-continue with a too-large Content-Length: 413 without 100 Continue; a fitting one is invited', async () => {
    t = await startServer({ bodyLimit: 1024 });
    const big = await rawConnection(t.handle.port);
    big.socket.write(
      `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n`,
    );
    await until(big, (s) => /\r\n\r\n[\s\S]*\}/.test(s));
    expect(big.received()).not.toMatch(/100 Continue/);
    expect(big.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(big.received()).toMatch(/"code":"BODY_TOO_LARGE"/);
    // The body was never invited: the connection is not reused.
    expect(big.received()).toMatch(/connection: close/i);
    big.socket.destroy();

    const ok = await rawConnection(t.handle.port);
    const body = '{"contact_key":"continue"}';
    ok.socket.write(
      `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    await until(ok, (s) => s.includes('100 Continue'));
    expect(ok.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    ok.socket.write(body);
    await ok.closed;
    expect(ok.received()).toMatch(/HTTP\/1\.1 201 /);
  });
});
