/** Extensions (docs/spec.md §4): the bounded set of names a write leaves, replace and merge values, SRV.4/17/18. */
import { ContextServicesError, invalid } from '../errors.js';
import type { ContextEvent } from '../events.js';
import type { ServiceRecord, StateRecord, TaskRecord } from '../records.js';
import { base, type Change, type RuleConfig, touch } from './common.js';

function tooManyExtensions(cfg: RuleConfig): ContextServicesError {
  return new ContextServicesError(
    'LIMIT_EXCEEDED',
    `Too many extensions: the limit is ${cfg.extensionKeysPerEntity}`,
    {
      details: { field: 'extensions', limit: cfg.extensionKeysPerEntity },
    },
  );
}

/**
 * A state or task with extensions from a body applied: same-named ones are replaced, the names stay
 * within the limit, and `ext` holds the values the write stores (each under its own key): the new
 * ones, and any a record stored before extensions had keys of their own still carried inline.
 */
export function withExtensions<T extends StateRecord | TaskRecord>(
  rec: T,
  add: Readonly<Record<string, unknown>>,
  cfg: RuleConfig,
): T {
  const ext_names = extensionNames(rec.ext_names, add, cfg);
  if (Object.keys(add).length === 0 && rec.ext === undefined) return rec;
  return { ...rec, ext_names, ext: { ...rec.ext, ...add } };
}

/** The service's extension names once `add` is written (same-named ones are replaced), within the limit. */
export function extensionNames(
  names: readonly string[],
  add: Readonly<Record<string, unknown>>,
  cfg: RuleConfig,
): readonly string[] {
  const added = Object.keys(add).filter((name) => !names.includes(name));
  if (added.length === 0) return names;
  if (names.length + added.length > cfg.extensionKeysPerEntity) throw tooManyExtensions(cfg);
  return [...names, ...added];
}

/** `serviceExt` of a change: only when the command writes some. */
export function written(add: Readonly<Record<string, unknown>>): {
  serviceExt?: Readonly<Record<string, unknown>>;
} {
  return Object.keys(add).length === 0 ? {} : { serviceExt: add };
}

/** New value of an extension after a replace or a merge (docs/spec.md §4). */
export function extensionValue(current: unknown, value: unknown, merge: boolean, name: string): unknown {
  if (!merge) {
    // Any JSON value but null (docs/spec.md §4): a scalar stored at start must stay replaceable.
    if (value === null || value === undefined) throw invalid(name, 'must be any JSON value but null');
    return value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'merge value must be a JSON object');
  }
  if (current === undefined) return value;
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new ContextServicesError(
      'EXTENSION_NOT_OBJECT',
      `Extension '${name}' is not an object: cannot merge into it`,
      {
        details: { name },
      },
    );
  }
  return { ...current, ...value };
}

/** The entity an extension write addresses, with the extension's stored value if it exists. */
export type ExtensionTarget =
  | { readonly kind: 'service'; readonly current: unknown }
  | { readonly kind: 'state'; readonly state: StateRecord; readonly current: unknown }
  | { readonly kind: 'task'; readonly task: TaskRecord; readonly current: unknown };

/** SRV.4 / SRV.17 / SRV.18 and merge: replace or merge one extension of one entity. */
export function setExtension(
  tenant: string,
  s: ServiceRecord,
  target: ExtensionTarget,
  name: string,
  value: unknown,
  merge: boolean,
  now: number,
  cfg: RuleConfig,
): Change {
  const add = { [name]: extensionValue(target.current, value, merge, name) };
  const change = (
    service: ServiceRecord,
    states: StateRecord[],
    tasks: TaskRecord[],
    extra: { state_id?: number; task_id?: number },
    serviceExt?: Record<string, unknown>,
  ): Change => {
    const ev: ContextEvent = {
      type: 'service.updated',
      ...base(tenant, s, now),
      change: 'extensions',
      name,
      ...extra,
    };
    return {
      service: touch(service, now, cfg),
      states,
      tasks,
      ...(serviceExt ? { serviceExt } : {}),
      events: [ev],
    };
  };
  switch (target.kind) {
    case 'service':
      return change({ ...s, ext_names: extensionNames(s.ext_names, add, cfg) }, [], [], {}, add);
    case 'state': {
      const st = withExtensions(target.state, add, cfg);
      return change(s, [st], [], { state_id: st.id });
    }
    case 'task': {
      const t = withExtensions(target.task, add, cfg);
      return change(s, [], [t], { task_id: t.id });
    }
  }
}
