/**
 * One small fast-check command class per engine operation. Each predicts the outcome from the
 * model (the error code of a rejected call, or the new model state), runs the engine, and checks
 * the prediction: a rejected call must throw that code, change no byte of the store and emit no
 * event; an accepted call must return what the model expects and emit its events.
 *
 * The commands live by concept in `command-base.ts` (shared pieces), `service-commands.ts`,
 * `child-commands.ts` and `maintenance-commands.ts`; this module weighs them into arbitraries.
 */
import fc from 'fast-check';
import type { PurgeOperation } from '../api.js';
import {
  EndStateCommand,
  EndTaskCommand,
  StartStateCommand,
  StartTaskCommand,
  TransitionCommand,
} from './child-commands.js';
import { childRefArb, type LifecycleCommand, targetArb } from './command-base.js';
import {
  AdvanceClockCommand,
  AdvanceToDeadlineCommand,
  PURGE_OPERATIONS,
  PurgeCommand,
  ReopenCommand,
  SweepCommand,
} from './maintenance-commands.js';
import {
  AssociateCommand,
  DeleteCommand,
  EndServiceCommand,
  ExtensionCommand,
  StartServiceCommand,
  UpdateExpirationCommand,
} from './service-commands.js';

export * from './child-commands.js';
export {
  type ChildRef,
  childRefArb,
  expectOutcome,
  type LifecycleCommand,
  pickService,
  ServiceCommand,
  serviceError,
  type Target,
  targetArb,
  targetOptions,
} from './command-base.js';
export {
  AdvanceClockCommand,
  AdvanceToDeadlineCommand,
  PurgeCommand,
  ReopenCommand,
  SweepCommand,
} from './maintenance-commands.js';
export * from './service-commands.js';

const types = fc.constantFrom('a', 'b', 'c');
const optional = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { freq });
const rarely = (n: number) => fc.nat({ max: n - 1 }).map((x) => x === 0);
const extensionValue = fc.oneof(
  fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 }),
  fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 2 }),
);

/** Arbitraries of the built-in commands with their relative weights. */
const WEIGHTED: [fc.Arbitrary<LifecycleCommand>, number][] = [
  [
    fc
      .tuple(
        fc.nat(),
        optional(fc.nat(), 4),
        optional(fc.nat(), 4),
        fc.constantFrom('billing', 'booking'),
        optional(fc.constantFrom(60, 3600), 3),
        optional(fc.constantFrom(1, 600), 3),
        fc.boolean(),
      )
      .map((a) => new StartServiceCommand(...a)),
    4,
  ],
  [fc.tuple(targetArb, rarely(6)).map(([t, e]) => new EndServiceCommand(t, e)), 1],
  [fc.tuple(targetArb, fc.nat()).map(([t, c]) => new AssociateCommand(t, c)), 1],
  [fc.tuple(targetArb, optional(childRefArb), types).map(([t, p, ty]) => new StartStateCommand(t, p, ty)), 3],
  [fc.tuple(targetArb, childRefArb, rarely(6)).map(([t, c, e]) => new EndStateCommand(t, c, e)), 2],
  [fc.tuple(targetArb, childRefArb, types).map(([t, c, ty]) => new TransitionCommand(t, c, ty)), 2],
  [fc.tuple(targetArb, optional(childRefArb), types).map(([t, c, ty]) => new StartTaskCommand(t, c, ty)), 3],
  [fc.tuple(targetArb, childRefArb, rarely(6)).map(([t, c, e]) => new EndTaskCommand(t, c, e)), 2],
  [
    fc
      .tuple(
        targetArb,
        fc.constantFrom('service' as const, 'state' as const, 'task' as const),
        childRefArb,
        fc.nat(),
        extensionValue,
        fc.boolean(),
      )
      .map((a) => new ExtensionCommand(...a)),
    2,
  ],
  [
    fc
      .tuple(
        targetArb,
        optional(fc.constantFrom(1, 60, 7200)),
        optional(fc.constantFrom(-1, 1, 1000, 10_800_000)),
      )
      .map(([t, ttl, off]) => new UpdateExpirationCommand(t, ttl, off)),
    1,
  ],
  [targetArb.map((t) => new DeleteCommand(t)), 1],
  [
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(...(Object.keys(PURGE_OPERATIONS) as PurgeOperation[])),
        fc.constantFrom(-3_600_000, 0, 1),
      )
      .map(([t, op, off]) => new PurgeCommand(t, op, off)),
    1,
  ],
  [
    fc
      .constantFrom(1, 1000, 1000, 60_000, 60_000, 600_000, 1_799_999, 3_600_000)
      .map((ms) => new AdvanceClockCommand(ms)),
    2,
  ],
  [
    fc
      .tuple(
        targetArb,
        fc.constantFrom('expiry' as const, 'auto-complete' as const),
        fc.constantFrom(-1 as const, 0 as const, 1 as const),
      )
      .map(([t, k, d]) => new AdvanceToDeadlineCommand(t, k, d)),
    2,
  ],
  [fc.constant(new SweepCommand()), 2],
];

/**
 * The arbitraries of every lifecycle command (an arbitrary appears as many times as its weight).
 * Add your own command arbitraries beside them to test your application's rules on top of the
 * engine (see `runLifecycleModel`).
 */
export function lifecycleCommandArbitraries(options: { reopen: boolean }): fc.Arbitrary<LifecycleCommand>[] {
  const list = WEIGHTED.flatMap(([arb, weight]) => Array.from({ length: weight }, () => arb));
  if (options.reopen) list.push(fc.constant(new ReopenCommand()));
  return list;
}
