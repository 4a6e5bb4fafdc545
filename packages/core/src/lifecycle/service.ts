/** The rules of a service as a whole: start (SRV.1), end and auto-complete (L1, L2, L6), associate, expiration. */
import type { TypeValue } from '../api.js';
import { ContextServicesError, invalid } from '../errors.js';
import type { ContextEvent } from '../events.js';
import type { EventRecord, ServiceRecord, StateRecord, TaskRecord } from '../records.js';
import { EVENT_FIELDS } from '../records.js';
import { formatInstant, parseInstant } from '../time.js';
import {
  alreadyCompleted,
  base,
  type Change,
  cascade,
  checkCompletion,
  compact,
  type EndInput,
  type EventInput,
  eventRecord,
  type RuleConfig,
  touch,
} from './common.js';
import { extensionNames, written } from './extensions.js';

export interface ServiceStartInput extends EventInput {
  readonly customer_id?: string;
  readonly contact_key?: string;
  readonly service_type?: TypeValue;
  readonly est_duration?: number;
  readonly auto_complete_after?: number;
  readonly ttl?: number;
  readonly expiration_time?: string;
}

/** SRV.1. */
export function startService(
  tenant: string,
  id: string,
  input: ServiceStartInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (input.customer_id === undefined && input.contact_key === undefined) {
    throw invalid('customer_id', 'customer_id or contact_key is required');
  }
  const started = eventRecord(input, now);
  const draft: ServiceRecord = compact({
    id,
    version: 0,
    service_type: input.service_type,
    customer_id: input.customer_id,
    contact_key: input.contact_key,
    est_duration: input.est_duration,
    started,
    ext_names: extensionNames([], extensions, cfg),
    auto_complete_after: input.auto_complete_after,
    ttl: input.ttl,
    expiration_time:
      input.ttl === undefined && input.expiration_time !== undefined
        ? futureInstant(input.expiration_time, now)
        : undefined,
    lifetime: cfg.lifetime,
    updated: now,
    expires: now,
    next_state: 1,
    next_task: 1,
    children: 0,
  });
  const service = touch(draft, now, cfg);
  const ev: ContextEvent = compact({
    type: 'service.started' as const,
    ...base(tenant, service, started.ts),
    customer_id: service.customer_id,
    contact_key: service.contact_key,
  });
  return { service, states: [], tasks: [], ...written(extensions), events: [ev] };
}

export interface ServiceEndInput extends EndInput {
  readonly ttl?: number;
  readonly expiration_time?: string;
}

/**
 * An `expiration_time` that applies, as epoch ms: it must be in the future (docs/spec.md §7.2), since
 * accepting one in the past would acknowledge a write that no one can ever read.
 *
 * @throws ContextServicesError `EXPIRATION_IN_PAST`
 */
export function futureInstant(expirationTime: string, now: number): number {
  const at = parseInstant('expiration_time', expirationTime);
  if (at <= now) {
    throw new ContextServicesError(
      'EXPIRATION_IN_PAST',
      `Invalid 'expiration_time': ${expirationTime} is not in the future (now is ${formatInstant(now)})`,
      { details: { field: 'expiration_time', value: expirationTime, now: formatInstant(now) } },
    );
  }
  return at;
}

/**
 * Expiration fields of a body applied to a service at `now`: ttl wins over expiration_time
 * (docs/spec.md §4), which is checked only when it applies.
 */
export function withExpiration(
  s: ServiceRecord,
  ttl: number | undefined,
  expirationTime: string | undefined,
  now: number,
): ServiceRecord {
  if (ttl !== undefined) return compact({ ...s, ttl, expiration_time: undefined });
  if (expirationTime !== undefined) {
    return compact({ ...s, ttl: undefined, expiration_time: futureInstant(expirationTime, now) });
  }
  return s;
}

