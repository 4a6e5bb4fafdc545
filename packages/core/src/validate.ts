import type { Limits } from './api.js';
import { ContextServicesError, invalid } from './errors.js';
import { parseInstant } from './time.js';

/** What a compiled TypeBox validator offers (Compile() result). */
interface Validator<T> {
  Check(value: unknown): value is T;
  Errors(
    value: unknown,
  ): Iterable<{ instancePath: string; message: string; keyword: string; params?: unknown }>;
}

/** Keys never accepted anywhere in a body: they could reach an object's prototype (docs/spec.md §3.1). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const DOCUMENTED_FIELD_NAMES = [
  'timestamp',
  'session_id',
  'interaction_id',
  'application_type',
  'application_id',
  'resource_type',
  'resource_id',
  'media_type',
  'est_duration',
  'disposition',
  'disposition_desc',
  'customer_id',
  'contact_key',
  'service_type',
  'auto_complete_after',
  'ttl',
  'expiration_time',
  'state_type',
  'previous_state_id',
  'task_type',
  'state_id',
  'task_id',
  'service_id',
  'started',
  'completed',
  'duration',
  'active_states',
  'completed_states',
  'active_tasks',
  'completed_tasks',
  'from',
  'to',
] as const;

/** A documented field name of any entity kind or request (docs/spec.md §3.1). */
export type DocumentedField = (typeof DOCUMENTED_FIELD_NAMES)[number];

/** Every documented field name of any entity kind or request (docs/spec.md §3.1): never an extension. */
export const DOCUMENTED_FIELDS: ReadonlySet<string> = new Set(DOCUMENTED_FIELD_NAMES);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Check nesting depth and forbidden keys of any JSON value, iteratively (a hostile body cannot
 * overflow the stack). Depth counts containers: `{}` is 1.
 */
export function checkJsonValue(field: string, value: unknown, maxDepth: number): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'number' && !Number.isFinite(v)) throw invalid(field, 'must be a finite number');
      if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint' || v === undefined) {
        throw invalid(field, 'must be JSON');
      }
      continue;
    }
    if (depth > maxDepth) throw invalid(field, `must not nest deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
    } else {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) throw invalid(field, `must not contain the key '${key}'`);
        stack.push([(v as Record<string, unknown>)[key], depth + 1]);
      }
    }
  }
}

/** Validate `body` with a compiled schema; the first error names the field and the rule. */
export function checkSchema<T>(validator: Validator<T>, body: unknown, what: string): T {
  if (validator.Check(body)) return body;
  if (!isPlainObject(body)) throw invalid(what, 'must be a JSON object');
  for (const e of validator.Errors(body)) {
    const field = e.instancePath === '' ? what : e.instancePath.slice(1).replaceAll('/', '.');
    throw invalid(field, e.message);
  }
  throw invalid(what, 'is invalid');
}

/** An extension name: 1…limit characters, not a documented field, not a forbidden key. */
export function checkExtensionName(name: unknown, limits: Limits): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > limits.extensionNameLength) {
    throw invalid('extension name', `must be 1 to ${limits.extensionNameLength} characters`, { value: name });
  }
  if (FORBIDDEN_KEYS.has(name)) throw invalid(name, 'is a reserved key');
  if (DOCUMENTED_FIELDS.has(name)) throw invalid(name, 'is a documented field, not an extension name');
  return name;
}

/**
 * Validate a body and split it into its documented fields (`allowed`) and extensions: keys that
 * are documented for another entity kind are rejected (docs/spec.md §3.1 decision).
 */
export function splitBody<T>(
  validator: Validator<T>,
  body: unknown,
  allowed: ReadonlySet<string>,
  what: string,
  limits: Limits,
): { fields: T; extensions: Record<string, unknown> } {
  const b = body === undefined || body === null ? {} : body;
  if (!isPlainObject(b)) throw invalid(what, 'must be a JSON object');
  checkJsonValue(what, b, limits.jsonDepth + 1);
  const extensions: Record<string, unknown> = {};
  for (const key of Object.keys(b)) {
    if (allowed.has(key)) continue;
    if (DOCUMENTED_FIELDS.has(key)) throw invalid(key, `is not a field of ${what}`);
    checkExtensionName(key, limits);
    // Copied: the caller keeps its object, the engine's records and cache stay private.
    extensions[key] = structuredClone(b[key]);
  }
  if (Object.keys(extensions).length > limits.extensionKeysPerEntity) {
    throw limitExceeded('extensions', limits.extensionKeysPerEntity);
  }
  const fields = checkSchema(validator, b, what);
  checkInstants(fields as Record<string, unknown>);
  return { fields, extensions };
}

/** The instant-valued fields of a body, checked before anything is read or written. */
export function checkInstants(fields: Readonly<Record<string, unknown>>): void {
  for (const f of ['timestamp', 'expiration_time']) if (fields[f] !== undefined) parseInstant(f, fields[f]);
}

/** A configured limit of docs/spec.md §10 would be exceeded. */
export function limitExceeded(what: string, limit: number): ContextServicesError {
  return new ContextServicesError('LIMIT_EXCEEDED', `Too many ${what}: the limit is ${limit}`, {
    details: { field: what, limit },
  });
}

/** A string of bounded length (customer ids, contact keys, tenant). */
export function checkString(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(field, `must be a string of 1 to ${max} characters`, { value });
  }
  return value;
}

/** A service id as generated by the server: URL-safe, 1–64 characters. Anything else cannot exist. */
export function isServiceId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}
