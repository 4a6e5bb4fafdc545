/**
 * Adapts a LevelDB iterator (created by the caller, so that its snapshot is the one current at
 * `iterate()` time) to the async iterator protocol, and closes it as soon as the consumer is done:
 * at the end, on error, or when a `for await` stops early (break, return, throw call `return()`).
 */

/** The part of a classic-level iterator that is used here. */
export interface LevelIterator {
  nextv(size: number): Promise<[string, string][]>;
  close(): Promise<void>;
}

/** Entries read per round trip to the native side (classic-level also caps it at 16 KiB). */
const CHUNK = 1000;

/** An async iterator over one LevelDB iterator; see the module comment. */
export class EntryIterator implements AsyncIterator<[string, string], undefined> {
  readonly #it: LevelIterator;
  readonly #check: () => void;
  readonly #fail: (error: unknown) => unknown;
  #buffer: [string, string][] = [];
  #pos = 0;
  #done = false;
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * @param it the LevelDB iterator, owned from now on.
   * @param check throws (e.g. the store's CLOSED error) when the store is no longer open.
   * @param fail maps an error of the LevelDB iterator to the error to throw.
   */
  constructor(it: LevelIterator, check: () => void, fail: (error: unknown) => unknown) {
    this.#it = it;
    this.#check = check;
    this.#fail = fail;
  }

  next(): Promise<IteratorResult<[string, string], undefined>> {
    // Calls are chained so that overlapping next() calls never reach LevelDB concurrently.
    const run = this.#tail.then(() => this.#next());
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async return(): Promise<IteratorResult<[string, string], undefined>> {
    await this.#finish();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<[string, string], undefined>> {
    await this.#finish();
    throw error;
  }

  async #next(): Promise<IteratorResult<[string, string], undefined>> {
    if (this.#done) return { done: true, value: undefined };
    try {
      this.#check();
    } catch (error) {
      await this.#finish();
      throw error;
    }
    if (this.#pos >= this.#buffer.length) {
      try {
        this.#buffer = await this.#it.nextv(CHUNK);
      } catch (error) {
        await this.#finish();
        throw this.#fail(error);
      }
      this.#pos = 0;
      if (this.#buffer.length === 0) {
        await this.#finish();
        return { done: true, value: undefined };
      }
    }
    return { done: false, value: this.#buffer[this.#pos++] as [string, string] };
  }

  async #finish(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#buffer = [];
    // Closing twice, or after the store closed it, is harmless in abstract-level.
    await this.#it.close();
  }
}
