import { describe, expect, it } from 'vitest';
import type { ExportQuery, PurgeOperation, Range, ServiceView } from '../src/index.js';
import { createContextServices, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { dump, iso, rejects, rejectsUnchanged, setup, T0, untyped, withoutChangeLog } from './helpers.js';

const H = 3_600_000;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('export selection (docs/spec.md §8.1)', () => {
  // The reference scenario: window [T0 + 10 h, T0 + 20 h).
  async function scenario() {
    const ctx = await setup();
    const { cs, clock } = ctx;
    const s3 = (await cs.startService({ customer_id: 'C', timestamp: iso(T0 + 5 * H) })).service_id;
    const s1 = (await cs.startService({ customer_id: 'C', timestamp: iso(T0 + 11 * H) })).service_id;
    const s2 = (await cs.startService({ contact_key: 'K', timestamp: iso(T0 + 12 * H) })).service_id;
    const out = (await cs.startService({ customer_id: 'C', timestamp: iso(T0 + 21 * H) })).service_id;
    const before = (await cs.startService({ customer_id: 'C', timestamp: iso(T0 + 1 * H) })).service_id;
    await cs.endService(s3, { timestamp: iso(T0 + 15 * H) });
    await cs.endService(before, { timestamp: iso(T0 + 2 * H) });
    await cs.endService(s1, { timestamp: iso(T0 + 25 * H) }); // completed after the window
    clock.set(T0 + 30 * H);
    return {
      ...ctx,
      names: new Map([
        [s1, 'S1'],
        [s2, 'S2'],
        [s3, 'S3'],
        [out, 'OUT'],
        [before, 'BEFORE'],
      ]),
    };
  }

  it('matches the reference table for every filter_events × filter_state', async () => {
    const { cs, names } = await scenario();
    const table: Record<string, Record<string, string[]>> = {
      any: { any: ['S3', 'S1', 'S2'], active: ['S2'], inactive: ['S3', 'S1'] },
      started: { any: ['S1', 'S2'], active: ['S2'], inactive: ['S1'] },
      completed: { any: ['S3'], active: [], inactive: ['S3'] },
    };
    for (const [events, row] of Object.entries(table)) {
      for (const [state, expected] of Object.entries(row)) {
        const q = {
          time_from: iso(T0 + 10 * H),
          time_to: iso(T0 + 20 * H),
          filter_events: events,
          filter_state: state,
        } as ExportQuery;
        const ids = await collect(await cs.exportServices(q));
        expect(
          ids.map((id) => names.get(id as string)),
          `${events} × ${state}`,
        ).toEqual(expected);
      }
    }
  });

  it('time_to defaults to now; export_content yields full services with everything', async () => {
    const { cs, names } = await scenario();
    const full = (await collect(
      await cs.exportServices({ time_from: iso(T0 + 10 * H), export_content: true }),
    )) as ServiceView[];
    expect(full.map((s) => names.get(s.service_id))).toEqual(['S3', 'S1', 'S2', 'OUT']);
    expect(full[0]).toHaveProperty('active_states');
    expect(full[0]).toHaveProperty('completed_tasks');
  });

  it('validates the query before reading anything', async () => {
    const { cs } = await setup();
    await rejects(cs.exportServices({} as ExportQuery), 'VALIDATION_FAILED', /time_from/);
    await rejects(
      cs.exportServices({ time_from: iso(T0), filter_events: 'x' } as unknown as ExportQuery),
      'VALIDATION_FAILED',
    );
    await rejects(
      cs.exportServices({ time_from: iso(T0), filter_state: 'x' } as unknown as ExportQuery),
      'VALIDATION_FAILED',
    );
  });
});

describe('import', () => {
  it('reads the records of services started before the window only when they completed in it', async () => {
    let recordsRead = 0;
    class CountingStore extends MemoryStore {
      override async getMany(keys: readonly string[]) {
        recordsRead += keys.length;
        return super.getMany(keys);
      }
    }
    const clock = new SimulatedClock(T0);
    const cs = await createContextServices({ store: new CountingStore(), clock, config: { cacheSize: 0 } });
    const { service_id: old } = await cs.startService({ customer_id: 'C' });
    clock.advance(H);
    for (let i = 0; i < 300; i++) await cs.startService({ customer_id: 'C' });
    clock.advance(H);
    await cs.endService(old);
    recordsRead = 0;
    const ids = await collect(
      await cs.exportServices({ time_from: iso(clock.now()), time_to: iso(clock.now() + 1) }),
    );
    expect(ids).toEqual([old]);
    expect(recordsRead).toBe(1);
    await cs.close();
  });

  it('round-trips an export_content export into another store, keeping ids', async () => {
    const { cs, clock } = await setup();
    const { service_id: sid } = await cs.startService({
      contact_key: 'K',
      service_type: 7,
      est_duration: 9,
      session_id: 'S',
      Data: { a: [1] },
    });
    await cs.startState(sid, { state_type: 'x', Note: { n: 1 } });
    await cs.startTask(sid, { state_id: 1, task_type: 'y', application_id: 3 });
    await cs.startTask(sid, { task_type: 'z' });
    clock.advance(5000);
    await cs.endTask(sid, 1, { disposition: 2, disposition_desc: 'd', Done: { ok: true } });
    await cs.endService(sid, { disposition: 'fine' });
    await cs.startService({ customer_id: 'C7' });
    clock.advance(1);
    const exported = await collect(await cs.exportServices({ time_from: iso(T0 - H), export_content: true }));
    const target = await createContextServices({
      store: new MemoryStore(),
      clock: new SimulatedClock(T0 + H),
    });
    expect(await target.importServices(exported)).toEqual({ imported: 2, skipped: 0 });
    const again = await collect(
      await target.exportServices({ time_from: iso(T0 - H), export_content: true }),
    );
    expect(again).toEqual(exported);
    const t = await target.startTask(sid, {});
    expect(t.task_id).toBe(3);
    await rejects(target.importServices([exported[0] as ServiceView]), 'SERVICE_EXISTS');
    // Re-running the whole import with skipExisting completes it: stored ids are counted, not rewritten.
    const third = structuredClone(exported[0]) as Record<string, unknown>;
    third.service_id = 'imported-later';
    expect(await target.importServices([...exported, third as ServiceView], { skipExisting: true })).toEqual({
      imported: 1,
      skipped: 2,
    });
    expect((await target.getService('imported-later')).service_id).toBe('imported-later');
    // The task started after the first import survives the re-run.
    expect((await target.getTask(sid, t.task_id)).task_id).toBe(3);
    // A skipped item is still validated first.
    await rejects(
      target.importServices([{ ...(exported[0] as ServiceView), est_duration: -1 }], { skipExisting: true }),
      'VALIDATION_FAILED',
    );
    await rejects(
      target.importServices([{ service_id: 'bad id', started: { timestamp: iso(T0) } }]),
      'VALIDATION_FAILED',
    );
  });

  it('refuses what the engine could never have stored, writing nothing', async () => {
    const { cs, store } = await setup();
    const at = (ms: number) => ({ timestamp: iso(ms) });
    const base = { service_id: 'imp1', customer_id: 'C', started: at(T0) };
    const bad: [unknown, RegExp][] = [
      [
        {
          ...base,
          active_states: [
            { state_id: 1, started: at(T0) },
            { state_id: 1, started: at(T0) },
          ],
        },
        /appears twice/,
      ],
      [{ ...base, active_tasks: [{ task_id: 1, state_id: 99, started: at(T0) }] }, /names no state/],
      [
        { ...base, active_states: [{ state_id: 2, previous_state_id: 1, started: at(T0) }] },
        /names no state/,
      ],
      [{ ...base, completed: at(T0 - 1) }, /L6/],
      [{ ...base, completed_tasks: [{ task_id: 1, started: at(T0), completed: at(T0 - 1) }] }, /L6/],
    ];
    for (const [item, message] of bad) {
      await rejectsUnchanged(store, () => cs.importServices([untyped(item)]), 'VALIDATION_FAILED', message);
    }
  });
});

describe('purge (docs/spec.md §8.3)', () => {
  it('deletes services started before the limit that match each operation', async () => {
    const expected: Record<PurgeOperation, string[]> = {
      'purge.service.all': ['done-known', 'done-anon', 'open-known', 'open-anon'],
      'purge.service.started': ['open-known', 'open-anon'],
      'purge.service.started.anonymous': ['open-anon'],
      'purge.service.completed': ['done-known', 'done-anon'],
      'purge.service.completed.anonymous': ['done-anon'],
    };
    for (const [operation, gone] of Object.entries(expected) as [PurgeOperation, string[]][]) {
      const { cs, events } = await setup({ batchSize: 2 });
      const names = new Map<string, string>();
      for (const [name, body] of [
        ['done-known', { customer_id: 'C' }],
        ['done-anon', { contact_key: 'K' }],
        ['open-known', { customer_id: 'C' }],
        ['open-anon', { contact_key: 'K' }],
        ['late', { customer_id: 'C', timestamp: iso(T0 + 2 * H) }],
      ] as const) {
        const { service_id } = await cs.startService(body);
        names.set(service_id, name);
        if (name.startsWith('done')) await cs.endService(service_id);
      }
      const { purged } = await cs.purge({ limit: iso(T0 + H), operation });
      expect(purged, operation).toBe(gone.length);
      const left = [...(await cs.listCustomerServices('C')), ...(await cs.listAnonymousServices('K'))].map(
        (s) => names.get(s.service_id),
      );
      expect(left.sort(), operation).toEqual([...names.values()].filter((n) => !gone.includes(n)).sort());
      expect(events.filter((e) => e.type === 'service.deleted' && e.reason === 'purged')).toHaveLength(
        gone.length,
      );
    }
  });

  it('rejects unknown operations and bad limits, writing nothing', async () => {
    const { cs, store } = await setup();
    await cs.startService({ customer_id: 'C' });
    const before = await dump(store);
    await rejects(
      cs.purge(untyped({ limit: iso(T0 + H), operation: 'purge.everything' })),
      'VALIDATION_FAILED',
      /operation/,
    );
    await rejects(cs.purge({ limit: 'soon', operation: 'purge.service.all' }), 'VALIDATION_FAILED', /limit/);
    await rejects(cs.purge(untyped(null)), 'VALIDATION_FAILED');
    expect(await dump(store)).toEqual(before);
  });

  it('reads each service it removes once: one range read under the service, no point read', async () => {
    const reads = { get: 0, range: 0 };
    const store = new (class extends MemoryStore {
      override get(key: string) {
        reads.get++;
        return super.get(key);
      }
      override iterate(range: Range) {
        if (range.gte?.startsWith('t/s/') === true) reads.range++;
        return super.iterate(range);
      }
    })();
    // No record cache, so that no read is hidden by it.
    const cs = await createContextServices({
      store,
      clock: new SimulatedClock(T0),
      config: { cacheSize: 0 },
    });
    for (let i = 0; i < 40; i++) {
      const { service_id } = await cs.startService({ customer_id: `C${i}`, Note: i });
      await cs.startTask(service_id, { Task: i });
    }
    reads.get = 0;
    reads.range = 0;
    expect(await cs.purge({ limit: iso(T0 + H), operation: 'purge.service.all' })).toEqual({ purged: 40 });
    expect(reads).toEqual({ get: 0, range: 40 });
    expect(withoutChangeLog(await dump(store))).toEqual([]);
    await cs.close();
  });

  it('works through many services in bounded batches (L8: nothing left behind)', async () => {
    const { cs, store } = await setup({ batchSize: 7 });
    for (let i = 0; i < 100; i++) {
      const { service_id } = await cs.startService({ customer_id: `C${i % 3}`, contact_key: 'K' });
      await cs.startTask(service_id, {});
    }
    expect(await cs.purge({ limit: iso(T0 + 1), operation: 'purge.service.all' })).toEqual({ purged: 100 });
    expect(withoutChangeLog(await dump(store))).toEqual([]);
  });
});
