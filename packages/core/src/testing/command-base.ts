/**
 * What the lifecycle commands share: how a command predicts and checks an outcome
 * (`expectOutcome`), which service, state or task it addresses, and the base class of the
 * commands that address one service.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { CallOptions } from '../api.js';
import { type ErrorCode, isContextServicesError } from '../errors.js';
import { formatInstant } from '../time.js';
import { dumpStore } from './factory.js';
import {
  isVisible,
  type LifecycleModel,
  type LifecycleReal,
  type ModelChild,
  type ModelService,
  TENANTS,
} from './lifecycle-model.js';

/** A command of the lifecycle model run. */
export type LifecycleCommand = fc.AsyncCommand<LifecycleModel, LifecycleReal>;

export const iso = formatInstant;

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

export function resolveChild(
  children: Map<number, ModelChild>,
  ref: ChildRef,
): { id: number; child?: ModelChild } {
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
