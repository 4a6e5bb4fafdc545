/**
 * `cxs export`, `cxs import`, `cxs purge`: work directly on a store. On a LevelDB data directory
 * the server must not be running (the directory has one opener); on PostgreSQL (`--store
 * postgres`) they run beside running servers, as one more engine process over the same database. The file format is JSON lines: one full service per line, as the
 * export stream yields with `export_content=true`.
 */
import { once } from 'node:events';
import { createReadStream, type WriteStream } from 'node:fs';
import { access, link, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import {
  type CallOptions,
  type ContextServices,
  createContextServices,
  type ExportQuery,
  type PurgeOperation,
  type ServiceView,
} from '@cxs/core';
import { openStore, PG_OPTIONS, storeLocation } from '../stores.js';
import { type OptionSpec, readOptions, required, UsageError } from './options.js';
import { progress } from './progress.js';

const STORE: readonly OptionSpec[] = [
  {
    flag: 'store',
    env: 'CXS_STORE',
    default: 'level',
    help: 'level (the server must be stopped) or postgres (may run beside servers)',
  },
  { flag: 'data', env: 'CXS_DATA', default: './data', help: 'LevelDB directory' },
  ...PG_OPTIONS,
];
const TENANT: OptionSpec = { flag: 'tenant', env: 'CXS_TENANT', help: 'tenant id (multi-tenant data)' };

/** Options of `cxs export`. */
export const EXPORT_OPTIONS: readonly OptionSpec[] = [
  ...STORE,
  TENANT,
  { flag: 'out', help: 'file to write (default: standard output)' },
  { flag: 'from', default: '1970-01-01T00:00:00.000Z', help: 'time_from of the selection' },
  { flag: 'to', default: '9999-12-31T23:59:59.999Z', help: 'time_to of the selection' },
  { flag: 'filter-events', default: 'any', help: 'any, started or completed' },
  { flag: 'filter-state', default: 'any', help: 'any, active or inactive' },
];

/** Options of `cxs import`. */
export const IMPORT_OPTIONS: readonly OptionSpec[] = [
  ...STORE,
  TENANT,
  { flag: 'in', help: 'JSON lines file to read (default: standard input)' },
  {
    flag: 'skip-existing',
    boolean: true,
    help: 'skip (and count) services whose id is already stored: re-run an interrupted import',
  },
];

/** Options of `cxs purge`. */
export const PURGE_OPTIONS: readonly OptionSpec[] = [
  ...STORE,
  TENANT,
  { flag: 'before', help: 'purge services started before this instant (required)' },
  {
    flag: 'operation',
    help: 'purge.service.all | .started | .started.anonymous | .completed | .completed.anonymous',
  },
];

async function withEngine<T>(
  o: Record<string, string | boolean | undefined>,
  fn: (engine: ContextServices) => Promise<T>,
  create = false,
): Promise<T> {
  const kind = String(o.store);
  if (kind === 'memory')
    throw new UsageError('--store must be level or postgres (memory holds no data here)');
  const data = String(o.data);
  // Export and purge on a mistyped path must not create an empty database and report success.
  if (
    kind === 'level' &&
    !create &&
    !(await stat(data).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new Error(`no data directory at ${resolve(data)}`);
  }
  const engine = await createContextServices({ store: await openStore(kind, storeLocation(o)) });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** The temporary name `cxs export --out` writes under until the export is whole. */
function partialName(path: string): string {
  return `${path}.${process.pid}.partial`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove `<out>.<pid>.partial` files that an export killed before the end left behind. */
async function removeLeftovers(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^(\d+)\.partial$/.exec(name.slice(prefix.length));
    if (name.startsWith(prefix) && m !== null && !alive(Number(m[1])))
      await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

const call = (tenant: unknown): CallOptions => (typeof tenant === 'string' ? { tenant } : {});

/** `cxs export`: resolves to the exit code, or -1 for `--help`. */
export async function exportCommand(
  argv: readonly string[],
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const o = readOptions(argv, EXPORT_OPTIONS);
  if (o.help) return -1;
  const query: ExportQuery = {
    time_from: String(o.from),
    time_to: String(o.to),
    filter_events: String(o['filter-events']) as ExportQuery['filter_events'] & string,
    filter_state: String(o['filter-state']) as ExportQuery['filter_state'] & string,
    export_content: true,
  };
  const toFile = typeof o.out === 'string' && o.out !== '-';
  const path = String(o.out);
  let out: NodeJS.WritableStream = stdout;
  let file: WriteStream | undefined;
  let failed: unknown;
  const onError = (error: unknown) => {
    failed = error;
  };
  try {
    const count = await withEngine(o, async (engine) => {
      // Validated, and the store opened, before the file exists: a failed start leaves no file.
      const items = await engine.exportServices(query, call(o.tenant));
      if (toFile) {
        // An existing file is never overwritten (and never removed below). The export is written
        // under a temporary name and gets `path` only once whole: a kill -9 never leaves a
        // truncated file that looks like a backup (docs/spec.md §8.2); the next run removes the leftover.
        await removeLeftovers(path);
        if (
          await access(path).then(
            () => true,
            () => false,
          )
        )
          throw Object.assign(new Error(`EEXIST: file already exists, '${path}'`), { code: 'EEXIST' });
        out = file = (await open(partialName(path), 'wx')).createWriteStream();
      }
      out.on('error', onError);
      const bar = progress('exported');
      let n = 0;
      try {
        for await (const item of items) {
          if (failed !== undefined) throw failed;
          if (!out.write(`${JSON.stringify(item)}\n`)) await once(out, 'drain');
          n++;
          bar.add();
        }
      } finally {
        bar.done();
      }
      return n;
    });
    if (file !== undefined) {
      file.end();
      // Rejects on a write error, even one already emitted (once('finish') would wait forever).
      await finished(file);
      if (failed !== undefined) throw failed;
      // A hard link fails if `path` appeared meanwhile: never overwrite.
      await link(partialName(path), path);
      await unlink(partialName(path));
    }
    if (failed !== undefined) throw failed;
    process.stderr.write(`exported ${count} services${toFile ? ` to ${path}` : ''}\n`);
    return 0;
  } catch (error) {
    if (file !== undefined) {
      // A half-written export must not pass for a whole one, nor block the next run (EEXIST).
      file.destroy();
      await finished(file).catch(() => undefined);
      await unlink(partialName(path)).catch(() => undefined);
    }
    throw error;
  } finally {
    out.off('error', onError);
  }
}

// Lines are typed as the exported services they should be, unchecked: the engine validates each one.
async function* readLines(
  input: NodeJS.ReadableStream,
  onItem: (bytesRead: number | undefined) => void,
): AsyncGenerator<ServiceView> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const bytes = () => (input as { bytesRead?: number }).bytesRead;
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield JSON.parse(text);
    } catch (error) {
      throw new UsageError(`line ${line} is not JSON: ${(error as Error).message}`);
    }
    onItem(bytes());
  }
}

/** `cxs import`: resolves to the exit code, or -1 for `--help`. */
export async function importCommand(argv: readonly string[]): Promise<number> {
  const o = readOptions(argv, IMPORT_OPTIONS);
  if (o.help) return -1;
  const path = typeof o.in === 'string' && o.in !== '-' ? o.in : undefined;
  // From a file the total is known (its size), so the progress line shows a share and an ETA.
  const total = path === undefined ? undefined : (await stat(path)).size;
  const bar = progress('imported', total === undefined ? {} : { total });
  try {
    const input = path === undefined ? process.stdin : createReadStream(path);
    const { imported, skipped } = await withEngine(
      o,
      (engine) =>
        engine.importServices(
          readLines(input, (bytesRead) => {
            bar.add();
            if (bytesRead !== undefined) bar.at(bytesRead);
          }),
          { ...call(o.tenant), skipExisting: o['skip-existing'] === true },
        ),
      true,
    );
    bar.done();
    process.stderr.write(
      `imported ${imported} services${o['skip-existing'] === true ? `, skipped ${skipped} already stored` : ''}\n`,
    );
    return 0;
  } finally {
    bar.done();
  }
}

/** `cxs purge`: resolves to the exit code, or -1 for `--help`. */
export async function purgeCommand(
  argv: readonly string[],
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const o = readOptions(argv, PURGE_OPTIONS);
  if (o.help) return -1;
  // Unchecked: the engine rejects an unknown operation (VALIDATION_FAILED, exit code 1).
  const body = { limit: required(o, 'before'), operation: required(o, 'operation') as PurgeOperation };
  const bar = progress('purged');
  try {
    const result = await withEngine(o, (engine) => {
      // Each purged service is an event as it commits: the count moves while the purge runs.
      engine.on('service.deleted', (event) => {
        if (event.reason === 'purged') bar.add();
      });
      return engine.purge(body, call(o.tenant));
    });
    bar.done();
    stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    bar.done();
  }
}
