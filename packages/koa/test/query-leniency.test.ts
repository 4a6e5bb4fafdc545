/**
 * Query leniency (docs/spec.md §5) and the doubled associate path (docs/spec.md §2): what real integrations send.
 * Unknown parameters are ignored unless `strictQuery` is set; booleans in any letter case; an
 * empty `extensions=` selects nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, errorOf, startServer, type TestServer } from './helpers.js';

let lenient: TestServer;
let strict: TestServer;
beforeAll(async () => {
  [lenient, strict] = await Promise.all([startServer(), startServer({ strictQuery: true })]);
});
afterAll(() => Promise.all([lenient.close(), strict.close()]));

async function seed(t: TestServer): Promise<string> {
  const sid = (await t.req('POST', '/services/start', { contact_key: 'k', Data: { a: 1 } })).json.service_id;
  await t.req('POST', `/services/${sid}/states/start`, { state_type: 's' });
  return sid;
}

describe('unknown query parameters (docs/spec.md §5)', () => {
  it('are ignored by default: a jQuery cache-buster gets 200, on reads and writes', async () => {
    const sid = await seed(lenient);
    const read = await lenient.req('GET', `/services/${sid}?_=1700000000000&active_states=true`);
    expect(read.status).toBe(200);
    expect(read.json.active_states).toHaveLength(1);
    const list = await lenient.req('GET', '/services/anonymous/k?_=1&debug');
    expect(list.status).toBe(200);
    const start = await lenient.req('POST', '/services/start?_=1', { contact_key: 'q' });
    expect(start.status).toBe(201);
    // A known parameter still gets checked.
    expect((await lenient.req('GET', `/services/${sid}?_=1&active_states=maybe`)).status).toBe(400);
  });

  it('strictQuery: 400 VALIDATION_FAILED naming the unknown and the known parameters', async () => {
    const sid = await seed(strict);
    const r = await strict.req('GET', `/services/${sid}?_=1700000000000`);
    expect(r.status).toBe(400);
    const e = errorOf(r);
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toMatch(/'_'/);
    expect(e.message).toMatch(
      /known: active_states, completed_states, active_tasks, completed_tasks, extensions/,
    );
    expect((await strict.req('POST', '/services/start?debug=1', { contact_key: 'q' })).status).toBe(400);
    expect((await strict.req('GET', `/services/${sid}/states/1?active_state=true`)).status).toBe(400);
  });
});

describe('booleans and extensions (docs/spec.md §5)', () => {
  it('booleans in any letter case', async () => {
    const sid = await seed(lenient);
    for (const v of ['TRUE', 'True', 'tRuE']) {
      const r = await lenient.req('GET', `/services/${sid}?active_states=${v}`);
      expect(r.status, v).toBe(200);
      expect(r.json.active_states, v).toHaveLength(1);
    }
    const off = await lenient.req('GET', `/services/${sid}?active_states=FALSE`);
    expect(off.status).toBe(200);
    expect(off.json.active_states).toBeUndefined();
  });

  it('an empty extensions= selects nothing (200, no extensions)', async () => {
    const sid = await seed(lenient);
    const r = await lenient.req('GET', `/services/${sid}?extensions=`);
    expect(r.status).toBe(200);
    expect(r.json.Data).toBeUndefined();
    expect((await lenient.req('GET', `/services/${sid}?extensions=Data`)).json.Data).toEqual({ a: 1 });
  });
});

describe('the doubled associate path (docs/spec.md §2)', () => {
  it('is an alias of associate, not advertised in OpenAPI', async () => {
    const sid = await seed(lenient);
    const r = await lenient.req('POST', `${BASE}/customers/cust-1/services/${sid}`, {});
    expect(r.status).toBe(200);
    const listed = await lenient.req('GET', '/customers/cust-1/services');
    expect(listed.json.map((s: { service_id: string }) => s.service_id)).toEqual([sid]);
    const doc = (await lenient.req('GET', '/openapi.json')).json as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((p) => p.includes('/genesys/1/cs/customers'))).toBe(false);
    // Only associate is doubled.
    expect((await lenient.req('POST', `${BASE}/services/start`, { contact_key: 'x' })).status).toBe(404);
  });
});
