/**
 * The journey page at `/ui/`: the static files of `@cxs/ui` and the little the page must learn
 * from the server (`/ui/config.json`: the API's base path and the tenants to choose from). The
 * page reads data only through the documented API, with the caller's own credentials.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type Authorize, HttpError, requireRoles, type Tenant } from '@cxs/koa';
import type { PageFiles } from '@cxs/ui';
import type { Middleware } from 'koa';

/** Where the page is served. */
export const UI_PATH = '/ui';

/** Options of {@link journeyPage}. */
export interface JourneyPageOptions {
  /** Base path of the API the page calls (the router's prefix). */
  basePath: string;
  /** Tenants offered by the page's tenant selector (multi-tenant mode). */
  tenants?: readonly Tenant[];
  /** When roles are on: `/ui/config.json` (which names the tenants) needs a reader, as the API does. */
  authorize?: Authorize;
}

/** Hashed assets never change under their name; everything else is revalidated on each use. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

/** Only this origin's scripts, styles and API; the page is never framed. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // vis-timeline positions its elements with style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Prepared {
  files: PageFiles;
  etags: Map<string, string>;
  gzipped: Map<string, Buffer>;
}

/** ETags of the files, and the gzipped copies of the text ones (the bundle: 600 KB, 150 KB gzipped). */
function prepare(files: PageFiles): Prepared {
  const etags = new Map<string, string>();
  const gzipped = new Map<string, Buffer>();
  for (const [path, file] of files) {
    etags.set(path, `"${createHash('sha256').update(file.body).digest('base64url').slice(0, 27)}"`);
    if (COMPRESSIBLE.test(file.contentType) && file.body.length > 1024) {
      gzipped.set(path, gzipSync(file.body, { level: 9 }));
    }
  }
  return { files, etags, gzipped };
}

/**
 * Koa middleware serving `files` under `/ui/` with their content type, gzip when the client
 * accepts it, an `ETag` (answering `If-None-Match` with 304) and caching headers: a year and
 * `immutable` for the content-hashed `assets/`, `no-cache` for `index.html`. `/ui` redirects to
 * `/ui/`. Other paths go on to the next middleware, so unknown files get the API's JSON 404.
 * `files` may be a function: it is called on the first request under `/ui/` (so that a page
 * bundled from its sources costs nothing until someone opens it).
 */
export function journeyPage(
  files: PageFiles | (() => Promise<PageFiles>),
  options: JourneyPageOptions,
): Middleware {
  let prepared: Promise<Prepared> | undefined;
  const ready = () => {
    prepared ??= (typeof files === 'function' ? files() : Promise.resolve(files)).then(prepare, (error) => {
      prepared = undefined; // the next visit tries again
      throw error;
    });
    return prepared;
  };
  const config = JSON.stringify({
    basePath: options.basePath,
    tenants: (options.tenants ?? []).map((t) => ({ id: t.id, name: t.name })),
  });
  const readers = options.authorize === undefined ? undefined : requireRoles(options.authorize);
  return async (ctx, next) => {
    if (ctx.path !== UI_PATH && !ctx.path.startsWith(`${UI_PATH}/`)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new HttpError('METHOD_NOT_ALLOWED', 'Method not allowed on this route', { Allow: 'GET, HEAD' });
    }
    if (ctx.path === UI_PATH) {
      ctx.status = 301;
      ctx.redirect(`${UI_PATH}/${ctx.querystring === '' ? '' : `?${ctx.querystring}`}`);
      return;
    }
    const path = ctx.path.slice(UI_PATH.length + 1) || 'index.html';
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (path === 'config.json') {
      const answer = async () => {
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'application/json';
        ctx.body = config;
      };
      await (readers === undefined ? answer() : readers(ctx, answer));
      return;
    }
    const { files: page, etags, gzipped } = await ready();
    const file = page.get(path);
    if (file === undefined) return next();
    const etag = etags.get(path) as string;
    ctx.set('Content-Type', file.contentType);
    ctx.set('Cache-Control', file.immutable ? IMMUTABLE : REVALIDATE);
    const gzip = gzipped.get(path);
    if (gzip !== undefined) ctx.vary('Accept-Encoding');
    // The same ETag for both encodings would let a cache answer one for the other.
    const useGzip = gzip !== undefined && ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
    const tag = useGzip ? `${etag.slice(0, -1)}-gz"` : etag;
    ctx.set('ETag', tag);
    if (path.endsWith('.html')) {
      ctx.set('Content-Security-Policy', CSP);
      ctx.set('Referrer-Policy', 'same-origin');
    }
    if (
      ctx
        .get('If-None-Match')
        .split(/\s*,\s*/)
        .includes(tag)
    ) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    if (useGzip) ctx.set('Content-Encoding', 'gzip');
    ctx.body = useGzip ? gzip : file.body;
  };
}
