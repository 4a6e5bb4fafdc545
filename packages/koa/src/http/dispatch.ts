/**
 * The route table matched once per request: what `createApp` serves instead of a chain of
 * `@koa/router` routers. The answers are the router's (same paths, same `Allow`, 405, 501 and
 * `OPTIONS`), for a fraction of the cost: a request is split into segments once and compared with
 * the few routes of its length, instead of running every route's regular expression and composing
 * a new middleware chain.
 */
import type { Context, Middleware, Next } from 'koa';
import { type Authorize, requireRoles } from '../access/auth.js';
import { HttpError } from './errors.js';

/** One route: a method and a path pattern (`:name` segments) to a handler. */
export interface RouteEntry {
  /** The operation name (`ctx._matchedRouteName`, the request log's `operation`). */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path pattern, `@koa/router` style: literal segments and `:name` parameters. */
  readonly path: string;
  readonly handler: Middleware;
  /** Answered without credentials even when roles are enabled (the index, the OpenAPI document). */
  readonly public?: boolean;
}

/** Options of {@link dispatcher}. */
export interface DispatchOptions {
  /** Enables roles on every route not marked `public` (see `requireRoles`). */
  authorize?: Authorize;
  /** `WWW-Authenticate` value of 401 answers. */
  authChallenge?: string;
}

/** Methods `@koa/router` implements: any other is answered 501. */
const IMPLEMENTED: ReadonlySet<string> = new Set([
  'HEAD',
  'OPTIONS',
  'GET',
  'PUT',
  'PATCH',
  'POST',
  'DELETE',
]);

interface Compiled {
  readonly entry: RouteEntry;
  /** Literal segments, `undefined` where a parameter goes. */
  readonly segments: readonly (string | undefined)[];
  /** Parameter names by segment index. */
  readonly names: readonly (string | undefined)[];
  readonly methods: readonly string[];
  readonly run: Middleware;
}

function safeDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function compile(entry: RouteEntry, roles: Middleware | undefined): Compiled {
  const parts = entry.path.split('/');
  const segments = parts.map((p) => (p.startsWith(':') ? undefined : p));
  const names = parts.map((p) => (p.startsWith(':') ? p.slice(1) : undefined));
  const handler = entry.handler;
  const run: Middleware =
    roles === undefined || entry.public === true
      ? handler
      : (ctx, next) => roles(ctx, () => handler(ctx, next) as Promise<void>);
  return {
    entry,
    segments,
    names,
    methods: entry.method === 'GET' ? ['HEAD', 'GET'] : [entry.method],
    run,
  };
}

function matches(route: Compiled, parts: readonly string[]): boolean {
  const segments = route.segments;
  for (let i = 0; i < parts.length; i++) {
    const literal = segments[i];
    const part = parts[i] as string;
    if (literal === undefined ? part === '' : literal !== part) return false;
  }
  return true;
}

/** The request path's segments; one trailing slash is optional, as with the router (`strict: false`). */
function split(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/');
}

/**
 * A middleware serving `routes` (patterns are case-sensitive; a trailing slash is optional; `GET`
 * routes answer `HEAD` too; the first route in table order wins). It sets `ctx.params` (decoded),
 * `ctx.captures` (raw) and `ctx._matchedRouteName` as `@koa/router` does. A path no route matches
 * goes on to `next`; when nothing downstream answered: 501 for a method the router does not
 * implement, `OPTIONS` → 200 with `Allow`, a method the path does not take → 405 with `Allow`
 * (both in the JSON error shape via the error middleware).
 */
export function dispatcher(routes: readonly RouteEntry[], options: DispatchOptions = {}): Middleware {
  const roles =
    options.authorize === undefined ? undefined : requireRoles(options.authorize, options.authChallenge);
  /** Routes by number of segments, in table order. */
  const byLength = new Map<number, Compiled[]>();
  for (const entry of routes) {
    const route = compile(entry, roles);
    const list = byLength.get(route.segments.length);
    if (list === undefined) byLength.set(route.segments.length, [route]);
    else list.push(route);
  }

  const allowed = (parts: readonly string[]): string[] => {
    const methods = new Set<string>();
    for (const route of byLength.get(parts.length) ?? []) {
      if (matches(route, parts)) for (const m of route.methods) methods.add(m);
    }
    return [...methods];
  };

  const unmatched = async (ctx: Context, next: Next, parts: readonly string[]): Promise<void> => {
    await next();
    if (ctx.status !== 404) return;
    const method = ctx.method;
    if (!IMPLEMENTED.has(method)) throw new HttpError('NOT_IMPLEMENTED', 'Method not implemented');
    const allow = allowed(parts);
    if (allow.length === 0) return;
    if (method === 'OPTIONS') {
      ctx.status = 200;
      ctx.body = '';
      ctx.set('Allow', allow.join(', '));
      return;
    }
    throw new HttpError('METHOD_NOT_ALLOWED', 'Method not allowed on this route', {
      Allow: allow.join(', '),
    });
  };

  return (ctx, next) => {
    const parts = split(ctx.path);
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    const candidates = byLength.get(parts.length);
    if (candidates !== undefined) {
      for (const route of candidates) {
        if (route.entry.method !== method || !matches(route, parts)) continue;
        const params: Record<string, string> = {};
        const captures: string[] = [];
        const names = route.names;
        for (let i = 0; i < names.length; i++) {
          const name = names[i];
          if (name === undefined) continue;
          const raw = parts[i] as string;
          captures.push(raw);
          params[name] = safeDecode(raw);
        }
        const c = ctx as Context & { captures: string[]; _matchedRoute: string; _matchedRouteName: string };
        c.params = params;
        c.captures = captures;
        c._matchedRoute = route.entry.path;
        c._matchedRouteName = route.entry.name;
        return route.run(ctx, next);
      }
    }
    return unmatched(ctx, next, parts);
  };
}
