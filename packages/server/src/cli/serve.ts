/** `cxs serve`: the standalone server. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import {
  type ContextServices,
  ContextServicesError,
  createContextServices,
  type EngineConfig,
  parseLifetime,
} from '@cxs/core';
import {
  basicAuth,
  checkTenants,
  createApp,
  DEFAULT_BASE_PATH,
  listen,
  loadUsersFile,
  ROLES,
  removeExportLeftovers,
  type Tenant,
} from '@cxs/koa';
import { loadPage, PAGE_PREBUILT } from '@cxs/ui';
import { type Logger, pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { journeyPage } from '../journey-page.js';
import { MeasuredStore } from '../measured-store.js';
import { Metrics } from '../metrics.js';
import { openStore, PG_OPTIONS, storeLocation } from '../stores.js';
import { startSweeps } from '../sweeper.js';
import { duration, integer, type OptionSpec, parseSize, readOptions, UsageError } from './options.js';

/** Options of `cxs serve`. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { flag: 'port', env: 'CXS_PORT', default: '8080', help: 'TCP port (0 = any free port)' },
  { flag: 'host', env: 'CXS_HOST', default: '127.0.0.1', help: 'interface to listen on' },
  {
    flag: 'store',
    env: 'CXS_STORE',
    default: 'level',
    help: 'level (durable, one process), postgres (shared by several processes) or memory',
  },
  { flag: 'data', env: 'CXS_DATA', default: './data', help: 'LevelDB directory' },
  ...PG_OPTIONS,
  {
    flag: 'sync',
    env: 'CXS_SYNC',
    boolean: true,
    help: 'fsync every LevelDB write before answering (survives power loss; concurrent writes share fsyncs)',
  },
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
    flag: 'log-format',
    env: 'CXS_LOG_FORMAT',
    help: 'json (one object a line) or pretty (default: pretty on a terminal, json otherwise)',
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
    flag: 'maintenance-latency-budget',
    env: 'CXS_MAINTENANCE_LATENCY_BUDGET',
    default: 'auto',
    help: 'p99 request latency above which purge and sweeps slow down, e.g. 10ms; auto (1.5 × the p99 without maintenance) or off (no pacing)',
  },
  {
    flag: 'header-timeout',
    env: 'CXS_HEADER_TIMEOUT',
    default: '20s',
    help: 'time to receive the request headers (408 after it), e.g. 20s, 500ms',
  },
  {
    flag: 'body-timeout',
    env: 'CXS_BODY_TIMEOUT',
    default: '30s',
    help: 'time to receive a request body once a route reads it (408 after it)',
  },
  {
    flag: 'idle-timeout',
    env: 'CXS_IDLE_TIMEOUT',
    default: '5s',
    help: 'time an idle keep-alive connection stays open',
  },
  {
    flag: 'max-connections',
    env: 'CXS_MAX_CONNECTIONS',
    default: '1024',
    help: 'connections open at once; more are closed when accepted',
  },
  {
    flag: 'auth-failure-budget',
    env: 'CXS_AUTH_FAILURE_BUDGET',
    default: '20',
    help: 'failed logins per client address and minute before 429 (0 = no budget)',
  },
  {
    flag: 'strict-query',
    env: 'CXS_STRICT_QUERY',
    boolean: true,
    help: 'refuse unknown query parameters with 400 (default: ignore them)',
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

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The server's logger on `out`: JSON lines, or pino-pretty's human-readable lines. */
function createLogger(level: string, format: string, out: NodeJS.WritableStream): Logger {
  const options = { level, base: { name: 'cxs' } };
  if (format === 'json') return pino(options, out === process.stdout ? pino.destination(1) : out);
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  return pino(
    options,
    pinoPretty({
      destination: out,
      colorize: tty,
      singleLine: true,
      ignore: 'pid,hostname,name',
      translateTime: 'SYS:standard',
    }),
  );
}

const KNOWN_ROLES: readonly string[] = Object.values(ROLES);

/**
 * Read the users file; a role the server does not know (`administrator`, `Admin`) would silently
 * mean 403 on every route for that user, so it is refused, naming the user and the role.
 */
async function readUsers(path: string) {
  await readOptionFile(path, 'users');
  let users: Awaited<ReturnType<typeof loadUsersFile>>;
  try {
    users = await loadUsersFile(path);
  } catch (error) {
    throw new UsageError(`users file ${path}: ${(error as Error).message}`);
  }
  for (const [i, u] of users.entries()) {
    const bad = u.roles.find((r) => !KNOWN_ROLES.includes(r));
    if (bad !== undefined)
      throw new UsageError(
        `users file ${path}: users[${i}] ('${u.username}') has the unknown role '${bad}' (known: ${KNOWN_ROLES.join(', ')})`,
      );
  }
  return users;
}

/** A file option's file, or bad usage naming the option and the file (no doubled error code). */
async function readOptionFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new UsageError(`${what} file ${path}: ${reason}`);
  }
}