/** SRV.3 and auto-complete: L1, L2, L6. */
export function endService(
  tenant: string,
  s: ServiceRecord,
  activeStates: readonly StateRecord[],
  activeTasks: readonly TaskRecord[],
  input: ServiceEndInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
  reason: 'ended' | 'auto-completed' = 'ended',
): Change {
  if (s.completed !== undefined) throw alreadyCompleted('service');
  const ended = eventRecord(input, now);
  checkCompletion('service', s.started, ended.ts);
  const children = cascade(tenant, s, activeStates, activeTasks, ended, reason === 'auto-completed');
  const service = touch(
    withExpiration(
      compact({
        ...s,
        completed: ended,
        disposition: input.disposition ?? s.disposition,
        disposition_desc: input.disposition_desc ?? s.disposition_desc,
        ext_names: extensionNames(s.ext_names, extensions, cfg),
      }),
      input.ttl,
      input.expiration_time,
      now,
    ),
    now,
    cfg,
  );
  const ev: ContextEvent = { type: 'service.completed', ...base(tenant, s, ended.ts), reason };
  return {
    service,
    states: children.states,
    tasks: children.tasks,
    ...written(extensions),
    events: [...children.events, ev],
  };
}

/**
 * Auto-complete (docs/spec.md §7.3): completed at last update + delay, deterministically. It is not an
 * update (docs/spec.md §7.2): the expiry stays where the last update put it, so whether a reader still
 * finds the service never depends on when the sweep happened to run.
 */
export function autoComplete(
  tenant: string,
  s: ServiceRecord,
  activeStates: readonly StateRecord[],
  activeTasks: readonly TaskRecord[],
  cfg: RuleConfig,
): Change {
  const at = s.auto_at as number;
  const ts = Math.max(at, s.started.ts);
  const change = endService(
    tenant,
    s,
    activeStates,
    activeTasks,
    { timestamp: formatInstant(ts) },
    {},
    at,
    cfg,
    'auto-completed',
  );
  return { ...change, service: { ...change.service, updated: s.updated, expires: s.expires } };
}

export interface AssociateInput extends EventInput {
  readonly customer_id?: string;
  readonly contact_key?: string;
  readonly service_type?: TypeValue;
  readonly est_duration?: number;
}

/** SRV.2: attach to (or move to) a customer; body fields overwrite, extensions replace. */
export function associate(
  tenant: string,
  s: ServiceRecord,
  customerId: string,
  input: AssociateInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (input.customer_id !== undefined && input.customer_id !== customerId) {
    throw invalid('customer_id', 'must equal the customer id of the path');
  }
  const started: Record<string, unknown> = { ...s.started };
  for (const f of EVENT_FIELDS) if (input[f] !== undefined) started[f] = input[f];
  const service = touch(
    compact({
      ...s,
      customer_id: customerId,
      contact_key: input.contact_key ?? s.contact_key,
      service_type: input.service_type ?? s.service_type,
      est_duration: input.est_duration ?? s.est_duration,
      started: started as unknown as EventRecord,
      ext_names: extensionNames(s.ext_names, extensions, cfg),
    }),
    now,
    cfg,
  );
  const ev: ContextEvent = compact({
    type: 'service.associated' as const,
    ...base(tenant, s, now),
    customer_id: customerId,
    previous_customer_id: s.customer_id,
  });
  return { service, states: [], tasks: [], ...written(extensions), events: [ev] };
}

/** Update expiration (docs/spec.md §4, §7.2). */
export function updateExpiration(
  tenant: string,
  s: ServiceRecord,
  ttl: number | undefined,
  expirationTime: string | undefined,
  now: number,
  cfg: RuleConfig,
): Change {
  const service = touch(withExpiration(s, ttl, expirationTime, now), now, cfg);
  const ev: ContextEvent = { type: 'service.updated', ...base(tenant, s, now), change: 'expiration' };
  return { service, states: [], tasks: [], events: [ev] };
}
