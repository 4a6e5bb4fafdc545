/**
 * HTTP suite: the standalone server (memory and LevelDB stores) beside two bare baselines (Koa +
 * @koa/router, node:http), each in its own process, driven by autocannon from this process.
 * Scenarios: start service, get service with its states and tasks, the 33-request conversation.
 * Rounds are interleaved (every target once per round) so that drift hits all targets alike.
 */
import { writeFile } from 'node:fs/promises';
import {
  REQUESTS_PER_CONVERSATION,
  SERVICE_START_JSON,
  STATE_START,
  TASK_END,
  taskStartBody,
} from '../lib/conversation.js';
import {
  BASE,
  conversationRequests,
  getServiceRequests,
  loadRound,
  type Round,
  startServiceRequests,
} from '../lib/http-load.js';
import { type ServerProcess, startServer } from '../lib/procs.js';
import { quantile, runConcurrent, secondsSince } from '../lib/stats.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';

const CONNECTIONS = 32;
const CLI = 'packages/server/src/cli/main.ts';

/** Start a cxs server: request logs off (warn level), the rest as configured by default. */
export function startCxs(name: string, store: 'memory' | 'level', dir: string): Promise<ServerProcess> {
  return startServer(name, CLI, [
    'serve',
    '--port',
    '0',
    '--store',
    store,
    '--data',
    `${dir}/data`,
    '--export-dir',
    `${dir}/exports`,
    '--log-level',
    'warn',
  ]);
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
}

/** Services with 5 states and 10 tasks (half of them completed), for the get scenario. */
async function prepareServices(server: ServerProcess, count: number): Promise<string[]> {
  const sids: string[] = [];
  await runConcurrent(count, 8, async () => {
    const { service_id } = (await post(`${server.url}${BASE}/services/start`, SERVICE_START_JSON)) as {
      service_id: string;
    };
    const s = `${server.url}${BASE}/services/${service_id}`;
    for (let st = 0; st < 5; st++) {
      const { state_id } = (await post(`${s}/states/start`, STATE_START)) as { state_id: number };
      for (let t = 0; t < 2; t++) {
        const { task_id } = (await post(`${s}/tasks/start`, taskStartBody(state_id))) as { task_id: number };
        if (t === 0) await post(`${s}/tasks/${task_id}/end`, TASK_END);
      }
      if (st < 2) await post(`${s}/states/${state_id}/end`, {});
    }
    sids.push(service_id);
  });
  return sids;
}

interface Target {
  name: string;
  server: ServerProcess;
}

