/** The query parameters of docs/spec.md §5 and §8, for validation of names and for the OpenAPI document. */
import { ContextServicesError, type RawQuery } from '@cxs/core';
import type { QueryParam } from './spec.js';

const bool = (name: string, description: string): QueryParam => ({ name, kind: 'boolean', description });

const EXTENSIONS: QueryParam = {
  name: 'extensions',
  kind: 'list',
  description:
    'Extensions to return, comma-separated or repeated: `name`, `State.name`, `Task.name`, `State`, `State.*`, `Task`, `Task.*`, `*`',
};
const PAGING: readonly QueryParam[] = [
  {
    name: 'limit',
    kind: 'integer',
    description: 'At most this many items (1 to the server cap, default the cap)',
  },
  { name: 'offset', kind: 'integer', description: 'Skip this many items' },
];

/** SRV.14. */
export const SERVICE_QUERY: readonly QueryParam[] = [
  bool('active_states', 'Embed the active states'),
  bool('completed_states', 'Embed the completed states'),
  bool('active_tasks', 'Embed the active tasks'),
  bool('completed_tasks', 'Embed the completed tasks'),
  EXTENSIONS,
];

/** SRV.10, SRV.11. */
export const SERVICE_LIST_QUERY: readonly QueryParam[] = [
  ...SERVICE_QUERY,
  { name: 'started_from', kind: 'instant', description: 'Started at or after this instant' },
  { name: 'started_to', kind: 'instant', description: 'Started before this instant' },
  { name: 'service_types', kind: 'list', description: 'Service types, comma-separated or repeated' },
  ...PAGING,
];

/** SRV.15. */
export const STATE_QUERY: readonly QueryParam[] = [
  bool('active_tasks', "Embed the state's active tasks"),
  bool('completed_tasks', "Embed the state's completed tasks"),
  EXTENSIONS,
];

/** SRV.12. */
export const STATE_LIST_QUERY: readonly QueryParam[] = [
  ...STATE_QUERY,
  { name: 'state_types', kind: 'list', description: 'State types, comma-separated or repeated' },
  ...PAGING,
];

/** SRV.16. */
export const TASK_QUERY: readonly QueryParam[] = [EXTENSIONS];

/** SRV.13. */
export const TASK_LIST_QUERY: readonly QueryParam[] = [
  EXTENSIONS,
  { name: 'task_types', kind: 'list', description: 'Task types, comma-separated or repeated' },
  { name: 'state_id', kind: 'id', description: 'Only the tasks of this state' },
  ...PAGING,
];

const SELECTION: readonly QueryParam[] = [
  { name: 'time_from', kind: 'instant', required: true, description: 'Start of the window (inclusive)' },
  { name: 'time_to', kind: 'instant', description: 'End of the window (exclusive), default now' },
  {
    name: 'filter_events',
    kind: { enum: ['any', 'started', 'completed'] },
    description: 'Which event must fall in the window (default any)',
  },
  {
    name: 'filter_state',
    kind: { enum: ['any', 'active', 'inactive'] },
    description: 'Status at request time (default any)',
  },
];

/** docs/spec.md §8.1. */
export const EXPORT_QUERY: readonly QueryParam[] = [
  ...SELECTION,
  bool('export_content', 'false: an array of service ids (default); true: full services'),
];

/** docs/spec.md §8.2. */
export const FILES_QUERY: readonly QueryParam[] = [
  ...SELECTION,
  { name: 'format', kind: { enum: ['json', 'csv'] }, description: 'File format (default json)' },
];

/** The parameters of `raw` the operation knows; the others are dropped (lenient mode, docs/spec.md §5). */
export function knownQuery(raw: RawQuery, allowed: readonly QueryParam[]): RawQuery {
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const p of allowed) if (raw[p.name] !== undefined) out[p.name] = raw[p.name];
  return out;
}

/**
 * Reject parameters the operation does not know (the `strictQuery` option): a misspelt
 * `active_task=true` would otherwise be silently ignored and answer without the tasks.
 */
export function checkQueryNames(raw: RawQuery, allowed: readonly QueryParam[]): void {
  for (const name of Object.keys(raw)) {
    if (!allowed.some((p) => p.name === name)) {
      const known = allowed.map((p) => p.name).join(', ') || 'none';
      throw new ContextServicesError(
        'VALIDATION_FAILED',
        `Invalid '${name}': not a query parameter of this operation (known: ${known})`,
        { details: { field: name, rule: 'unknown query parameter' } },
      );
    }
  }
}
