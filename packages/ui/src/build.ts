/** Bundle the page (`page/`) into `index.html` and content-hashed assets, with esbuild. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { type PageFile, type PageFiles, pageFile } from './files.js';
import { PAGE_SOURCE } from './paths.js';

/** Options of {@link buildPage}. */
export interface BuildPageOptions {
  /** Also write the files to this directory, replacing what it held. Default: memory only. */
  outDir?: string;
  /** Minify the bundles (default true). */
  minify?: boolean;
}

/**
 * Bundle the page: `page/main.ts` and the stylesheets it imports (the timeline library included,
 * so nothing is fetched from a CDN at run time) into `assets/app-<hash>.js` and `.css`, and
 * `index.html` naming them. Needs `esbuild` (a development dependency: an installed package
 * serves its prebuilt `dist/page` instead).
 *
 * @example
 * ```ts
 * const files = await buildPage({ outDir: 'dist/page' });
 * files.get('index.html')?.contentType; // 'text/html; charset=utf-8'
 * ```
 */
export async function buildPage(options: BuildPageOptions = {}): Promise<PageFiles> {
  const esbuild = await import('esbuild');
  // esbuild needs an output directory to name files; nothing is written there (write: false).
  const root = options.outDir ?? join(PAGE_SOURCE, '.out');
  const result = await esbuild.build({
    entryPoints: { app: join(PAGE_SOURCE, 'main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: join(root, 'assets'),
    write: false,
    logLevel: 'silent',
  });
  const files = new Map<string, PageFile>();
  const tags: string[] = [];
  for (const out of result.outputFiles) {
    const path = relative(root, out.path).split(sep).join('/');
    files.set(path, pageFile(path, Buffer.from(out.contents)));
    if (path.endsWith('.css')) tags.push(`<link rel="stylesheet" href="${path}">`);
    if (path.endsWith('.js')) tags.push(`<script type="module" src="${path}"></script>`);
  }
  const template = await readFile(join(PAGE_SOURCE, 'index.html'), 'utf8');
  const html = template.replace('<!-- assets -->', tags.sort().join('\n    '));
  files.set('index.html', pageFile('index.html', Buffer.from(html)));
  if (options.outDir !== undefined) {
    await rm(options.outDir, { recursive: true, force: true });
    for (const [path, file] of files) {
      const target = join(options.outDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.body);
    }
  }
  return files;
}
