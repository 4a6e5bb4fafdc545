/** Directories of this package, the same whether it runs from `src/` or from `dist/lib/`. */
import { fileURLToPath } from 'node:url';

/** True when this package runs from its TypeScript sources rather than its build. */
export const FROM_SOURCES: boolean = import.meta.url.endsWith('.ts');

const ROOT = new URL(FROM_SOURCES ? '../' : '../../', import.meta.url);

/** The page's sources (`page/`). */
export const PAGE_SOURCE: string = fileURLToPath(new URL('page/', ROOT));

/** Where `pnpm build` writes the page (`dist/page/`). */
export const PAGE_DIR: string = fileURLToPath(new URL('dist/page/', ROOT));
