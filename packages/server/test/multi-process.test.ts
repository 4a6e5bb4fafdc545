/**
 * docs/spec.md §11 across real processes: three `cxs serve --store postgres` processes on one schema,
 * with clients spreading every write of the same services over all three; then the integrity
 * checker of @cxs/core/testing on the database, and every acknowledged write looked up. Also a
 * process killed with SIGKILL mid-load, and PostgreSQL itself restarted mid-load (a server of
 * this test's own, so that restarting it disturbs no one else). Fixed seeds; the counts are
 * printed for the record.
 */
import { seededRandom, verifyStoreIntegrity } from '@cxs/core/testing';
import { PostgresStore } from '@cxs/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, type Reply, send } from '../../koa/test/helpers.js';
import { startEmbeddedPostgres, type TestServer } from '../../postgres/test/embedded-postgres.js';
import { pgUrl, testSchemas } from '../../postgres/test/pg-harness.js';
import { type ServeProcess, serveCli, stopServe, waitFor } from './cli-process.js';

/** What the clients saw. */
interface Counts {
  requests: number;
  acknowledged: number;
  conflict503: number;
  unavailable503: number;
  networkErrors: number;
}

/** Acknowledged writes: services, and the state and task ids each service answered. */
interface Ledger {
  services: Set<string>;
  states: Map<string, number[]>;
  tasks: Map<string, number[]>;
}

const newLedger = (): Ledger => ({ services: new Set(), states: new Map(), tasks: new Map() });
const push = (m: Map<string, number[]>, sid: string, id: number) => {
  const list = m.get(sid) ?? [];
  list.push(id);
  m.set(sid, list);
};

/**
 * Clients of a group of servers: each call goes to the server `pick` chooses among the live ones
 * and is retried on a 503 (CONFLICT and STORE_UNAVAILABLE are retriable) or a broken connection,
 * as a real client behind a load balancer does; every 2xx of a write is entered in the ledger.
 */
class Clients {
  readonly counts: Counts = {
    requests: 0,
    acknowledged: 0,
    conflict503: 0,
    unavailable503: 0,
    networkErrors: 0,
  };
  readonly ledger = newLedger();
  readonly live: ServeProcess[];
  #next = 0;
  readonly #random: () => number;

  constructor(servers: ServeProcess[], seed: number) {
    this.live = [...servers];
    this.#random = seededRandom(seed);
  }

  /** Round-robin over the live servers, so that concurrent writes of one service hit all of them. */
  origin(): string {
    const server = this.live[this.#next++ % this.live.length] as ServeProcess;
    return server.url;
  }

  random(): number {
    return this.#random();
  }

  async call(method: string, path: string, body?: unknown, maxAttempts = 200): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      this.counts.requests++;
      let reply: Reply | undefined;
      try {
        reply = await send(`${this.origin()}${BASE}${path}`, method, body);
      } catch {
        // The process died (SIGKILL) with the request in flight: unacknowledged, so not in the ledger.
        this.counts.networkErrors++;
      }
      if (reply !== undefined && reply.status !== 503) {
        if (reply.status < 300 && method !== 'GET') this.counts.acknowledged++;
        return reply;
      }
      if (reply !== undefined) {
        if (reply.json?.code === 'CONFLICT') this.counts.conflict503++;
        else this.counts.unavailable503++;
      }
      if (attempt >= maxAttempts)
        throw new Error(`${method} ${path}: still failing after ${attempt} attempts`);
      // Client back-off with jitter before retrying.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(this.random() * 45)));
    }
  }

  async startService(body: Record<string, unknown>): Promise<string> {
    const r = await this.call('POST', '/services/start', body);
    expect(r.status, r.text).toBe(201);
    const sid = String(r.json.service_id);
    this.ledger.services.add(sid);
    return sid;
  }

  /** A state or task start; undefined when refused (the service expired or completed). */
  async startChild(kind: 'states' | 'tasks', sid: string, type: string): Promise<number | undefined> {
    const r = await this.call('POST', `/services/${sid}/${kind}/start`, {
      [`${kind.slice(0, -1)}_type`]: type,
    });
    if (r.status !== 201) return undefined;
    const id = Number(kind === 'states' ? r.json.state_id : r.json.task_id);
    push(kind === 'states' ? this.ledger.states : this.ledger.tasks, sid, id);
    return id;
  }

  /** Every acknowledged write is there (services listed in `gone` were expired on purpose). */
  async verifyLedger(gone: ReadonlySet<string> = new Set()): Promise<number> {
    let checked = 0;
    for (const sid of this.ledger.services) {
      if (gone.has(sid)) continue;
      const service = await this.call('GET', `/services/${sid}`);
      expect(service.status, `acknowledged service ${sid}`).toBe(200);
      checked++;
    }
    for (const [kind, map] of [
      ['states', this.ledger.states],
      ['tasks', this.ledger.tasks],
    ] as const) {
      for (const [sid, ids] of map) {
        if (gone.has(sid)) continue;
        const r = await this.call('GET', `/services/${sid}/${kind}`);
        expect(r.status).toBe(200);
        const stored = new Set(
          (r.json as Record<string, number>[]).map((x) => x[kind === 'states' ? 'state_id' : 'task_id']),
        );
        const missing = ids.filter((id) => !stored.has(id));
        expect(missing, `acknowledged ${kind} of ${sid} missing`).toEqual([]);
        // Unique: no id was acknowledged twice.
        expect(new Set(ids).size).toBe(ids.length);
        checked += ids.length;
      }
    }
    return checked;
  }
}

