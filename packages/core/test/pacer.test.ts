import { describe, expect, it } from 'vitest';
import type { MaintenanceConfig } from '../src/index.js';
import {
  createContextServices,
  MAX_PAUSE_MS,
  Pacer,
  type PacerDeps,
  paceAt,
  SimulatedClock,
} from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { MAX_LEVEL } from '../src/pacer.js';

/**
 * A pacer on simulated time: `sleep` moves the clock on at once, a yield to the event loop counts
 * as `workMs` of work, and the event loop's delay is whatever the test sets.
 */
function simulated(config: MaintenanceConfig = {}, workMs = 1) {
  let t = 0;
  let loopDelay: number | undefined;
  const sleeps: number[] = [];
  const deps: PacerDeps = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    yield: async () => {
      t += workMs;
    },
    loopDelay: { start() {}, stop() {}, take: () => loopDelay },
  };
  const pacer = new Pacer(config, deps);
  return {
    pacer,
    sleeps,
    advance: (ms: number) => {
      t += ms;
    },
    setLoopDelay: (ms: number | undefined) => {
      loopDelay = ms;
    },
  };
}

/** Run `groups` pauses inside one maintenance run, calling `between` before each. */
async function run(pacer: Pacer, groups: number, between: (i: number) => void = () => {}) {
  const levels: number[] = [];
  await pacer.during(async () => {
    for (let i = 0; i < groups; i++) {
      between(i);
      await pacer.pause();
      levels.push(pacer.level);
    }
  });
  return levels;
}

describe('maintenance pacer', () => {
  it('keeps full pace, without sleeping, while the requests are within the budget', async () => {
    const { pacer, sleeps } = simulated({ latencyBudget: 10 });
    const levels = await run(pacer, 500, () => pacer.record(3));
    expect(levels.every((l) => l === 0)).toBe(true);
    expect(pacer.width).toBe(4);
    expect(sleeps).toEqual([]);
    expect(pacer.stats().backoffs).toBe(0);
  });

  it('backs off while the recent p99 is over the budget, down to the minimum pace, never stopping', async () => {
    const { pacer, sleeps, advance } = simulated({ latencyBudget: 10 });
    const levels = await run(pacer, 400, () => {
      pacer.record(50);
      advance(10);
    });
    // Narrower groups first, then pauses, up to the longest one.
    expect(levels[0]).toBe(2);
    expect(levels[levels.length - 1]).toBe(MAX_LEVEL);
    expect(pacer.width).toBe(1);
    // The slowest pace pauses 4 times as long as the group took (10 ms here): a fifth of the time working.
    expect(paceAt(MAX_LEVEL)).toEqual({ width: 1, pauseFactor: 4 });
    expect(Math.max(...sleeps)).toBe(40);
    expect(sleeps.length).toBeGreaterThan(300);
    expect(pacer.stats().pausedMs).toBe(sleeps.reduce((a, b) => a + b, 0));
  });

  it('pauses at most MAX_PAUSE_MS, however long a group took', async () => {
    const { pacer, sleeps, advance } = simulated({ latencyBudget: 10 });
    await run(pacer, 40, () => {
      pacer.record(500);
      advance(60);
    });
    expect(pacer.level).toBe(MAX_LEVEL);
    expect(Math.max(...sleeps)).toBe(MAX_PAUSE_MS);
  });

  it('speeds up again once the slow requests are out of the last second', async () => {
    const { pacer, advance } = simulated({ latencyBudget: 10 });
    const levels = await run(pacer, 600, (i) => {
      pacer.record(i < 100 ? 50 : 2);
      advance(5);
    });
    const slowest = Math.max(...levels);
    expect(slowest).toBeGreaterThan(5);
    expect(levels[levels.length - 1]).toBe(0);
    // Held (not sped up) while the slow requests were still in the window.
    const peak = levels.indexOf(slowest);
    expect(levels[peak + 1]).toBe(slowest);
  });

  it('backs off once per slow burst: old slow requests in the window do not push it further', async () => {
    const { pacer, advance } = simulated({ latencyBudget: 10 });
    const levels = await run(pacer, 400, (i) => {
      pacer.record(i === 0 ? 200 : 1);
      advance(5);
    });
    // One slow request among few makes the window's p99: one back-off, then full pace again.
    expect(pacer.stats().backoffs).toBe(1);
    expect(Math.max(...levels)).toBe(2);
    expect(levels[levels.length - 1]).toBe(0);
  });

  it('derives the budget from the requests served without maintenance', () => {
    const { pacer } = simulated();
    expect(pacer.budget()).toBe(20);
    for (let i = 0; i < 1000; i++) pacer.record(i % 100 === 0 ? 12 : 4);
    // p99 of those: 4 ms (10 in 1000 are 12 ms, at the 99th percentile exactly); × 1.5.
    expect(pacer.budget()).toBe(6);
    for (let i = 0; i < 2000; i++) pacer.record(0.5);
    expect(pacer.budget()).toBe(5);
  });

  it('keeps the latencies recorded during maintenance out of the baseline', async () => {
    const { pacer } = simulated();
    for (let i = 0; i < 200; i++) pacer.record(10);
    await run(pacer, 10, () => pacer.record(1000));
    expect(pacer.budget()).toBe(15);
  });

  it('backs off on the event loop delay alone, without requests', async () => {
    const { pacer, setLoopDelay, advance } = simulated({ latencyBudget: 10 });
    const levels = await run(pacer, 50, (i) => {
      setLoopDelay(i < 10 ? 80 : 2);
      advance(20);
    });
    expect(Math.max(...levels)).toBeGreaterThanOrEqual(4);
    expect(levels[levels.length - 1]).toBe(0);
  });

  it('ignores a loop delay under its own 50 ms floor', async () => {
    const { pacer, setLoopDelay } = simulated({ latencyBudget: 10 });
    setLoopDelay(40);
    const levels = await run(pacer, 300);
    expect(levels.every((l) => l === 0)).toBe(true);
  });

  it('with pacing off, only yields between groups at full width', async () => {
    const { pacer, sleeps, advance } = simulated({ pacing: false, latencyBudget: 1 });
    await run(pacer, 300, () => {
      pacer.record(500);
      advance(10);
    });
    expect(sleeps).toEqual([]);
    expect(pacer.width).toBe(4);
  });

  it('refuses a bad configuration', () => {
    expect(() => new Pacer({ latencyBudget: 0 })).toThrow(/latencyBudget/);
    expect(() => new Pacer({ pacing: 'no' as unknown as boolean })).toThrow(/pacing/);
  });
});

