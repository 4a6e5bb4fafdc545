/**
 * The simplified model of the lifecycle model-based tests: plain objects and maps that say what
 * the engine should hold after each command, with the rules of docs/spec.md §7 written as directly as
 * possible (no keys, no indexes, no cache), so that the engine is checked against an independent
 * statement of the rules.
 */
import type { ContextServices, EngineConfig } from '../api.js';
import type { SimulatedClock } from '../clock.js';
import type { ContextEvent } from '../events.js';
import type { Store } from '../store.js';
import { parseLifetime } from '../time.js';

/** A state or a task in the model. */
export interface ModelChild {
  readonly id: number;
  readonly type: string;
  /** Owning state of a task. */
  readonly stateId?: number;
  readonly started: number;
  completed?: number;
  readonly ext: Map<string, unknown>;
}

/** A service in the model. */
export interface ModelService {
  readonly tenant: string;
  readonly id: string;
  customer?: string;
  readonly contactKey?: string;
  readonly type: string;
  readonly started: number;
  completed?: number;
  /** Server time of the last write to the service or anything under it. */
  updated: number;
  ttl?: number;
  expirationTime?: number;
  readonly autoAfter?: number;
  /** Deleted, purged or swept: gone for good. */
  removed: boolean;
  readonly states: Map<number, ModelChild>;
  readonly tasks: Map<number, ModelChild>;
  readonly ext: Map<string, unknown>;
}

/** The engine settings the model needs. */
export interface ModelConfig {
  readonly lifetime: number;
  readonly autoCompleteEnabled: boolean;
  readonly autoCompleteAfter: number | undefined;
  readonly entitiesPerService: number;
  readonly extensionKeysPerEntity: number;
}

/** The whole model: simulated time and every service ever started. */
export interface LifecycleModel {
  now: number;
  readonly config: ModelConfig;
  readonly services: ModelService[];
}

/** The system under test: the engine on a real store, its clock, and the events it emitted. */
export interface LifecycleReal {
  cs: ContextServices;
  store: Store;
  readonly clock: SimulatedClock;
  readonly events: ContextEvent[];
  /** Close engine and store, reopen both on the same location (persistent stores only). */
  readonly reopen?: () => Promise<void>;
}

/** The tenants of every run: the single-tenant namespace and one named tenant. */
export const TENANTS = ['', 'acme'] as const;
/** Customer ids and contact keys, with characters that look like key separators and escapes. */
export const CUSTOMERS = ['C1', 'c/2', 'C%3', 'Ç4'] as const;
export const CONTACT_KEYS = ['+331', '+33/1', 'k%0041'] as const;
/** Extension names; a small set so that writes collide and the per-entity limit is reached. */
export const EXTENSION_NAMES = ['Feedback', 'Cart', 'Notes'] as const;

/** The engine configuration of the model runs: short lifetimes so that expiry happens in a run. */
export const MODEL_ENGINE_CONFIG = {
  expiration: '2h',
  autoCompleteEnabled: true,
  autoCompleteAfter: 1800,
  limits: { entitiesPerService: 5, extensionKeysPerEntity: 2 },
} as const satisfies EngineConfig;

/** The model's view of an engine configuration. */
export function modelConfig(config: EngineConfig): ModelConfig {
  return {
    lifetime: parseLifetime(config.expiration ?? '5y'),
    autoCompleteEnabled: config.autoCompleteEnabled ?? false,
    autoCompleteAfter: config.autoCompleteAfter,
    entitiesPerService: config.limits?.entitiesPerService ?? 10_000,
    extensionKeysPerEntity: config.limits?.extensionKeysPerEntity ?? 256,
  };
}

/** docs/spec.md §7.2: an explicit expiration_time holds; else last update + own ttl or the default. */
export function expiresAt(m: LifecycleModel, s: ModelService): number {
  return s.expirationTime ?? s.updated + (s.ttl !== undefined ? s.ttl * 1000 : m.config.lifetime);
}

/** Visible to every reader: not removed and not expired (expired is invisible before the sweep). */
export function isVisible(m: LifecycleModel, s: ModelService): boolean {
  return !s.removed && expiresAt(m, s) > m.now;
}

/** docs/spec.md §7.3: the auto-complete deadline of an active service, when a delay is known. */
export function autoCompleteAt(m: LifecycleModel, s: ModelService): number | undefined {
  const delay = s.autoAfter ?? m.config.autoCompleteAfter;
  if (s.completed !== undefined || !m.config.autoCompleteEnabled || delay === undefined) return undefined;
  return s.updated + delay * 1000;
}

/** The number of states and tasks, bounded by the `entitiesPerService` limit. */
export function childCount(s: ModelService): number {
  return s.states.size + s.tasks.size;
}

/** L2: complete the given children at `at` (auto-complete clamps to each child's own start). */
export function cascade(children: Iterable<ModelChild>, at: number, clamp: boolean): void {
  for (const c of children) if (c.completed === undefined) c.completed = clamp ? Math.max(at, c.started) : at;
}

/** Active tasks of a state. */
export function tasksOfState(s: ModelService, stateId: number): ModelChild[] {
  return [...s.tasks.values()].filter((t) => t.stateId === stateId);
}

/** A fresh model at `now`. */
export function createModel(now: number, config: EngineConfig): LifecycleModel {
  return { now, config: modelConfig(config), services: [] };
}
