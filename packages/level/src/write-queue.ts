/**
 * Group commit: batches wait in one queue; whenever no write is in flight, every batch waiting is
 * concatenated, in arrival order, into one write. LevelDB applies a write batch atomically and in
 * order, so each caller's ops stay all-or-nothing and a later batch still wins over an earlier
 * one on the same key, while N concurrent callers share one write (and, with `sync`, one fsync).
 *
 * Preconditions are checked here, by the one writer, between the previous write and this one:
 * the keys they name are read once per group, each batch is checked against those values as
 * changed by the batches before it in the group, and a batch that fails is left out of the write
 * (it rejects with `PRECONDITION_FAILED`) without failing the others.
 *
 * Appends (`BatchOptions.append`) take their positions here too, by the one writer, when their
 * batch is admitted into a write: positions follow the queue's order, which is the order the
 * writes become visible in (the `AppendOp` contract), and a batch refused by a precondition takes
 * none. The last position of a prefix is read once from the store, then counted here.
 */
import {
  type AppendOp,
  type BatchOp,
  encodePosition,
  failedPrecondition,
  type Precondition,
  preconditionFailed,
} from '@cxs/core';

/** Counters of the write queue, for tests and monitoring. */
export interface WriteStats {
  /** `batch()` calls taken into the queue. */
  readonly batches: number;
  /** LevelDB writes issued (each one write batch, fsynced when `sync` is on). */
  readonly writes: number;
  /** Most `batch()` calls ever combined into one write. */
  readonly largestGroup: number;
  /** Batches refused because a precondition did not hold. */
  readonly preconditionsFailed: number;
}

interface Pending {
  ops: readonly BatchOp[];
  readonly preconditions: readonly Precondition[] | undefined;
  readonly append: AppendOp | undefined;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Approximate size of a batch, to bound how much one combined write carries. */
function sizeOf(ops: readonly BatchOp[]): number {
  let n = 0;
  for (const op of ops) n += op.key.length + (op.type === 'put' ? op.value.length : 0) + 16;
  return n;
}

/**
 * A FIFO of batches written by one writer at a time. `write` must apply its ops atomically and in
 * order; the queue never calls it concurrently and never with an empty list.
 */
export class WriteQueue {
  readonly #write: (ops: readonly BatchOp[]) => Promise<void>;
  readonly #read: (keys: readonly string[]) => Promise<(string | undefined)[]>;
  readonly #lastPosition: (prefix: string) => Promise<number>;
  readonly #maxGroupBytes: number;
  /** Last position given per append prefix. */
  readonly #appended = new Map<string, number>();
  #pending: Pending[] = [];
  #running = false;
  #idle: (() => void)[] = [];
  #batches = 0;
  #writes = 0;
  #largestGroup = 0;
  #failed = 0;

  /**
   * @param write applies one combined batch (a single LevelDB write).
   * @param read current values of keys (for preconditions); called only between writes.
   * @param lastPosition the highest position stored under an append prefix (0: none); called only
   *   between writes, once per prefix until {@link forgetPositions}.
   * @param maxGroupBytes a group stops growing past this many (approximate) bytes; a single larger
   *   batch is still written whole, alone.
   */
  constructor(
    write: (ops: readonly BatchOp[]) => Promise<void>,
    read: (keys: readonly string[]) => Promise<(string | undefined)[]>,
    lastPosition: (prefix: string) => Promise<number> = async () => 0,
    maxGroupBytes = 4 * 1024 * 1024,
  ) {
    this.#write = write;
    this.#read = read;
    this.#lastPosition = lastPosition;
    this.#maxGroupBytes = maxGroupBytes;
  }

  /** A snapshot of the counters. */
  get stats(): WriteStats {
    return {
      batches: this.#batches,
      writes: this.#writes,
      largestGroup: this.#largestGroup,
      preconditionsFailed: this.#failed,
    };
  }

