/**
 * The OpenAPI document tells the truth about the running server: the security scheme and 401/403
 * exactly when roles are on, 404 when the server answers it for unknown entities, and every
 * status a route really answers is documented for its operation. Each configuration passes
 * `redocly lint` (recommended rules, see redocly.yaml) and the OpenAPI 3.1 schema validator.
 */
import { fileURLToPath } from 'node:url';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes, basicAuth, hashPassword, openApiPath } from '../src/index.js';
import { BASE, startServer, type TestServer } from './helpers.js';

// No network, no telemetry, no update checks, whatever the lint library version does.
process.env.REDOCLY_TELEMETRY = 'off';
process.env.REDOCLY_SUPPRESS_UPDATE_NOTICE = 'true';

const CONFIG = fileURLToPath(new URL('../redocly.yaml', import.meta.url));
const ADMIN = `Basic ${Buffer.from('ann:pw').toString('base64')}`;

let plain: TestServer;
let secured: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON documents
let plainDoc: any;
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON documents
let securedDoc: any;

beforeAll(async () => {
  const password = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  plain = await startServer();
  secured = await startServer({
    authorize: basicAuth([{ username: 'ann', password, roles: ['Administrator'] }]),
    notFoundStatus: 404,
    bodyLimit: 1024,
  });
  plainDoc = (await plain.req('GET', '/openapi.json')).json;
  // The document is public even with roles on.
  const r = await secured.req('GET', '/openapi.json');
  expect(r.status).toBe(200);
  securedDoc = r.json;
});
afterAll(async () => {
  await plain.close();
  await secured.close();
});

async function lint(doc: unknown): Promise<string[]> {
  const config = await loadConfig({ configPath: CONFIG });
  const problems = await lintFromString({
    source: JSON.stringify(doc),
    absoluteRef: '/openapi.json',
    config,
  });
  return problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
}

describe('OpenAPI document of the running server', () => {
  it('passes redocly lint (recommended rules) and the OpenAPI 3.1 validator, with and without roles', async () => {
    for (const doc of [plainDoc, securedDoc]) {
      expect(await lint(doc)).toEqual([]);
      const result = await new Validator().validate(structuredClone(doc));
      expect(result.errors ?? []).toEqual([]);
    }
    // The linter does report problems (so this test can fail).
    const broken = structuredClone(plainDoc);
    delete broken.paths['/services/start'].post.responses;
    expect((await lint(broken)).length).toBeGreaterThan(0);
  });

  it('requires HTTP Basic exactly when users are configured; the public routes need nothing', () => {
    expect(plainDoc.components.securitySchemes).toBeUndefined();
    expect(plainDoc.security).toEqual([]);
    expect(plainDoc.paths['/services/start'].post.responses['401']).toBeUndefined();
    expect(securedDoc.components.securitySchemes).toEqual({ basic: { type: 'http', scheme: 'basic' } });
    expect(securedDoc.security).toEqual([{ basic: [] }]);
    const start = securedDoc.paths['/services/start'].post;
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(['401', '403']));
    for (const p of ['/', '/openapi.json', '/healthz', '/readyz']) {
      expect(securedDoc.paths[p].get.security, p).toEqual([]);
    }
  });

  it('lists the errors each operation can give under the configuration', () => {
    const get = (doc: typeof plainDoc) => doc.paths['/services/{service_id}'].get.responses;
    expect(Object.keys(get(plainDoc)).sort()).toEqual(['200', '400', '500', '503']);
    expect(Object.keys(get(securedDoc)).sort()).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    const start = plainDoc.paths['/services/start'].post.responses;
    expect(Object.keys(start).sort()).toEqual(['201', '400', '409', '413', '415', '500', '503']);
    expect(start['201'].headers.Location).toBeDefined();
    // Purge addresses no service: never 404, even when unknown entities answer 404.
    expect(securedDoc.paths['/maintenance/purge'].post.responses['404']).toBeUndefined();
    expect(securedDoc.components.responses.PayloadTooLarge.description).toContain('1024 bytes');
    expect(securedDoc.components.responses.BadRequest.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/HttpErrorBody',
    });
    expect(securedDoc.components.schemas.HttpErrorBody.required).toEqual(['message', 'exception', 'code']);
    // The health endpoints are documented at the server root.
    expect(plainDoc.paths['/readyz'].servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(Object.keys(plainDoc.paths['/readyz'].get.responses)).toContain('503');
  });

  it('every status the server answers to bad requests, on every route, is documented for the operation', async () => {
    const sid = (await secured.engine.startService({ customer_id: 'C' })).service_id;
    const values: Record<string, string> = {
      service_id: 'no-such-service',
      state_id: '1',
      task_id: '1',
      customer_id: 'C',
      contact_key: 'K',
      name: 'Note',
    };
    const seen = new Set<string>();
    for (const spec of allRoutes) {
      const method = spec.method.toLowerCase();
      const op = securedDoc.paths[openApiPath(spec.path)][method];
      for (const unknown of [true, false]) {
        // An event stream that opened would never end: probe it with a position ahead of the log.
        const path =
          spec.path.replace(/:([A-Za-z_]+)/g, (_, name: string) =>
            name === 'service_id' && !unknown ? sid : (values[name] as string),
          ) + (spec.response.eventStream ? '?since=999999' : '');
        const attempts: [Record<string, string>, string | undefined][] = [
          [{}, undefined], // no credentials
          [{ Authorization: ADMIN }, undefined], // no body, or a query missing
          [{ Authorization: ADMIN, 'content-type': 'application/json' }, '{"broken":'],
          [{ Authorization: ADMIN, 'content-type': 'text/plain' }, 'x'],
          [
            { Authorization: ADMIN, 'content-type': 'application/json' },
            JSON.stringify({ Pad: 'x'.repeat(2000) }),
          ],
        ];
        for (const [headers, body] of attempts) {
          if (spec.method === 'GET' && body !== undefined) continue;
          const r = await secured.req(spec.method, path, body, headers);
          seen.add(String(r.status));
          expect(op.responses, `${spec.method} ${path} answered ${r.status}: ${r.text}`).toHaveProperty(
            String(r.status),
          );
        }
      }
    }
    // The probes did reach the interesting answers.
    expect([...seen]).toEqual(expect.arrayContaining(['400', '401', '404', '410', '413', '415']));
  });

  it('serves the index at the base path with the version and the links', async () => {
    for (const path of ['/', '']) {
      const r = await plain.req('GET', path);
      expect(r.status, path).toBe(200);
      expect(r.json).toMatchObject({
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        links: {
          openapi: `${BASE}/openapi.json`,
          events: `${BASE}/events`,
          healthz: '/healthz',
          readyz: '/readyz',
        },
      });
    }
    expect(plainDoc.info.version).toBe((await plain.req('GET', '/')).json.version);
    // Public with roles on.
    expect((await secured.req('GET', '/')).status).toBe(200);
  });
});
