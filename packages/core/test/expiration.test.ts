import { describe, expect, it } from 'vitest';
import { createContextServices, parseLifetime, SimulatedClock } from '../src/index.js';
import { iso, rejects, rejectsUnchanged, setup, T0, untyped } from './helpers.js';

const DAY = 86_400_000;

describe('docs/spec.md §7.2 expiration', () => {
  it('parses lifetimes with units s m h d w M y', () => {
    expect(parseLifetime('30s')).toBe(30_000);
    expect(parseLifetime('2m')).toBe(120_000);
    expect(parseLifetime('1h')).toBe(3_600_000);
    expect(parseLifetime('1d')).toBe(DAY);
    expect(parseLifetime('1w')).toBe(7 * DAY);
    expect(parseLifetime('1M')).toBe(30 * DAY);
    expect(parseLifetime('5y')).toBe(5 * 365 * DAY);
    for (const bad of ['5', 'y', '0d', '-1d', '1.5d', '1 d', '1Y'])
      expect(() => parseLifetime(bad)).toThrow(/expiration/);
  });

  it('defaults to 5 years from the last update; expired services are invisible before any sweep (L8)', async () => {
    const { cs, clock } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    clock.advance(DAY);
    await cs.startState(sid, {}); // an update pushes the expiry to update + lifetime
    clock.set(T0 + DAY + 5 * 365 * DAY - 1);
    expect((await cs.getService(sid)).service_id).toBe(sid);
    clock.advance(1);
    await rejects(cs.getService(sid), 'SERVICE_NOT_FOUND');
    expect(await cs.listCustomerServices('C1')).toEqual([]);
    await rejects(cs.startTask(sid, {}), 'SERVICE_NOT_FOUND');
    expect(await cs.sweep()).toEqual({ expired: 1, autoCompleted: 0 });
    expect(await cs.sweep()).toEqual({ expired: 0, autoCompleted: 0 });
  });

  it('a service ttl (seconds) replaces the default lifetime and moves with updates', async () => {
    const { cs, clock, events } = await setup({ expiration: '1d' });
    const { service_id: sid } = await cs.startService({ customer_id: 'C1', ttl: 60 });
    clock.advance(50_000);
    await cs.putExtension({ service_id: sid }, 'Ext', { a: 1 });
    clock.advance(59_999);
    expect((await cs.getService(sid)).service_id).toBe(sid);
    clock.advance(1);
    expect(await cs.sweep()).toEqual({ expired: 1, autoCompleted: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'service.deleted', reason: 'expired', service_id: sid });
  });

  it('an explicit expiration_time is absolute: updates do not move it until replaced; ttl wins over it', async () => {
    const { cs, clock } = await setup();
    const at = iso(T0 + 10_000);
    const { service_id: sid } = await cs.startService({ customer_id: 'C1', expiration_time: at });
    clock.advance(9_000);
    await cs.startTask(sid, {});
    clock.advance(999);
    expect((await cs.getService(sid)).service_id).toBe(sid);
    await cs.updateExpiration(sid, { ttl: 100, expiration_time: iso(T0 + 11_000) });
    clock.advance(50_000);
    expect((await cs.getService(sid)).service_id).toBe(sid); // ttl 100 s from the update won
    await cs.updateExpiration(sid, { expiration_time: iso(T0 + 70_000) });
    clock.set(T0 + 70_000);
    await rejects(cs.getService(sid), 'SERVICE_NOT_FOUND');
  });

  it('rejects expiration updates without a field, with unknown fields or bad values', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    await rejects(cs.updateExpiration(sid, untyped({})), 'VALIDATION_FAILED');
    await rejects(cs.updateExpiration(sid, { ttl: -1 }), 'VALIDATION_FAILED', /ttl/);
    await rejects(
      cs.updateExpiration(sid, { expiration_time: 'tomorrow' }),
      'VALIDATION_FAILED',
      /expiration_time/,
    );
    await rejects(cs.updateExpiration(sid, untyped({ ttl: 5, other: 1 })), 'VALIDATION_FAILED');
  });

  it('docs/spec.md §7.2: an expiration_time not in the future is refused at start, end and update, nothing written', async () => {
    const { cs, store, clock } = await setup();
    clock.advance(DAY);
    const now = T0 + DAY;
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    for (const at of [iso(now), iso(now - 1), iso(T0)]) {
      await rejectsUnchanged(
        store,
        () => cs.startService({ customer_id: 'C1', expiration_time: at }),
        'EXPIRATION_IN_PAST',
        /expiration_time/,
      );
      await rejectsUnchanged(
        store,
        () =>
          cs.compositeStart({
            services: [{ service: { customer_id: 'C2', expiration_time: at }, state: {} }],
          }),
        'EXPIRATION_IN_PAST',
      );
      await rejectsUnchanged(
        store,
        () => cs.updateExpiration(sid, { expiration_time: at }),
        'EXPIRATION_IN_PAST',
      );
      await rejectsUnchanged(store, () => cs.endService(sid, { expiration_time: at }), 'EXPIRATION_IN_PAST');
    }
    // One millisecond ahead is in the future; a ttl wins over the instant, which then does not apply.
    await cs.updateExpiration(sid, { expiration_time: iso(now + 1) });
    await cs.updateExpiration(sid, { ttl: 60, expiration_time: iso(T0) });
    const started = await cs.startService({ customer_id: 'C1', expiration_time: iso(now + 1) });
    expect((await cs.getService(started.service_id)).service_id).toBe(started.service_id);
    await cs.endService(sid, { expiration_time: iso(now + 1000) });
  });

  it('configuration changes apply only to services started afterwards', async () => {
    const first = await setup({ expiration: '1h' });
    const { service_id: sid } = await first.cs.startService({ customer_id: 'C1' });
    await first.cs.close();
    // Same store, new engine with a longer default: the old service keeps its 1 h lifetime.
    const clock = new SimulatedClock(T0 + 1000);
    const cs = await createContextServices({ store: first.store, clock, config: { expiration: '1d' } });
    await cs.startTask(sid, {});
    const { service_id: later } = await cs.startService({ customer_id: 'C1' });
    clock.advance(3_600_000);
    await rejects(cs.getService(sid), 'SERVICE_NOT_FOUND');
    expect((await cs.getService(later)).service_id).toBe(later);
  });
});

