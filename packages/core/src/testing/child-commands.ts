/** The commands on states and tasks: start, end (L1, L2, L6), transition (L5), start task (L3, L4). */
import { expect } from 'vitest';
import type { StateStartEventBody, TaskStartEventBody } from '../types.js';
import {
  type ChildRef,
  expectOutcome,
  iso,
  pickService,
  resolveChild,
  ServiceCommand,
  serviceError,
  type Target,
  targetOptions,
} from './command-base.js';
import {
  cascade,
  childCount,
  type LifecycleModel,
  type LifecycleReal,
  type ModelChild,
  type ModelService,
  tasksOfState,
} from './lifecycle-model.js';

export class StartStateCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly previous: ChildRef | null,
    readonly type: string,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    return this.previous === null || this.previous.bogus || s.states.size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const prev = this.previous === null ? undefined : resolveChild(s.states, this.previous);
    const expected =
      serviceError(m, s, this.target) ??
      (prev !== undefined && prev.child === undefined
        ? 'STATE_NOT_FOUND'
        : childCount(s) + 1 > m.config.entitiesPerService
          ? 'LIMIT_EXCEEDED'
          : undefined);
    const body: StateStartEventBody = { state_type: this.type };
    if (prev !== undefined) body.previous_state_id = prev.id;
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.startState(s.id, body, targetOptions(s, this.target)),
      this.toString(),
    );
    if (res === undefined) return;
    const id = s.states.size + 1;
    expect(res.state_id, 'state ids count from 1 per service').toBe(id);
    s.states.set(id, { id, type: this.type, started: m.now, ext: new Map() });
    s.updated = m.now;
  }
  toString = () =>
    `startState(${JSON.stringify(this.target)}, prev ${JSON.stringify(this.previous)}, ${this.type})`;
}

export class EndStateCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly state: ChildRef,
    readonly early: boolean,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    return this.state.bogus || s.states.size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const { id, child } = resolveChild(s.states, this.state);
    const expected =
      serviceError(m, s, this.target) ??
      (child === undefined
        ? 'STATE_NOT_FOUND'
        : child.completed !== undefined
          ? 'ALREADY_COMPLETED'
          : this.early
            ? 'COMPLETED_BEFORE_START'
            : undefined);
    const body = this.early && child !== undefined ? { timestamp: iso(child.started - 1) } : {};
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.endState(s.id, id, body, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (!res || child === undefined) return;
    child.completed = m.now;
    cascade(tasksOfState(s, id), m.now, false); // L2
    s.updated = m.now;
  }
  toString = () =>
    `endState(${JSON.stringify(this.target)}, ${JSON.stringify(this.state)}, early ${this.early})`;
}

export class TransitionCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly from: ChildRef,
    readonly type: string,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    return this.from.bogus || s.states.size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const { id, child } = resolveChild(s.states, this.from);
    const expected =
      serviceError(m, s, this.target) ??
      (child === undefined
        ? 'STATE_NOT_FOUND'
        : child.completed !== undefined
          ? 'STATE_NOT_ACTIVE' // L5
          : childCount(s) + 1 > m.config.entitiesPerService
            ? 'LIMIT_EXCEEDED'
            : undefined);
    const body = { from: { state_id: id, disposition: 'next' }, to: { state_type: this.type } };
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.transition(s.id, body, targetOptions(s, this.target)),
      this.toString(),
    );
    if (res === undefined || child === undefined) return;
    child.completed = m.now;
    cascade(tasksOfState(s, id), m.now, false);
    const next = s.states.size + 1;
    expect(res.state_id).toBe(next);
    s.states.set(next, { id: next, type: this.type, started: m.now, ext: new Map() });
    s.updated = m.now;
  }
  toString = () => `transition(${JSON.stringify(this.target)}, ${JSON.stringify(this.from)}, ${this.type})`;
}

export class StartTaskCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly state: ChildRef | null,
    readonly type: string,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    return this.state === null || this.state.bogus || s.states.size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const owner = this.state === null ? undefined : resolveChild(s.states, this.state);
    const expected =
      serviceError(m, s, this.target) ??
      (owner !== undefined && owner.child === undefined
        ? 'STATE_NOT_FOUND' // L3
        : childCount(s) + 1 > m.config.entitiesPerService
          ? 'LIMIT_EXCEEDED'
          : undefined);
    const body: TaskStartEventBody = { task_type: this.type };
    if (owner !== undefined) body.state_id = owner.id;
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.startTask(s.id, body, targetOptions(s, this.target)),
      this.toString(),
    );
    if (res === undefined) return;
    const id = s.tasks.size + 1;
    expect(res.task_id, 'task ids count from 1 per service').toBe(id);
    const task: ModelChild =
      owner === undefined
        ? { id, type: this.type, started: m.now, ext: new Map() }
        : { id, type: this.type, stateId: owner.id, started: m.now, ext: new Map() };
    s.tasks.set(id, task);
    s.updated = m.now;
  }
  toString = () => `startTask(${JSON.stringify(this.target)}, ${JSON.stringify(this.state)}, ${this.type})`;
}

export class EndTaskCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly task: ChildRef,
    readonly early: boolean,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    return this.task.bogus || s.tasks.size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const { id, child } = resolveChild(s.tasks, this.task);
    const expected =
      serviceError(m, s, this.target) ??
      (child === undefined
        ? 'TASK_NOT_FOUND'
        : child.completed !== undefined
          ? 'ALREADY_COMPLETED' // L1
          : this.early
            ? 'COMPLETED_BEFORE_START' // L6
            : undefined);
    const body = this.early && child !== undefined ? { timestamp: iso(child.started - 1) } : {};
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.endTask(s.id, id, body, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (!res || child === undefined) return;
    child.completed = m.now;
    s.updated = m.now;
  }
  toString = () =>
    `endTask(${JSON.stringify(this.target)}, ${JSON.stringify(this.task)}, early ${this.early})`;
}