/** The HTTP suite. */
export async function httpSuite({ quick, rec }: SuiteContext): Promise<void> {
  const warm = quick ? 1 : 3;
  const roundSeconds = quick ? 1.5 : 6;
  const rounds = quick ? 2 : 5;
  const dirMem = await tempDir('http-memory');
  const dirLevel = await tempDir('http-level');
  const servers: ServerProcess[] = [];
  try {
    const t0 = performance.now();
    const [mem, level] = await Promise.all([
      startCxs('cxs-memory', 'memory', dirMem),
      startCxs('cxs-level', 'level', dirLevel),
    ]);
    servers.push(mem, level);
    const prepared = quick ? 32 : 128;
    const [memSids, levelSids] = await Promise.all([
      prepareServices(mem, prepared),
      prepareServices(level, prepared),
    ]);
    const sample = await (
      await fetch(
        `${mem.url}${BASE}/services/${memSids[0]}?active_states=true&completed_states=true&active_tasks=true&completed_tasks=true`,
      )
    ).text();
    const sampleFile = `${dirMem}/get-body.json`;
    await writeFile(sampleFile, sample);
    const [koa, bare] = await Promise.all([
      startServer('bare-koa', 'bench/servers/bare-koa.ts', ['--get-body', sampleFile]),
      startServer('bare-http', 'bench/servers/bare-http.ts', ['--get-body', sampleFile]),
    ]);
    servers.push(koa, bare);
    rec.fact('http', 'setup', {
      seconds: Math.round(secondsSince(t0) * 10) / 10,
      preparedServicesPerStore: prepared,
      getBodyBytes: Buffer.byteLength(sample),
      startBodyBytes: Buffer.byteLength(SERVICE_START_JSON),
      connections: CONNECTIONS,
      warmupSeconds: warm,
      rounds,
      roundSeconds,
    });
    const targets: Target[] = [
      { name: 'bare-koa', server: koa },
      { name: 'bare-http', server: bare },
      { name: 'memory', server: mem },
      { name: 'level', server: level },
    ];
    const sidsOf = (t: Target) => (t.name === 'level' ? levelSids : memSids);
    const scenarios = [
      {
        name: 'start-service',
        requests: (_t: Target) => startServiceRequests(),
        target: 0.6,
        targetOn: ['memory', 'level'],
      },
      {
        name: 'get-service',
        requests: (t: Target) => getServiceRequests(sidsOf(t)),
        target: undefined,
        targetOn: [],
      },
      {
        name: 'conversation',
        requests: (_t: Target) => conversationRequests(),
        target: 0.5,
        targetOn: ['level'],
      },
    ];
    for (const sc of scenarios) {
      log(
        `http ${sc.name}: warm-up ${warm}s per target, then ${rounds} × ${roundSeconds}s rounds, interleaved`,
      );
      for (const t of targets) {
        await loadRound({
          url: t.server.url,
          seconds: warm,
          connections: CONNECTIONS,
          requests: sc.requests(t),
        });
      }
      const results = new Map<string, Round[]>(targets.map((t) => [t.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const t of targets) {
          const round = await loadRound({
            url: t.server.url,
            seconds: roundSeconds,
            connections: CONNECTIONS,
            requests: sc.requests(t),
            ...(t.server.child.pid === undefined ? {} : { serverPid: t.server.child.pid }),
          });
          if (round.non2xx > 0 || round.errors > 0) {
            throw new Error(
              `http ${sc.name} on ${t.name}: ${round.non2xx} non-2xx responses, ${round.errors} errors`,
            );
          }
          results.get(t.name)?.push(round);
        }
      }
      // The median round of each target: a round disturbed by the shared machine's other work
      // (which moved a target's CPU per request by up to a half between rounds) moves it little.
      const agg = (name: string) => {
        const rs = results.get(name) ?? [];
        const median = (f: (x: Round) => number) =>
          quantile(
            rs.map(f).sort((x, y) => x - y),
            0.5,
          );
        return {
          rps: median((x) => x.rps),
          p50: median((x) => x.p50),
          p99: median((x) => x.p99),
          // Server CPU time over the responses of the round (µs per request).
          cpuUs: median((x) => ((x.serverCpuSeconds ?? Number.NaN) * 1e6) / x.responses),
        };
      };
      const koaAgg = agg('bare-koa');
      const httpAgg = agg('bare-http');
      rec.add({
        name: `http.${sc.name}.bare-koa.rps`,
        value: koaAgg.rps,
        unit: 'req/s',
        baseline: { name: 'bare-http req/s', value: httpAgg.rps },
        note: 'the Koa baseline itself, beside node:http',
      });
      rec.add({
        name: `http.${sc.name}.bare-koa.cpu-us-per-req`,
        value: koaAgg.cpuUs,
        unit: 'µs CPU/req',
        baseline: { name: 'bare-http µs CPU/req', value: httpAgg.cpuUs },
        note: 'server process CPU (utime + stime) over the requests served',
      });
      for (const store of ['memory', 'level']) {
        const a = agg(store);
        const target = sc.target !== undefined && sc.targetOn.includes(store) ? sc.target : undefined;
        rec.add({
          name: `http.${sc.name}.${store}.rps`,
          value: a.rps,
          unit: 'req/s',
          baseline: { name: 'bare-koa req/s', value: koaAgg.rps },
          ...(target === undefined ? {} : { target: { on: 'ratio', op: '>=', value: target } }),
          note: `${CONNECTIONS} connections, median of ${rounds} rounds of ${roundSeconds}s`,
        });
        rec.add({
          name: `http.${sc.name}.${store}.cpu-us-per-req`,
          value: a.cpuUs,
          unit: 'µs CPU/req',
          baseline: { name: 'bare-koa µs CPU/req', value: koaAgg.cpuUs },
          note: 'server process CPU (utime + stime) over the requests served',
        });
        rec.add({
          name: `http.${sc.name}.${store}.cpu-us-per-req-vs-node-http`,
          value: a.cpuUs,
          unit: 'µs CPU/req',
          baseline: { name: 'bare-http µs CPU/req', value: httpAgg.cpuUs },
        });
        rec.add({
          name: `http.${sc.name}.${store}.rps-vs-node-http`,
          value: a.rps,
          unit: 'req/s',
          baseline: { name: 'bare-http req/s', value: httpAgg.rps },
        });
        rec.add({
          name: `http.${sc.name}.${store}.p50`,
          value: a.p50,
          unit: 'ms',
          baseline: { name: 'bare-koa p50', value: koaAgg.p50 },
        });
        rec.add({
          name: `http.${sc.name}.${store}.p99`,
          value: a.p99,
          unit: 'ms',
          baseline: { name: 'bare-koa p99', value: koaAgg.p99 },
        });
        if (sc.name === 'conversation') {
          rec.add({
            name: `http.conversation.${store}.conversations-per-s`,
            value: a.rps / REQUESTS_PER_CONVERSATION,
            unit: 'conversations/s',
            baseline: { name: 'bare-koa conversations/s', value: koaAgg.rps / REQUESTS_PER_CONVERSATION },
          });
        }
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([removeDir(dirMem), removeDir(dirLevel)]);
  }
}
