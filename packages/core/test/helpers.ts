import { expect } from 'vitest';
import type { ContextEvent, ContextServices, EngineConfig, ErrorCode, Store } from '../src/index.js';
import { createContextServices, isContextServicesError, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** An engine on a fresh memory store with a simulated clock, recording every event. */
export async function setup(config: EngineConfig = {}) {
  const store = new MemoryStore();
  const clock = new SimulatedClock(T0);
  const cs = await createContextServices({ store, clock, config });
  const events: ContextEvent[] = [];
  cs.on('*', (e) => events.push(e));
  return { cs, store, clock, events };
}

/**
 * A value as a JavaScript caller or a parsed request body may pass it, whatever the engine's
 * parameter types say: the tests of run-time validation give the engine what TypeScript refuses.
 */
export function untyped<T>(value: unknown): T {
  return value as T;
}

/** Every key/value of a store, to prove that a rejected call wrote nothing. */
export async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of store.iterate({})) out.push(e);
  return out;
}

/** Change-log keys (docs/spec.md §12): a deletion leaves its event there, by design. */
export const isChangeLogKey = (key: string): boolean => /^t[A-Za-z0-9%]*\/l(?:\/\d{16}|w)$/.test(key);

/** Entries other than the change log's. */
export function withoutChangeLog<T extends [string, string] | string>(entries: readonly T[]): T[] {
  return entries.filter((e) => !isChangeLogKey(typeof e === 'string' ? e : e[0]));
}

/** Expect `p` to reject with a ContextServicesError of `code` (and a message matching `message`). */
export async function rejects(
  p: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
  label = '',
): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(
    isContextServicesError(error),
    `${label} expected ContextServicesError ${code}, got ${String(error)}`,
  ).toBe(true);
  if (isContextServicesError(error)) {
    expect(error.code, `${label} ${error.message}`).toBe(code);
    if (message) expect(error.message, label).toMatch(message);
  }
}

/** A rejected call leaves the store byte-for-byte unchanged. */
export async function rejectsUnchanged(
  store: Store,
  p: () => Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
) {
  const before = await dump(store);
  await rejects(p(), code, message, String(p).slice(0, 200));
  expect(await dump(store)).toEqual(before);
}

export const iso = (ms: number) => new Date(ms).toISOString();

export type Engine = ContextServices;

/** True for the refusal of a write past a service's stored size budget. */
export function isServiceTooLarge(e: unknown): boolean {
  return isContextServicesError(e) && e.code === 'SERVICE_TOO_LARGE';
}
