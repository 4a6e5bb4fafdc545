import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a loopback port to a real server, so that tests can cut the connections of a
 * store or make the server unreachable and reachable again without touching the server itself.
 */
export interface TcpProxy {
  readonly port: number;
  /** Destroy every proxied connection (both sides); keep accepting new ones. */
  cut(): void;
  /** Stop accepting (connections are then refused) and cut every connection. */
  stop(): Promise<void>;
  /** Accept connections again, on the same port. */
  resume(): Promise<void>;
}

export async function tcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const make = () =>
    createServer((client) => {
      const upstream = connect(targetPort, host);
      track(client);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  let server: Server = make();
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  const port = await listen(0);
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    cut,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      cut();
      await closed;
    },
    async resume() {
      server = make();
      await listen(port);
    },
  };
}
