/**
 * A full-store consistency check: every record parses, every index entry a record implies is
 * present with its value, no index entry exists without the record that implies it, and the
 * static lifecycle invariants hold. Used after crashes and after every step of model runs.
 */
import { encodeId, TenantKeys, unescapeComponent } from '../keys.js';
import {
  type ServiceRecord,
  type StateRecord,
  serviceIndexEntries,
  stateIndexEntries,
  type TaskRecord,
  taskIndexEntries,
} from '../records.js';
import type { Store } from '../store.js';
import { dumpStore } from './factory.js';

/** Keys of stored entities: the service record, a state, a task, an extension of the service. */
const RECORD = /^t([A-Za-z0-9%]*)\/s\/([A-Za-z0-9_-]{1,64})\/(?:(s|t)\/(\d{10})|x\/([A-Za-z0-9%]+))?$/;
/** Change-log entries and floors (SPEC §12): events, not entities or indexes. */
const CHANGE_LOG = /^t[A-Za-z0-9%]*\/l(?:\/\d{16}|w)$/;

interface Loaded {
  keys: TenantKeys;
  service?: ServiceRecord;
  states: StateRecord[];
  tasks: TaskRecord[];
  /** Names of the extension keys stored for the service. */
  extensions: string[];
}

function parse<T>(raw: string, key: string, problems: string[]): T | undefined {
  try {
    return JSON.parse(raw) as T;
  } catch {
    problems.push(`${key}: value is not JSON`);
    return undefined;
  }
}

function checkService(l: Loaded, sid: string, problems: string[]): void {
  const s = l.service;
  if (s === undefined) {
    problems.push(`service ${sid}: states, tasks or extensions stored without the service record`);
    return;
  }
  if (s.id !== sid) problems.push(`service ${sid}: record carries id ${s.id}`);
  const expires = s.expiration_time ?? s.updated + (s.ttl !== undefined ? s.ttl * 1000 : s.lifetime);
  if (s.expires !== expires) problems.push(`service ${sid}: expiry ${s.expires} is not ${expires}`);
  if (s.completed !== undefined && s.auto_at !== undefined) {
    problems.push(`service ${sid}: completed but still has an auto-complete deadline`);
  }
  if (s.customer_id === undefined && s.contact_key === undefined) {
    problems.push(`service ${sid}: neither customer_id nor contact_key`);
  }
  const names = [...s.ext_names].sort();
  if (names.length !== new Set(names).size || names.join('\n') !== [...l.extensions].sort().join('\n')) {
    problems.push(
      `service ${sid}: ext_names ${JSON.stringify(s.ext_names)} but ${JSON.stringify(l.extensions)} stored`,
    );
  }
  if (s.children !== l.states.length + l.tasks.length) {
    problems.push(`service ${sid}: children ${s.children} but ${l.states.length + l.tasks.length} stored`);
  }
  const stateIds = new Set(l.states.map((x) => x.id));
  for (const [what, list, next] of [
    ['state', l.states, s.next_state],
    ['task', l.tasks, s.next_task],
  ] as const) {
    for (const e of list) {
      if (!(e.id >= 1 && e.id < next)) problems.push(`service ${sid}: ${what} ${e.id} not below ${next}`);
      if (e.completed !== undefined && e.completed.ts < e.started.ts) {
        problems.push(`service ${sid}: ${what} ${e.id} completed before it started (L6)`);
      }
    }
  }
  if (s.completed !== undefined && s.completed.ts < s.started.ts) {
    problems.push(`service ${sid}: completed before it started (L6)`);
  }
  for (const st of l.states) {
    if (st.previous_state_id !== undefined && !stateIds.has(st.previous_state_id)) {
      problems.push(`service ${sid}: state ${st.id} names missing previous state ${st.previous_state_id}`);
    }
  }
  for (const t of l.tasks) {
    if (t.state_id !== undefined && !stateIds.has(t.state_id)) {
      problems.push(`service ${sid}: task ${t.id} names missing state ${t.state_id}`);
    }
  }
}

/**
 * Check a store written by the engine. Resolves to the list of problems found (empty when the
 * store is consistent). Reads every key once, from one snapshot iterator: run it on a store no
 * one is writing to (after a crash, between steps of a model run).
 *
 * @example
 * ```ts
 * expect(await verifyStoreIntegrity(store)).toEqual([]);
 * ```
 */
export async function verifyStoreIntegrity(store: Store): Promise<string[]> {
  return integrityProblems(await dumpStore(store));
}

/** {@link verifyStoreIntegrity} on entries already read. */
export function integrityProblems(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  const services = new Map<string, Loaded>();
  const other = new Map<string, string>();
  for (const [key, value] of entries) {
    if (CHANGE_LOG.test(key)) continue;
    const m = RECORD.exec(key);
    if (m === null) {
      other.set(key, value);
      continue;
    }
    const [, tenant = '', sid = '', kind, id, extension] = m;
    const keys = new TenantKeys(unescapeComponent(tenant));
    const mapKey = `${keys.prefix}${sid}`;
    const l = services.get(mapKey) ?? { keys, states: [], tasks: [], extensions: [] };
    services.set(mapKey, l);
    if (extension !== undefined) {
      if (parse(value, key, problems) !== undefined) l.extensions.push(unescapeComponent(extension));
      continue;
    }
    if (kind === undefined) {
      const s = parse<ServiceRecord>(value, key, problems);
      if (s !== undefined) l.service = s;
      continue;
    }
    const rec = parse<StateRecord & TaskRecord>(value, key, problems);
    if (rec === undefined) continue;
    if (encodeId(rec.id) !== id) problems.push(`${key}: record carries id ${rec.id}`);
    (kind === 's' ? l.states : l.tasks).push(rec);
  }
  const expected = new Map<string, string>();
  for (const [mapKey, l] of services) {
    const sid = mapKey.slice(l.keys.prefix.length);
    checkService(l, sid, problems);
    if (l.service === undefined) continue;
    for (const [k, v] of serviceIndexEntries(l.keys, l.service)) expected.set(k, v);
    for (const st of l.states) for (const [k, v] of stateIndexEntries(l.keys, sid, st)) expected.set(k, v);
    for (const t of l.tasks) for (const [k, v] of taskIndexEntries(l.keys, sid, t)) expected.set(k, v);
  }
  for (const [k, v] of expected) {
    if (!other.has(k)) problems.push(`missing index entry ${k}`);
    else if (other.get(k) !== v) problems.push(`index entry ${k} holds ${other.get(k)}, expected ${v}`);
  }
  for (const k of other.keys()) {
    if (!expected.has(k)) problems.push(`index entry ${k} points to no stored entity`);
  }
  return problems;
}
