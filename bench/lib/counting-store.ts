/**
 * A store wrapper that records every batch the engine writes, so that the raw-store baseline can
 * replay batches of exactly the same keys and value sizes.
 */
import type { BatchOp, Range, Store, StoreCapabilities } from '@cxs/core';

/** Totals of what went through {@link CountingStore.batch}. */
export interface WriteTotals {
  batches: number;
  ops: number;
  bytes: number;
}

/** Bytes of a batch: keys plus values (ASCII keys; values measured in UTF-8). */
export function batchBytes(ops: readonly BatchOp[]): number {
  let n = 0;
  for (const op of ops) n += op.key.length + (op.type === 'put' ? Buffer.byteLength(op.value) : 0);
  return n;
}

/** Passes every call to `inner`, keeping a copy of every batch while `recording` is on. */
export class CountingStore implements Store {
  readonly inner: Store;
  readonly recorded: BatchOp[][] = [];
  recording = true;
  readonly totals: WriteTotals = { batches: 0, ops: 0, bytes: 0 };

  constructor(inner: Store) {
    this.inner = inner;
  }

  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.inner.getMany(keys);
  }
  iterate(range: Range): AsyncIterable<[string, string]> {
    return this.inner.iterate(range);
  }
  batch(ops: readonly BatchOp[]): Promise<void> {
    this.totals.batches++;
    this.totals.ops += ops.length;
    this.totals.bytes += batchBytes(ops);
    if (this.recording) this.recorded.push(ops.map((op) => ({ ...op })));
    return this.inner.batch(ops);
  }
}

/**
 * The batches of one conversation as a template: every key and value split around the service id,
 * so that a replay with a new id writes new keys of exactly the same sizes.
 */
export class BatchTemplate {
  readonly #parts: { type: 'put' | 'del'; key: string[]; value: string[] | undefined }[][];

  constructor(batches: readonly (readonly BatchOp[])[], serviceId: string) {
    this.#parts = batches.map((ops) =>
      ops.map((op) => ({
        type: op.type,
        key: op.key.split(serviceId),
        value: op.type === 'put' ? op.value.split(serviceId) : undefined,
      })),
    );
  }

  get batchCount(): number {
    return this.#parts.length;
  }

  /** The batches with `serviceId` in place of the recorded id. */
  batches(serviceId: string): BatchOp[][] {
    return this.#parts.map((ops) =>
      ops.map(
        (op): BatchOp =>
          op.value === undefined
            ? { type: 'del', key: op.key.join(serviceId) }
            : { type: 'put', key: op.key.join(serviceId), value: op.value.join(serviceId) },
      ),
    );
  }
}
