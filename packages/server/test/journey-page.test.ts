/**
 * The journey page over HTTP (no browser): the built files under `/ui/` with their content types
 * and caching headers, `/ui/config.json` behind the read roles, the API's Basic challenge that
 * makes a browser prompt, and `--no-ui` / `CXS_UI=false` turning the page off in `cxs serve`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type ContextServices, createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { basicAuth, createApp, hashPassword, listen, type ServerHandle } from '@cxs/koa';
import { buildPage, readPage } from '@cxs/ui';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, errorOf, finished, send } from '../../koa/test/helpers.js';
import { journeyPage } from '../src/journey-page.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/server/src/cli/main.ts');
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

let tmp: string;
let engine: ContextServices;
let handle: ServerHandle;
let origin: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-ui-http-'));
  // The page as `pnpm build` writes it, read back from disk as the built server does.
  await buildPage({ outDir: join(tmp, 'page') });
  const files = await readPage(join(tmp, 'page'));
  const fast = { N: 1024, r: 8, p: 1 };
  const authorize = basicAuth([
    { username: 'sue', password: await hashPassword('sue-pass', fast), roles: ['Supervisor'] },
    { username: 'guest', password: await hashPassword('guest-pass', fast), roles: [] },
  ]);
  const tenants = [
    { id: 't1', name: 'acme' },
    { id: 't2', name: 'globex' },
  ];
  engine = await createContextServices({ store: new MemoryStore() });
  // As cxs serve mounts it: after the API's routes, on the same app.
  const app = createApp(engine, { authorize, tenants });
  app.use(journeyPage(files, { basePath: BASE, tenants, authorize }));
  handle = await listen(app, { port: 0, host: '127.0.0.1' });
  origin = handle.url;
});

afterAll(async () => {
  await handle?.close(1000);
  await engine?.close();
  await rm(tmp, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  send(`${origin}${path}`, 'GET', undefined, headers);

describe('GET /ui/', () => {
  it('redirects /ui to /ui/, keeping the query', async () => {
    const r = await fetch(`${origin}/ui?customer=C-1`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/ui/?customer=C-1');
  });

  it('serves index.html as HTML, revalidated on each use, with a strict CSP; its assets as JS and CSS cached for good', async () => {
    const page = await get('/ui/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    // Nothing from a CDN: every script and stylesheet is one of ours, by a relative path.
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const js = /<script type="module" src="(assets\/app-[A-Z0-9]+\.js)">/.exec(page.text)?.[1];
    const css = /<link rel="stylesheet" href="(assets\/app-[A-Z0-9]+\.css)">/.exec(page.text)?.[1];
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    for (const [path, type] of [
      [js, 'text/javascript; charset=utf-8'],
      [css, 'text/css; charset=utf-8'],
      [`${js}.map`, 'application/json; charset=utf-8'],
    ]) {
      const r = await get(`/ui/${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe(type);
      expect(r.headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable');
      expect(r.text.length, path).toBeGreaterThan(1000);
    }
    // The timeline library and its stylesheet are in the bundle.
    expect((await get(`/ui/${css}`)).text).toContain('.vis-timeline');
  });

  it('sends the bundles gzipped to clients that accept it, as they are to the others', async () => {
    const page = await get('/ui/');
    const js = /src="(assets\/[^"]+\.js)"/.exec(page.text)?.[1] as string;
    const raw = (encoding: string) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        httpGet(`${origin}/ui/${js}`, { headers: { 'Accept-Encoding': encoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const plain = await raw('identity');
    const zipped = await raw('gzip, deflate, br');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
  });

  it('answers If-None-Match with 304, and HEAD without a body', async () => {
    const first = await get('/ui/index.html');
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('/ui/', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    const head = await send(`${origin}/ui/`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(head.text).toBe('');
  });

  it('unknown files and traversal answer the JSON 404; writes answer 405', async () => {
    for (const path of ['/ui/nope.js', '/ui/assets/', '/ui/%2e%2e/package.json', '/ui/../package.json']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(errorOf(r).code, path).toBe('ROUTE_NOT_FOUND');
    }
    const post = await send(`${origin}/ui/`, 'POST', {});
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(errorOf(post).code).toBe('METHOD_NOT_ALLOWED');
  });

  it('config.json names the base path and the tenants, to readers only; the API challenges with Basic so the browser prompts', async () => {
    const anonymous = await get('/ui/config.json');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const api = await get(`${BASE}/customers/C-1/services`, { ContactCenterId: 'acme' });
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect((await get('/ui/config.json', basic('guest', 'guest-pass'))).status).toBe(403);
    const ok = await get('/ui/config.json', basic('sue', 'sue-pass'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.json).toEqual({
      basePath: BASE,
      tenants: [
        { id: 't1', name: 'acme' },
        { id: 't2', name: 'globex' },
      ],
    });
    // The page itself holds no data: it loads without credentials, and then asks for them.
    expect((await get('/ui/')).status).toBe(200);
  });
});

describe('cxs serve and the page', () => {
  async function serve(args: string[], env: Record<string, string> = {}) {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CLI, 'serve', '--store', 'memory', '--port', '0', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, CXS_LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const done = finished(child);
    let output = '';
    const url = await new Promise<string | undefined>((resolve) => {
      child.stdout?.on('data', (c) => {
        output += c;
        const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => resolve(undefined));
    });
    return { child, url, output: () => output, done };
  }

  async function status(url: string, path: string): Promise<number> {
    return (await fetch(`${url}${path}`)).status;
  }

  it.each([
    { args: [], env: {}, want: 200 },
    { args: ['--no-ui'], env: {}, want: 404 },
    { args: [], env: { CXS_UI: 'false' }, want: 404 },
  ])(
    'serves the page by default and prints its address; --no-ui and CXS_UI=false turn it off: $args $env → $want',
    async ({ args, env, want }) => {
      const s = await serve([...args], { ...env });
      try {
        expect(s.url, JSON.stringify({ args, env })).toBeDefined();
        const url = s.url as string;
        expect(await status(url, '/ui/'), JSON.stringify({ args, env })).toBe(want);
        // The listening line names the page's address in its `ui` field.
        expect(s.output().includes(`"ui":"${url}/ui/"`)).toBe(want === 200);
        // The API is there either way.
        expect(await status(url, `${BASE}/services/anonymous/x`)).toBe(200);
      } finally {
        // Stopped even when an assertion failed: a failing run must not leave a server behind.
        s.child.kill('SIGTERM');
      }
      expect((await s.done).code).toBe(0);
    },
  );

  it('a CXS_UI that is not a boolean is bad usage (exit 2)', async () => {
    const s = await serve([], { CXS_UI: 'maybe' });
    const { code, stderr } = await s.done;
    expect(s.url).toBeUndefined();
    expect(code).toBe(2);
    expect(stderr).toContain('CXS_UI must be true or false');
  });
});
