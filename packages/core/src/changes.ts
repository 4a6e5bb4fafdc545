/**
 * Reading the change log (docs/spec.md §12): `changes()` and the retention sweep. Readers pull pages of
 * the log from the store as they are consumed, so memory stays bounded however far behind a
 * reader is; once caught up they wait for the next settled write of their tenant in this process
 * (and, on a shared store, poll for other processes' writes).
 */
import type { CallOptions, ChangesQuery } from './api.js';
import { positionOf, type StoredChange } from './change-log.js';
import type { EngineContext } from './context.js';
import { ContextServicesError, invalid, isContextServicesError } from './errors.js';
import { type ChangeEntry, type ChangeEvent, CONTEXT_EVENT_TYPES } from './events.js';
import { prefixEnd, TenantKeys, unescapeComponent } from './keys.js';
import type { BatchOp, Range } from './store.js';

/** Entries read from the store at once. */
const PAGE = 256;

const PREFIXES = new Set(CONTEXT_EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))));

/** A predicate on event types from `types` (exact names, `service.*`-style prefixes, `*`). */
function typeFilter(raw: ChangesQuery['types']): ((type: string) => boolean) | undefined {
  if (raw === undefined) return undefined;
  const list = typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(list)) throw invalid('types', 'must be a string or an array of strings');
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const t of list as unknown[]) {
    if (typeof t !== 'string') throw invalid('types', 'must be a string or an array of strings');
    const name = t.trim();
    if (name === '*') return undefined;
    if (name.endsWith('.*') && PREFIXES.has(name.slice(0, -2))) prefixes.push(name.slice(0, -1));
    else if ((CONTEXT_EVENT_TYPES as readonly string[]).includes(name)) exact.add(name);
    else {
      throw invalid(
        'types',
        `must name event types (${CONTEXT_EVENT_TYPES.join(', ')}) or service.*, state.*, task.*`,
        {
          value: t,
        },
      );
    }
  }
  return (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p));
}

function stringFilter(
  field: 'customer_id' | 'contact_key' | 'service_id',
  value: unknown,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(field, 'must be a non-empty string');
  return value;
}

/** The predicate of a query; validates it. */
function eventFilter(q: ChangesQuery): (e: ChangeEvent) => boolean {
  const types = typeFilter(q.types);
  const customer = stringFilter('customer_id', q.customer_id);
  const contact = stringFilter('contact_key', q.contact_key);
  const sid = stringFilter('service_id', q.service_id);
  return (e) =>
    (types === undefined || types(e.type)) &&
    (customer === undefined || e.customer_id === customer) &&
    (contact === undefined || e.contact_key === contact) &&
    (sid === undefined || e.service_id === sid);
}

/** `since` as a position, or undefined for `'now'`. */
function parseSince(since: ChangesQuery['since']): number | undefined {
  if (since === undefined || since === 'now') return undefined;
  const n = typeof since === 'string' && /^[0-9]{1,16}$/.test(since) ? Number(since) : since;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid('since', "must be a position (an integer >= 0) or 'now'", { value: since });
  }
  return n;
}

function expired(since: number, floor: number, why: string): ContextServicesError {
  return new ContextServicesError('CHANGES_EXPIRED', `Position ${since} ${why}: read again from 'now'`, {
    details: { since, oldest: floor },
  });
}

/** docs/spec.md §12: see `ContextServices.changes`. */
export async function changes(
  ctx: EngineContext,
  query: ChangesQuery = {},
  options?: CallOptions,
): Promise<AsyncIterable<ChangeEntry>> {
  if (typeof query !== 'object' || query === null) throw invalid('query', 'must be an object');
  const signal = query.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('changes: signal must be an AbortSignal');
  }
  const keys = ctx.keys(options);
  const match = eventFilter(query);
  const since = parseSince(query.since);
  const log = ctx.repo.log;
  if (log.mode === 'off') {
    throw new TypeError('changes: this shared store has no change log (it does not declare orderedAppend)');
  }
  const head = await log.head(keys);
  let cursor = head;
  if (since !== undefined) {
    const floor = await log.floor(keys);
    if (since < floor) throw expired(since, floor, 'is older than the retained change log');
    if (since > head) throw expired(since, floor, 'is ahead of the change log');
    cursor = since;
  }
  return follow(ctx, keys, cursor, match, signal);
}

