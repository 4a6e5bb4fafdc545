/**
 * One small fast-check command class per engine operation. Each predicts the outcome from the
 * model (the error code of a rejected call, or the new model state), runs the engine, and checks
 * the prediction: a rejected call must throw that code, change no byte of the store and emit no
 * event; an accepted call must return what the model expects and emit its events.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { CallOptions, PurgeOperation } from '../api.js';
import { type ErrorCode, isContextServicesError } from '../errors.js';
import { formatInstant } from '../time.js';
import { dumpStore } from './factory.js';
import {
  autoCompleteAt,
  CONTACT_KEYS,
  CUSTOMERS,
  cascade,
  childCount,
  EXTENSION_NAMES,
  expiresAt,
  isVisible,
  type LifecycleModel,
  type LifecycleReal,
  type ModelChild,
  type ModelService,
  TENANTS,
  tasksOfState,
} from './lifecycle-model.js';

/** A command of the lifecycle model run. */
export type LifecycleCommand = fc.AsyncCommand<LifecycleModel, LifecycleReal>;

const iso = formatInstant;

/**
 * Run an engine call whose outcome the model predicted: `expected` is the error code of a
 * rejection, or undefined for success. Resolves to the call's result on success.
 */
export async function expectOutcome<T>(
  r: LifecycleReal,
  expected: ErrorCode | undefined,
  call: () => Promise<T>,
  label: string,
): Promise<T | undefined> {
  const events = r.events.length;
  if (expected === undefined) {
    const result = await call();
    expect(r.events.length, `${label}: an accepted write emits its events`).toBeGreaterThan(events);
    return result;
  }
  const before = await dumpStore(r.store);
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isContextServicesError(error) ? error.code : String(error), label).toBe(expected);
  expect(await dumpStore(r.store), `${label}: a rejected call changes nothing`).toEqual(before);
  expect(r.events.length, `${label}: a rejected call emits nothing`).toBe(events);
  return undefined;
}

/**
 * Which service a command addresses: mostly a visible one; sometimes any service ever started
 * (removed and expired ones must answer not-found); sometimes asked with the wrong tenant.
 */
export interface Target {
  readonly index: number;
  readonly anyService: boolean;
  readonly wrongTenant: boolean;
}

export const targetArb: fc.Arbitrary<Target> = fc.record({
  index: fc.nat(),
  anyService: fc.nat({ max: 7 }).map((n) => n === 0),
  wrongTenant: fc.nat({ max: 15 }).map((n) => n === 0),
});

/** The service a {@link Target} designates in the model. */
export function pickService(m: LifecycleModel, t: Target): ModelService {
  const visible = m.services.filter((s) => isVisible(m, s));
  const from = t.anyService || visible.length === 0 ? m.services : visible;
  return from[t.index % from.length] as ModelService;
}

/** The call options of a command on `s`: its tenant, or the other one for a wrong-tenant call. */
export function targetOptions(s: ModelService, t: Target): CallOptions {
  const tenant = t.wrongTenant ? (TENANTS.find((x) => x !== s.tenant) as string) : s.tenant;
  return { tenant };
}

/** SERVICE_NOT_FOUND when the service is gone, expired, or asked for in another tenant. */
export function serviceError(m: LifecycleModel, s: ModelService, t: Target): ErrorCode | undefined {
  return t.wrongTenant || !isVisible(m, s) ? 'SERVICE_NOT_FOUND' : undefined;
}

/** A reference to a state or task: an existing one (by index) or an id that does not exist. */
export interface ChildRef {
  readonly index: number;
  readonly bogus: boolean;
}
export const childRefArb: fc.Arbitrary<ChildRef> = fc.record({
  index: fc.nat(),
  bogus: fc.nat({ max: 7 }).map((n) => n === 0),
});

function resolveChild(children: Map<number, ModelChild>, ref: ChildRef): { id: number; child?: ModelChild } {
  if (ref.bogus || children.size === 0) return { id: children.size + 7 };
  const id = (ref.index % children.size) + 1;
  return { id, child: children.get(id) as ModelChild };
}

