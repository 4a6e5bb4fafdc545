/**
 * The key codec. Keys are ASCII so that JavaScript string order equals LevelDB byte order.
 * User strings (tenants, customer ids, contact keys) are escaped: letters and digits stay, every
 * other UTF-16 code unit becomes `%XXXX`. The escaped form never contains the separator `/`, and
 * every escaped component is followed by `/`, so no value can forge a separator or a prefix of
 * another value. Numbers are fixed width.
 *
 * Layout (T = `t<tenant>/`):
 * - `T s/<sid>/`                 service record
 * - `T s/<sid>/s/<id>`           state record; `T s/<sid>/t/<id>` task record
 * - `T s/<sid>/x/<name>`         one extension of the service (escaped name)
 * - `T s/<sid>/y/<s|t>/<id>/<name>` one extension of a state or task: after every record of the
 *                                service, so that one range read of its states and tasks reads none
 * - `T s/<sid>/as/<id>`          marker of an active state
 * - `T s/<sid>/at/<state|0>/<id>` marker of an active task, grouped by owning state
 * - `T c/<customer>/<ts>/<sid>`  services by customer and start time
 * - `T k/<contact_key>/<ts>/<sid>` anonymous services by contact key and start time
 * - `T b/<ts>/<sid>`             services by start time (value: completion time, '' while active)
 * - `T e/<ts>/<sid>`             completed services by completion time (value: start time)
 * - `T m/<customer>/<key>/<type>/<sid>` active services by composite-start match
 * - `T l/<position>`             the change log (docs/spec.md §12): one event per key, position 16 digits
 * - `T lw`                       the change log's floor: the highest position retention removed
 * - `x/<ts>/<tenant>/<sid>`      expiry deadlines, all tenants
 * - `a/<ts>/<tenant>/<sid>`      auto-complete deadlines, all tenants
 *
 * Coordination keys, written only on stores with shared writers (docs/spec.md §11):
 * - `T mc/<hash>`                composite-start claim of one match tuple (hashed: no customer
 *                                id or contact key in clear); value: a counter
 * - `l/sweep`                    the sweep lease; value: `{"owner": …, "until": ms}`
 * - `h/ready`                    written by the readiness probe (no meaning, never read back)
 */
import { createHash } from 'node:crypto';

