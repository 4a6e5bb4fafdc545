import { isContextServicesError } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import {
  childCount,
  isVisible,
  type LifecycleModel,
  type LifecycleReal,
  pickService,
  runLifecycleModel,
  ServiceCommand,
  serviceError,
  type Target,
  targetArb,
  targetOptions,
} from '@cxs/core/testing';
import { describe, expect, it } from 'vitest';
import {
  CALLBACK,
  type CallbackOutcome,
  requestCallback,
  requestCallbackCareless,
} from '../src/callbacks.js';

type Rule = typeof requestCallback;

/**
 * Our command: a customer asks for a callback on a random service. It predicts the outcome from
 * the model, runs our application code against the real engine, and keeps the model in step so
 * that every built-in check still holds.
 */
class RequestCallbackCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly rule: Rule,
  ) {
    super(target);
  }

  async run(m: LifecycleModel, r: LifecycleReal): Promise<void> {
    const s = pickService(m, this.target);
    const outcome = await this.rule(r.cs, s.id, targetOptions(s, this.target)).then(
      (o): CallbackOutcome | string => o,
      (e: unknown) => (isContextServicesError(e) ? e.code : String(e)),
    );
    const gone = serviceError(m, s, this.target);
    if (gone !== undefined) {
      expect(outcome).toBe(gone);
      return;
    }
    if (typeof outcome === 'string') {
      // The engine's limit on states + tasks may refuse the task; then nothing changed.
      expect(outcome).toBe('LIMIT_EXCEEDED');
      expect(childCount(s)).toBe(m.config.entitiesPerService);
      return;
    }
    if (outcome.status !== 'created') return;
    const id = s.tasks.size + 1;
    expect(outcome.task_id).toBe(id);
    s.tasks.set(id, { id, type: CALLBACK, started: m.now, ext: new Map() });
    s.updated = m.now;
  }

  toString(): string {
    return `requestCallback(${JSON.stringify(this.target)})`;
  }
}

/** Our invariants, read from the real engine after every step. */
async function callbackRules(m: LifecycleModel, r: LifecycleReal): Promise<void> {
  for (const s of m.services) {
    if (!isVisible(m, s)) continue;
    const view = await r.cs.getService(s.id, { active_tasks: true }, { tenant: s.tenant });
    const pending = (view.active_tasks ?? []).filter((t) => t.task_type === CALLBACK);
    expect(pending.length, `at most one pending callback on ${s.id}`).toBeLessThanOrEqual(1);
    if (view.completed !== undefined) {
      expect(pending, `a callback is never left active after service ${s.id} ended`).toEqual([]);
    }
  }
}

function run(rule: Rule, runs: number) {
  const request = targetArb.map((t) => new RequestCallbackCommand(t, rule));
  return runLifecycleModel(
    { create: () => new MemoryStore() },
    { runs, commands: [request, request, request], invariants: callbackRules },
  );
}

describe('callbacks', () => {
  it('a callback task is never left active after its service ends', async () => {
    await run(requestCallback, 150);
  }, 120_000);

  it('the property catches the careless version of the rule', async () => {
    // fast-check shrinks the failure to: start a service, end it, ask for a callback.
    const failure: unknown = await run(requestCallbackCareless, 150).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(Error);
    const { message, cause } = failure as Error;
    expect(message).toMatch(/seed: \d+, path: /);
    expect(message).toMatch(/endService.*requestCallback/);
    expect(String((cause as Error | undefined)?.message)).toMatch(/never left active/);
  }, 120_000);
});
