/** autocannon rounds and the request sequences of the HTTP suite. */
import autocannon from 'autocannon';
import {
  ALL_CHILDREN,
  SERVICE_END,
  SERVICE_START_JSON,
  STATE_END,
  STATE_START,
  STATES,
  TASK_END,
  TASKS_PER_STATE,
  taskStartBody,
} from './conversation.js';
import { processCpuSeconds } from './procs.js';

/** Base path of the routes (docs/spec.md §4). */
export const BASE = '/genesys/1/cs';
const JSON_HEADERS = { 'content-type': 'application/json' };
const EMBED = new URLSearchParams(
  Object.fromEntries(Object.entries(ALL_CHILDREN).map(([k, v]) => [k, String(v)])),
).toString();

/** One round's outcome. */
export interface Round {
  /** Successful (2xx) responses per second. */
  rps: number;
  p50: number;
  p99: number;
  /** Responses that were not 2xx, and connection errors: both must be 0 for a valid round. */
  non2xx: number;
  errors: number;
  /** Responses received (2xx or not). */
  responses: number;
  /** CPU time the server process used during the round, when its pid was given (seconds). */
  serverCpuSeconds?: number;
}

/** Per-connection state of a virtual caller. */
interface Caller {
  sid?: string;
  state?: number;
  task?: number;
}

/** The id in a start response: `service_id`/`state_id`/`task_id`, or a baseline's `id`. */
function idOf(body: string, key: 'service_id' | 'state_id' | 'task_id'): string | number | undefined {
  try {
    const b = JSON.parse(body) as Record<string, string | number | undefined>;
    return b[key] ?? b.id;
  } catch {
    return undefined;
  }
}

/** SRV.1 with the conversation's start event. */
export function startServiceRequests(): autocannon.Request[] {
  return [
    { method: 'POST', path: `${BASE}/services/start`, headers: JSON_HEADERS, body: SERVICE_START_JSON },
  ];
}

/** SRV.14 with every state and task embedded, cycling over prepared services. */
export function getServiceRequests(sids: readonly string[]): autocannon.Request[] {
  let i = 0;
  return [
    {
      method: 'GET',
      setupRequest: (req) => ({ ...req, path: `${BASE}/services/${sids[i++ % sids.length]}?${EMBED}` }),
    },
  ];
}

/**
 * The 33 requests of a conversation, each connection a virtual caller that carries the ids it
 * was given from one request to the next (autocannon's per-connection context).
 */
export function conversationRequests(): autocannon.Request[] {
  const post = (path: (c: Caller) => string, body: unknown, keep?: 'service_id' | 'state_id' | 'task_id') => {
    const text = JSON.stringify(body);
    const r: autocannon.Request = {
      method: 'POST',
      headers: JSON_HEADERS,
      setupRequest: (req, context) => ({ ...req, path: `${BASE}${path(context as Caller)}`, body: text }),
    };
    if (keep !== undefined) {
      r.onResponse = (_status, responseBody, context) => {
        const c = context as Caller;
        const id = idOf(responseBody, keep);
        if (keep === 'service_id') c.sid = String(id);
        else if (keep === 'state_id') c.state = Number(id);
        else c.task = Number(id);
      };
    }
    return r;
  };
  const reqs: autocannon.Request[] = [
    {
      method: 'POST',
      path: `${BASE}/services/start`,
      headers: JSON_HEADERS,
      body: SERVICE_START_JSON,
      onResponse: (_s, body, context) => {
        (context as Caller).sid = String(idOf(body, 'service_id'));
      },
    },
  ];
  for (let s = 0; s < STATES; s++) {
    reqs.push(post((c) => `/services/${c.sid}/states/start`, STATE_START, 'state_id'));
    for (let t = 0; t < TASKS_PER_STATE; t++) {
      // The state id is known only at run time: the body is built per request.
      reqs.push({
        method: 'POST',
        headers: JSON_HEADERS,
        setupRequest: (req, context) => {
          const c = context as Caller;
          return {
            ...req,
            path: `${BASE}/services/${c.sid}/tasks/start`,
            body: JSON.stringify(taskStartBody(c.state ?? 1)),
          };
        },
        onResponse: (_s, body, context) => {
          (context as Caller).task = Number(idOf(body, 'task_id'));
        },
      });
      reqs.push(post((c) => `/services/${c.sid}/tasks/${c.task}/end`, TASK_END));
    }
    reqs.push(post((c) => `/services/${c.sid}/states/${c.state}/end`, STATE_END));
  }
  reqs.push(post((c) => `/services/${c.sid}/end`, SERVICE_END));
  reqs.push({
    method: 'GET',
    setupRequest: (req, context) => ({
      ...req,
      path: `${BASE}/services/${(context as Caller).sid}?${EMBED}`,
    }),
  });
  return reqs;
}

/** Options of one autocannon round. */
export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  requests: autocannon.Request[];
  /** Fixed total rate (requests/s) instead of as fast as possible. */
  overallRate?: number;
  /** The server's process id: its CPU time is read before and after the round. */
  serverPid?: number;
}

/** One autocannon round (the load generator runs in this process). */
export async function loadRound(o: LoadOptions): Promise<Round> {
  const cpu0 = o.serverPid === undefined ? 0 : processCpuSeconds(o.serverPid);
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    requests: o.requests,
    ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
  });
  const round = roundOf(result);
  if (o.serverPid !== undefined) round.serverCpuSeconds = processCpuSeconds(o.serverPid) - cpu0;
  return round;
}

/** The figures of one autocannon run. */
function roundOf(result: autocannon.Result): Round {
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    responses: result['2xx'] + result.non2xx,
  };
}

/** Start an autocannon run now; `stop()` ends it and resolves to its round. */
export function startLoad(o: Omit<LoadOptions, 'seconds'> & { maxSeconds: number }): {
  stop: () => Promise<Round>;
} {
  const instance = autocannon(
    {
      url: o.url,
      connections: o.connections,
      duration: o.maxSeconds,
      requests: o.requests,
      ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
    },
    () => undefined,
  );
  const done = new Promise<autocannon.Result>((resolve) => instance.once('done', resolve));
  return {
    async stop() {
      instance.stop();
      return roundOf(await done);
    },
  };
}
