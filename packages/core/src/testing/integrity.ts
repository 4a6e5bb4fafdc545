/**
 * A full-store consistency check: every record parses, every index entry a record implies is
 * present with its value, no index entry exists without the record that implies it, and the
 * static lifecycle invariants hold. Used after crashes and after every step of model runs.
 */
import { encodeId, READY_KEY, SWEEP_LEASE_KEY, TenantKeys, unescapeComponent } from '../keys.js';
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

/**
 * Keys of stored entities: the service record, a state, a task, an extension of the service, an
 * extension of a state or task.
 */
const RECORD =
  /^t([A-Za-z0-9%]*)\/s\/([A-Za-z0-9_-]{1,64})\/(?:(s|t)\/(\d{10})|x\/([A-Za-z0-9%]+)|y\/(s|t)\/(\d{10})\/([A-Za-z0-9%]+))?$/;

/** Coordination keys of shared stores (see keys.ts): composite claims. */
const CLAIM = /^t[A-Za-z0-9%]*\/mc\/[A-Za-z0-9_-]{22}$/;

/** Options of {@link integrityProblems}. */
export interface IntegrityOptions {
  /**
   * Also require state and task ids to be dense: exactly 1 … next−1, each once (true of every
   * service the engine started itself; an imported service keeps the ids it came with).
   */
  denseIds?: boolean;
}

/** A coordination key and what is wrong with its value, if anything; undefined when not one. */
function coordinationProblem(key: string, value: string): string | undefined {
  if (CLAIM.test(key)) return /^\d+$/.test(value) ? '' : `${key}: claim value ${value} is not a counter`;
  if (key !== SWEEP_LEASE_KEY) return undefined;
  try {
    const v = JSON.parse(value) as { owner?: unknown; until?: unknown };
    if (typeof v.owner === 'string' && typeof v.until === 'number') return '';
  } catch {
    // reported below
  }
  return `${key}: lease value ${value} is not {owner, until}`;
}

/** Change-log entries and floors (docs/spec.md §12): events, not entities or indexes. */
const CHANGE_LOG = /^t[A-Za-z0-9%]*\/l(?:\/\d{16}|w)$/;

interface Loaded {
  keys: TenantKeys;
  service?: ServiceRecord;
  states: StateRecord[];
  tasks: TaskRecord[];
  /** Names of the extension keys stored for the service. */
  extensions: string[];
  /** Names of the extension keys stored for each state (`s<id>`) and task (`t<id>`). */
  childExtensions: Map<string, string[]>;
  /** Bytes of the values the service's size counts. */
  bytes: number;
}

function parse<T>(raw: string, key: string, problems: string[]): T | undefined {
  try {
    return JSON.parse(raw) as T;
  } catch {
    problems.push(`${key}: value is not JSON`);
    return undefined;
  }
}

function checkDense(l: Loaded, s: ServiceRecord, sid: string, problems: string[]): void {
  for (const [what, list, next] of [
    ['state', l.states, s.next_state],
    ['task', l.tasks, s.next_task],
  ] as const) {
    const ids = new Set(list.map((e) => e.id));
    if (ids.size !== list.length || list.length !== next - 1) {
      problems.push(`service ${sid}: ${what} ids are not dense: ${list.length} stored, next id ${next}`);
    }
  }
}

function checkService(l: Loaded, sid: string, problems: string[], options: IntegrityOptions): void {
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
  if (s.bytes !== undefined && s.bytes !== l.bytes) {
    problems.push(`service ${sid}: bytes ${s.bytes} but ${l.bytes} stored`);
  }
  const childKeys = new Set<string>();
  for (const [kind, list] of [
    ['s', l.states],
    ['t', l.tasks],
  ] as const) {
    for (const e of list) {
      childKeys.add(`${kind}${e.id}`);
      // Records stored before extensions had keys of their own carry them inline.
      const names = [...(e.ext_names ?? Object.keys(e.ext ?? {}))].sort();
      const stored = [...(l.childExtensions.get(`${kind}${e.id}`) ?? [])].sort();
      if (e.ext_names !== undefined && e.ext !== undefined) {
        problems.push(`service ${sid}: ${kind}${e.id} has both ext_names and inline values`);
      }
      if (e.ext_names !== undefined && names.join('\n') !== stored.join('\n')) {
        problems.push(
          `service ${sid}: ${kind}${e.id} ext_names ${JSON.stringify(names)} but ${JSON.stringify(stored)} stored`,
        );
      }
    }
  }
  for (const k of l.childExtensions.keys()) {
    if (!childKeys.has(k)) problems.push(`service ${sid}: extensions stored for missing ${k}`);
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
  if (options.denseIds === true) checkDense(l, s, sid, problems);
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
export async function verifyStoreIntegrity(store: Store, options: IntegrityOptions = {}): Promise<string[]> {
  return integrityProblems(await dumpStore(store), options);
}

/** {@link verifyStoreIntegrity} on entries already read. */
export function integrityProblems(
  entries: Iterable<[string, string]>,
  options: IntegrityOptions = {},
): string[] {
  const problems: string[] = [];
  const services = new Map<string, Loaded>();
  const other = new Map<string, string>();
  for (const [key, value] of entries) {
    if (CHANGE_LOG.test(key)) continue;
    // Written by the readiness probe; no meaning.
    if (key === READY_KEY) continue;
    const coordination = coordinationProblem(key, value);
    if (coordination !== undefined) {
      if (coordination !== '') problems.push(coordination);
      continue;
    }
    const m = RECORD.exec(key);
    if (m === null) {
      other.set(key, value);
      continue;
    }
    const [, tenant = '', sid = '', kind, id, extension, childKind, childId, childExtension] = m;
    const keys = new TenantKeys(unescapeComponent(tenant));
    const mapKey = `${keys.prefix}${sid}`;
    const l = services.get(mapKey) ?? {
      keys,
      states: [],
      tasks: [],
      extensions: [],
      childExtensions: new Map<string, string[]>(),
      bytes: 0,
    };
    services.set(mapKey, l);
    if (kind !== undefined || extension !== undefined || childExtension !== undefined) {
      l.bytes += Buffer.byteLength(value, 'utf8');
    }
    if (extension !== undefined) {
      if (parse(value, key, problems) !== undefined) l.extensions.push(unescapeComponent(extension));
      continue;
    }
    if (childExtension !== undefined) {
      if (parse(value, key, problems) === undefined) continue;
      const owner = `${childKind}${Number(childId)}`;
      const names = l.childExtensions.get(owner) ?? [];
      l.childExtensions.set(owner, names);
      names.push(unescapeComponent(childExtension));
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
    checkService(l, sid, problems, options);
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
