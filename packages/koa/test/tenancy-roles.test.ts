/** docs/spec.md §9: tenants selected by `ContactCenterId` (id or name), full isolation; roles over HTTP Basic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authorize,
  basicAuth,
  checkTenants,
  checkUsers,
  hashPassword,
  tenantResolver,
  verifyPassword,
} from '../src/index.js';
import { EXC, errorOf, startServer, type TestServer } from './helpers.js';

const TENANTS = [
  { id: '101', name: 'Environment' },
  { id: '202', name: 'Acme' },
];

describe('tenancy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ tenants: TENANTS });
  });
  afterAll(() => t.close());

  it('missing ContactCenterId → 400 with the documented message; nothing written', async () => {
    const r = await t.req('POST', '/services/start', { customer_id: 'c' });
    expect(r.status).toBe(400);
    expect(errorOf(r)).toEqual({
      message:
        "Invalid tenant specified : no tenant specified in multi-tenant environment. Verify configuration and 'ContactCenterId' HTTP header.",
      exception: `${EXC}.ContextServicesExceptionResource`,
      code: 'TENANT_REQUIRED',
    });
    expect(await t.snapshot('101')).toEqual([]);
    expect(await t.snapshot('202')).toEqual([]);
    expect(await t.snapshot()).toEqual([]);
  });

  it('unknown ContactCenterId → 400 with the documented message', async () => {
    const r = await t.req('GET', '/customers/c/services', undefined, { ContactCenterId: 'Nobody' });
    expect(r.status).toBe(400);
    expect(errorOf(r)).toEqual({
      message:
        "Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='Nobody' not configured. Verify configuration.",
      exception: `${EXC}.ContextServicesExceptionResource`,
      code: 'TENANT_INVALID',
    });
  });

  it('by id or by name reaches the same tenant; tenants are isolated; GroupId is ignored', async () => {
    const a = await t.req(
      'POST',
      '/services/start',
      { customer_id: 'shared' },
      { ContactCenterId: 'Environment' },
    );
    expect(a.status).toBe(201);
    const sid = a.json.service_id as string;
    const byId = await t.req('GET', `/services/${sid}`, undefined, { contactcenterid: '101', GroupId: 'g1' });
    expect(byId.status).toBe(200);
    const other = await t.req('GET', `/services/${sid}`, undefined, { ContactCenterId: 'Acme' });
    expect(other.status).toBe(400);
    expect(other.json.message).toBe(`There are no service found for : ${sid}`);
    await t.req('POST', '/services/start', { customer_id: 'shared' }, { ContactCenterId: '202' });
    const listA = await t.req('GET', '/customers/shared/services', undefined, { ContactCenterId: '101' });
    const listB = await t.req('GET', '/customers/shared/services', undefined, { ContactCenterId: 'Acme' });
    expect(listA.json).toHaveLength(1);
    expect(listB.json).toHaveLength(1);
    expect(listA.json[0].service_id).not.toBe(listB.json[0].service_id);
    const end = await t.req('POST', `/services/${sid}/end`, undefined, { ContactCenterId: 'Acme' });
    expect(end.status).toBe(400);
    expect(
      (await t.req('GET', `/services/${sid}`, undefined, { ContactCenterId: '101' })).json.completed,
    ).toBeUndefined();
    const stream = await t.req(
      'GET',
      '/maintenance/services/stream?time_from=2000-01-01T00:00:00Z',
      undefined,
      {
        ContactCenterId: '202',
      },
    );
    expect(stream.json).toEqual([listB.json[0].service_id]);
    const purge = await t.req(
      'POST',
      '/maintenance/purge',
      { limit: '2100-01-01T00:00:00Z', operation: 'purge.service.all' },
      { ContactCenterId: 'Acme' },
    );
    expect(purge.json).toEqual({ purged: 1 });
    expect((await t.req('GET', `/services/${sid}`, undefined, { ContactCenterId: '101' })).status).toBe(200);
  });

  it('single-tenant mode ignores the header', async () => {
    const s = await startServer();
    try {
      const sid = (
        await s.req('POST', '/services/start', { customer_id: 'x' }, { ContactCenterId: 'whatever' })
      ).json.service_id;
      expect((await s.req('GET', `/services/${sid}`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('tenant lists are checked: duplicates and a name equal to another id are refused', () => {
    expect(() =>
      checkTenants([
        { id: '1', name: 'a' },
        { id: '1', name: 'b' },
      ]),
    ).toThrow(/used twice/);
    expect(() =>
      checkTenants([
        { id: '1', name: 'a' },
        { id: '2', name: 'a' },
      ]),
    ).toThrow(/used twice/);
    expect(() =>
      checkTenants([
        { id: '1', name: '2' },
        { id: '2', name: 'b' },
      ]),
    ).toThrow(/id of tenants/);
    expect(() => checkTenants([{ id: '', name: 'a' }])).toThrow();
    expect(() => checkTenants({})).toThrow();
    expect(tenantResolver(TENANTS)('Acme')).toBe('202');
    expect(tenantResolver([])(undefined)).toBe('');
  });
});

describe('roles (HTTP Basic with a users file)', () => {
  let t: TestServer;
  const basic = (user: string, password: string) => ({
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  const admin = basic('ann', 'adm1n:pass');
  const supervisor = basic('sue', 'sup€rvisor');
  const agent = basic('al', 'agent');
  let sid: string;

  beforeAll(async () => {
    const fast = { N: 1024, r: 8, p: 1 };
    const users = checkUsers({
      users: [
        { username: 'ann', password: await hashPassword('adm1n:pass', fast), roles: ['Administrator'] },
        { username: 'sue', password: await hashPassword('sup€rvisor', fast), roles: ['Supervisor'] },
        { username: 'al', password: await hashPassword('agent', fast), roles: ['Agent'] },
      ],
    });
    t = await startServer({ authorize: basicAuth(users) });
    sid = (await t.req('POST', '/services/start', { customer_id: 'r' }, admin)).json.service_id;
  });
  afterAll(() => t.close());

  it('no or bad credentials → 401 with WWW-Authenticate: Basic, in the JSON shape; nothing written', async () => {
    for (const headers of [
      {},
      basic('ann', 'wrong'),
      basic('nobody', 'x'),
      { Authorization: 'Bearer abc' },
    ]) {
      const r = await t.req('POST', '/services/start', { customer_id: 'r' }, headers);
      expect(r.status).toBe(401);
      expect(errorOf(r).code).toBe('UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    expect(await t.snapshot()).toHaveLength(1);
  });

  it('Supervisor reads (including the export stream) but cannot write → 403', async () => {
    expect((await t.req('GET', `/services/${sid}`, undefined, supervisor)).status).toBe(200);
    const stream = await t.req(
      'GET',
      '/maintenance/services/stream?time_from=2000-01-01T00:00:00Z',
      undefined,
      supervisor,
    );
    expect(stream.json).toEqual([sid]);
    for (const [method, path, body] of [
      ['POST', '/services/start', { customer_id: 'r' }],
      ['POST', `/services/${sid}/end`, undefined],
      ['DELETE', `/services/${sid}`, undefined],
      ['POST', '/maintenance/purge', { limit: '2100-01-01T00:00:00Z', operation: 'purge.service.all' }],
      ['POST', '/maintenance/services/files?time_from=2000-01-01T00:00:00Z', undefined],
    ] as const) {
      const r = await t.req(method, path, body, supervisor);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(errorOf(r).code).toBe('FORBIDDEN');
    }
    expect((await t.req('GET', `/services/${sid}`, undefined, admin)).json.completed).toBeUndefined();
  });

  it('another role → 403 even for reads; Administrator does everything', async () => {
    expect((await t.req('GET', `/services/${sid}`, undefined, agent)).status).toBe(403);
    expect((await t.req('POST', `/services/${sid}/states/start`, {}, admin)).status).toBe(201);
    expect((await t.req('GET', `/services/${sid}/states`, undefined, admin)).status).toBe(200);
  });

  it('request logs carry method, path, status and duration, never credentials or bodies', async () => {
    await t.req('POST', '/services/start', { customer_id: 'logged', Secret: 'body-secret' }, admin);
    const line = t.logs.find((l) => l.msg === 'request' && l.method === 'POST' && l.status === 201);
    expect(line).toMatchObject({ method: 'POST', path: '/genesys/1/cs/services/start', status: 201 });
    expect(typeof line?.ms).toBe('number');
    const all = JSON.stringify(t.logs);
    expect(all).not.toContain('body-secret');
    expect(all).not.toContain((admin.Authorization as string).slice(6));
    expect(all).not.toContain('adm1n');
  });

  it('the OpenAPI document is public', async () => {
    expect((await t.req('GET', '/openapi.json')).status).toBe(200);
  });

  it('a pluggable authorize hook decides the roles', async () => {
    const authorize: Authorize = (ctx) => (ctx.get('x-api-key') === 'k1' ? ['Supervisor'] : undefined);
    const s = await startServer({ authorize, authChallenge: 'ApiKey' });
    try {
      const denied = await s.req('GET', '/customers/c/services');
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('ApiKey');
      expect((await s.req('GET', '/customers/c/services', undefined, { 'x-api-key': 'k1' })).status).toBe(
        200,
      );
      expect(
        (await s.req('POST', '/services/start', { customer_id: 'c' }, { 'x-api-key': 'k1' })).status,
      ).toBe(403);
    } finally {
      await s.close();
    }
  });

  it('password hashes: salted, verified in constant time, malformed hashes refused', async () => {
    const fast = { N: 1024, r: 8, p: 1 };
    const h1 = await hashPassword('pw', fast);
    const h2 = await hashPassword('pw', fast);
    expect(h1).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(h1).not.toBe(h2);
    expect(await verifyPassword('pw', h1)).toBe(true);
    expect(await verifyPassword('pW', h1)).toBe(false);
    expect(await verifyPassword('pw', 'plain-text')).toBe(false);
    expect(await verifyPassword('pw', 'scrypt$3$8$1$AA$AA')).toBe(false);
    expect(() => checkUsers({ users: [{ username: 'x', password: 'clear', roles: [] }] })).toThrow(/hash/);
    expect(() => checkUsers({ users: [{ username: 'a:b', password: h1, roles: [] }] })).toThrow(/username/);
    expect(() => checkUsers([])).toThrow(/users/);
  });
});
