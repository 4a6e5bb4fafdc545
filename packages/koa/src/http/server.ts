/** The standalone server's listener: listen, and shut down gracefully. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { endEventStreams } from './event-stream.js';

/** A listening server. */
export interface ServerHandle {
  readonly server: Server;
  /** `http://<host>:<port>` with the real port (useful with port 0). */
  readonly url: string;
  readonly port: number;
  /**
   * Stop accepting connections, end open event streams (`GET /events`), let requests in flight
   * finish (their responses say `Connection: close`), close idle keep-alive connections, and
   * resolve when every connection is closed. After `timeoutMs` the remaining connections are cut.
   */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Listen with `app` on `host:port` (port 0 = any free port).
 *
 * @example
 * ```ts
 * const handle = await listen(createApp(engine), { port: 8080, host: '127.0.0.1' });
 * process.once('SIGTERM', () => handle.close().then(() => engine.close()));
 * ```
 */
export async function listen(app: Koa, options: { port: number; host: string }): Promise<ServerHandle> {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const handler = app.callback();
  const server = createServer((req, res) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (closing) res.setHeader('Connection', 'close');
    void handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close(timeoutMs = 30_000) {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        // Event streams never finish by themselves: end them (clients resume with Last-Event-ID).
        endEventStreams(inFlight);
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
