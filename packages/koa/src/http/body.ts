/** Request bodies (docs/spec.md §2, §10): content type, size limit, strict UTF-8, JSON syntax. */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

/** The default body limit: 1 MiB (docs/spec.md §10). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The default time a client has to send a whole request body: 30 s (docs/spec.md §13). */
export const DEFAULT_BODY_TIMEOUT = 30_000;

/**
 * Set on a request by {@link listen} when the client sent `Expect: 100-continue`: calling it sends
 * `100 Continue`. {@link readJsonBody} calls it only once the headers passed every check, so a
 * too-large `Content-Length` (or a refused caller) gets its answer without inviting the body.
 */
export const WRITE_CONTINUE = Symbol.for('cxs.writeContinue');

type ContinuableRequest = IncomingMessage & { [WRITE_CONTINUE]?: () => void };

/** Names of UTF-8 in a `charset` parameter: the registered one and its common hyphenless alias. */
const UTF8_NAMES = new Set(['utf-8', 'utf8']);

/**
 * Check the content type of a request that has a body: `application/json` with or without a
 * `charset` (UTF-8 only: `utf-8` or `utf8`, any case, quoted or not), or none at all (docs/spec.md §2).
 * Anything else → 415.
 */
export function checkContentType(header: string | undefined): void {
  if (header === undefined || header === 'application/json' || header.trim() === '') return;
  const [type = '', ...params] = header.split(';').map((p) => p.trim());
  if (type.toLowerCase() !== 'application/json') {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Unsupported content type '${type}': send application/json (or no content type)`,
    );
  }
  for (const p of params) {
    const [name = '', value = ''] = p.split('=').map((s) => s.trim());
    if (name.toLowerCase() === 'charset' && !UTF8_NAMES.has(value.replace(/"/g, '').toLowerCase())) {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Unsupported charset '${value}': send UTF-8`);
    }
  }
}

function tooLarge(limit: number, close = false): HttpError {
  return new HttpError(
    'BODY_TOO_LARGE',
    `Request body too large: the limit is ${limit} bytes`,
    close ? { Connection: 'close' } : {},
  );
}

/**
 * Read the raw bytes, failing as soon as `limit` is passed (the rest is discarded by Node), or
 * when the whole body has not arrived within `timeoutMs` (408, and the connection is closed: the
 * rest of the body will never be read).
 */
function readRaw(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          cleanup();
          reject(
            new HttpError('REQUEST_TIMEOUT', `Request body not received within ${timeoutMs} ms`, {
              Connection: 'close',
            }),
          );
        }, timeoutMs)
      : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Keep draining so the client can finish sending and read the 413.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new HttpError('BAD_REQUEST', `Request body could not be read: ${error.message}`));
    };
    const onAborted = () => onError(new Error('the client aborted the request'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The whole body when it has already arrived and waits in the request's buffer (the usual case
 * for a small body sent with its headers: all `Content-Length` bytes are there), taken at once
 * without listeners or timers; else undefined, and the body is read as it comes.
 */
function bufferedBody(req: IncomingMessage, declared: number): Buffer | undefined {
  const length = req.readableLength;
  if (length === 0 || length !== declared || req.readableFlowing === true) return undefined;
  // Without a size, `read` returns everything buffered, in one Buffer.
  const body = req.read() as Buffer | null;
  // Flowing from here on, the end of the message ends the stream as if it had been read.
  if (!req.readableEnded) req.resume();
  return body ?? undefined;
}

/**
 * Read and parse a JSON request body. Resolves to `undefined` when the request has no body (the
 * core decides whether that is allowed). Errors: 415 for another content type, 413 past `limit`
 * bytes (checked on `Content-Length` first, then while reading), 408 `REQUEST_TIMEOUT` when the
 * body has not fully arrived `timeoutMs` after reading began, 400 `MALFORMED_JSON` for bytes that
 * are not UTF-8 or not JSON. The core checks everything else (forbidden keys, depth, fields).
 * Sends `100 Continue` (see {@link WRITE_CONTINUE}) only after the header checks passed.
 */
export async function readJsonBody(
  req: IncomingMessage,
  limit: number = DEFAULT_BODY_LIMIT,
  timeoutMs: number = Number.POSITIVE_INFINITY,
): Promise<unknown> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declared === undefined || declared === '0')) return undefined;
  const writeContinue = (req as ContinuableRequest)[WRITE_CONTINUE];
  delete (req as ContinuableRequest)[WRITE_CONTINUE];
  checkContentType(req.headers['content-type']);
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    // A client waiting for `100 Continue` never sends the body: the connection cannot be reused.
    throw tooLarge(limit, writeContinue !== undefined);
  }
  if (req.readableEnded) {
    // Another middleware (a body parser mounted before the router) has consumed the stream:
    // waiting for its 'end' would hang the request forever. A setup mistake, not the client's.
    throw new HttpError(
      'INTERNAL_ERROR',
      'The request body was already read by another middleware: mount the Context Services router before any body parser',
    );
  }
  writeContinue?.();
  // A turn of the microtask queue: the parser pushes a body that came with its headers right after
  // the request event, in the same turn of the event loop.
  await undefined;
  const fast = chunked ? undefined : bufferedBody(req, Number(declared));
  const raw = fast ?? (await readRaw(req, limit, timeoutMs));
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new HttpError('MALFORMED_JSON', 'Request body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError('MALFORMED_JSON', `Request body is not valid JSON: ${(error as Error).message}`);
  }
}
