/**
 * Export to files (docs/spec.md §8.2): three files, services / states / tasks, in JSON (an array of rows)
 * or CSV (a header, then one row per entity, nested objects and extensions as JSON text). Every
 * state and task row carries its `service_id`. Written with bounded buffers: memory stays flat.
 */
import { access, type FileHandle, link, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ServiceView } from '@cxs/core';
import { csvHeader, csvRow } from './csv.js';

/** File formats of the export. */
export type ExportFormat = 'json' | 'csv';

const COMMON = ['est_duration', 'started', 'completed', 'disposition', 'disposition_desc', 'duration'];
const NESTED = ['active_states', 'completed_states', 'active_tasks', 'completed_tasks'];

/**
 * CSV columns per file; `extensions` holds every key of the row that is not one of the other
 * columns (a user extension named `extensions` included) as one JSON object.
 */
export const CSV_COLUMNS = {
  services: ['service_id', 'service_type', 'customer_id', 'contact_key', ...COMMON, 'extensions'],
  states: ['service_id', 'state_id', 'state_type', 'previous_state_id', ...COMMON, 'extensions'],
  tasks: ['service_id', 'task_id', 'task_type', 'state_id', ...COMMON, 'extensions'],
} as const;

type Kind = keyof typeof CSV_COLUMNS;

const FLUSH_AT = 64 * 1024;

/** The temporary name a file is written under until it is whole: `<final>.<pid>.partial`. */
function partialName(path: string): string {
  return `${path}.${process.pid}.partial`;
}

const LEFTOVER = /^export\d{8}_\d{6}_\d{3}_(services|states|tasks)\.(json|csv)\.(\d+)\.partial$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the partial files that exports interrupted by a crash or `kill -9` left in `dir` and in
 * its direct subdirectories (the tenants' directories): files named `<final name>.<pid>.partial`
 * whose process is gone. Exports still running in a live process are left alone. Resolves to the
 * paths removed; a missing `dir` is not an error.
 */
export async function removeExportLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (d: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const m = LEFTOVER.exec(e.name);
      if (e.isFile() && m !== null && !alive(Number(m[3]))) {
        const path = join(d, e.name);
        await unlink(path).then(
          () => removed.push(path),
          () => undefined,
        );
      } else if (e.isDirectory() && depth === 0) await sweep(join(d, e.name), 1);
    }
  };
  await sweep(resolve(dir), 0);
  return removed;
}

class RowFile {
  #buffer = '';
  #rows = 0;
  /** True once the final name exists (and is this export's own). */
  published = false;
  /** @param path the final name; the rows go to {@link partialName} until {@link publish}. */
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly format: ExportFormat,
    private readonly kind: Kind,
  ) {
    this.#buffer = format === 'json' ? '[' : csvHeader(CSV_COLUMNS[kind]);
  }

  async write(row: Record<string, unknown>): Promise<void> {
    if (this.format === 'json') {
      this.#buffer += `${this.#rows === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`;
    } else {
      const columns: readonly string[] = CSV_COLUMNS[this.kind];
      // A user extension may itself be named `extensions`: it belongs in the column, not over it.
      const cells: Record<string, unknown> = {};
      const extensions: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        if (k !== 'extensions' && columns.includes(k)) cells[k] = v;
        else extensions[k] = v;
      }
      cells.extensions = Object.keys(extensions).length === 0 ? undefined : extensions;
      this.#buffer += csvRow(columns, cells);
    }
    this.#rows++;
    if (this.#buffer.length >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const text = this.#buffer;
    this.#buffer = '';
    await this.handle.write(text);
  }

  async finish(): Promise<void> {
    if (this.format === 'json') this.#buffer += this.#rows === 0 ? ']\n' : '\n]\n';
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
  }

  /**
   * Give the whole file its final name: a hard link fails if the name is taken (never overwrite),
   * then the temporary name goes. A file under its final name is always complete (docs/spec.md §8.2).
   */
  async publish(): Promise<void> {
    await link(partialName(this.path), this.path);
    this.published = true;
    await unlink(partialName(this.path));
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `export<yyyyMMdd>_<HHmmss>_<SSS>` in UTC. */
export function exportBaseName(at: Date): string {
  const d = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const t = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `export${d}_${t}_${pad(at.getUTCMilliseconds(), 3)}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Create the three temporary files exclusively; a stamp whose final or temporary names are taken
 * moves on by 1 ms.
 */
async function createFiles(dir: string, format: ExportFormat, at: Date): Promise<RowFile[]> {
  for (let ms = at.getTime(); ; ms++) {
    const base = exportBaseName(new Date(ms));
    const files: RowFile[] = [];
    try {
      for (const kind of ['services', 'states', 'tasks'] as const) {
        const path = resolve(dir, `${base}_${kind}.${format}`);
        if (await exists(path)) throw Object.assign(new Error(`${path} exists`), { code: 'EEXIST' });
        files.push(new RowFile(path, await open(partialName(path), 'wx'), format, kind));
      }
      return files;
    } catch (error) {
      await discard(files);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || ms - at.getTime() > 1000) throw error;
    }
  }
}

async function discard(files: readonly RowFile[]): Promise<void> {
  for (const f of files) {
    await f.finish().catch(() => undefined);
    await unlink(partialName(f.path)).catch(() => undefined);
  }
}

function without(view: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(view)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/**
 * Write `services` (full services, as `exportServices` yields with `export_content`) to three new
 * files in `dir` (created if missing) and resolve to their absolute paths: services, states, tasks.
 * Each file is written under a temporary name (`<name>.<pid>.partial`) and renamed once all three
 * are complete, so a file under its final name is always whole, even after a `kill -9`
 * ({@link removeExportLeftovers} cleans up after one). On failure the partial files are removed.
 */
export async function exportToFiles(
  services: AsyncIterable<ServiceView | string>,
  dir: string,
  format: ExportFormat,
  at: Date = new Date(),
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = await createFiles(dir, format, at);
  const [servicesFile, statesFile, tasksFile] = files as [RowFile, RowFile, RowFile];
  try {
    for await (const item of services) {
      if (typeof item === 'string') throw new TypeError('exportToFiles needs full services (export_content)');
      const view = item as unknown as Record<string, unknown>;
      const service_id = item.service_id;
      await servicesFile.write(without(view, NESTED));
      for (const state of [...(item.active_states ?? []), ...(item.completed_states ?? [])]) {
        await statesFile.write({ service_id, ...without(state, ['service_id']) });
      }
      for (const task of [...(item.active_tasks ?? []), ...(item.completed_tasks ?? [])]) {
        await tasksFile.write({ service_id, ...without(task, ['service_id']) });
      }
    }
    for (const f of files) await f.finish();
    for (const f of files) await f.publish();
  } catch (error) {
    await discard(files);
    for (const f of files) if (f.published) await unlink(f.path).catch(() => undefined);
    throw error;
  }
  return files.map((f) => f.path);
}
