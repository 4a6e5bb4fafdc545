/** A small Server-Sent Events client for tests, like `curl -N`: a real HTTP connection, parsed as it arrives. */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';

/** One SSE message (comments are counted, not returned). */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly res: IncomingMessage;
  readonly req: ClientRequest;
  /** Comment lines (keep-alives) seen so far. */
  readonly comments: number;
  /** The next message; resolves `undefined` when the stream has ended. */
  next(): Promise<SseMessage | undefined>;
  /** The next `n` messages (fewer if the stream ends). */
  take(n: number): Promise<SseMessage[]>;
  /** Resolves when the server has ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Open `url` with `Accept: text/event-stream`; resolves once the response headers arrived. */
export function sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const queue: SseMessage[] = [];
      const waiters: ((m: SseMessage | undefined) => void)[] = [];
      let buffer = '';
      let done = false;
      let comments = 0;
      let endResolve: () => void = () => undefined;
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      const push = (m: SseMessage) => {
        const w = waiters.shift();
        if (w) w(m);
        else queue.push(m);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const m: SseMessage = { event: 'message', data: '' };
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            const i = line.indexOf(': ');
            const [name, value] = i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 2)];
            if (name === 'id') m.id = value;
            else if (name === 'event') m.event = value;
            else if (name === 'data') m.data = value;
            else continue;
            fields++;
          }
          if (fields > 0) push(m);
        }
      });
      const finish = () => {
        done = true;
        for (const w of waiters.splice(0)) w(undefined);
        endResolve();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        res,
        req,
        get comments() {
          return comments;
        },
        next() {
          const m = queue.shift();
          if (m !== undefined || done) return Promise.resolve(m);
          return new Promise((r) => waiters.push(r));
        },
        async take(n) {
          const out: SseMessage[] = [];
          while (out.length < n) {
            const m = await client.next();
            if (m === undefined) break;
            out.push(m);
          }
          return out;
        },
        ended,
        close() {
          req.destroy();
        },
      };
      resolve(client);
    });
    req.on('error', reject);
    req.end();
  });
}
