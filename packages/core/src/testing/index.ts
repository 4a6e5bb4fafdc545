/**
 * `@cxs/core/testing`: the suites every store runs (conformance and the lifecycle model), the
 * store integrity check, and the building blocks of the lifecycle model (commands, model,
 * invariants) for property-testing your own journey rules on top of the engine.
 */
export { type ChangeStreamPropertyOptions, changeStreamProperty } from './changes-suite.js';
export {
  disposeStore,
  dumpStore,
  openStore,
  reopenStore,
  type StoreFactory,
} from './factory.js';
export { type IntegrityOptions, integrityProblems, verifyStoreIntegrity } from './integrity.js';
export * from './lifecycle-commands.js';
export * from './lifecycle-model.js';
export {
  checkLifecycleInvariants,
  type LifecycleRunOptions,
  lifecycleModelSuite,
  runLifecycleModel,
} from './lifecycle-suite.js';
export { fcParams, seededRandom, WHOLE_SERVICE } from './params.js';
export { modelRange, type StoreSuiteOptions, storeConformanceSuite } from './store-suite.js';
