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
  /**
   * Hold the next `COMMIT` a client sends (a simple-protocol query, as node-postgres sends it),
   * and everything that connection sends after it, until `release()`: a transaction that has run
   * every statement but has not committed yet. `held` resolves once a COMMIT is being held.
   */
  holdNextCommit(): { held: Promise<void>; release(): void };
}

/** The wire message of the simple query `COMMIT` (type 'Q', length 11, the text, NUL). */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

export async function tcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  let gate: { hit: () => void; released: Promise<void> } | undefined;
  const make = () =>
    createServer((client) => {
      const upstream = connect(targetPort, host);
      track(client);
      track(upstream);
      // Client to server in order, through the gate: once a held COMMIT arrives, this connection's
      // data waits (in order) for the release.
      let tail: Promise<void> = Promise.resolve();
      client.on('data', (chunk: Buffer) => {
        const g = gate;
        if (g !== undefined && chunk.includes(COMMIT_MESSAGE)) {
          gate = undefined;
          g.hit();
          tail = tail.then(() => g.released);
        }
        tail = tail.then(() => {
          if (!upstream.destroyed) upstream.write(chunk);
        });
      });
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
    holdNextCommit() {
      let hit: () => void = () => undefined;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        hit = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { hit, released };
      return { held, release };
    },
  };
}
