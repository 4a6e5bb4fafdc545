/**
 * The change log's write side and its clock of positions (docs/spec.md §12). Each committed write carries
 * its events as log entries in the same atomic batch, so an entry exists if and only if its write
 * committed. Positions grow per tenant:
 *
 * - single-writer stores (`sharedWriters: false`): the engine numbers the entries itself, from a
 *   counter per tenant recovered from the last log key (or the floor) on the tenant's first write.
 *   Batches may complete out of the order their positions were given, so readers of this process
 *   are held below the oldest batch still in flight (the "horizon"): none skips an entry that is
 *   about to appear below what it has read.
 * - shared stores: the store numbers them as part of the commit (`BatchOptions.append`, contract
 *   in `AppendOp`), so positions and visibility agree across processes.
 */
import type { Clock } from './clock.js';
import type { ChangeEvent, ContextEvent } from './events.js';
import { prefixRange, type TenantKeys } from './keys.js';
import type { BatchOp, BatchOptions, Precondition, Store } from './store.js';

/** One stored entry: the commit instant (for retention) and the event. */
export interface StoredChange {
  readonly at: number;
  readonly event: ChangeEvent;
}

/** What a commit adds to its batch, and what it reports when the batch has settled. */
export interface LogAppend {
  readonly ops: readonly BatchOp[];
  readonly options: BatchOptions | undefined;
  /** Call once the batch has settled, committed or not. */
  settle(): void;
}

const NOTHING: LogAppend = { ops: [], options: undefined, settle: () => undefined };

/** The options of a commit's batch: the change log's append, and the preconditions. */
export function batchOptions(
  log: LogAppend,
  preconditions: readonly Precondition[],
): BatchOptions | undefined {
  if (preconditions.length === 0) return log.options;
  return { ...log.options, preconditions };
}

interface TenantLog {
  /** Highest position handed out. */
  last: number;
  /** First positions of batches in flight. */
  readonly inFlight: Set<number>;
}

/** The service fields every entry carries, as they were at commit. */
export interface ServiceFields {
  readonly id: string;
  readonly customer_id?: string;
  readonly contact_key?: string;
}

/** Position part of a log key. */
export function positionOf(key: string): number {
  return Number(key.slice(key.lastIndexOf('/') + 1));
}

/** `local`: the engine numbers entries; `shared`: the store does; `off`: no log (see store.ts). */
export type LogMode = 'local' | 'shared' | 'off';

/** The change log of one engine. */
export class ChangeLog {
  readonly store: Store;
  readonly mode: LogMode;
  readonly #clock: Clock;
  readonly #tenants = new Map<string, Promise<TenantLog>>();
  readonly #wakers = new Map<string, { promise: Promise<void>; wake: () => void }>();
  #closed = false;
  #onClose: () => void = () => undefined;
  /** Resolves when the engine closes: live readers end. */
  readonly whenClosed = new Promise<void>((resolve) => {
    this.#onClose = resolve;
  });

  constructor(store: Store, clock: Clock) {
    this.store = store;
    this.#clock = clock;
    const c = store.capabilities;
    this.mode = !c.sharedWriters ? 'local' : c.orderedAppend === true ? 'shared' : 'off';
  }

  /** The highest position stored or removed by retention (0: none), read from the store. */
  async storedHead(keys: TenantKeys): Promise<number> {
    let last = 0;
    for await (const [k] of this.store.iterate({
      ...prefixRange(keys.changesPrefix()),
      reverse: true,
      limit: 1,
    }))
      last = positionOf(k);
    return Math.max(last, await this.floor(keys));
  }

  /** The highest position that retention removed (0: none). */
  async floor(keys: TenantKeys): Promise<number> {
    const raw = await this.store.get(keys.changesFloor());
    return raw === undefined ? 0 : Number(raw);
  }

  #tenant(keys: TenantKeys): Promise<TenantLog> {
    let t = this.#tenants.get(keys.tenant);
    if (t === undefined) {
      t = this.storedHead(keys).then((last) => ({ last, inFlight: new Set<number>() }));
      // A failed read must not stick: the next write tries again.
      t.catch(() => this.#tenants.delete(keys.tenant));
      this.#tenants.set(keys.tenant, t);
    }
    return t;
  }

  /** The log entries of one commit: add `ops` and `options` to its batch, then call `settle`. */
  async append(
    keys: TenantKeys,
    service: ServiceFields,
    events: readonly ContextEvent[],
  ): Promise<LogAppend> {
    if (events.length === 0 || this.mode === 'off') return NOTHING;
    const at = this.#clock.now();
    const values = events.map((e) => {
      const event: ChangeEvent = { ...e, service_id: service.id };
      if (service.customer_id !== undefined) event.customer_id = service.customer_id;
      if (service.contact_key !== undefined) event.contact_key = service.contact_key;
      return JSON.stringify({ at, event } satisfies StoredChange);
    });
    if (this.mode === 'shared') {
      return {
        ops: [],
        options: { append: { prefix: keys.changesPrefix(), values } },
        settle: () => this.wake(keys),
      };
    }
    const t = await this.#tenant(keys);
    // From here to the caller's store.batch call nothing awaits: positions follow call order.
    const first = t.last + 1;
    t.last += values.length;
    t.inFlight.add(first);
    return {
      ops: values.map((value, i) => ({ type: 'put', key: keys.change(first + i), value })),
      options: undefined,
      settle: () => {
        t.inFlight.delete(first);
        this.wake(keys);
      },
    };
  }

  /**
   * The highest position a reader of this process may read up to without skipping an entry that
   * is still being written (`Infinity` when the store orders visibility itself).
   */
  async horizon(keys: TenantKeys): Promise<number> {
    if (this.mode !== 'local') return Number.POSITIVE_INFINITY;
    const t = await this.#tenant(keys);
    let h = t.last;
    for (const first of t.inFlight) h = Math.min(h, first - 1);
    return h;
  }

  /** The position a `since: 'now'` reader starts after. */
  async head(keys: TenantKeys): Promise<number> {
    return this.mode === 'local' ? (await this.#tenant(keys)).last : this.storedHead(keys);
  }

  /** Resolves at the next settled write of the tenant in this process. Take it before reading. */
  next(keys: TenantKeys): Promise<void> {
    let w = this.#wakers.get(keys.tenant);
    if (w === undefined) {
      let wake: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        wake = resolve;
      });
      w = { promise, wake };
      this.#wakers.set(keys.tenant, w);
    }
    return w.promise;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** End every live reader. */
  close(): void {
    this.#closed = true;
    this.#onClose();
  }

  wake(keys: TenantKeys): void {
    const w = this.#wakers.get(keys.tenant);
    if (w === undefined) return;
    this.#wakers.delete(keys.tenant);
    w.wake();
  }
}
