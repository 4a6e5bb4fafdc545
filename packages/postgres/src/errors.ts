/**
 * How failures of the database map to the core's error codes (docs/spec.md §11): connection trouble is
 * `STORE_UNAVAILABLE` (retriable, the pool reconnects by itself), everything else `STORE_FAILED`.
 * Messages stay generic: the driver error, which may name the host, is only the `cause`.
 */
import { ContextServicesError } from '@cxs/core';

const codeOf = (e: unknown): string | undefined => {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
};
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : '');

/** Socket-level error codes of Node.js that mean "cannot talk to the server now". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of an unavailable server: admin shutdown, crash shutdown, cannot connect now (57P01-3),
 * too many connections (53300), and the whole connection exception class 08.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** node-postgres and pg-pool report these without a code. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Connection terminated due to connection timeout',
];

/** SQLSTATEs worth retrying the whole transaction for: serialization failure and deadlock. */
export function isRetriable(error: unknown): boolean {
  const code = codeOf(error);
  return code === '40001' || code === '40P01';
}

/** True when `error` means the database cannot be reached (or is shutting down) right now. */
export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const code = codeOf(e);
    if (code !== undefined) {
      if (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08')) return true;
    }
    const message = messageOf(e);
    if (UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) return true;
    // AggregateError (several addresses tried), then Error.cause chains.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((x) => isUnavailable(x))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The error to throw for a failed database call; `operation` goes to `details`. */
export function storeError(operation: string, error: unknown): ContextServicesError {
  if (isUnavailable(error)) {
    return new ContextServicesError('STORE_UNAVAILABLE', 'The database is unavailable', {
      details: { operation },
      cause: error,
    });
  }
  return new ContextServicesError('STORE_FAILED', `The database failed during ${operation}`, {
    details: { operation },
    cause: error,
  });
}
