/** Multi-tenancy (docs/spec.md §9): the `ContactCenterId` header names a configured tenant by id or name. */
import { ContextServicesError } from '@cxs/core';

/** A configured tenant: its id is the engine's namespace, its name an alias clients may send. */
export interface Tenant {
  id: string;
  name: string;
}

/** Resolves the `ContactCenterId` header to a tenant id; `''` in single-tenant mode. */
export type TenantResolver = (header: string | undefined) => string;

/**
 * Check a tenant list: non-empty ids and names of at most 256 characters, no id or name used
 * twice, and no name equal to another tenant's id (a header must name exactly one tenant).
 *
 * @throws TypeError naming the offending entry.
 */
export function checkTenants(tenants: unknown): Tenant[] {
  if (!Array.isArray(tenants)) throw new TypeError('tenants must be an array of {id, name}');
  const ids = new Map<string, number>();
  const names = new Map<string, number>();
  const out: Tenant[] = [];
  tenants.forEach((t: unknown, i) => {
    const r = t as Record<string, unknown> | null;
    const ok = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 256;
    if (typeof r !== 'object' || r === null || !ok(r.id) || !ok(r.name)) {
      throw new TypeError(`tenants[${i}] must be {"id": string, "name": string} (1 to 256 characters each)`);
    }
    const { id, name } = r as unknown as Tenant;
    if (ids.has(id)) throw new TypeError(`tenants[${i}]: id '${id}' is used twice`);
    if (names.has(name)) throw new TypeError(`tenants[${i}]: name '${name}' is used twice`);
    ids.set(id, i);
    names.set(name, i);
    out.push({ id, name });
  });
  for (const [name, i] of names) {
    const j = ids.get(name);
    if (j !== undefined && j !== i)
      throw new TypeError(`tenants[${i}]: name '${name}' is the id of tenants[${j}]`);
  }
  return out;
}

/**
 * Build the resolver. With no tenants the header is ignored (single-tenant, docs/spec.md §9). Otherwise
 * the header must name a tenant by id or by name, else the two documented errors of docs/spec.md §2.1.
 */
export function tenantResolver(tenants: readonly Tenant[] | undefined): TenantResolver {
  if (tenants === undefined || tenants.length === 0) return () => '';
  const byKey = new Map<string, string>();
  for (const t of checkTenants(tenants)) {
    byKey.set(t.name, t.id);
  }
  for (const t of tenants) byKey.set(t.id, t.id);
  return (header) => {
    if (header === undefined || header === '') {
      throw new ContextServicesError(
        'TENANT_REQUIRED',
        "Invalid tenant specified : no tenant specified in multi-tenant environment. Verify configuration and 'ContactCenterId' HTTP header.",
      );
    }
    const id = byKey.get(header);
    if (id === undefined) {
      throw new ContextServicesError(
        'TENANT_INVALID',
        `Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='${header}' not configured. Verify configuration.`,
        { details: { tenant: header } },
      );
    }
    return id;
  };
}
