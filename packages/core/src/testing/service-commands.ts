/** The commands on a service as a whole: start, end, associate, extensions, expiration, delete. */
import { expect } from 'vitest';
import type { ExpirationUpdateBody, JsonObject, ServiceStartEventBody } from '../types.js';
import {
  type ChildRef,
  expectOutcome,
  iso,
  type LifecycleCommand,
  pickService,
  resolveChild,
  ServiceCommand,
  serviceError,
  type Target,
  targetOptions,
} from './command-base.js';
import {
  CONTACT_KEYS,
  CUSTOMERS,
  cascade,
  EXTENSION_NAMES,
  type LifecycleModel,
  type LifecycleReal,
  type ModelService,
  TENANTS,
} from './lifecycle-model.js';

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
    const body: ServiceStartEventBody = { service_type: this.type };
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
      ? // Arrays on purpose: merge must refuse them at run time.
        () => r.cs.mergeExtension(ref, name, this.value as JsonObject, options)
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
    const body: { ttl?: number; expiration_time?: string } = {};
    if (this.ttl !== null) body.ttl = this.ttl;
    if (this.offset !== null) body.expiration_time = iso(m.now + this.offset);
    // The body is validated before the service is read.
    // docs/spec.md §7.2: an instant that applies (no ttl) must be in the future.
    const past = this.ttl === null && this.offset !== null && this.offset <= 0;
    const expected =
      Object.keys(body).length === 0
        ? 'VALIDATION_FAILED'
        : past
          ? 'EXPIRATION_IN_PAST'
          : serviceError(m, s, this.target);
    const res = await expectOutcome(
      r,
      expected,
      // An empty body on purpose: the engine must refuse it at run time.
      () =>
        r.cs
          .updateExpiration(s.id, body as ExpirationUpdateBody, targetOptions(s, this.target))
          .then(() => true),
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
