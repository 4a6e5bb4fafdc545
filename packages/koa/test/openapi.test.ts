/** The served OpenAPI document describes every route the router serves and is valid OpenAPI 3.1. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, DEFAULT_BASE_PATH, openApiPath } from '../src/index.js';
import { startServer, type TestServer } from './helpers.js';

let t: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document
let doc: any;
beforeAll(async () => {
  t = await startServer();
  const r = await t.req('GET', '/openapi.json');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  doc = r.json;
});
afterAll(() => t.close());

/** `METHOD /path` of every route layer of a router built like the server's. */
function servedRoutes(): string[] {
  const router = createRouter(t.engine);
  const out: string[] = [];
  for (const layer of router.stack) {
    // The doubled associate path is served on purpose without being advertised (docs/spec.md §2).
    if (layer.name === 'associateDoubledPath') continue;
    for (const method of layer.methods) {
      // HEAD is added by the router to every GET route; OpenAPI describes the GET.
      if (method === 'HEAD') continue;
      // The index `/` is registered as the prefix itself.
      const path = String(layer.path).slice(DEFAULT_BASE_PATH.length) || '/';
      out.push(`${method} ${openApiPath(path)}`);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
    // The validator does reject a broken document (so this test can fail).
    const broken = structuredClone(doc);
    broken.paths['/services/start'].post.parameters.push({ name: 'x', in: 'body' });
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('every $ref names a component schema', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBeGreaterThan(20);
    for (const name of refs) expect(doc.components.schemas, name).toHaveProperty(name as string);
  });

  it('documents exactly the routes the router serves (derived from its layers)', () => {
    const served = servedRoutes();
    expect(served.length).toBeGreaterThanOrEqual(35);
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      // Paths with servers of their own are the health endpoints, served at the root by the app.
      if ('servers' in ops) continue;
      for (const method of Object.keys(ops)) documented.push(`${method.toUpperCase()} ${path}`);
    }
    expect([...served].sort()).toEqual([...documented].sort());
    expect(doc.servers).toEqual([{ url: DEFAULT_BASE_PATH }]);
  });

  it('uses the core schemas for bodies and resources, and lists query parameters', () => {
    const start = doc.paths['/services/start'].post;
    expect(start.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ServiceStartEvent',
    });
    expect(doc.components.schemas.ServiceStartEvent.properties.session_id).toEqual({
      type: 'string',
      maxLength: 32,
    });
    expect(Object.keys(start.responses)).toContain('201');
    const list = doc.paths['/customers/{customer_id}/services/active'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'customer_id',
        'started_from',
        'service_types',
        'active_tasks',
        'limit',
        'ContactCenterId',
      ]),
    );
    expect(list.responses['200'].content['application/json'].schema).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/ServiceResource' },
    });
    expect(
      doc.paths['/maintenance/services/stream'].get.parameters.find(
        (p: { name: string }) => p.name === 'time_from',
      ).required,
    ).toBe(true);
  });
});