async function readTenants(path: string): Promise<Tenant[]> {
  const text = await readOptionFile(path, 'tenants');
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
  const headersTimeout = duration(o['header-timeout'], 'header-timeout');
  const bodyTimeout = duration(o['body-timeout'], 'body-timeout');
  const keepAliveTimeout = duration(o['idle-timeout'], 'idle-timeout');
  const maxConnections = integer(o['max-connections'], 'max-connections', 1, 1_000_000);
  const failureBudget = integer(o['auth-failure-budget'], 'auth-failure-budget', 0, 1_000_000);
  try {
    parseLifetime(String(o.expiration));
  } catch {
    throw new UsageError(
      `--expiration must be <int><s|m|h|d|w|M|y> such as 5y or 90d (got '${o.expiration}')`,
    );
  }
  const config: EngineConfig = {
    expiration: String(o.expiration),
    changes: {
      retention: String(o['changes-retention']),
      maxEntries: integer(o['changes-max'], 'changes-max', 1, Number.MAX_SAFE_INTEGER),
    },
  };
  const budget = String(o['maintenance-latency-budget']);
  if (budget === 'auto') config.maintenance = { pacing: true };
  else if (budget !== 'off')
    config.maintenance = { latencyBudget: duration(budget, 'maintenance-latency-budget') };
  if (o['auto-complete-after'] !== undefined) {
    config.autoCompleteEnabled = true;
    config.autoCompleteAfter = integer(o['auto-complete-after'], 'auto-complete-after', 1, 2 ** 31 - 1);
  }
  const tenants = typeof o.tenants === 'string' ? await readTenants(o.tenants) : undefined;
  const users = typeof o.users === 'string' ? await readUsers(o.users) : undefined;
  const format = typeof o['log-format'] === 'string' ? o['log-format'] : undefined;
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new UsageError('--log-format must be json or pretty');
  const logger = createLogger(
    level,
    format ?? ((out as { isTTY?: boolean }).isTTY === true ? 'pretty' : 'json'),
    out,
  );
  const authorize = users === undefined ? undefined : basicAuth(users, { failureBudget });
  // A built page is read before the store opens, so that a missing one fails the start. From the
  // sources, the page is bundled on its first visit: the many test servers never pay for it.
  const page = !ui ? undefined : PAGE_PREBUILT ? await loadPage() : () => loadPage();

  const metrics = new Metrics();
  const inner = await openStore(String(o.store), {
    ...storeLocation(o),
    // Details of a dropped connection go to the log; requests only ever see a generic 503.
    onPoolError: (error) => logger.warn({ err: error }, 'database connection lost'),
    onHealthChange: (health) => {
      if (health.degraded) logger.warn({ reason: health.reason }, 'store degraded: writes are failing');
      else logger.info('store recovered: writes succeed again');
    },
  });
  metrics.watchStore(inner);
  const store = new MeasuredStore(inner, metrics.observeStore);
  const engine: ContextServices = await createContextServices({
    store,
    config,
    onListenerError: (error) => logger.error({ err: error }, 'event listener failed'),
  });
  const exportDir = resolve(String(o['export-dir']));
  // Partial files of exports a crash interrupted (docs/spec.md §8.2).
  const leftovers = await removeExportLeftovers(exportDir);
  if (leftovers.length > 0) logger.warn({ files: leftovers }, 'removed partial export files');
  metrics.watch(engine);
  metrics.watchEngineStats(engine);
  let subscribers = 0;
  metrics.gauge(
    'cxs_change_subscribers',
    'Open change-stream subscriptions (GET /events)',
    [],
    () => subscribers,
  );
  let stopping = false;
  const app = createApp(engine, {
    version: VERSION,
    health: {
      metrics: metrics.source,
      // Not ready once shutting down: load balancers stop sending before connections close.
      ready: () =>
        stopping
          ? Promise.reject(new ContextServicesError('CLOSED', 'The server is shutting down'))
          : engine.ready(),
    },
    onRequest: metrics.observeRequest,
    events: {
      onSubscription: (change) => {
        subscribers += change;
      },
    },
    notFoundStatus: notFound,
    bodyLimit,
    bodyTimeout,
    strictQuery: o['strict-query'] === true,
    exportDir,
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
    handle = await listen(app, {
      port,
      host: String(o.host),
      headersTimeout,
      // The backstop for bodies no route reads; a body a route reads gets the JSON 408 first.
      requestTimeout: headersTimeout + bodyTimeout + 1000,
      keepAliveTimeout,
      maxConnections,
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const sweeps = startSweeps(engine, sweepSeconds * 1000, ({ seconds, result, error }) => {
    metrics.observeSweep(seconds, result);
    if (error !== undefined) logger.error({ err: error }, 'sweep failed');
    else if (result !== undefined && result.expired + result.autoCompleted > 0)
      logger.info({ ...result, ms: Math.round(seconds * 1000) }, 'swept');
  });
  // Always written (unless silent), whatever the level: scripts and people wait for this line.
  const banner =
    level === 'silent' || logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  banner.info(
    {
      url: handle.url,
      store: o.store,
      ...(o.store === 'postgres' ? { schema: o['pg-schema'] } : {}),
      sync: o.sync === true,
      tenants: tenants?.length ?? 0,
      roles: users !== undefined,
      version: VERSION,
      ...(page === undefined ? {} : { ui: `${handle.url}/ui/` }),
    },
    `listening on ${handle.url}`,
  );

  return new Promise<number>((resolveExit) => {
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
        .then(() => {
          sweeps.stop();
          return engine.close();
        })
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
