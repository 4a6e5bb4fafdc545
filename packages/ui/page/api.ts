/**
 * The page's only way to data: the documented HTTP API. Same origin, so the browser sends the
 * Basic credentials the user gave at its prompt; the tenant travels in `ContactCenterId`.
 */
import type { Service } from './model.js';

/** What the server tells the page (`/ui/config.json`). */
export interface PageConfig {
  /** Base path of the API, e.g. `/genesys/1/cs`. */
  basePath: string;
  /** Configured tenants (empty in single-tenant mode). */
  tenants: { id: string; name: string }[];
}

/** A failed request: the HTTP status and, when the body has the JSON error shape, its code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A readable sentence for an error, for the page's message line. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'Sign-in required: reload the page and enter a user name and password.';
    if (error.status === 403)
      return 'Your user may not read journeys (it needs the Supervisor or Administrator role).';
    return `${error.message} (HTTP ${error.status}${error.code === undefined ? '' : `, ${error.code}`})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Turn a non-2xx response into an {@link ApiError}, reading the error shape of docs/spec.md §2.1. */
export async function errorOf(res: Response): Promise<ApiError> {
  let message = res.statusText || 'Request failed';
  let code: string | undefined;
  try {
    const body = (await res.json()) as { message?: unknown; code?: unknown; exception?: unknown };
    if (typeof body.message === 'string') message = body.message;
    if (typeof body.code === 'string') code = body.code;
    else if (typeof body.exception === 'string') code = body.exception;
  } catch {
    // Not the JSON shape (a proxy's page): the status says enough.
  }
  return new ApiError(res.status, message, code);
}

/** Read the page's configuration. */
export async function loadConfig(): Promise<PageConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as PageConfig;
}

/** Which services to list. */
export interface Query {
  mode: 'customer' | 'contact_key';
  value: string;
  status: 'all' | 'active' | 'completed';
  startedFrom?: string | undefined;
  startedTo?: string | undefined;
}

/** Most services one search shows (the API pages beyond). */
export const LIST_LIMIT = 500;

const EMBED = {
  active_states: 'true',
  completed_states: 'true',
  active_tasks: 'true',
  completed_tasks: 'true',
  extensions: '*',
};

/** Client of the API for one tenant. */
export class Api {
  constructor(
    private readonly config: PageConfig,
    readonly tenant: string | undefined,
  ) {}

  /** Headers of every request (the tenant). */
  headers(): Record<string, string> {
    return this.tenant === undefined ? {} : { ContactCenterId: this.tenant };
  }

  /** URL of a path under the base path with a query. */
  url(path: string, query: Record<string, string | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const q = params.toString();
    return `${this.config.basePath}${path}${q === '' ? '' : `?${q}`}`;
  }

  private async get<T>(url: string): Promise<T> {
    const res = await fetch(url, { headers: { Accept: 'application/json', ...this.headers() } });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** The services of a search (SRV.11 or SRV.10), with their states, tasks and extensions. */
  listServices(q: Query): Promise<Service[]> {
    const suffix = q.status === 'all' ? '' : `/${q.status}`;
    const value = encodeURIComponent(q.value);
    const path =
      q.mode === 'customer'
        ? `/customers/${value}/services${suffix}`
        : `/services/anonymous/${value}${suffix}`;
    return this.get(
      this.url(path, {
        ...EMBED,
        started_from: q.startedFrom,
        started_to: q.startedTo,
        limit: String(LIST_LIMIT),
      }),
    );
  }

  /** One service (SRV.14) with everything, or undefined once it is gone. */
  async service(serviceId: string): Promise<Service | undefined> {
    try {
      return await this.get<Service>(this.url(`/services/${encodeURIComponent(serviceId)}`, EMBED));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.code === 'SERVICE_NOT_FOUND'))
        return undefined;
      throw error;
    }
  }

  /** URL of the change stream filtered on a search's customer or contact key. */
  eventsUrl(q: Query): string {
    return this.url('/events', {
      [q.mode === 'customer' ? 'customer_id' : 'contact_key']: q.value,
      since: 'now',
    });
  }
}
