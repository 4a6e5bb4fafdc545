/** The standalone server's listener: listen, and shut down gracefully. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { WRITE_CONTINUE } from './body.js';
import { endEventStreams } from './event-stream.js';

/**
 * Limits that keep slow or idle clients from holding the server (docs/spec.md §13), in milliseconds.
 * Node answers a request whose headers (or whole request) are late with a bare 408 and closes the
 * connection; a late body is answered by the router's `bodyTimeout` first, in the JSON shape.
 */
export interface ListenLimits {
  /** Time to receive a request's headers (default 20,000). */
  headersTimeout: number;
  /**
   * Time to receive a whole request, headers and body (default 60,000): the backstop behind the
   * router's `bodyTimeout`, for requests whose body no route reads. At least `headersTimeout`.
   */
  requestTimeout: number;
  /** Time an idle keep-alive connection is kept open between requests (default 5,000). */
  keepAliveTimeout: number;
  /** Connections open at once; more are closed as soon as they are accepted (default 1,024). */
  maxConnections: number;
}

/** The defaults of {@link ListenLimits}. */
export const DEFAULT_LISTEN_LIMITS: Readonly<ListenLimits> = Object.freeze({
  headersTimeout: 20_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
  maxConnections: 1024,
});

/** Options of {@link listen}. */
export interface ListenOptions extends Partial<ListenLimits> {
  port: number;
  host: string;
}

function limitsOf(options: ListenOptions): ListenLimits {
  const limits = { ...DEFAULT_LISTEN_LIMITS };
  for (const key of Object.keys(DEFAULT_LISTEN_LIMITS) as (keyof ListenLimits)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0) throw new TypeError(`listen: ${key} must be a positive integer`);
    limits[key] = v;
  }
  if (limits.requestTimeout < limits.headersTimeout)
    throw new TypeError('listen: requestTimeout must be at least headersTimeout');
  return limits;
}

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
 * Listen with `app` on `host:port` (port 0 = any free port), with the {@link ListenLimits} set.
 * A request with `Expect: 100-continue` is invited to send its body only when a route starts
 * reading it, after its headers passed every check (a too-large `Content-Length` gets 413 at once).
 *
 * @example
 * ```ts
 * const handle = await listen(createApp(engine), { port: 8080, host: '127.0.0.1' });
 * process.once('SIGTERM', () => handle.close().then(() => engine.close()));
 * ```
 */
export async function listen(app: Koa, options: ListenOptions): Promise<ServerHandle> {
  const limits = limitsOf(options);
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const handler = app.callback();
  function forget(this: ServerResponse) {
    inFlight.delete(this);
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', forget);
    if (closing) res.setHeader('Connection', 'close');
    void handler(req, res);
  };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      // Node checks the two timeouts above on this period (30 s by default, longer than they may be).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeout / 4)),
    },
    onRequest,
  );
  server.maxConnections = limits.maxConnections;
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    let invited = false;
    (req as IncomingMessage & { [WRITE_CONTINUE]?: () => void })[WRITE_CONTINUE] = () => {
      invited = true;
      res.writeContinue();
    };
    // Answered without inviting the body (401, 413, a route that reads none): the client may
    // never send it, so the connection cannot carry another request.
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!invited && !this.headersSent) this.setHeader('Connection', 'close');
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    onRequest(req, res);
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
