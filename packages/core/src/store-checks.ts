/**
 * Argument checks shared by every store, so that a programmer mistake (a wrong argument type from
 * a TypeScript caller) is the same `TypeError` whatever the store (STYLE.md: errors).
 */
import { ContextServicesError } from './errors.js';
import type { BatchOp, BatchOptions, Precondition, Range } from './store.js';

/** A key is a string (stores order keys by UTF-16 code unit, which is byte order for ASCII). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('Store keys must be strings');
}

/**
 * Every op is a put of a string value or a del, every precondition names a string key with
 * either a string `value` or `absent: true`, and an `append` has a string prefix ending in `/`
 * and string values, before anything is written.
 */
export function checkBatch(ops: readonly BatchOp[], options?: BatchOptions): void {
  if (!Array.isArray(ops)) throw new TypeError('batch: ops must be an array');
  for (const op of ops) {
    if (typeof op !== 'object' || op === null) throw new TypeError('batch: each op must be an object');
    checkKey(op.key);
    if (op.type === 'put') {
      if (typeof op.value !== 'string') throw new TypeError('batch: put values must be strings');
    } else if (op.type !== 'del') throw new TypeError("batch: op.type must be 'put' or 'del'");
  }
  checkPreconditions(options);
  checkAppend(options);
}

function checkAppend(options: BatchOptions | undefined): void {
  const append = options?.append;
  if (append === undefined) return;
  if (typeof append !== 'object' || append === null) throw new TypeError('batch: append must be an object');
  if (typeof append.prefix !== 'string' || !append.prefix.endsWith('/'))
    throw new TypeError("batch: append.prefix must be a string ending in '/'");
  if (!Array.isArray(append.values)) throw new TypeError('batch: append.values must be an array');
  for (const v of append.values as unknown[])
    if (typeof v !== 'string') throw new TypeError('batch: append values must be strings');
}

function checkPreconditions(options: BatchOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null)
    throw new TypeError('batch: options must be an object');
  const list = options.preconditions;
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new TypeError('batch: preconditions must be an array');
  for (const p of list as unknown[]) {
    if (typeof p !== 'object' || p === null)
      throw new TypeError('batch: each precondition must be an object');
    const c = p as Record<string, unknown>;
    checkKey(c.key);
    const hasValue = 'value' in c && c.value !== undefined;
    if (hasValue === (c.absent === true) || (hasValue && typeof c.value !== 'string')) {
      throw new TypeError('batch: a precondition has either a string value or absent: true');
    }
    if (c.absent !== undefined && c.absent !== true) throw new TypeError('batch: absent must be true');
  }
}

/**
 * The key of the first precondition that does not hold when `read` gives the current values, or
 * undefined when all hold. Stores call it inside their write path, atomically with the write.
 */
export function failedPrecondition(
  preconditions: readonly Precondition[] | undefined,
  read: (key: string) => string | undefined,
): string | undefined {
  for (const p of preconditions ?? []) {
    const current = read(p.key);
    const absent = (p as { absent?: unknown }).absent === true;
    if (absent ? current !== undefined : current !== (p as { value: string }).value) return p.key;
  }
  return undefined;
}

/** The error of a batch whose precondition on `key` did not hold (nothing was written). */
export function preconditionFailed(key: string): ContextServicesError {
  return new ContextServicesError(
    'PRECONDITION_FAILED',
    `A precondition of the batch does not hold on ${key}`,
    {
      details: { key },
    },
  );
}

/** Bounds are strings, at most one lower and one upper bound, `limit` a number. */
export function checkRange(range: Range): void {
  if (typeof range !== 'object' || range === null) throw new TypeError('iterate: range must be an object');
  for (const b of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[b] !== undefined && typeof range[b] !== 'string') {
      throw new TypeError(`iterate: range.${b} must be a string`);
    }
  }
  if (range.gt !== undefined && range.gte !== undefined)
    throw new TypeError('iterate: give gt or gte, not both');
  if (range.lt !== undefined && range.lte !== undefined)
    throw new TypeError('iterate: give lt or lte, not both');
  if (range.limit !== undefined && typeof range.limit !== 'number') {
    throw new TypeError('iterate: range.limit must be a number');
  }
}
