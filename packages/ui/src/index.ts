/**
 * `@cxs/ui`: the journey page, a browser client of the documented Context Services API (a
 * customer's or a contact key's services on a timeline, followed live through `GET /events`).
 * The page's sources are in `page/`; `pnpm build` bundles them into `dist/page`, which
 * `@cxs/server` serves at `/ui/`.
 *
 * @example
 * ```ts
 * import { loadPage } from '@cxs/ui';
 * const files = await loadPage();
 * files.get('index.html')?.body;
 * ```
 */
import { buildPage } from './build.js';
import { type PageFiles, readPage } from './files.js';
import { FROM_SOURCES, PAGE_DIR } from './paths.js';

export { type BuildPageOptions, buildPage } from './build.js';
export { contentTypeOf, type PageFile, type PageFiles, pageFile, readPage } from './files.js';
export { PAGE_DIR, PAGE_SOURCE } from './paths.js';

/**
 * True for the built package, whose {@link loadPage} reads `dist/page`; false when it runs from
 * its TypeScript sources, where {@link loadPage} bundles the page (a second or so).
 */
export const PAGE_PREBUILT: boolean = !FROM_SOURCES;

/**
 * The page to serve. The built package reads its prebuilt `dist/page`; run from the TypeScript
 * sources (tests, `--conditions=source`), it bundles `page/` in memory, so the sources served are
 * always the ones on disk and a fresh clone needs no build.
 *
 * @throws Error when the package is built but its page is missing (run `pnpm build`).
 */
export async function loadPage(): Promise<PageFiles> {
  if (FROM_SOURCES) return buildPage();
  try {
    return await readPage(PAGE_DIR);
  } catch (error) {
    throw new Error(`the journey page is not built (${(error as Error).message}): run 'pnpm build'`);
  }
}