/** Run `n` calls of `work` at once; resolves to their results in order. */
const together = <T>(n: number, work: (i: number) => Promise<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => work(i)));

async function integrity(url: string, schema: string): Promise<string[]> {
  const store = new PostgresStore({ connectionString: url, schema, poolSize: 2 });
  await store.open();
  try {
    return await verifyStoreIntegrity(store, { denseIds: true });
  } finally {
    await store.close();
  }
}

/** The servers' own conflict counters, summed over the live ones (from /metrics). */
async function serverRetries(servers: readonly ServeProcess[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = {
    engineConflictRetries: 0,
    engineConflicts: 0,
    pgSerializationRetries: 0,
  };
  for (const server of servers) {
    const text = (await send(`${server.url}/metrics`, 'GET')).text;
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    sum.engineConflictRetries =
      (sum.engineConflictRetries ?? 0) + value(/^cxs_conflict_retries_total (\d+)$/m);
    sum.engineConflicts = (sum.engineConflicts ?? 0) + value(/^cxs_conflicts_total (\d+)$/m);
    sum.pgSerializationRetries =
      (sum.pgSerializationRetries ?? 0) + value(/^cxs_store_stats_total\{stat="retries"\} (\d+)$/m);
  }
  return sum;
}

const report: Record<string, unknown> = {};
afterAll(() => {
  // The figures quoted in the release notes.
  console.log(`multi-process counts: ${JSON.stringify(report, null, 2)}`);
});

const SERVE = [
  '--store',
  'postgres',
  '--sweep-interval',
  '1',
  '--auto-complete-after',
  '86400',
  '--log-level',
  'error',
];

describe('three cxs serve processes on one PostgreSQL schema', { timeout: 300_000 }, () => {
  const schemas = testSchemas();
  let url: string;
  let schema: string;
  let servers: ServeProcess[] = [];
  let clients: Clients;
  const expired = new Set<string>();

  beforeAll(async () => {
    url = await pgUrl();
    schema = schemas.next();
    // The first opener creates the schema; the others then open it at once.
    servers = await Promise.all(
      [0, 1, 2].map(() => serveCli([...SERVE, '--pg-url', url, '--pg-schema', schema])),
    );
    clients = new Clients(servers, 20_261_201);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map(stopServe));
  });

  it('200 concurrent state and task starts on one service: all acknowledged, ids unique and dense', async () => {
    const sid = await clients.startService({ customer_id: 'hot', service_type: 'hot' });
    const results = await together(200, (i) =>
      clients.startChild(i % 2 === 0 ? 'states' : 'tasks', sid, `t${i % 7}`),
    );
    expect(results.every((id) => id !== undefined)).toBe(true);
    for (const kind of ['states', 'tasks'] as const) {
      const r = await clients.call('GET', `/services/${sid}/${kind}`);
      const ids = (r.json as Record<string, number>[]).map(
        (x) => x[kind === 'states' ? 'state_id' : 'task_id'],
      );
      expect(ids.sort((a, b) => (a as number) - (b as number))).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
    }
    report.hotService = { ...clients.counts, ...(await serverRetries(servers)) };
  });

  it('concurrent ends of one state and of one task: exactly one 204', async () => {
    const sid = await clients.startService({ customer_id: 'ends', service_type: 'ends' });
    for (let round = 0; round < 5; round++) {
      const stid = await clients.startChild('states', sid, 'end-me');
      const tid = await clients.startChild('tasks', sid, 'end-me');
      const [stateEnds, taskEnds] = await Promise.all([
        together(12, () => clients.call('POST', `/services/${sid}/states/${stid}/end`, {})),
        together(12, () => clients.call('POST', `/services/${sid}/tasks/${tid}/end`, {})),
      ]);
      for (const ends of [stateEnds, taskEnds]) {
        expect(ends.filter((r) => r.status === 204)).toHaveLength(1);
        expect(ends.filter((r) => r.status === 400)).toHaveLength(11);
      }
    }
  });

  it('concurrent associates of one service with different customers: listed under exactly one', async () => {
    for (let round = 0; round < 5; round++) {
      const sid = await clients.startService({ contact_key: `anon-${round}`, service_type: 'assoc' });
      const customers = Array.from({ length: 9 }, (_, i) => `assoc-${round}-${i}`);
      const replies = await together(customers.length, (i) =>
        clients.call('POST', `/customers/${customers[i]}/services/${sid}`, {}),
      );
      expect(replies.map((r) => r.status)).toEqual(customers.map(() => 200));
      const lists = await together(customers.length, (i) =>
        clients.call('GET', `/customers/${customers[i]}/services`),
      );
      const sizes = lists.map((r) => (r.json as unknown[]).length);
      const holders = customers.filter((_, i) => (sizes[i] ?? 0) > 0);
      expect(holders).toHaveLength(1);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(1);
      const service = await clients.call('GET', `/services/${sid}`);
      expect(service.json.customer_id).toBe(holders[0]);
      const anonymous = await clients.call('GET', `/services/anonymous/anon-${round}`);
      expect(anonymous.json).toEqual([]);
    }
  });

  it('50 identical composite starts: one service, one state', async () => {
    const body = {
      services: [{ service: { customer_id: 'composite', service_type: 'c' }, state: { state_type: 's' } }],
    };
    const replies = await together(50, () => clients.call('POST', '/services_composite/start', body));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    const items = replies.map((r) => r.json.services[0]);
    expect(new Set(items.map((x) => x.service_id)).size).toBe(1);
    expect(items.filter((x) => x.service_created === true)).toHaveLength(1);
    expect(new Set(items.map((x) => x.state_id)).size).toBe(1);
    expect(items.filter((x) => x.state_created === true)).toHaveLength(1);
    const sid = String(items[0].service_id);
    clients.ledger.services.add(sid);
    push(clients.ledger.states, sid, Number(items[0].state_id));
    expect((await clients.call('GET', '/customers/composite/services')).json).toHaveLength(1);
  });

  it('expiry and auto-complete racing writers: every service handled once, nothing half-written', async () => {
    // ttl 1 s: the sweeps of all three processes race the writers for these services.
    const doomed = await together(20, (i) =>
      clients.startService({ customer_id: `doomed-${i}`, service_type: 'ttl', ttl: 1 }),
    );
    // auto_complete_after 1 s: completed by whichever sweep gets there first, writes racing it.
    const sleepy = await together(20, (i) =>
      clients.startService({ customer_id: `sleepy-${i}`, service_type: 'ac', auto_complete_after: 1 }),
    );
    const targets = [...doomed, ...sleepy];
    // Bursts of writes on random targets, while the sweeps run.
    await together(10, async () => {
      for (let n = 0; n < 20; n++) {
        const sid = targets[Math.floor(clients.random() * targets.length)] as string;
        await clients.startChild(clients.random() < 0.5 ? 'states' : 'tasks', sid, 'race');
      }
    });
    for (const sid of doomed) expired.add(sid);
    await waitFor(
      'every ttl service to expire',
      async () =>
        (await together(doomed.length, (i) => clients.call('GET', `/services/${doomed[i]}`))).every(
          (r) => r.status === 400,
        ),
      60_000,
    );
    await waitFor(
      'every idle service to be auto-completed',
      async () =>
        (await together(sleepy.length, (i) => clients.call('GET', `/services/${sleepy[i]}`))).every(
          (r) => r.status === 200 && r.json.completed !== undefined,
        ),
      60_000,
    );
    // Physically removed too (the sweeps delete, not only hide), with every index entry (L8).
    await waitFor(
      'the expired services to be swept',
      async () => (await integrity(url, schema)).length === 0,
      60_000,
    );
  });

  it('SIGKILL of one process mid-load: the others go on, nothing acknowledged lost', async () => {
    const sids = await together(6, (i) =>
      clients.startService({ customer_id: `kill-${i}`, service_type: 'k' }),
    );
    let stop = false;
    const load = together(12, async (w) => {
      while (!stop) {
        const sid = sids[w % sids.length] as string;
        await clients.startChild(clients.random() < 0.5 ? 'states' : 'tasks', sid, 'load');
      }
    });
    const before = clients.counts.acknowledged;
    await waitFor('load before the kill', () => clients.counts.acknowledged > before + 60);
    const victim = servers[2] as ServeProcess;
    victim.child.kill('SIGKILL');
    await victim.exited;
    clients.live.splice(clients.live.indexOf(victim), 1);
    const atKill = clients.counts.acknowledged;
    await waitFor('load after the kill', () => clients.counts.acknowledged > atKill + 60);
    stop = true;
    await load;
    report.afterKill = { ...clients.counts };
  });

  it('the database afterwards: every acknowledged write present, integrity (ids dense, indexes, L1–L8)', async () => {
    const checked = await clients.verifyLedger(expired);
    expect(await integrity(url, schema)).toEqual([]);
    report.sharedSchema = {
      ...clients.counts,
      ledgerEntriesChecked: checked,
      survivors: await serverRetries(clients.live),
    };
  });
});