  /**
   * Resolves when the write carrying `ops` (and `append`'s entries) has resolved; rejects with that
   * write's error, or with `PRECONDITION_FAILED` (nothing of `ops` written) when one of
   * `preconditions` does not hold.
   */
  push(ops: readonly BatchOp[], preconditions?: readonly Precondition[], append?: AppendOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#batches++;
      const conditions = preconditions !== undefined && preconditions.length > 0 ? preconditions : undefined;
      const entries = append !== undefined && append.values.length > 0 ? append : undefined;
      let bytes = sizeOf(ops);
      for (const v of entries?.values ?? []) bytes += v.length + 32;
      this.#pending.push({ ops, preconditions: conditions, append: entries, bytes, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        // Start on the next microtask rather than now, so that batches issued in the same
        // synchronous run (a Promise.all of writes) already share the first write.
        queueMicrotask(() => void this.#run());
      }
    });
  }

  /** Forget the positions counted (the store was closed: read them again after it reopens). */
  forgetPositions(): void {
    this.#appended.clear();
  }

  /** Resolves once every batch pushed so far has settled. */
  drain(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Take the next group: the oldest batch, then following ones while under the byte bound. */
  #take(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#pending.length) {
      const next = this.#pending[n] as Pending;
      if (n > 0 && bytes + next.bytes > this.#maxGroupBytes) break;
      bytes += next.bytes;
      n++;
    }
    return this.#pending.splice(0, n);
  }

  /**
   * The batches of `group` whose preconditions hold, each judged on the store as left by the
   * previous write and the batches kept before it; the others are rejected now.
   */
  async #admit(group: Pending[]): Promise<Pending[]> {
    return this.#number(await this.#check(group));
  }

  /** Give the appends of the admitted batches their positions, in queue order. */
  async #number(group: Pending[]): Promise<Pending[]> {
    if (!group.some((p) => p.append !== undefined)) return group;
    const kept: Pending[] = [];
    for (const p of group) {
      if (p.append === undefined) {
        kept.push(p);
        continue;
      }
      const { prefix, values } = p.append;
      let last: number;
      try {
        last = this.#appended.get(prefix) ?? (await this.#lastPosition(prefix));
      } catch (error) {
        p.reject(error);
        continue;
      }
      const entries = values.map(
        (value): BatchOp => ({ type: 'put', key: prefix + encodePosition(++last), value }),
      );
      this.#appended.set(prefix, last);
      p.ops = [...p.ops, ...entries];
      kept.push(p);
    }
    return kept;
  }

  async #check(group: Pending[]): Promise<Pending[]> {
    const keys = new Set<string>();
    for (const p of group) for (const c of p.preconditions ?? []) keys.add(c.key);
    if (keys.size === 0) return group;
    const list = [...keys];
    let values: (string | undefined)[];
    try {
      values = await this.#read(list);
    } catch (error) {
      for (const p of group) if (p.preconditions !== undefined) p.reject(error);
      return group.filter((p) => p.preconditions === undefined);
    }
    const current = new Map(list.map((k, i) => [k, values[i]]));
    const kept: Pending[] = [];
    for (const p of group) {
      const failed = failedPrecondition(p.preconditions, (k) => current.get(k));
      if (failed !== undefined) {
        this.#failed++;
        p.reject(preconditionFailed(failed));
        continue;
      }
      kept.push(p);
      for (const op of p.ops) {
        if (keys.has(op.key)) current.set(op.key, op.type === 'put' ? op.value : undefined);
      }
    }
    return kept;
  }

  async #run(): Promise<void> {
    while (this.#pending.length > 0) {
      const group = await this.#admit(this.#take());
      if (group.length === 0) continue;
      const ops = group.length === 1 ? (group[0] as Pending).ops : group.flatMap((p) => p.ops);
      try {
        if (ops.length > 0) {
          this.#writes++;
          this.#largestGroup = Math.max(this.#largestGroup, group.length);
          await this.#write(ops);
        }
        for (const p of group) p.resolve();
      } catch (error) {
        // One atomic write carried the whole group: whatever reached the disk, it is all or
        // none of it, and no caller of the group may be told it succeeded.
        for (const p of group) p.reject(error);
      }
    }
    this.#running = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