/** Base of the commands that address one service: extend it for your own commands. */
export abstract class ServiceCommand implements LifecycleCommand {
  constructor(readonly target: Target) {}
  /** Runs only when there is a service to address (and, see `ready`, a state or task to name). */
  check(model: Readonly<LifecycleModel>): boolean {
    const m = model as LifecycleModel;
    if (m.services.length === 0) return false;
    if (!this.target.anyService && !m.services.some((s) => isVisible(m, s))) return false;
    return this.ready(pickService(m, this.target));
  }
  /** Whether the command makes sense on this service; a bogus reference always does. */
  protected ready(_s: ModelService): boolean {
    return true;
  }
  abstract run(m: LifecycleModel, r: LifecycleReal): Promise<void>;
  abstract toString(): string;
}

export class StartServiceCommand implements LifecycleCommand {
  constructor(
    readonly tenant: number,
    readonly customer: number | null,
    readonly contactKey: number | null,
    readonly type: string,
    readonly ttl: number | null,
    readonly autoAfter: number | null,
    readonly cart: boolean,
  ) {}
  check = () => true;
  async run(m: LifecycleModel, r: LifecycleReal) {
    const tenant = TENANTS[this.tenant % TENANTS.length] as string;
    const customer = this.customer === null ? undefined : CUSTOMERS[this.customer % CUSTOMERS.length];
    const contactKey =
      this.contactKey === null ? undefined : CONTACT_KEYS[this.contactKey % CONTACT_KEYS.length];
    const body: Record<string, unknown> = { service_type: this.type };
    if (customer !== undefined) body.customer_id = customer;
    if (contactKey !== undefined) body.contact_key = contactKey;
    if (this.ttl !== null) body.ttl = this.ttl;
    if (this.autoAfter !== null) body.auto_complete_after = this.autoAfter;
    if (this.cart) body.Cart = { items: 1 };
    const expected = customer === undefined && contactKey === undefined ? 'VALIDATION_FAILED' : undefined;
    const res = await expectOutcome(r, expected, () => r.cs.startService(body, { tenant }), this.toString());
    if (res === undefined) return;
    expect(
      m.services.some((s) => s.id === res.service_id),
      'service ids are unique',
    ).toBe(false);
    const s: ModelService = {
      tenant,
      id: res.service_id,
      ...(contactKey === undefined ? {} : { contactKey }),
      type: this.type,
      started: m.now,
      updated: m.now,
      removed: false,
      states: new Map(),
      tasks: new Map(),
      ext: new Map(this.cart ? [['Cart', { items: 1 }]] : []),
    };
    if (customer !== undefined) s.customer = customer;
    if (this.ttl !== null) s.ttl = this.ttl;
    m.services.push(this.autoAfter === null ? s : { ...s, autoAfter: this.autoAfter });
  }
  toString = () =>
    `startService(t${this.tenant}, c${this.customer}, k${this.contactKey}, ${this.type}, ttl ${this.ttl}, auto ${this.autoAfter}, cart ${this.cart})`;
}

export class EndServiceCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly early: boolean,
  ) {
    super(target);
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const expected =
      serviceError(m, s, this.target) ??
      (s.completed !== undefined ? 'ALREADY_COMPLETED' : this.early ? 'COMPLETED_BEFORE_START' : undefined);
    const body = this.early ? { timestamp: iso(s.started - 1) } : { disposition: 'done' };
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.endService(s.id, body, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (!res) return;
    s.completed = m.now;
    cascade(s.states.values(), m.now, false); // L2
    cascade(s.tasks.values(), m.now, false);
    s.updated = m.now;
  }
  toString = () => `endService(${JSON.stringify(this.target)}, early ${this.early})`;
}

