/** L7 over HTTP: concurrent requests on one service are serialized, none lost, ids unique. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

describe('L7 concurrency', () => {
  it('200 concurrent task starts on one service: all 201, ids 1..200 unique, none lost', async () => {
    const sid = (await t.req('POST', '/services/start', { customer_id: 'busy' })).json.service_id;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.req('POST', `/services/${sid}/tasks/start`, { task_type: 'n', Seq: i }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(201));
    const ids = replies.map((r) => r.json.task_id as number).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const r of replies)
      expect(r.headers.get('location')).toMatch(new RegExp(`/tasks/${r.json.task_id}$`));
    const tasks = (await t.req('GET', `/services/${sid}/tasks?extensions=Seq`)).json as { Seq: number }[];
    expect(tasks).toHaveLength(200);
    expect(new Set(tasks.map((x) => x.Seq)).size).toBe(200);
  });

  it('50 concurrent ends of one task: exactly one 204, the others 400 ALREADY_COMPLETED (L1)', async () => {
    const sid = (await t.req('POST', '/services/start', { customer_id: 'race' })).json.service_id;
    await t.req('POST', `/services/${sid}/tasks/start`, {});
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.req('POST', `/services/${sid}/tasks/1/end`, { disposition: i })),
    );
    expect(replies.filter((r) => r.status === 204)).toHaveLength(1);
    const rest = replies.filter((r) => r.status !== 204);
    expect(rest.every((r) => r.status === 400 && r.json.code === 'ALREADY_COMPLETED')).toBe(true);
  });

  it('concurrent state starts and transitions across 20 services keep each service consistent', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 20; i++)
      sids.push((await t.req('POST', '/services/start', { contact_key: `c${i}` })).json.service_id);
    await Promise.all(
      sids.flatMap((sid) =>
        Array.from({ length: 10 }, () => t.req('POST', `/services/${sid}/states/start`, {})),
      ),
    );
    const transitions = await Promise.all(
      sids.map((sid) => t.req('POST', `/services/${sid}/states/transition`, { from: { state_id: 5 } })),
    );
    expect(transitions.map((r) => r.json.state_id)).toEqual(Array(20).fill(11));
    for (const sid of sids) {
      const states = (await t.req('GET', `/services/${sid}/states/active`)).json as { state_id: number }[];
      expect(states.map((s) => s.state_id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    }
  });
});
