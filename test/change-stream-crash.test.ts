/**
 * The change stream survives kill -9 (docs/spec.md §12, LevelDB): a `cxs serve` child is SIGKILLed right
 * after it acknowledged writes that no subscriber has received yet, with more writes in flight.
 * After a restart on the same directory, resuming with `Last-Event-ID` delivers every acknowledged
 * write's event exactly once, in position order, and new positions go on after the old ones.
 * Finally SIGTERM ends the open stream and the process exits without waiting for it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BASE, send } from '../packages/koa/test/helpers.js';
import { type SseMessage, sse } from '../packages/koa/test/sse-client.js';
import { serve } from '../packages/server/test/cli-helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-stream-crash-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Start `cxs serve` on LevelDB and resolve once it listens. */
const serveOn = (data: string, extra: string[] = []) => serve(['--data', data, ...extra]);

const start = (url: string, customer: string) =>
  send(`${url}${BASE}/services/start`, 'POST', { customer_id: customer });

it('kill -9 between a write and its delivery: after restart, Last-Event-ID resume delivers it', async () => {
  const data = join(tmp, 'db');
  const first = await serveOn(data);
  // A subscriber reads a first call, then goes away: its Last-Event-ID is 1.
  const before = await sse(`${first.url}${BASE}/events?since=0`);
  const warm = await start(first.url, 'warm-up');
  expect(warm.status).toBe(201);
  const seen = await before.next();
  expect(seen).toMatchObject({ id: '1', event: 'service.started' });
  before.close();

  // Acknowledged writes no subscriber has received, then more in flight when the process dies.
  const acked: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await start(first.url, `acked-${i}`);
    expect(r.status).toBe(201);
    acked.push(r.json.service_id as string);
  }
  const inFlight = Array.from({ length: 10 }, (_, i) =>
    start(first.url, `in-flight-${i}`).catch(() => undefined),
  );
  first.child.kill('SIGKILL');
  await first.exited;
  expect(first.child.signalCode).toBe('SIGKILL');
  const settled = await Promise.all(inFlight);
  for (const r of settled) if (r?.status === 201) acked.push(r.json.service_id as string);

  // A shutdown timeout longer than the test: a stream that held the shutdown would fail it.
  const second = await serveOn(data, ['--shutdown-timeout', '3600']);
  const resumed = await sse(`${second.url}${BASE}/events`, { 'Last-Event-ID': String(seen?.id) });
  expect(resumed.status).toBe(200);
  const marker = await start(second.url, 'after-restart');
  const got: SseMessage[] = [];
  for (let m = await resumed.next(); m !== undefined; m = await resumed.next()) {
    got.push(m);
    if (JSON.parse(m.data).service_id === marker.json.service_id) break;
  }
  const positions = got.map((m) => Number(m.id));
  expect(positions[0]).toBe(2);
  // Strictly growing: nothing repeated; every acknowledged write is there.
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  expect(new Set(positions).size).toBe(positions.length);
  const sids = got.map((m) => JSON.parse(m.data).service_id as string);
  for (const sid of acked) expect(sids.filter((s) => s === sid)).toHaveLength(1);
  expect(got.at(-1)?.event).toBe('service.started');
  expect(got.every((m) => m.event === 'service.started')).toBe(true);

  // SIGTERM with the stream still open: the server ends it and exits 0 (no shutdown timeout).
  second.child.kill('SIGTERM');
  await resumed.ended;
  expect(await second.exited).toBe(0);
}, 60_000);
