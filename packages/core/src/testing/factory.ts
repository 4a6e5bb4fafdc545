import type { Store } from '../store.js';

/** How the shared suites make, reopen and clean up the stores they test. */
export interface StoreFactory {
  /** A new, empty store at a fresh location, not yet opened. */
  create(): Store | Promise<Store>;
  /**
   * A new instance on the same location as `store` (closed), not yet opened. Persistent stores
   * provide it: the suites then check that data survives, and the lifecycle model closes and
   * reopens the store in the middle of its sequences.
   */
  reopen?(store: Store): Store | Promise<Store>;
  /** Remove whatever `create()` made (a temporary directory…); `store` is closed. */
  destroy?(store: Store): Promise<void>;
}

/** Create and open a store; the caller closes it and calls {@link disposeStore}. */
export async function openStore(factory: StoreFactory): Promise<Store> {
  const store = await factory.create();
  await store.open();
  return store;
}

/** Close a store and let the factory remove it. */
export async function disposeStore(factory: StoreFactory, store: Store): Promise<void> {
  await store.close();
  await factory.destroy?.(store);
}

/** Close `store` and open the factory's new instance on the same location. */
export async function reopenStore(factory: StoreFactory, store: Store): Promise<Store> {
  if (factory.reopen === undefined) throw new TypeError('This store factory cannot reopen');
  await store.close();
  const next = await factory.reopen(store);
  await next.open();
  return next;
}

/** Every entry of a store, in key order. */
export async function dumpStore(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const entry of store.iterate({})) out.push(entry);
  return out;
}

/** Put each entry, in one batch. */
export async function putAll(store: Store, entries: Record<string, string>): Promise<void> {
  await store.batch(Object.entries(entries).map(([key, value]) => ({ type: 'put', key, value })));
}

/** Every entry an iterator yields, in order. */
export async function collect(it: AsyncIterable<[string, string]>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of it) out.push(e);
  return out;
}
