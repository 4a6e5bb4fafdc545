/** `cxs serve`: the standalone server. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import {
  type ContextServices,
  ContextServicesError,
  createContextServices,
  type EngineConfig,
} from '@cxs/core';
import { basicAuth, checkTenants, createApp, listen, loadUsersFile, type Tenant } from '@cxs/koa';
import { type Logger, pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { MeasuredStore } from '../measured-store.js';
import { Metrics } from '../metrics.js';
import { openStore, PG_OPTIONS, storeLocation } from '../stores.js';
import { startSweeps } from '../sweeper.js';
import { integer, type OptionSpec, parseSize, readOptions, UsageError } from './options.js';

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
    flag: 'shutdown-timeout',
    env: 'CXS_SHUTDOWN_TIMEOUT',
    default: '30',
    help: 'seconds to let requests finish on shutdown',
  },
];

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
): Promise<number> {
  const o = readOptions(argv, SERVE_OPTIONS);
  if (o.help) return -1;
  const port = integer(o.port, 'port', 0, 65535);
  const bodyLimit = parseSize(String(o['body-limit']));
  const level = String(o['log-level']);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  const notFound = integer(o['not-found-status'], 'not-found-status', 400, 404);
  if (notFound !== 400 && notFound !== 404) throw new UsageError('--not-found-status must be 400 or 404');
  const sweepSeconds = integer(o['sweep-interval'], 'sweep-interval', 1, 86_400);
  const shutdownSeconds = integer(o['shutdown-timeout'], 'shutdown-timeout', 0, 3600);
  const config: EngineConfig = { expiration: String(o.expiration) };
  if (o['auto-complete-after'] !== undefined) {
    config.autoCompleteEnabled = true;
    config.autoCompleteAfter = integer(o['auto-complete-after'], 'auto-complete-after', 1, 2 ** 31 - 1);
  }
  const tenants = typeof o.tenants === 'string' ? await readTenants(o.tenants) : undefined;
  const users = typeof o.users === 'string' ? await loadUsersFile(o.users) : undefined;
  const format = typeof o['log-format'] === 'string' ? o['log-format'] : undefined;
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new UsageError('--log-format must be json or pretty');
  const logger = createLogger(
    level,
    format ?? ((out as { isTTY?: boolean }).isTTY === true ? 'pretty' : 'json'),
    out,
  );

  const metrics = new Metrics();
  const inner = await openStore(String(o.store), {
    ...storeLocation(o),
    // Details of a dropped connection go to the log; requests only ever see a generic 503.
    onPoolError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  metrics.watchStore(inner);
  const store = new MeasuredStore(inner, metrics.observeStore);
  const engine: ContextServices = await createContextServices({
    store,
    config,
    onListenerError: (error) => logger.error({ err: error }, 'event listener failed'),
  });
  metrics.watch(engine);
  metrics.watchEngineStats(engine);
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
    notFoundStatus: notFound,
    bodyLimit,
    exportDir: resolve(String(o['export-dir'])),
    logger,
    ...(tenants === undefined ? {} : { tenants }),
    ...(users === undefined ? {} : { authorize: basicAuth(users) }),
  });
  let handle: Awaited<ReturnType<typeof listen>>;
  try {
    handle = await listen(app, { port, host: String(o.host) });
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