describe('docs/spec.md §7.3 auto-complete', () => {
  it('completes a service idle for the delay at last update + delay, with its states and tasks (L2)', async () => {
    const { cs, clock, events } = await setup({ autoCompleteEnabled: true, autoCompleteAfter: 60 });
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { state_id } = await cs.startState(sid, {});
    clock.advance(30_000);
    await cs.startTask(sid, { state_id }); // last update at T0 + 30 s
    clock.set(T0 + 89_999);
    expect(await cs.sweep()).toEqual({ expired: 0, autoCompleted: 0 });
    clock.advance(1);
    expect(await cs.sweep()).toEqual({ expired: 0, autoCompleted: 1 });
    const s = await cs.getService(sid, { completed_states: true, completed_tasks: true });
    expect(s.completed?.timestamp).toBe(iso(T0 + 90_000));
    expect(s.completed_states?.[0]?.completed?.timestamp).toBe(iso(T0 + 90_000));
    expect(s.completed_tasks?.[0]?.completed?.timestamp).toBe(iso(T0 + 90_000));
    expect(events.at(-1)).toMatchObject({ type: 'service.completed', reason: 'auto-completed' });
  });

  it('is deterministic even when the sweep runs late, and a service delay overrides the configured one', async () => {
    const { cs, clock } = await setup({ autoCompleteEnabled: true, autoCompleteAfter: 600 });
    const { service_id: own } = await cs.startService({ customer_id: 'C1', auto_complete_after: 10 });
    const { service_id: dflt } = await cs.startService({ customer_id: 'C1' });
    clock.advance(3_600_000);
    expect(await cs.sweep()).toEqual({ expired: 0, autoCompleted: 2 });
    expect((await cs.getService(own)).completed?.timestamp).toBe(iso(T0 + 10_000));
    expect((await cs.getService(dflt)).completed?.timestamp).toBe(iso(T0 + 600_000));
  });

  it('is not an update: the expiry stays put, so visibility never depends on when the sweep ran', async () => {
    const config = { expiration: '1h', autoCompleteEnabled: true, autoCompleteAfter: 600 };
    const swept = await setup(config);
    const late = await setup(config);
    const a = await swept.cs.startService({ customer_id: 'C1' });
    const b = await late.cs.startService({ customer_id: 'C1' });
    swept.clock.set(T0 + 601_000);
    expect(await swept.cs.sweep()).toEqual({ expired: 0, autoCompleted: 1 });
    expect((await swept.cs.getService(a.service_id)).completed?.timestamp).toBe(iso(T0 + 600_000));
    for (const { clock } of [swept, late]) clock.set(T0 + 3_599_999);
    expect((await swept.cs.getService(a.service_id)).started).toBeDefined();
    expect((await late.cs.getService(b.service_id)).started).toBeDefined();
    for (const { clock } of [swept, late]) clock.set(T0 + 3_600_000);
    await rejects(swept.cs.getService(a.service_id), 'SERVICE_NOT_FOUND');
    await rejects(late.cs.getService(b.service_id), 'SERVICE_NOT_FOUND');
  });

  it('does nothing when disabled or when no delay is known', async () => {
    const off = await setup({ autoCompleteAfter: 1 });
    const a = await off.cs.startService({ customer_id: 'C1', auto_complete_after: 1 });
    off.clock.advance(DAY);
    expect(await off.cs.sweep()).toEqual({ expired: 0, autoCompleted: 0 });
    expect((await off.cs.getService(a.service_id)).completed).toBeUndefined();
    const noDelay = await setup({ autoCompleteEnabled: true });
    const b = await noDelay.cs.startService({ customer_id: 'C1' });
    const c = await noDelay.cs.startService({ customer_id: 'C1', auto_complete_after: 5 });
    noDelay.clock.advance(DAY);
    expect(await noDelay.cs.sweep()).toEqual({ expired: 0, autoCompleted: 1 });
    expect((await noDelay.cs.getService(b.service_id)).completed).toBeUndefined();
    expect((await noDelay.cs.getService(c.service_id)).completed).toBeDefined();
  });

  it('the background sweeper runs on an unref timer and stops cleanly', async () => {
    const { cs, clock } = await setup({ autoCompleteEnabled: true, autoCompleteAfter: 1 });
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    clock.advance(5_000);
    cs.startSweeper(5);
    // Until the sweeper has run, however long a loaded machine takes (the test timeout bounds it).
    while ((await cs.getService(sid)).completed === undefined) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await cs.stopSweeper();
    expect((await cs.getService(sid)).completed?.timestamp).toBe(iso(T0 + 1000));
    await cs.close();
    await rejects(cs.startService({ customer_id: 'C1' }), 'CLOSED');
  });
});
