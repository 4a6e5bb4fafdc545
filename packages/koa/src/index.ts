/**
 * `@cxs/koa`: the HTTP adapter of `@cxs/core` on the documented Genesys Context Services routes
 * (`/genesys/1/cs`), to mount in a Koa application (the standalone server is `@cxs/server`).
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { MemoryStore } from '@cxs/core/memory';
 * import { createApp } from '@cxs/koa';
 * const engine = await createContextServices({ store: new MemoryStore() });
 * createApp(engine).listen(8080, '127.0.0.1');
 * ```
 */

export {
  type Authorize,
  type BasicAuthOptions,
  basicAuth,
  checkUsers,
  hashPassword,
  loadUsersFile,
  ROLES,
  requireRoles,
  type UserEntry,
  verifyPassword,
} from './access/auth.js';
export { checkTenants, type Tenant, tenantResolver } from './access/tenancy.js';
export {
  type AppOptions,
  createApp,
  type RequestInfo,
  type RequestLogOptions,
  requestLogger,
} from './app.js';
export { type ExportFormat, exportBaseName, exportToFiles, removeExportLeftovers } from './export/files.js';
export {
  checkContentType,
  DEFAULT_BODY_LIMIT,
  DEFAULT_BODY_TIMEOUT,
  readJsonBody,
  WRITE_CONTINUE,
} from './http/body.js';
export {
  CORE_ERROR_MAP,
  type ErrorBody,
  type ErrorHandlerOptions,
  type ErrorMapping,
  type ErrorResponse,
  EXCEPTIONS,
  errorHandler,
  HTTP_ERROR_MAP,
  HttpError,
  type HttpErrorCode,
  isClientError,
  isHttpError,
  toErrorResponse,
} from './http/errors.js';
export {
  END_EVENT_STREAM,
  type EventStreamOptions,
  endEventStreams,
  sseMessage,
  writeEventStream,
} from './http/event-stream.js';
export {
  MAX_REQUEST_ID_LENGTH,
  requestId,
  requestIdOf,
  saneRequestId,
} from './http/request-id.js';
export {
  DEFAULT_LISTEN_LIMITS,
  type ListenLimits,
  type ListenOptions,
  listen,
  type ServerHandle,
} from './http/server.js';
export { type OpenApiOptions, openApiDocument, openApiPath, PACKAGE_VERSION } from './openapi.js';
export { HEALTH_PATHS, type HealthOptions, healthRouter, type MetricsSource } from './ops/health.js';
export { allRoutes, createRouter, DEFAULT_BASE_PATH, type RouterOptions } from './router.js';
