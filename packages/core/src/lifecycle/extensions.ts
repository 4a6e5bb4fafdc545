/** Extensions (SPEC §4): the bounded set of names a write leaves, replace and merge values, SRV.4/17/18. */
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

/** Apply extensions from a body: same-named ones are replaced; the key count stays bounded. */
export function withExtensions(
  ext: Readonly<Record<string, unknown>>,
  add: Readonly<Record<string, unknown>>,
  cfg: RuleConfig,
): Record<string, unknown> {
  const next = { ...ext, ...add };
  if (Object.keys(next).length > cfg.extensionKeysPerEntity) throw tooManyExtensions(cfg);
  return next;
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

/** New value of an extension after a replace or a merge (SPEC §4). */
export function extensionValue(current: unknown, value: unknown, merge: boolean, name: string): unknown {
  if (!merge) {
    // Any JSON value but null (SPEC §4): a scalar stored at start must stay replaceable.
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

/** The entity an extension write addresses. */
export type ExtensionTarget =
  | { readonly kind: 'service' /** The extension's stored value, if it exists. */; readonly current: unknown }
  | { readonly kind: 'state'; readonly state: StateRecord }
  | { readonly kind: 'task'; readonly task: TaskRecord };

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
  const apply = (ext: Readonly<Record<string, unknown>>) =>
    withExtensions(
      ext,
      { [name]: extensionValue(Object.hasOwn(ext, name) ? ext[name] : undefined, value, merge, name) },
      cfg,
    );
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
    case 'service': {
      const add = { [name]: extensionValue(target.current, value, merge, name) };
      return change({ ...s, ext_names: extensionNames(s.ext_names, add, cfg) }, [], [], {}, add);
    }
    case 'state': {
      const st = { ...target.state, ext: apply(target.state.ext) };
      return change(s, [st], [], { state_id: st.id });
    }
    case 'task': {
      const t = { ...target.task, ext: apply(target.task.ext) };
      return change(s, [], [t], { task_id: t.id });
    }
  }
}
