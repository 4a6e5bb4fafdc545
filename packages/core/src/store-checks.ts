/**
 * Argument checks shared by every store, so that a programmer mistake (a wrong argument type from
 * a TypeScript caller) is the same `TypeError` whatever the store (STYLE.md: errors).
 */
import type { BatchOp, Range } from './store.js';

/** A key is a string (stores order keys by UTF-16 code unit, which is byte order for ASCII). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('Store keys must be strings');
}

/** Every op is a put of a string value or a del, before anything is written. */
export function checkBatch(ops: readonly BatchOp[]): void {
  if (!Array.isArray(ops)) throw new TypeError('batch: ops must be an array');
  for (const op of ops) {
    if (typeof op !== 'object' || op === null) throw new TypeError('batch: each op must be an object');
    checkKey(op.key);
    if (op.type === 'put') {
      if (typeof op.value !== 'string') throw new TypeError('batch: put values must be strings');
    } else if (op.type !== 'del') throw new TypeError("batch: op.type must be 'put' or 'del'");
  }
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
