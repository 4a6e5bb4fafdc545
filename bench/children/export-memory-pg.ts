/**
 * Child process of the postgres suite: open a PostgreSQL schema written by the engine, scan the
 * whole table raw through the store (the throughput baseline), then stream a full export through
 * the engine's `exportServices` (every service with its states, tasks and extensions, serialized
 * to JSON and dropped, as the stream route does before the socket), sampling this process's
 * memory throughout. Unlike LevelDB, nothing is mapped from files here: the RSS is the process's
 * own memory (heap, buffers, the page of rows the store holds). Prints one JSON line.
 * `node --expose-gc --conditions=source --import tsx bench/children/export-memory-pg.ts <url> <schema>`
 */
import { createContextServices } from '@cxs/core';
import { PostgresStore } from '@cxs/postgres';
import { measureExport } from '../lib/export-child.js';

const [url, schema] = process.argv.slice(2);
if (url === undefined || schema === undefined) throw new Error('usage: export-memory-pg.ts <url> <schema>');

const store = new PostgresStore({ connectionString: url, schema, poolSize: 2 });
const cs = await createContextServices({ store });
// The first raw scan also warms PostgreSQL's buffers, so that the timed scan and the export read alike.
process.stdout.write(`${JSON.stringify(await measureExport(store, cs))}\n`);
