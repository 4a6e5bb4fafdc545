/**
 * What both baseline servers do, with no framework: match the conversation's routes, read and
 * parse the JSON body, answer 201 `{"id": …}` to starts, 204 to ends, and a service-sized JSON
 * document to the get. The work a Context Services server cannot avoid, and nothing else.
 */

import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

/** Base path of the documented routes. */
export const BASE = '/genesys/1/cs';

/** Read the whole request body and parse it as JSON (undefined when empty). */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', reject);
    req.once('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? undefined : JSON.parse(text));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** The document answered to `GET /services/:id`: `--get-body <file>` (a real service), else a stub. */
export function getDocument(argv: readonly string[]): unknown {
  const i = argv.indexOf('--get-body');
  const file = i >= 0 ? argv[i + 1] : undefined;
  return file === undefined ? { service_id: 'none' } : (JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

/** `--port <p>` (default 0: any free port). */
export function portArg(argv: readonly string[]): number {
  const i = argv.indexOf('--port');
  return i >= 0 ? Number(argv[i + 1]) : 0;
}

let next = 0;
/** The id of a started entity (a counter: baselines store nothing). */
export function nextId(): number {
  next = (next + 1) % 2 ** 31;
  return next;
}
