/** A store decorator that times every call, for the server's metrics. */
import type { BatchOp, BatchOptions, Range, Store, StoreCapabilities } from '@cxs/core';

/** The store calls that are timed. */
export type StoreCall = 'get' | 'getMany' | 'batch' | 'iterate';

/** Receives each call's duration in seconds and whether it succeeded. */
export type StoreObserver = (call: StoreCall, seconds: number, ok: boolean) => void;

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * Wraps a {@link Store} and reports how long each `get`, `getMany`, `batch` (options and
 * preconditions passed through unchanged) and `iterate` (from creation until the iterator is done,
 * exhausted or closed early) takes. Behaviour, errors (synchronous ones included) and capabilities
 * are the wrapped store's.
 *
 * @example
 * ```ts
 * const store = new MeasuredStore(new LevelStore({ location }), metrics.observeStore);
 * ```
 */
export class MeasuredStore implements Store {
  readonly #inner: Store;
  readonly #observe: StoreObserver;

  constructor(inner: Store, observe: StoreObserver) {
    this.#inner = inner;
    this.#observe = observe;
  }

  get capabilities(): StoreCapabilities {
    return this.#inner.capabilities;
  }

  open(): Promise<void> {
    return this.#inner.open();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  get(key: string): Promise<string | undefined> {
    return this.#timed('get', () => this.#inner.get(key));
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.#timed('getMany', () => this.#inner.getMany(keys));
  }

  batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    return this.#timed('batch', () =>
      options === undefined ? this.#inner.batch(ops) : this.#inner.batch(ops, options),
    );
  }

  iterate(range: Range): AsyncIterable<[string, string]> {
    const inner = this.#inner.iterate(range);
    const observe = this.#observe;
    return {
      [Symbol.asyncIterator]: () => {
        const it = inner[Symbol.asyncIterator]();
        const start = process.hrtime.bigint();
        let reported = false;
        const report = (ok: boolean) => {
          if (reported) return;
          reported = true;
          observe('iterate', since(start), ok);
        };
        return {
          async next() {
            try {
              const r = await it.next();
              if (r.done === true) report(true);
              return r;
            } catch (error) {
              report(false);
              throw error;
            }
          },
          async return(value?: unknown) {
            report(true);
            return it.return === undefined
              ? { done: true as const, value: undefined }
              : it.return(value as undefined);
          },
        };
      },
    };
  }

  async #timed<T>(call: StoreCall, work: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      const value = await work();
      this.#observe(call, since(start), true);
      return value;
    } catch (error) {
      this.#observe(call, since(start), false);
      throw error;
    }
  }
}
