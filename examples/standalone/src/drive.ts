/**
 * The scenario: a hotel booking recorded for a customer of the Paris contact centre (a service,
 * states, tasks, ended), read back by a supervisor, invisible from the Lyon contact centre, and
 * the answers a client gets without credentials (401), with too few rights (403) and without a
 * tenant (400).
 */
import { type CallOptions, type Credentials, call, type Reply } from './client.js';

/** The demo users of config/users.json (their hashes were made with `cxs hash-password`). */
export const ADMIN: Credentials = { username: 'admin', password: 'admin-secret' };
export const SUPERVISOR: Credentials = { username: 'supervisor', password: 'supervisor-secret' };

/** What the scenario found, for whoever runs it. */
export interface DriveResult {
  serviceId: string;
  /** The customer's services in Paris, with completed states and tasks. */
  journey: unknown[];
  /** The same customer's services in Lyon. */
  otherTenant: unknown[];
}

interface ErrorReply {
  code: string;
  message: string;
}

/**
 * Run the scenario against the server at `origin`, logging one line per request with `log`.
 * Throws as soon as an answer is not the one the scenario expects.
 */
export async function drive(origin: string, log: (line: string) => void): Promise<DriveResult> {
  const step = async (
    expected: number,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<Reply> => {
    const r = await call(origin, method, path, options);
    const known = options.as === ADMIN || options.as === SUPERVISOR;
    const user =
      options.as === undefined
        ? 'no credentials'
        : `${options.as.username}${known ? '' : ', wrong password'}`;
    const who = `${options.tenant ?? 'no tenant'}, ${user}`;
    const body = r.json === undefined ? '' : ` ${summary(r.json)}`;
    log(`${r.status} ${method} ${path} (${who})${body}`);
    if (r.status !== expected) {
      throw new Error(
        `expected ${expected}, got ${r.status} for ${method} ${path}: ${JSON.stringify(r.json)}`,
      );
    }
    return r;
  };
  const paris = { tenant: 'Paris', as: ADMIN };

  log('# A booking for customer-7 at the Paris contact centre (as admin)');
  const started = await step(201, 'POST', '/services/start', {
    ...paris,
    body: {
      customer_id: 'customer-7',
      service_type: 'booking',
      media_type: 'voice',
      interaction_id: 'call-1',
    },
  });
  const serviceId = (started.json as { service_id: string }).service_id;
  log(`  Location: ${started.location}`);
  const s = `/services/${serviceId}`;
  await step(201, 'POST', `${s}/states/start`, { ...paris, body: { state_type: 'collect-info' } });
  await step(201, 'POST', `${s}/tasks/start`, { ...paris, body: { task_type: 'dates', state_id: 1 } });
  await step(204, 'POST', `${s}/tasks/1/end`, { ...paris, body: { disposition: 'ok' } });
  await step(201, 'POST', `${s}/states/transition`, {
    ...paris,
    body: { from: { state_id: 1, disposition: 'collected' }, to: { state_type: 'get-proposals' } },
  });
  await step(201, 'POST', `${s}/tasks/start`, { ...paris, body: { task_type: 'search', state_id: 2 } });
  // Ending the service also ends its open state and task, with the same timestamp.
  await step(204, 'POST', `${s}/end`, {
    ...paris,
    body: { disposition: 'booked', disposition_desc: 'room 12, two nights' },
  });

  log('# The journey, read by a supervisor (tenant named by its id, 101 = Paris)');
  const journeyPath = '/customers/customer-7/services?completed_states=true&completed_tasks=true';
  const journey = (await step(200, 'GET', journeyPath, { tenant: '101', as: SUPERVISOR })).json as unknown[];

  log('# The Lyon contact centre does not see it');
  const lyon = { tenant: 'Lyon', as: SUPERVISOR };
  const otherTenant = (await step(200, 'GET', '/customers/customer-7/services', lyon)).json as unknown[];
  await step(400, 'GET', s, lyon);

  log('# Refused requests');
  const noCredentials = await step(401, 'GET', s, { tenant: 'Paris' });
  log(`  WWW-Authenticate: ${noCredentials.wwwAuthenticate}`);
  await step(401, 'GET', s, { tenant: 'Paris', as: { username: 'admin', password: 'wrong' } });
  await step(403, 'POST', '/services/start', { tenant: 'Paris', as: SUPERVISOR, body: { contact_key: 'x' } });
  await step(400, 'GET', s, { as: SUPERVISOR });
  await step(400, 'GET', s, { tenant: 'Nice', as: SUPERVISOR });

  return { serviceId, journey, otherTenant };
}

/** A short form of a reply body for the log: ids as they are, errors by code, lists by length. */
function summary(json: unknown): string {
  if (Array.isArray(json)) return `[${json.length} service${json.length === 1 ? '' : 's'}]`;
  const error = json as Partial<ErrorReply>;
  if (typeof error.code === 'string') return `${error.code}: ${error.message}`;
  return JSON.stringify(json);
}
