/**
 * Ordinary traffic at a fixed rate (open loop): every 5 ms, start as many "start a service, then
 * read it back" pairs as the schedule calls for, whatever the latency of earlier ones, and time
 * every request. Unlike a closed loop (or autocannon's per-second rate), a slow server does not
 * slow the arrivals down, so a stall shows in the latencies.
 */
import { Agent, request } from 'node:http';
import { SERVICE_START_JSON } from './conversation.js';
import { BASE } from './http-load.js';
import { summarize } from './stats.js';

interface Reply {
  status: number;
  body: string;
}

/**
 * One request. A keep-alive socket the server closed as idle (its `keepAliveTimeout`) while this
 * request was being written to it fails with ECONNRESET before the server saw anything: that
 * request is sent again once on a fresh socket, as Node's documentation of `request.reusedSocket`
 * advises. Any other error is a failure.
 */
async function send(agent: Agent, url: URL, method: string, path: string, body?: string): Promise<Reply> {
  try {
    return await sendOnce(agent, url, method, path, body);
  } catch (err) {
    if ((err as { reusedSocketReset?: boolean }).reusedSocketReset !== true) throw err;
    return sendOnce(agent, url, method, path, body);
  }
}

function sendOnce(agent: Agent, url: URL, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (req.reusedSocket && err.code === 'ECONNRESET') Object.assign(err, { reusedSocketReset: true });
      reject(err);
    });
    req.end(body);
  });
}

/** Latencies (ms) of the requests sent, and the failures. */
export interface PacedResult {
  p50: number;
  p99: number;
  requests: number;
  failures: number;
}

/** Start the traffic now; `stop()` waits for the requests in flight and summarizes. */
export function pacedTraffic(baseUrl: string, pairsPerSecond: number): { stop: () => Promise<PacedResult> } {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let failures = 0;
  const inFlight = new Set<Promise<void>>();
  const timed = async (method: string, path: string, body?: string): Promise<Reply> => {
    const t0 = performance.now();
    const r = await send(agent, url, method, path, body);
    latencies.push(performance.now() - t0);
    if (r.status >= 300) failures++;
    return r;
  };
  const pair = async () => {
    try {
      const started = await timed('POST', `${BASE}/services/start`, SERVICE_START_JSON);
      const { service_id } = JSON.parse(started.body) as { service_id: string };
      await timed('GET', `${BASE}/services/${service_id}`);
    } catch {
      failures++;
    }
  };
  const t0 = performance.now();
  let issued = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * pairsPerSecond);
    for (; issued < due; issued++) {
      const p = pair();
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      agent.destroy();
      const s = summarize(latencies);
      return { p50: s.p50, p99: s.p99, requests: s.n, failures };
    },
  };
}