export class AssociateCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly customer: number,
  ) {
    super(target);
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const customer = CUSTOMERS[this.customer % CUSTOMERS.length] as string;
    const res = await expectOutcome(
      r,
      serviceError(m, s, this.target),
      () => r.cs.associate(customer, s.id, {}, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (!res) return;
    s.customer = customer;
    s.updated = m.now;
  }
  toString = () => `associate(${JSON.stringify(this.target)}, c${this.customer})`;
}

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
    const body: Record<string, unknown> = { state_type: this.type };
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
    const body: Record<string, unknown> = { task_type: this.type };
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

/** Replace (`merge: false`) or merge an extension of the service, one of its states or tasks. */
export class ExtensionCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly entity: 'service' | 'state' | 'task',
    readonly ref: ChildRef,
    readonly name: number,
    readonly value: Record<string, number> | number[],
    readonly merge: boolean,
  ) {
    super(target);
  }
  protected override ready(s: ModelService): boolean {
    if (this.entity === 'service' || this.ref.bogus) return true;
    return (this.entity === 'state' ? s.states : s.tasks).size > 0;
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const name = EXTENSION_NAMES[this.name % EXTENSION_NAMES.length] as string;
    let expected = serviceError(m, s, this.target);
    const ref: { service_id: string; state_id?: number; task_id?: number } = { service_id: s.id };
    let ext: Map<string, unknown> | undefined = s.ext;
    if (this.entity !== 'service') {
      const { id, child } = resolveChild(this.entity === 'state' ? s.states : s.tasks, this.ref);
      ref[this.entity === 'state' ? 'state_id' : 'task_id'] = id;
      ext = child?.ext;
      expected ??=
        child === undefined ? (this.entity === 'state' ? 'STATE_NOT_FOUND' : 'TASK_NOT_FOUND') : undefined;
    }
    const current = ext?.get(name);
    if (this.merge && Array.isArray(this.value)) expected ??= 'VALIDATION_FAILED';
    if (this.merge && current !== undefined && Array.isArray(current)) expected ??= 'EXTENSION_NOT_OBJECT';
    if (ext !== undefined && current === undefined && ext.size + 1 > m.config.extensionKeysPerEntity) {
      expected ??= 'LIMIT_EXCEEDED';
    }
    const options = targetOptions(s, this.target);
    const call = this.merge
      ? () => r.cs.mergeExtension(ref, name, this.value, options)
      : () => r.cs.putExtension(ref, name, this.value, options);
    const res = await expectOutcome(r, expected, () => call().then(() => true), this.toString());
    if (!res || ext === undefined) return;
    ext.set(
      name,
      this.merge && current !== undefined ? { ...(current as object), ...this.value } : this.value,
    );
    s.updated = m.now;
  }
  toString = () =>
    `${this.merge ? 'merge' : 'put'}Extension(${JSON.stringify(this.target)}, ${this.entity} ${JSON.stringify(this.ref)}, n${this.name}, ${JSON.stringify(this.value)})`;
}

export class UpdateExpirationCommand extends ServiceCommand {
  constructor(
    target: Target,
    readonly ttl: number | null,
    readonly offset: number | null,
  ) {
    super(target);
  }
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const body: Record<string, unknown> = {};
    if (this.ttl !== null) body.ttl = this.ttl;
    if (this.offset !== null) body.expiration_time = iso(m.now + this.offset);
    // The body is validated before the service is read.
    const expected = Object.keys(body).length === 0 ? 'VALIDATION_FAILED' : serviceError(m, s, this.target);
    const res = await expectOutcome(
      r,
      expected,
      () => r.cs.updateExpiration(s.id, body, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (!res) return;
    if (this.ttl !== null) {
      s.ttl = this.ttl; // ttl wins over expiration_time
      delete s.expirationTime;
    } else if (this.offset !== null) {
      s.expirationTime = m.now + this.offset;
      delete s.ttl;
    }
    s.updated = m.now;
  }
  toString = () => `updateExpiration(${JSON.stringify(this.target)}, ttl ${this.ttl}, offset ${this.offset})`;
}

export class DeleteCommand extends ServiceCommand {
  async run(m: LifecycleModel, r: LifecycleReal) {
    const s = pickService(m, this.target);
    const res = await expectOutcome(
      r,
      serviceError(m, s, this.target),
      () => r.cs.deleteService(s.id, targetOptions(s, this.target)).then(() => true),
      this.toString(),
    );
    if (res) s.removed = true; // L8
  }
  toString = () => `delete(${JSON.stringify(this.target)})`;
}

const PURGE_OPERATIONS: Record<PurgeOperation, (s: ModelService) => boolean> = {
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

/** Expire (L8) then auto-complete (SPEC §7.3) what is due, exactly as the model predicts. */
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
      // Not an update: the expiry stays where the last update put it (SPEC §7.2).
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

const types = fc.constantFrom('a', 'b', 'c');
const optional = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { freq });
const rarely = (n: number) => fc.nat({ max: n - 1 }).map((x) => x === 0);
const extensionValue = fc.oneof(
  fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 }),
  fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 2 }),
);

