/**
 * Child process of the scale suite: open a LevelDB directory written by the engine, scan the whole
 * store raw twice (the first pass opens every table file, so that LevelDB's own table cache is
 * already full when the export starts; the second, timed, is the throughput baseline), then
 * stream a full export through the engine's `exportServices` (every service with its states,
 * tasks and extensions, serialized to JSON and dropped, as the stream route does before the
 * socket), sampling this process's memory throughout. RSS counts the pages of the table files
 * LevelDB maps into memory (page cache, shared and reclaimable), so the anonymous part of the RSS
 * (`RssAnon`: the JavaScript heap, buffers, LevelDB's caches) is reported beside it.
 * Prints one JSON line. Run alone: nothing else may have the directory open.
 * `node --expose-gc --conditions=source --import tsx bench/children/export-memory.ts <dir>`
 */
import { createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';
import { measureExport } from '../lib/export-child.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: export-memory.ts <leveldb dir>');

const store = new LevelStore({ location: dir });
const cs = await createContextServices({ store });
process.stdout.write(`${JSON.stringify(await measureExport(store, cs))}\n`);
