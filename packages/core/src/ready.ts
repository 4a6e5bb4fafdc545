/** The readiness probe (docs/spec.md §13): does the store answer a read and accept a write, quickly? */
import { ContextServicesError, isContextServicesError } from './errors.js';
import { READY_KEY } from './keys.js';
import type { Store } from './store.js';

/** Options of {@link probeStore} and `ContextServices.ready`. */
export interface ReadyOptions {
  /** Longest wait for each of the read and the write, in ms (default 2000). */
  timeoutMs?: number;
}

function within<T>(work: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ContextServicesError(
            'STORE_UNAVAILABLE',
            `the store did not answer the ${step} within ${ms} ms`,
            {
              details: { step },
            },
          ),
        ),
      ms,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function step<T>(name: 'read' | 'write', ms: number, work: () => Promise<T>): Promise<T> {
  try {
    return await within(work(), ms, name);
  } catch (error) {
    if (isContextServicesError(error) && (error.code === 'STORE_UNAVAILABLE' || error.code === 'CLOSED'))
      throw error;
    const reason = (error as { message?: unknown }).message;
    throw new ContextServicesError(
      'STORE_UNAVAILABLE',
      `the store failed the ${name}: ${typeof reason === 'string' ? reason : String(error)}`,
      { details: { step: name }, cause: error },
    );
  }
}

/**
 * Check that `store` answers a read and accepts a write: a `get` then a one-op `batch` on a key
 * reserved for this (`h/ready`, outside every data prefix), each within `timeoutMs`. Cheap enough
 * for a readiness probe every few seconds; a full disk or an unreachable database fails it.
 *
 * @example
 * ```ts
 * await probeStore(store, { timeoutMs: 1000 }); // throws when not ready
 * ```
 * @throws ContextServicesError `STORE_UNAVAILABLE` (message = the reason, `details.step` = `read`
 * or `write`), `CLOSED` when the store is closed.
 */
export async function probeStore(store: Store, options: ReadyOptions = {}): Promise<void> {
  const ms = options.timeoutMs ?? 2000;
  if (!(ms > 0)) throw new TypeError('probeStore: timeoutMs must be > 0');
  await step('read', ms, () => store.get(READY_KEY));
  await step('write', ms, () => store.batch([{ type: 'put', key: READY_KEY, value: 'ok' }]));
}
