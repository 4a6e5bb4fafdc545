import { randomFillSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallOptions } from './api.js';
import type { Clock } from './clock.js';
import type { ResolvedConfig } from './config.js';
import { ContextServicesError, invalid, isContextServicesError, serviceNotFound } from './errors.js';
import { TenantKeys } from './keys.js';
import type { Pacer } from './pacer.js';
import type { ServiceRecord } from './records.js';
import type { Repo } from './repo.js';
import { isServiceId } from './validate.js';

/** What every operation module shares. */
export interface EngineContext {
  readonly repo: Repo;
  readonly clock: Clock;
  readonly cfg: ResolvedConfig;
  /** A new service id, checked (see {@link createContext}). */
  readonly ids: () => string;
  /** Ids come from the application: a new one may collide with a stored service, so it is checked. */
  readonly customIds: boolean;
  /** Paces purge and the sweep by the latency of the requests served meanwhile. */
  readonly pacer: Pacer;
  keys(options: CallOptions | undefined): TenantKeys;
}

const ID_BYTES = 16;
/** Random bytes drawn 256 ids at a time: one call into the CSPRNG instead of one per service. */
const pool = Buffer.alloc(ID_BYTES * 256);
let poolOffset = pool.length;

/**
 * Default service ids: 128 random bits, base64url (22 characters, docs/spec.md §2), never
 * starting with `-`: such an id would be read as an option on a command line and exported as
 * `'-…` in CSV (formula-injection guard). The first character `-` (top six bits 62) becomes `e`
 * (30), which costs about 0.03 of the 128 bits.
 */
export function randomServiceId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += ID_BYTES;
  if ((pool[start] as number) >> 2 === 62) pool[start] = (pool[start] as number) ^ 0x80;
  return pool.toString('base64url', start, poolOffset);
}

const MAX_TENANT = 256;

/**
 * Build the context; tenant key builders are memoized (few tenants, many calls). Without `ids`
 * the engine draws 128 random bits per service; an application's own generator is checked:
 * a malformed id is a programmer mistake (TypeError), a stored one is refused (SERVICE_EXISTS).
 */
export function createContext(
  repo: Repo,
  clock: Clock,
  cfg: ResolvedConfig,
  ids: (() => string) | undefined,
  pacer: Pacer,
): EngineContext {
  const tenants = new Map<string, TenantKeys>();
  const custom = ids;
  return {
    repo,
    clock,
    cfg,
    pacer,
    customIds: custom !== undefined,
    ids:
      custom === undefined
        ? randomServiceId
        : () => {
            const id = custom();
            if (!isServiceId(id)) {
              throw new TypeError(
                `ids() returned ${JSON.stringify(id)}: service ids are 1 to 64 characters of [A-Za-z0-9_-]`,
              );
            }
            return id;
          },
    keys(options) {
      const tenant = options?.tenant ?? '';
      if (typeof tenant !== 'string' || tenant.length > MAX_TENANT) {
        throw invalid('tenant', `must be a string of at most ${MAX_TENANT} characters`);
      }
      let k = tenants.get(tenant);
      if (k === undefined) {
        k = new TenantKeys(tenant);
        if (tenants.size < 10_000) tenants.set(tenant, k);
      }
      return k;
    },
  };
}

/** A service that exists and has not expired (docs/spec.md §7.2: expired is never returned), else SERVICE_NOT_FOUND. */
export async function requireService(
  ctx: EngineContext,
  keys: TenantKeys,
  sid: string,
): Promise<ServiceRecord> {
  if (!isServiceId(sid)) throw serviceNotFound(String(sid));
  const s = await ctx.repo.getService(keys, sid);
  if (s === undefined || s.expires <= ctx.clock.now()) throw serviceNotFound(sid);
  return s;
}

const isPreconditionFailure = (e: unknown): boolean =>
  isContextServicesError(e) && e.code === 'PRECONDITION_FAILED';

/** Back-off before retry `attempt` (0-based): full jitter under 1, 2, 4 … ms, at most 100 ms. */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(100, 2 ** attempt));
}

/**
 * Run a write (`fn` reads, applies a pure rule, commits) and, when its commit fails because
 * another process changed the records it read (`PRECONDITION_FAILED`), run it again from the
 * reads, up to `conflictRetries` times with jittered exponential back-off (docs/spec.md §11). Events are
 * emitted by the commit that succeeded only.
 * @throws ContextServicesError `CONFLICT` (retriable) once the retries ran out.
 */
export async function retrying<T>(ctx: EngineContext, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isPreconditionFailure(e)) throw e;
      if (attempt >= ctx.cfg.conflictRetries) {
        ctx.repo.counters.conflicts++;
        throw new ContextServicesError(
          'CONFLICT',
          `Other writers kept changing the same data; gave up after ${attempt + 1} attempts, try again`,
          { details: { attempts: attempt + 1 }, cause: e },
        );
      }
      ctx.repo.counters.conflictRetries++;
      await backoff(attempt);
    }
  }
}

/**
 * Serialize a write on one service of one tenant (L7): in this process through the service's
 * queue; with shared writers also across processes, the commit holding only if the service is
 * unchanged since `fn` read it, `fn` being run again otherwise ({@link retrying}).
 */
export function onService<T>(
  ctx: EngineContext,
  keys: TenantKeys,
  sid: string,
  fn: () => Promise<T>,
): Promise<T> {
  return ctx.repo.serialize(keys.service(sid), ctx.repo.shared ? () => retrying(ctx, fn) : fn);
}

/**
 * Run `fn` for a new service under its queue, once: with application ids, first make sure no
 * stored service has the id (a start would otherwise overwrite it and strand its index entries);
 * with shared writers the commit also requires the record to be still absent, and a service
 * written meanwhile by another process under the same id is reported the same way.
 * @throws ContextServicesError `SERVICE_EXISTS`; `PRECONDITION_FAILED` from `fn`'s other conditions.
 */
export function onNewService<T>(
  ctx: EngineContext,
  keys: TenantKeys,
  sid: string,
  fn: () => Promise<T>,
): Promise<T> {
  const exists = (cause?: unknown) =>
    new ContextServicesError('SERVICE_EXISTS', `Service ${sid} already exists`, {
      details: { service_id: sid },
      cause,
    });
  return ctx.repo.serialize(keys.service(sid), async () => {
    if (ctx.customIds && (await ctx.repo.getService(keys, sid)) !== undefined) throw exists();
    try {
      return await fn();
    } catch (e) {
      if (isPreconditionFailure(e) && (e as ContextServicesError).details?.key === keys.service(sid)) {
        throw exists(e);
      }
      throw e;
    }
  });
}