describe('PostgreSQL restarted mid-load under three processes', { timeout: 300_000 }, () => {
  let pg: TestServer;
  let servers: ServeProcess[] = [];
  const schema = 'cxs_restart';

  beforeAll(async () => {
    // A server of this test's own: the shared one (embedded or CXS_PG_URL) is not ours to restart.
    pg = await startEmbeddedPostgres();
    servers = await Promise.all(
      [0, 1, 2].map(() =>
        serveCli([...SERVE, '--pg-url', pg.url, '--pg-schema', schema, '--pg-pool-size', '4']),
      ),
    );
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map(stopServe));
    await pg?.stop();
  });

  it('503 while it is down, recovery without restarting the engines, nothing acknowledged lost', async () => {
    const clients = new Clients(servers, 20_261_202);
    let stop = false;
    const load = together(9, async (w) => {
      while (!stop) {
        const sid = await clients.startService({ customer_id: `restart-${w}`, service_type: 'r' });
        for (let n = 0; n < 3 && !stop; n++) {
          await clients.startChild(n === 1 ? 'tasks' : 'states', sid, 'load');
        }
      }
    });
    await waitFor('load before the restart', () => clients.counts.acknowledged > 60);
    await pg.halt();
    const atHalt = clients.counts.unavailable503;
    await waitFor('503s while the database is down', () => clients.counts.unavailable503 > atHalt + 20);
    const ready = await send(`${servers[0]?.url}/readyz`, 'GET');
    expect(ready.status).toBe(503);
    const downAcks = clients.counts.acknowledged;
    await pg.resume();
    await waitFor('load after the restart', () => clients.counts.acknowledged > downAcks + 60, 60_000);
    stop = true;
    await load;
    for (const server of servers) {
      expect(server.child.exitCode).toBe(null);
      expect((await send(`${server.url}/readyz`, 'GET')).status).toBe(200);
    }
    const checked = await clients.verifyLedger();
    expect(await integrity(pg.url, schema)).toEqual([]);
    report.restart = { ...clients.counts, ledgerEntriesChecked: checked, ...(await serverRetries(servers)) };
  });
});
