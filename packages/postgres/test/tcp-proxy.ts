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
   * Hold the next commit a client sends, and everything that connection sends after it, until
   * `release()`: a transaction that has run every statement but has not committed yet. A commit
   * is a simple-protocol `COMMIT` (as node-postgres sends it), or, when `statement` is given, the
   * Sync message that ends an extended-protocol statement whose messages match it: a statement
   * outside BEGIN … COMMIT runs at Execute and commits at Sync. `held` resolves once a commit is
   * being held.
   */
  holdNextCommit(statement?: RegExp): { held: Promise<void>; release(): void };
}

/** The wire message of the simple query `COMMIT` (type 'Q', length 11, the text, NUL). */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from('COMMIT\0')]);
/** The wire message Sync (type 'S', length 4). */
const SYNC_MESSAGE = Buffer.from([0x53, 0, 0, 0, 4]);

/** Where in `chunk` the commit to hold starts, if it has one. */
function commitAt(chunk: Buffer, statement: RegExp | undefined): number | undefined {
  const at = chunk.indexOf(COMMIT_MESSAGE);
  if (at >= 0) return at;
  if (statement === undefined) return undefined;
  const match = statement.exec(chunk.toString('latin1'));
  if (match === null) return undefined;
  const sync = chunk.indexOf(SYNC_MESSAGE, match.index);
  return sync >= 0 ? sync : undefined;
}

export async function tcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  let gate: { hit: () => void; released: Promise<void>; statement: RegExp | undefined } | undefined;
  const make = () =>
    createServer((client) => {
      const upstream = connect(targetPort, host);
      track(client);
      track(upstream);
      // Client to server in order, through the gate: once a held COMMIT arrives, this connection's
      // data waits (in order) for the release.
      let tail: Promise<void> = Promise.resolve();
      const send = (data: Buffer) => {
        tail = tail.then(() => {
          if (!upstream.destroyed) upstream.write(data);
        });
      };
      client.on('data', (chunk: Buffer) => {
        const g = gate;
        const at = g === undefined ? undefined : commitAt(chunk, g.statement);
        if (g !== undefined && at !== undefined) {
          gate = undefined;
          // What comes before the commit goes through now: the statement runs.
          send(chunk.subarray(0, at));
          g.hit();
          tail = tail.then(() => g.released);
          send(chunk.subarray(at));
        } else send(chunk);
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
    holdNextCommit(statement) {
      let hit: () => void = () => undefined;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        hit = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { hit, released, statement };
      return { held, release };
    },
  };
}
