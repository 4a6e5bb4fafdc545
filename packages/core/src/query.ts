import type {
  ExportQuery,
  Paging,
  ServiceListQuery,
  ServiceQuery,
  StateListQuery,
  StateQuery,
  Status,
  TaskListQuery,
  TaskQuery,
} from './api.js';
import { invalid } from './errors.js';
import { parseInstant } from './time.js';

/** A raw query string as Node parses it: repeated parameters become arrays. */
export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

const MAX_ID = 2 ** 31 - 1;

/**
 * Parse a state or task id from a path segment or query value: a positive 32-bit integer written
 * in decimal without sign or leading zeros (docs/spec.md §2), else VALIDATION_FAILED.
 */
export function parseId(field: string, raw: string | number): number {
  const text = String(raw);
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > MAX_ID) {
    throw invalid(field, 'must be a positive 32-bit integer', { value: text });
  }
  return Number(text);
}

function values(raw: RawQuery, name: string): string[] | undefined {
  const v = raw[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? [v] : [...v];
}

function single(raw: RawQuery, name: string): string | undefined {
  const v = values(raw, name);
  if (v === undefined) return undefined;
  if (v.length !== 1) throw invalid(name, 'must be given once');
  return v[0];
}

function bool(raw: RawQuery, name: string): boolean | undefined {
  const v = single(raw, name);
  if (v === undefined) return undefined;
  // Any letter case (docs/spec.md §5): Java clients send `True`, `TRUE`.
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw invalid(name, "must be 'true' or 'false'", { value: v });
}

/** Comma-separated and/or repeated values, empty items dropped. */
function list(raw: RawQuery, name: string): string[] | undefined {
  const v = values(raw, name);
  if (v === undefined) return undefined;
  const items = v.flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  if (items.length === 0) throw invalid(name, 'must name at least one value');
  return items;
}

/** The `extensions` selectors: like {@link list}, but an empty `extensions=` selects nothing (docs/spec.md §5). */
function selectors(raw: RawQuery, name: string): string[] | undefined {
  const v = values(raw, name);
  if (v === undefined) return undefined;
  return v.flatMap((s) => s.split(',')).filter((s) => s.length > 0);
}

function instant(raw: RawQuery, name: string): string | undefined {
  const v = single(raw, name);
  if (v === undefined) return undefined;
  parseInstant(name, v);
  return v;
}

function nonNegativeInt(raw: RawQuery, name: string): number | undefined {
  const v = single(raw, name);
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) throw invalid(name, 'must be a non-negative integer', { value: v });
  return Number(v);
}

function oneOf<T extends string>(raw: RawQuery, name: string, allowed: readonly T[]): T | undefined {
  const v = single(raw, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw invalid(name, `must be one of ${allowed.join(', ')}`, { value: v });
  }
  return v as T;
}

/** Assign only defined values, so results satisfy `exactOptionalPropertyTypes`. */
function defined<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function paging(raw: RawQuery): Paging {
  return defined<Paging>({ limit: nonNegativeInt(raw, 'limit'), offset: nonNegativeInt(raw, 'offset') });
}

/** SRV.14 query: embedded states/tasks and extension selectors. */
export function parseServiceQuery(raw: RawQuery): ServiceQuery {
  return defined<ServiceQuery>({
    active_states: bool(raw, 'active_states'),
    completed_states: bool(raw, 'completed_states'),
    active_tasks: bool(raw, 'active_tasks'),
    completed_tasks: bool(raw, 'completed_tasks'),
    extensions: selectors(raw, 'extensions'),
  });
}

/** SRV.10 / SRV.11 query; `status` comes from the path suffix. */
export function parseServiceListQuery(raw: RawQuery, status: Status = 'all'): ServiceListQuery {
  return defined<ServiceListQuery>({
    ...parseServiceQuery(raw),
    ...paging(raw),
    status,
    started_from: instant(raw, 'started_from'),
    started_to: instant(raw, 'started_to'),
    service_types: list(raw, 'service_types'),
  });
}

/** SRV.15 query. */
export function parseStateQuery(raw: RawQuery): StateQuery {
  return defined<StateQuery>({
    active_tasks: bool(raw, 'active_tasks'),
    completed_tasks: bool(raw, 'completed_tasks'),
    extensions: selectors(raw, 'extensions'),
  });
}

/** SRV.12 query. */
export function parseStateListQuery(raw: RawQuery, status: Status = 'all'): StateListQuery {
  return defined<StateListQuery>({
    ...parseStateQuery(raw),
    ...paging(raw),
    status,
    state_types: list(raw, 'state_types'),
  });
}

/** SRV.16 query. */
export function parseTaskQuery(raw: RawQuery): TaskQuery {
  return defined<TaskQuery>({ extensions: selectors(raw, 'extensions') });
}

/** SRV.13 query. */
export function parseTaskListQuery(raw: RawQuery, status: Status = 'all'): TaskListQuery {
  const stateId = single(raw, 'state_id');
  return defined<TaskListQuery>({
    ...parseTaskQuery(raw),
    ...paging(raw),
    status,
    task_types: list(raw, 'task_types'),
    state_id: stateId === undefined ? undefined : parseId('state_id', stateId),
  });
}

/** Export selection (docs/spec.md §8.1, §8.2). `time_from` is required. */
export function parseExportQuery(raw: RawQuery): ExportQuery {
  const from = instant(raw, 'time_from');
  if (from === undefined) throw invalid('time_from', 'is required');
  return defined<ExportQuery>({
    time_from: from,
    time_to: instant(raw, 'time_to'),
    filter_events: oneOf(raw, 'filter_events', ['any', 'started', 'completed'] as const),
    filter_state: oneOf(raw, 'filter_state', ['any', 'active', 'inactive'] as const),
    export_content: bool(raw, 'export_content'),
  });
}
