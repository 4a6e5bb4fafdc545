/**
 * Follow `GET <base>/events` with `fetch` rather than `EventSource`: `EventSource` cannot send
 * the `ContactCenterId` header that tenancy needs. Reconnects after a cut with `Last-Event-ID`,
 * so nothing is lost and nothing repeated (docs/spec.md §12).
 */
import { createParser } from 'eventsource-parser';
import { type ApiError, errorOf } from './api.js';

/** One change-log event as the stream carries it. */
export interface ChangeEvent {
  type: string;
  service_id: string;
  timestamp: string;
  customer_id?: string;
  contact_key?: string;
  state_id?: number;
  task_id?: number;
  [field: string]: unknown;
}

/** Callbacks of {@link follow}. */
export interface FollowHandlers {
  /**
   * The stream is open. `resumed` is false when it starts at the tail (`since=now`): events may
   * have been missed since the last look, so the caller reloads what it shows.
   */
  onOpen(resumed: boolean): void;
  onEvent(event: ChangeEvent, position: string): void;
  /** Cut; the next attempt comes after `retryMs`. */
  onDown(retryMs: number, reason: string): void;
  /** A failure that retrying cannot mend (401, 403, a bad filter): the stream stops. */
  onFatal(error: ApiError): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Follow `url` until `signal` aborts. */
export async function follow(
  url: string,
  headers: Record<string, string>,
  handlers: FollowHandlers,
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | undefined;
  let retryMs = 2000;
  while (!signal.aborted) {
    let reason = 'the stream ended';
    try {
      const res = await fetch(url, {
        headers: {
          Accept: 'text/event-stream',
          ...headers,
          ...(lastId === undefined ? {} : { 'Last-Event-ID': lastId }),
        },
        cache: 'no-store',
        signal,
      });
      if (res.status === 410) {
        // Resumed too late: the log no longer holds our position. Start again at the tail.
        lastId = undefined;
        continue;
      }
      if (!res.ok) {
        const error = await errorOf(res);
        if (res.status < 500) {
          handlers.onFatal(error);
          return;
        }
        throw error;
      }
      if (res.body === null) throw new Error('no response body');
      handlers.onOpen(lastId !== undefined);
      const parser = createParser({
        onRetry: (ms) => {
          retryMs = ms;
        },
        onEvent: (message) => {
          if (message.event === 'resume') {
            // Disconnected as a slow subscriber: the data is where to resume.
            lastId = message.data.trim();
            return;
          }
          if (message.event === 'error') {
            // A failure after the headers (e.g. positions expired under us): start at the tail.
            lastId = undefined;
            return;
          }
          if (message.id !== undefined) lastId = message.id;
          handlers.onEvent(JSON.parse(message.data) as ChangeEvent, message.id ?? '');
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (error) {
      if (signal.aborted) return;
      reason = error instanceof Error ? error.message : String(error);
    }
    handlers.onDown(retryMs, reason);
    await sleep(retryMs, signal);
  }
}
