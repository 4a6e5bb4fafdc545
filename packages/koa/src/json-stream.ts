/** A JSON array streamed from an async iterable, for the export stream (SPEC §8.1). */
import { Readable } from 'node:stream';

/** Bytes gathered before a chunk is handed to the socket. */
const CHUNK = 16 * 1024;

/**
 * A byte stream of `[item,item,…]` read lazily from `items`: the next item is pulled only when the
 * consumer wants more (Readable backpressure), so memory stays flat whatever the count. Items are
 * grouped into chunks of about 16 KiB. Destroying the stream (client gone) stops the iteration.
 */
export function jsonArrayStream(items: AsyncIterable<unknown>): Readable {
  async function* chunks(): AsyncGenerator<string> {
    let buffer = '[';
    let first = true;
    for await (const item of items) {
      buffer += first ? JSON.stringify(item) : `,${JSON.stringify(item)}`;
      first = false;
      if (buffer.length >= CHUNK) {
        yield buffer;
        buffer = '';
      }
    }
    yield `${buffer}]`;
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: CHUNK });
}
