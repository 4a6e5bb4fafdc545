/** The commands of time and maintenance: purge, the simulated clock, the sweep, and reopening the store. */
import { expect } from 'vitest';
import type { PurgeOperation } from '../api.js';
import { iso, type LifecycleCommand, pickService, ServiceCommand, type Target } from './command-base.js';
import {
  autoCompleteAt,
  cascade,
  expiresAt,
  isVisible,
  type LifecycleModel,
  type LifecycleReal,
  type ModelService,
  TENANTS,
} from './lifecycle-model.js';

export const PURGE_OPERATIONS: Record<PurgeOperation, (s: ModelService) => boolean> = {
  'purge.service.all': () => true,
  'purge.service.started': (s) => s.completed === undefined,
  'purge.service.started.anonymous': (s) => s.completed === undefined && s.customer === undefined,
  'purge.service.completed': (s) => s.completed !== undefined,
  'purge.service.completed.anonymous': (s) => s.completed !== undefined && s.customer === undefined,
};

export class PurgeCommand implements LifecycleCommand {
  constructor(
    readonly tenant: number,
    readonly operation: PurgeOperation,
    readonly offset: number,
  ) {}
  check = () => true;
  async run(m: LifecycleModel, r: LifecycleReal) {
    const tenant = TENANTS[this.tenant % TENANTS.length] as string;
    const limit = m.now + this.offset;
    const doomed = m.services.filter(
      (s) =>
        s.tenant === tenant && isVisible(m, s) && s.started < limit && PURGE_OPERATIONS[this.operation](s),
    );
    const events = r.events.length;
    const res = await r.cs.purge({ limit: iso(limit), operation: this.operation }, { tenant });
    expect(res.purged, this.toString()).toBe(doomed.length);
    expect(r.events.length - events).toBe(doomed.length);
    for (const s of doomed) s.removed = true;
  }
  toString = () => `purge(t${this.tenant}, ${this.operation}, ${this.offset})`;
}

export class AdvanceClockCommand implements LifecycleCommand {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: LifecycleModel, r: LifecycleReal) {
    m.now += this.ms;
    r.clock.advance(this.ms);
  }
  toString = () => `advance(${this.ms})`;
}

/** Move the clock to exactly one millisecond before, at, or after a service's next deadline. */
export class AdvanceToDeadlineCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly kind: 'expiry' | 'auto-complete',
    readonly delta: -1 | 0 | 1,
  ) {
    super(target);
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const deadline = this.kind === 'expiry' ? expiresAt(m, s) : autoCompleteAt(m, s);
    if (s.removed || deadline === undefined || deadline + this.delta <= m.now) return;
    r.clock.advance(deadline + this.delta - m.now);
    m.now = deadline + this.delta;
  }
  toString = () => `advanceTo(${JSON.stringify(this.target)}, ${this.kind} ${this.delta})`;
}

/** Expire (L8) then auto-complete (docs/spec.md §7.3) what is due, exactly as the model predicts. */
export class SweepCommand implements LifecycleCommand {
  check = () => true;
  async run(m: LifecycleModel, r: LifecycleReal) {
    const expired = m.services.filter((s) => !s.removed && expiresAt(m, s) <= m.now);
    for (const s of expired) s.removed = true;
    const due = m.services.filter((s) => {
      const at = autoCompleteAt(m, s);
      return !s.removed && at !== undefined && at <= m.now;
    });
    const res = await r.cs.sweep();
    expect(res, this.toString()).toEqual({ expired: expired.length, autoCompleted: due.length });
    for (const s of due) {
      const at = autoCompleteAt(m, s) as number;
      // Completed at last update + delay (deterministic), never before the service's own start.
      s.completed = Math.max(at, s.started);
      cascade(s.states.values(), s.completed, true);
      cascade(s.tasks.values(), s.completed, true);
      // Not an update: the expiry stays where the last update put it (docs/spec.md §7.2).
    }
  }
  toString = () => 'sweep()';
}

export class ReopenCommand implements LifecycleCommand {
  check = () => true;
  async run(_m: LifecycleModel, r: LifecycleReal) {
    if (r.reopen === undefined) throw new TypeError('reopen() used with a store that cannot reopen');
    await r.reopen();
  }
  toString = () => 'reopen()';
}
