/** Request ids (docs/spec.md §13): the client's `X-Request-Id` when sane, else a fresh one. */
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';

/** Longest client request id kept. */
export const MAX_REQUEST_ID_LENGTH = 128;

// Printable ASCII without spaces, quotes, backslashes or characters that would need escaping in a
// log line or a header: enough for UUIDs, ULIDs, W3C trace ids and most proxies' formats.
const SAFE = /^[A-Za-z0-9._~:/+=@-]+$/;

/** The client's id when it is 1–128 safe characters (`A-Z a-z 0-9 . _ ~ : / + = @ -`), else undefined. */
export function saneRequestId(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) return undefined;
  return SAFE.test(value) ? value : undefined;
}

/** The id of the request (set by {@link requestId}; undefined before it ran). */
export function requestIdOf(ctx: Context): string | undefined {
  const id = (ctx.state as { requestId?: unknown }).requestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Give every request an id: the client's `X-Request-Id` if {@link saneRequestId}, else a random
 * UUID. Stored in `ctx.state.requestId` and answered in `X-Request-Id` (error answers included:
 * put it before the error middleware, as `createApp` does).
 *
 * @example
 * ```ts
 * app.use(requestId()).use(errorHandler()).use(router.routes());
 * ```
 */
export function requestId(): Middleware {
  return (ctx, next) => {
    assignRequestId(ctx);
    return next();
  };
}

/** What {@link requestId} does before passing the request on; returns the id. */
export function assignRequestId(ctx: Context): string {
  const header = ctx.req.headers['x-request-id'];
  const id = (typeof header === 'string' ? saneRequestId(header) : undefined) ?? randomUUID();
  ctx.state.requestId = id;
  ctx.response.set('X-Request-Id', id);
  return id;
}