/** Arbitraries of the built-in commands with their relative weights. */
const WEIGHTED: [fc.Arbitrary<LifecycleCommand>, number][] = [
  [
    fc
      .tuple(
        fc.nat(),
        optional(fc.nat(), 4),
        optional(fc.nat(), 4),
        fc.constantFrom('billing', 'booking'),
        optional(fc.constantFrom(60, 3600), 3),
        optional(fc.constantFrom(1, 600), 3),
        fc.boolean(),
      )
      .map((a) => new StartServiceCommand(...a)),
    4,
  ],
  [fc.tuple(targetArb, rarely(6)).map(([t, e]) => new EndServiceCommand(t, e)), 1],
  [fc.tuple(targetArb, fc.nat()).map(([t, c]) => new AssociateCommand(t, c)), 1],
  [fc.tuple(targetArb, optional(childRefArb), types).map(([t, p, ty]) => new StartStateCommand(t, p, ty)), 3],
  [fc.tuple(targetArb, childRefArb, rarely(6)).map(([t, c, e]) => new EndStateCommand(t, c, e)), 2],
  [fc.tuple(targetArb, childRefArb, types).map(([t, c, ty]) => new TransitionCommand(t, c, ty)), 2],
  [fc.tuple(targetArb, optional(childRefArb), types).map(([t, c, ty]) => new StartTaskCommand(t, c, ty)), 3],
  [fc.tuple(targetArb, childRefArb, rarely(6)).map(([t, c, e]) => new EndTaskCommand(t, c, e)), 2],
  [
    fc
      .tuple(
        targetArb,
        fc.constantFrom('service' as const, 'state' as const, 'task' as const),
        childRefArb,
        fc.nat(),
        extensionValue,
        fc.boolean(),
      )
      .map((a) => new ExtensionCommand(...a)),
    2,
  ],
  [
    fc
      .tuple(
        targetArb,
        optional(fc.constantFrom(1, 60, 7200)),
        optional(fc.constantFrom(-1, 1, 1000, 10_800_000)),
      )
      .map(([t, ttl, off]) => new UpdateExpirationCommand(t, ttl, off)),
    1,
  ],
  [targetArb.map((t) => new DeleteCommand(t)), 1],
  [
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(...(Object.keys(PURGE_OPERATIONS) as PurgeOperation[])),
        fc.constantFrom(-3_600_000, 0, 1),
      )
      .map(([t, op, off]) => new PurgeCommand(t, op, off)),
    1,
  ],
  [
    fc
      .constantFrom(1, 1000, 1000, 60_000, 60_000, 600_000, 1_799_999, 3_600_000)
      .map((ms) => new AdvanceClockCommand(ms)),
    2,
  ],
  [
    fc
      .tuple(
        targetArb,
        fc.constantFrom('expiry' as const, 'auto-complete' as const),
        fc.constantFrom(-1 as const, 0 as const, 1 as const),
      )
      .map(([t, k, d]) => new AdvanceToDeadlineCommand(t, k, d)),
    2,
  ],
  [fc.constant(new SweepCommand()), 2],
];

/**
 * The arbitraries of every lifecycle command (an arbitrary appears as many times as its weight).
 * Add your own command arbitraries beside them to test your application's rules on top of the
 * engine (see `runLifecycleModel`).
 */
export function lifecycleCommandArbitraries(options: { reopen: boolean }): fc.Arbitrary<LifecycleCommand>[] {
  const list = WEIGHTED.flatMap(([arb, weight]) => Array.from({ length: weight }, () => arb));
  if (options.reopen) list.push(fc.constant(new ReopenCommand()));
  return list;
}
