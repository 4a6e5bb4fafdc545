/**
 * JSON array response bodies: streamed for the export (docs/spec.md §8.1) and for list bodies too large to
 * be one string, sent whole (with a `Content-Length`) otherwise.
 */
import { Readable } from 'node:stream';

/** Bytes gathered before a chunk is handed to the socket. */
const CHUNK = 16 * 1024;

/** Items in source order: a sync or async iterable (an array, or the engine's export iterator). */
export type JsonItems = Iterable<unknown> | AsyncIterable<unknown>;

/**
 * `[item,item,…]` in chunks of about 16 KiB, each item serialized as `JSON.stringify` would inside
 * an array. The next item is pulled only when the next chunk is wanted; returning the generator
 * early closes `items` (the `for await` does).
 */
async function* jsonArrayChunks(items: JsonItems): AsyncGenerator<string, void, undefined> {
  let buffer = '[';
  let first = true;
  for await (const item of items) {
    const text = JSON.stringify(item) ?? 'null';
    buffer += first ? text : `,${text}`;
    first = false;
    if (buffer.length >= CHUNK) {
      yield buffer;
      buffer = '';
    }
  }
  yield `${buffer}]`;
}

/**
 * A byte stream of the chunks in `head`, then of the rest of `rest`. Destroying it (the client went
 * away) returns `rest` wherever it stands, so the underlying iterator is closed even when the
 * stream never started reading: a generator wrapping `rest` that had not started yet would skip
 * its body, and `rest` would stay open.
 */
function resumedStream(head: readonly string[], rest: AsyncGenerator<string, void, undefined>): Readable {
  let i = 0;
  const iterator: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    next() {
      if (i < head.length) return Promise.resolve({ value: head[i++] as string, done: false });
      return rest.next() as Promise<IteratorResult<string>>;
    },
    return() {
      i = head.length;
      return rest.return(undefined) as Promise<IteratorResult<string>>;
    },
  };
  return Readable.from(iterator, { objectMode: false, highWaterMark: CHUNK });
}

/**
 * A byte stream of `[item,item,…]` read lazily from `items`: the next item is pulled only when the
 * consumer wants more (Readable backpressure), so memory stays flat whatever the count. Items are
 * grouped into chunks of about 16 KiB. The first chunk is built before this resolves, so a failure
 * before the first byte (a store that cannot be read, a closed engine) rejects and the caller can
 * still answer an error; a failure later destroys the stream. Destroying the stream (client gone)
 * closes `items`.
 *
 * @example
 * ```ts
 * ctx.type = 'application/json';
 * ctx.body = await jsonArrayStream(await engine.exportServices(query));
 * ```
 */
export async function jsonArrayStream(items: JsonItems): Promise<Readable> {
  const chunks = jsonArrayChunks(items);
  const first = await chunks.next();
  return resumedStream(first.done ? [] : [first.value], chunks);
}

/**
 * The body of a JSON array response: the `JSON.stringify` text when it can be built and is at most
 * `maxLength` characters (sent with a `Content-Length`), else a stream as {@link jsonArrayStream}
 * makes. With the default (no limit) only an array too large for one string at all (V8 throws
 * `RangeError: Invalid string length`, past about 512 MiB) is streamed. Rejects, before any byte is
 * sent, when serializing fails otherwise or before the first chunk.
 */
export async function jsonArrayBody(
  items: readonly unknown[],
  maxLength: number = Number.POSITIVE_INFINITY,
): Promise<string | Readable> {
  try {
    const text = JSON.stringify(items);
    if (text.length <= maxLength) return text;
  } catch (error) {
    // Too large for one string is not a failure of the data: stream it item by item.
    if (!(error instanceof RangeError)) throw error;
  }
  return jsonArrayStream(items);
}
