/**
 * Server-Sent Events (docs/spec.md §12) on a Node response, with backpressure: the next entry is pulled
 * from the change log only once the socket took the previous one, so a slow subscriber costs the
 * server one socket buffer, not a queue. One that stays blocked too long is told where to resume
 * and disconnected.
 */
import type { ServerResponse } from 'node:http';
import { type ChangeEntry, isContextServicesError } from '@cxs/core';
import type { Logger } from 'pino';
import { toErrorResponse } from './errors.js';

/** Options of the event stream (`RouterOptions.events`). */
export interface EventStreamOptions {
  /** A comment line is sent after this many ms without an event, so proxies keep the stream. Default 15,000. */
  keepAliveMs?: number;
  /**
   * A subscriber whose socket stays full this long (ms) is sent `event: resume` (data: the
   * position to resume from) and disconnected. Default 30,000.
   */
  slowSubscriberMs?: number;
  /** Receives one line per slow subscriber disconnected (`createRouter` passes its logger). */
  logger?: Logger;
  /**
   * Called with `1` when a stream starts (after its headers) and `-1` when it ends, e.g. to keep a
   * gauge of the open subscriptions.
   */
  onSubscription?: (change: 1 | -1) => void;
}

/** After its last message, a slow subscriber has this long to take it before the connection is cut. */
const FLUSH_GRACE_MS = 10_000;

/**
 * Marks a response that is an event stream: calling the function ends the stream (the standalone
 * server's `listen` does so when it shuts down, so that open streams never hold it).
 */
export const END_EVENT_STREAM: unique symbol = Symbol.for('cxs.endEventStream') as never;

type Marked = ServerResponse & { [END_EVENT_STREAM]?: () => void };

/** End every event stream among `responses` (graceful shutdown). */
export function endEventStreams(responses: Iterable<ServerResponse>): void {
  for (const res of responses) (res as Marked)[END_EVENT_STREAM]?.();
}

/** One SSE message. `data` is one line: JSON never contains a raw newline. */
export function sseMessage(id: number | undefined, event: string, data: unknown): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Write `entries` to `res` as an event stream until the client goes, the engine closes, the
 * stream is ended by {@link endEventStreams}, or the client is too slow. An engine error after the
 * headers (e.g. `CHANGES_EXPIRED`: retention removed entries not yet read) ends the stream with
 * `event: error` whose data is the JSON error body. `stop` aborts the
 * iteration (it must be the signal given to `changes()`). Resolves when the response has ended.
 */
export async function writeEventStream(
  res: ServerResponse,
  entries: AsyncIterable<ChangeEntry>,
  stop: AbortController,
  since: number | undefined,
  options: EventStreamOptions = {},
): Promise<void> {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const slowMs = options.slowSubscriberMs ?? 30_000;
  let last = since;
  const gone = () => stop.abort();
  res.once('close', gone);
  (res as Marked)[END_EVENT_STREAM] = gone;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  });
  // Sends the headers now; a reconnecting browser waits 2 s.
  res.write('retry: 2000\n\n');
  options.onSubscription?.(1);
  let blocked = false;
  const keepAlive = setInterval(() => {
    if (!blocked && !res.writableEnded) res.write(': keep-alive\n\n');
  }, keepAliveMs);
  keepAlive.unref();
  try {
    for await (const { position, event } of entries) {
      if (res.writableEnded || res.destroyed) break;
      last = position;
      if (res.write(sseMessage(position, event.type, event))) continue;
      blocked = true;
      if (!(await drained(res, stop.signal, slowMs))) {
        if (!stop.signal.aborted) {
          res.write(sseMessage(undefined, 'resume', { since: String(last) }));
          options.logger?.info(
            { since: last, limit_ms: slowMs },
            'slow event-stream subscriber disconnected',
          );
        }
        break;
      }
      blocked = false;
    }
  } catch (error) {
    // After the headers, a failure the client can act on (CHANGES_EXPIRED: it fell behind
    // retention while reading) is told as a last message in the JSON error shape; others cut.
    if (!isContextServicesError(error) || res.writableEnded || res.destroyed) throw error;
    res.write(sseMessage(undefined, 'error', toErrorResponse(error).body));
  } finally {
    options.onSubscription?.(-1);
    clearInterval(keepAlive);
    const shutdown = stop.signal.aborted;
    stop.abort();
    res.off('close', gone);
    delete (res as Marked)[END_EVENT_STREAM];
    if (!res.writableEnded) res.end();
    // A full socket may never flush: give it a grace period (none when shutting down), then cut.
    if (blocked && !res.writableFinished) {
      if (shutdown) res.destroy();
      else {
        const cut = setTimeout(() => res.destroy(), FLUSH_GRACE_MS);
        cut.unref();
        res.once('close', () => clearTimeout(cut));
      }
    }
  }
}

/** True once `res` drains; false when `ms` pass first or the stream is stopped. */
function drained(res: ServerResponse, signal: AbortSignal, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    res.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
