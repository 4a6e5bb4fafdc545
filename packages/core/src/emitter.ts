/**
 * The in-process listeners of docs/spec.md §7.4: events are handed to them after each commit, by
 * type and to `'*'`; a listener that throws is reported, never allowed to fail the write.
 */
import type { ContextEvent } from './events.js';

/** A listener of committed events. */
export type Listener = (event: ContextEvent) => void;

/** Listeners by event type, and the hand-off of committed events to them. */
export class Emitter {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #onError: (error: unknown, event: ContextEvent) => void;

  constructor(onError: (error: unknown, event: ContextEvent) => void) {
    this.#onError = onError;
  }

  /** Listen to events of `type` (or `'*'`); returns the unsubscribe function. */
  on(type: string, listener: Listener): () => void {
    const set = this.#listeners.get(type) ?? new Set<Listener>();
    this.#listeners.set(type, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Hand each event to its type's listeners and to `'*'`'s, in order. */
  emit(events: readonly ContextEvent[]): void {
    for (const event of events) {
      for (const type of [event.type, '*']) {
        for (const listener of this.#listeners.get(type) ?? []) {
          try {
            listener(event);
          } catch (error) {
            this.#onError(error, event);
          }
        }
      }
    }
  }
}