describe('purge paced by the engine', () => {
  it('pauses while the requests recorded are slow, and still purges everything', async () => {
    const { pacer, sleeps, advance } = simulated({ latencyBudget: 5 });
    const cs = await createContextServices({ store: new MemoryStore(), pacer });
    try {
      for (let i = 0; i < 300; i++) await cs.startService({ customer_id: `C${i}` });
      // Every service removed takes 2 ms, and a slow request is answered meanwhile.
      cs.on('service.deleted', () => {
        advance(2);
        cs.recordLatency(40);
      });
      const { purged } = await cs.purge({
        limit: new Date(Date.now() + 60_000).toISOString(),
        operation: 'purge.service.all',
      });
      expect(purged).toBe(300);
      expect(pacer.level).toBe(MAX_LEVEL);
      // At the slowest pace, 4 × the 2 ms a service took.
      expect(Math.max(...sleeps)).toBe(8);
      expect(cs.stats().maintenancePauses).toBe(sleeps.length);
      expect(cs.stats().maintenancePausedMs).toBe(sleeps.reduce((a, b) => a + b, 0));
    } finally {
      await cs.close();
    }
  });

  it('paces the expiry sweep the same way, which still removes every expired service', async () => {
    const { pacer, sleeps, advance } = simulated({ latencyBudget: 5 });
    const clock = new SimulatedClock();
    const cs = await createContextServices({
      store: new MemoryStore(),
      clock,
      pacer,
      config: { expiration: '1h' },
    });
    try {
      for (let i = 0; i < 200; i++) await cs.startService({ customer_id: `C${i}` });
      cs.on('service.deleted', () => {
        advance(2);
        cs.recordLatency(40);
      });
      clock.advance(2 * 3_600_000);
      expect(await cs.sweep()).toEqual({ expired: 200, autoCompleted: 0 });
      expect(sleeps.length).toBeGreaterThan(0);
      expect(pacer.level).toBe(MAX_LEVEL);
    } finally {
      await cs.close();
    }
  });

  it('does not pause a purge while the requests are fast', async () => {
    const { pacer, sleeps } = simulated({ latencyBudget: 5 });
    const cs = await createContextServices({ store: new MemoryStore(), pacer });
    try {
      for (let i = 0; i < 100; i++) await cs.startService({ customer_id: `C${i}` });
      cs.on('service.deleted', () => cs.recordLatency(1));
      const { purged } = await cs.purge({
        limit: new Date(Date.now() + 60_000).toISOString(),
        operation: 'purge.service.all',
      });
      expect(purged).toBe(100);
      expect(sleeps).toEqual([]);
    } finally {
      await cs.close();
    }
  });
});