/** Escape a user string for use as one key component (see module doc). */
export function escapeComponent(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) out += value[i];
    else out += `%${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** Inverse of {@link escapeComponent}. */
export function unescapeComponent(escaped: string): string {
  return escaped.replace(/%([0-9a-f]{4})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

// Instants are ISO 8601 with four-digit years: 0000-01-01 … 9999-12-31. Shifting by the first
// keeps every instant non-negative in 15 digits (exact: far below 2^53).
const TIME_SHIFT = 62_167_219_200_000;
const MAX_TIME = 253_402_300_799_999;

/**
 * Fixed-width, order-preserving encoding of epoch milliseconds. Instants outside years 0–9999
 * (only reachable through huge configured lifetimes) are clamped to the ends of that range.
 */
export function encodeTime(ms: number): string {
  return String(Math.min(Math.max(ms, -TIME_SHIFT), MAX_TIME) + TIME_SHIFT).padStart(15, '0');
}

export function decodeTime(text: string): number {
  return Number(text) - TIME_SHIFT;
}

/** Fixed-width encoding of a 32-bit id. */
export function encodeId(id: number): string {
  return String(id).padStart(10, '0');
}

/** Digits of a change-log position: every safe integer fits. */
export const POSITION_WIDTH = 16;

/** Fixed-width, order-preserving encoding of a change-log position (a safe integer ≥ 0). */
export function encodePosition(position: number): string {
  return String(position).padStart(POSITION_WIDTH, '0');
}

/** The first key after every key that starts with `prefix` (its exclusive upper bound). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Range of every key under a prefix. */
export function prefixRange(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: prefixEnd(prefix) };
}

/** The kind of a child in its keys: `s` state, `t` task. */
export type ChildKind = 's' | 't';

/** Key builders for one tenant's namespace. */
export class TenantKeys {
  readonly tenant: string;
  readonly prefix: string;
  readonly escapedTenant: string;

  constructor(tenant: string) {
    this.tenant = tenant;
    this.escapedTenant = escapeComponent(tenant);
    this.prefix = `t${this.escapedTenant}/`;
  }

  service(sid: string): string {
    return `${this.prefix}s/${sid}/`;
  }
  state(sid: string, id: number): string {
    return `${this.prefix}s/${sid}/s/${encodeId(id)}`;
  }
  task(sid: string, id: number): string {
    return `${this.prefix}s/${sid}/t/${encodeId(id)}`;
  }
  statesPrefix(sid: string): string {
    return `${this.prefix}s/${sid}/s/`;
  }
  tasksPrefix(sid: string): string {
    return `${this.prefix}s/${sid}/t/`;
  }
  serviceExtension(sid: string, name: string): string {
    return `${this.prefix}s/${sid}/x/${escapeComponent(name)}`;
  }
  serviceExtensionsPrefix(sid: string): string {
    return `${this.prefix}s/${sid}/x/`;
  }
  /** One extension of a state (`s`) or task (`t`). */
  childExtension(sid: string, kind: ChildKind, id: number, name: string): string {
    return `${this.prefix}s/${sid}/y/${kind}/${encodeId(id)}/${escapeComponent(name)}`;
  }
  activeState(sid: string, id: number): string {
    return `${this.prefix}s/${sid}/as/${encodeId(id)}`;
  }
  activeStatesPrefix(sid: string): string {
    return `${this.prefix}s/${sid}/as/`;
  }
  activeTask(sid: string, stateId: number | undefined, id: number): string {
    return `${this.prefix}s/${sid}/at/${encodeId(stateId ?? 0)}/${encodeId(id)}`;
  }
  /** Active tasks of the whole service, or of one state (`0` = tasks without a state). */
  activeTasksPrefix(sid: string, stateId?: number): string {
    return stateId === undefined
      ? `${this.prefix}s/${sid}/at/`
      : `${this.prefix}s/${sid}/at/${encodeId(stateId)}/`;
  }
  byCustomerPrefix(customerId: string): string {
    return `${this.prefix}c/${escapeComponent(customerId)}/`;
  }
  byContactKeyPrefix(contactKey: string): string {
    return `${this.prefix}k/${escapeComponent(contactKey)}/`;
  }
  byStartPrefix(): string {
    return `${this.prefix}b/`;
  }
  byCompletionPrefix(): string {
    return `${this.prefix}e/`;
  }
  matchPrefix(
    customerId: string | undefined,
    contactKey: string | undefined,
    type: string | undefined,
  ): string {
    const opt = (v: string | undefined) => (v === undefined ? '-' : `=${escapeComponent(v)}`);
    return `${this.prefix}m/${opt(customerId)}/${opt(contactKey)}/${opt(type)}/`;
  }
  /** The change log of the tenant (docs/spec.md §12); see {@link encodePosition}. */
  changesPrefix(): string {
    return `${this.prefix}l/`;
  }
  change(position: number): string {
    return `${this.prefix}l/${encodePosition(position)}`;
  }
  /** Holds the highest position that retention removed (absent: none removed). */
  changesFloor(): string {
    return `${this.prefix}lw`;
  }
  /**
   * The composite-start claim of a match tuple (shared stores): every composite start that creates
   * a service for the tuple changes it under a precondition, so that two processes matching the
   * same item at once cannot both create one.
   */
  claim(customerId: string | undefined, contactKey: string | undefined, type: string | undefined): string {
    const tuple = this.matchPrefix(customerId, contactKey, type);
    return `${this.prefix}mc/${createHash('sha256').update(tuple).digest('base64url').slice(0, 22)}`;
  }
  expiry(ms: number, sid: string): string {
    return `x/${encodeTime(ms)}/${this.escapedTenant}/${sid}`;
  }
  autoComplete(ms: number, sid: string): string {
    return `a/${encodeTime(ms)}/${this.escapedTenant}/${sid}`;
  }
}

/** The sweep lease of engines sharing a store (docs/spec.md §11). */
export const SWEEP_LEASE_KEY = 'l/sweep';
/** The key the readiness probe reads and writes; outside every other prefix. */
export const READY_KEY = 'h/ready';

/** The global deadline indexes: `x/` expiry, `a/` auto-complete. */
export const DEADLINE_PREFIX = { expiry: 'x/', autoComplete: 'a/' } as const;

/** Split a global deadline key into its parts. */
export function parseDeadlineKey(key: string): { at: number; tenant: string; sid: string } {
  const [, ts, tenant, sid] = key.split('/');
  return { at: decodeTime(ts as string), tenant: unescapeComponent(tenant as string), sid: sid as string };
}

/** The service id at the end of an index key (`…/<sid>`). */
export function lastComponent(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