async function* follow(
  ctx: EngineContext,
  keys: TenantKeys,
  start: number,
  match: (e: ChangeEvent) => boolean,
  signal: AbortSignal | undefined,
): AsyncGenerator<ChangeEntry> {
  const log = ctx.repo.log;
  const end = prefixEnd(keys.changesPrefix());
  let cursor = start;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  signal?.addEventListener('abort', stop, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    while (!signal?.aborted && !log.closed) {
      // Taken before reading, so that a write settling during the read still wakes us.
      const woken = log.next(keys);
      const horizon = await log.horizon(keys);
      const page: [string, string][] = [];
      if (horizon > cursor) {
        const range: Range = {
          gt: keys.change(cursor),
          ...(Number.isFinite(horizon) ? { lte: keys.change(horizon) } : { lt: end }),
          limit: PAGE,
        };
        for await (const entry of ctx.repo.store.iterate(range)) page.push(entry);
        // Read after the page: if retention removed nothing past the cursor by now, the page
        // (read before) is whole.
        const floor = await log.floor(keys);
        if (floor > cursor) throw expired(cursor, floor, 'was removed by retention before it was read');
      }
      for (const [k, v] of page) {
        const position = positionOf(k);
        cursor = position;
        const { event } = JSON.parse(v) as StoredChange;
        if (match(event)) yield { position, event };
        if (signal?.aborted || log.closed) return;
      }
      if (page.length === PAGE) continue;
      const waits = [woken, stopped, log.whenClosed];
      if (log.mode === 'shared') {
        waits.push(
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, ctx.cfg.changes.pollIntervalMs);
          }),
        );
      }
      await Promise.race(waits);
      clearTimeout(timer);
    }
  } catch (error) {
    // The engine closed the store under a read: the reader ends, as it would at its next check.
    if (!(log.closed && isContextServicesError(error) && error.code === 'CLOSED')) throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Remove change-log entries older than the retention or beyond the count, in every tenant, and
 * record the highest removed position as the tenant's floor (in the same batch), so that readers
 * behind it get `CHANGES_EXPIRED` instead of a gap. The newest entry of a log always stays: the
 * positions of the next entries are recovered from it. Returns the number of entries removed.
 */
export async function sweepChanges(ctx: EngineContext, now: number): Promise<number> {
  if (ctx.repo.log.mode === 'off') return 0;
  let removed = 0;
  let from = 't';
  for (;;) {
    let first: string | undefined;
    for await (const [k] of ctx.repo.store.iterate({ gte: from, lt: 'u', limit: 1 })) first = k;
    if (first === undefined) return removed;
    const keys = new TenantKeys(unescapeComponent(first.slice(1, first.indexOf('/'))));
    removed += await sweepTenant(ctx, keys, now);
    from = prefixEnd(keys.prefix);
  }
}

async function sweepTenant(ctx: EngineContext, keys: TenantKeys, now: number): Promise<number> {
  const { store } = ctx.repo;
  const { retentionMs, maxEntries } = ctx.cfg.changes;
  const prefix = keys.changesPrefix();
  let last: string | undefined;
  for await (const [k] of store.iterate({ gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 }))
    last = k;
  if (last === undefined) return 0;
  const countCut = positionOf(last) - maxEntries;
  const oldest = now - retentionMs;
  const floorKey = keys.changesFloor();
  let removed = 0;
  for (;;) {
    const dels: BatchOp[] = [];
    let upTo = 0;
    let more = true;
    for await (const [k, v] of store.iterate({ gte: prefix, lt: last, limit: ctx.cfg.batchSize })) {
      const p = positionOf(k);
      if (p > countCut && (JSON.parse(v) as StoredChange).at >= oldest) {
        more = false;
        break;
      }
      dels.push({ type: 'del', key: k });
      upTo = p;
    }
    if (dels.length === 0) return removed;
    // Several processes may sweep one shared log: the floor must never move back.
    const prev = ctx.repo.log.mode === 'shared' ? await store.get(floorKey) : undefined;
    const options =
      ctx.repo.log.mode === 'shared'
        ? {
            preconditions: [
              prev === undefined ? { key: floorKey, absent: true as const } : { key: floorKey, value: prev },
            ],
          }
        : undefined;
    if (prev !== undefined && Number(prev) >= upTo) return removed;
    try {
      await store.batch([...dels, { type: 'put', key: floorKey, value: String(upTo) }], options);
    } catch (error) {
      if (isContextServicesError(error) && error.code === 'PRECONDITION_FAILED') return removed;
      throw error;
    }
    removed += dels.length;
    if (!more || dels.length < ctx.cfg.batchSize) return removed;
    // Paced like the rest of the sweep (src/pacer.ts).
    await ctx.pacer.pause();
  }
}
