/** The built page as files in memory, keyed by their path under the page root. */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

/** One file of the page, ready to be served. */
export interface PageFile {
  readonly body: Buffer;
  /** The `Content-Type` to send, with its charset for text. */
  readonly contentType: string;
  /**
   * True for files whose name carries a hash of their content (`assets/app-3FZK2.js`): they never
   * change under that name and may be cached for good. False for `index.html`, which names them.
   */
  readonly immutable: boolean;
}

/** The page: `index.html`, `assets/…`; paths use `/`, without a leading one. */
export type PageFiles = ReadonlyMap<string, PageFile>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type of a page file by its extension (`application/octet-stream` when unknown). */
export function contentTypeOf(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** A {@link PageFile} for `path` with `body`. */
export function pageFile(path: string, body: Buffer): PageFile {
  return { body, contentType: contentTypeOf(path), immutable: path.startsWith('assets/') };
}

/**
 * Read a built page from `dir` (what `buildPage({ outDir })` wrote).
 *
 * @throws Error when `dir` holds no `index.html`.
 */
export async function readPage(dir: string): Promise<PageFiles> {
  const files = new Map<string, PageFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(dir, full).split(sep).join('/');
    files.set(path, pageFile(path, await readFile(full)));
  }
  if (!files.has('index.html')) throw new Error(`${dir} holds no built page (index.html)`);
  return files;
}
