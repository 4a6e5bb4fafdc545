/** `cxs serve`: the standalone server. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ContextServices, createContextServices, type EngineConfig } from '@cxs/core';
import {
  basicAuth,
  checkTenants,
  createApp,
  DEFAULT_BASE_PATH,
  listen,
  loadUsersFile,
  type Tenant,
} from '@cxs/koa';
import { loadPage, PAGE_PREBUILT } from '@cxs/ui';
import { pino } from 'pino';
import { journeyPage } from '../journey-page.js';
import { openStore } from '../stores.js';
import { integer, type OptionSpec, parseSize, readOptions, UsageError } from './options.js';

/** Options of `cxs serve`. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { flag: 'port', env: 'CXS_PORT', default: '8080', help: 'TCP port (0 = any free port)' },
  { flag: 'host', env: 'CXS_HOST', default: '127.0.0.1', help: 'interface to listen on' },
  { flag: 'store', env: 'CXS_STORE', default: 'level', help: 'level (durable) or memory' },
  { flag: 'data', env: 'CXS_DATA', default: './data', help: 'LevelDB directory' },
  {
    flag: 'expiration',
    env: 'CXS_EXPIRATION',
    default: '5y',
    help: 'default lifetime, <int><s|m|h|d|w|M|y>',
  },
  {
    flag: 'auto-complete-after',
    env: 'CXS_AUTO_COMPLETE_AFTER',
    help: 'seconds of inactivity after which services are auto-completed (enables auto-complete)',
  },
  {
    flag: 'tenants',
    env: 'CXS_TENANTS',
    help: 'JSON file [{"id","name"}, ...] (at least one): enables multi-tenancy',
  },
  { flag: 'users', env: 'CXS_USERS', help: 'JSON users file: enables roles with HTTP Basic' },
  { flag: 'export-dir', env: 'CXS_EXPORT_DIR', default: './exports', help: 'directory of the file export' },
  { flag: 'body-limit', env: 'CXS_BODY_LIMIT', default: '1mb', help: 'largest request body' },
  {
    flag: 'log-level',
    env: 'CXS_LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent',
  },
  {
    flag: 'not-found-status',
    env: 'CXS_NOT_FOUND_STATUS',
    default: '400',
    help: 'status of unknown services, states and tasks: 400 or 404',
  },
  {
    flag: 'sweep-interval',
    env: 'CXS_SWEEP_INTERVAL',
    default: '60',
    help: 'seconds between expiry/auto-complete sweeps',
  },
  {
    flag: 'changes-retention',
    env: 'CXS_CHANGES_RETENTION',
    default: '24h',
    help: 'how long the change log (GET /events) keeps events, <int><s|m|h|d|w|M|y>',
  },
  {
    flag: 'changes-max',
    env: 'CXS_CHANGES_MAX',
    default: '1000000',
    help: 'most events the change log keeps per tenant',
  },
  {
    flag: 'no-ui',
    boolean: true,
    help: 'do not serve the journey page at /ui/ (env CXS_UI=false does the same)',
  },
  {
    flag: 'shutdown-timeout',
    env: 'CXS_SHUTDOWN_TIMEOUT',
    default: '30',
    help: 'seconds to let requests finish on shutdown',
  },
];

/** `CXS_UI`: `true`/`false` (also `1`/`0`, `on`/`off`); unset means on. */
function uiFromEnv(value: string | undefined): boolean {
  if (value === undefined || value === '') return true;
  const v = value.toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(v)) return true;
  if (['false', '0', 'off', 'no'].includes(v)) return false;
  throw new UsageError(`CXS_UI must be true or false (got '${value}')`);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

async function readTenants(path: string): Promise<Tenant[]> {
  const text = await readFile(path, 'utf8');
  let tenants: Tenant[];
  try {
    tenants = checkTenants(JSON.parse(text));
  } catch (error) {
    throw new UsageError(`tenants file ${path}: ${(error as Error).message}`);
  }
  // An empty list would silently mean single-tenant mode: all data in one namespace.
  if (tenants.length === 0) throw new UsageError(`tenants file ${path}: names no tenant`);
  return tenants;
}

/**
 * Run the server until SIGINT or SIGTERM, then: stop accepting, let requests in flight finish,
 * stop the sweeper, close the engine and its store. Resolves to the exit code.
 */
export async function serve(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const o = readOptions(argv, SERVE_OPTIONS, env);
  if (o.help) return -1;
  const ui = o['no-ui'] !== true && uiFromEnv(env.CXS_UI);
  const port = integer(o.port, 'port', 0, 65535);
  const bodyLimit = parseSize(String(o['body-limit']));
  const level = String(o['log-level']);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  const notFound = integer(o['not-found-status'], 'not-found-status', 400, 404);
  if (notFound !== 400 && notFound !== 404) throw new UsageError('--not-found-status must be 400 or 404');
  const sweepSeconds = integer(o['sweep-interval'], 'sweep-interval', 1, 86_400);
  const shutdownSeconds = integer(o['shutdown-timeout'], 'shutdown-timeout', 0, 3600);
  const config: EngineConfig = {
    expiration: String(o.expiration),
    changes: {
      retention: String(o['changes-retention']),
      maxEntries: integer(o['changes-max'], 'changes-max', 1, Number.MAX_SAFE_INTEGER),
    },
  };
  if (o['auto-complete-after'] !== undefined) {
    config.autoCompleteEnabled = true;
    config.autoCompleteAfter = integer(o['auto-complete-after'], 'auto-complete-after', 1, 2 ** 31 - 1);
  }
  const tenants = typeof o.tenants === 'string' ? await readTenants(o.tenants) : undefined;
  const users = typeof o.users === 'string' ? await loadUsersFile(o.users) : undefined;
  const authorize = users === undefined ? undefined : basicAuth(users);
  const logger = pino({ level, base: { name: 'cxs' } });
  // A built page is read before the store opens, so that a missing one fails the start. From the
  // sources, the page is bundled on its first visit: the many test servers never pay for it.
  const page = !ui ? undefined : PAGE_PREBUILT ? await loadPage() : () => loadPage();

  const store = await openStore(String(o.store), { data: String(o.data) });
  const engine: ContextServices = await createContextServices({
    store,
    config,
    onListenerError: (error) => logger.error({ err: error }, 'event listener failed'),
  });
  const app = createApp(engine, {
    notFoundStatus: notFound,
    bodyLimit,
    exportDir: resolve(String(o['export-dir'])),
    logger,
    ...(tenants === undefined ? {} : { tenants }),
    ...(authorize === undefined ? {} : { authorize }),
  });
  if (page !== undefined) {
    app.use(
      journeyPage(page, {
        basePath: DEFAULT_BASE_PATH,
        ...(tenants === undefined ? {} : { tenants }),
        ...(authorize === undefined ? {} : { authorize }),
      }),
    );
  }
  let handle: Awaited<ReturnType<typeof listen>>;
  try {
    handle = await listen(app, { port, host: String(o.host) });
  } catch (error) {
    await engine.close();
    throw error;
  }
  engine.startSweeper(sweepSeconds * 1000);
  logger.info(
    { url: handle.url, store: o.store, tenants: tenants?.length ?? 0, roles: users !== undefined },
    'server started',
  );
  out.write(`listening on ${handle.url}\n`);
  if (page !== undefined) out.write(`journey page at ${handle.url}/ui/\n`);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolveExit(1);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing requests in flight');
      handle
        .close(shutdownSeconds * 1000)
        .then(() => engine.close())
        .then(() => {
          logger.info('stopped');
          resolveExit(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolveExit(1);
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
