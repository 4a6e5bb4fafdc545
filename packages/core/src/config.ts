import type { EngineConfig, Limits } from './api.js';
import { invalid } from './errors.js';
import type { RuleConfig } from './lifecycle.js';
import { parseLifetime } from './time.js';

/** The limits of docs/spec.md §10. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  extensionKeysPerEntity: 256,
  entitiesPerService: 10_000,
  customerIdLength: 256,
  contactKeyLength: 256,
  extensionNameLength: 128,
  jsonDepth: 32,
  listLimit: 10_000,
  serviceBytes: 64 * 1024 * 1024,
});

/** Everything the engine needs from its configuration, resolved once. */
export interface ResolvedConfig {
  readonly limits: Readonly<Limits>;
  readonly rules: RuleConfig;
  readonly cacheSize: number;
  readonly batchSize: number;
  /** Shared stores: re-reads and re-applications of a write after a conflict, before `CONFLICT`. */
  readonly conflictRetries: number;
  readonly changes: ResolvedChangesConfig;
}

/** The change log's settings (docs/spec.md §12), resolved. */
export interface ResolvedChangesConfig {
  /** Entries older than this (ms since their commit) are removed by the sweep. */
  readonly retentionMs: number;
  /** At most this many positions are kept per tenant. */
  readonly maxEntries: number;
  /** How often a live reader of a shared store looks for other processes' entries (ms). */
  readonly pollIntervalMs: number;
}

function positiveInt(field: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < min) throw invalid(field, `must be an integer >= ${min}`, { value: v });
  return v;
}

function resolveChanges(c: NonNullable<EngineConfig['changes']>): ResolvedChangesConfig {
  let retentionMs: number;
  try {
    retentionMs = parseLifetime(c.retention ?? '24h');
  } catch {
    throw invalid('changes.retention', "must be <integer><unit> (units s m h d w M y, e.g. '24h') or ms", {
      value: c.retention,
    });
  }
  return {
    retentionMs,
    maxEntries: positiveInt('changes.maxEntries', c.maxEntries, 1_000_000),
    pollIntervalMs: positiveInt('changes.pollInterval', c.pollInterval, 1_000),
  };
}

/** Validate and complete an {@link EngineConfig}. */
export function resolveConfig(config: EngineConfig = {}): ResolvedConfig {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(config.limits ?? {})) {
    if (!(k in DEFAULT_LIMITS)) throw invalid(`limits.${k}`, 'is not a known limit');
    limits[k as keyof Limits] = positiveInt(`limits.${k}`, v, DEFAULT_LIMITS[k as keyof Limits]);
  }
  return {
    limits,
    rules: {
      lifetime: parseLifetime(config.expiration ?? '5y'),
      autoCompleteEnabled: config.autoCompleteEnabled ?? false,
      autoCompleteAfter:
        config.autoCompleteAfter === undefined
          ? undefined
          : positiveInt('autoCompleteAfter', config.autoCompleteAfter, 0),
      entitiesPerService: limits.entitiesPerService,
      extensionKeysPerEntity: limits.extensionKeysPerEntity,
    },
    cacheSize: positiveInt('cacheSize', config.cacheSize, 10_000, 0),
    batchSize: positiveInt('batchSize', config.batchSize, 100),
    changes: resolveChanges(config.changes ?? {}),
    conflictRetries: positiveInt('conflictRetries', config.conflictRetries, 10, 0),
  };
}
