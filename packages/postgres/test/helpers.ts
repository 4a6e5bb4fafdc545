import { type BatchOp, isContextServicesError } from '@cxs/core';

export { dumpStore as dump } from '@cxs/core/testing';

export const put = (key: string, value: string): BatchOp => ({ type: 'put', key, value });

/** The rejection reason of `p` (fails the test when `p` resolves). */
export async function reason(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

/** The error code of a rejection, or 'ok'. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isContextServicesError(e) ? e.code : `not a ContextServicesError: ${String(e)}`),
  );
}
