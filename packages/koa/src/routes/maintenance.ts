/** Maintenance routes (docs/spec.md §8): export stream, export to files, purge. */
import { join } from 'node:path';
import { ContextServicesError, parseExportQuery } from '@cxs/core';
import { type ExportFormat, exportToFiles } from '../export/files.js';
import { jsonArrayStream } from '../http/json-stream.js';
import { EXPORT_QUERY, FILES_QUERY } from './query-params.js';
import type { RouteSpec } from './spec.js';

function format(raw: unknown): ExportFormat {
  if (raw === undefined || raw === 'json') return 'json';
  if (raw === 'csv') return 'csv';
  throw new ContextServicesError('VALIDATION_FAILED', "Invalid 'format': must be one of json, csv", {
    details: { field: 'format', rule: 'must be one of json, csv', value: raw },
  });
}

/**
 * The directory of a tenant's file exports: `<export dir>/<tenant id>/` (docs/spec.md §8.2), the id
 * percent-encoded so that no id can name a path outside it (`/`, `..`).
 */
export function tenantExportDir(exportDir: string, tenant: string | undefined): string {
  if (tenant === undefined || tenant === '') return exportDir;
  const safe = encodeURIComponent(tenant).replace(/^\.{1,2}$/, (dots) => '%2E'.repeat(dots.length));
  return join(exportDir, safe);
}

/** The maintenance routes. */
export const maintenanceRoutes: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/maintenance/services/stream',
    operationId: 'exportStream',
    summary: 'Stream the selected services (ids, or full services with export_content=true) as a JSON array',
    query: EXPORT_QUERY,
    response: { status: 200, schema: 'ServiceResource', array: true, stream: true },
    async handle(r) {
      // The query is validated and the first chunk read before the first byte is sent, so those
      // failures (a store that cannot be read, a closed engine) answer the JSON error; later
      // failures cut the stream.
      const items = await r.engine.exportServices(parseExportQuery(r.query), r.call);
      const body = await jsonArrayStream(items);
      r.ctx.type = 'application/json';
      r.ctx.body = body;
      return undefined;
    },
  },
  {
    method: 'POST',
    path: '/maintenance/services/files',
    operationId: 'exportFiles',
    summary: 'Write the selected services, their states and tasks to three files in the export directory',
    query: FILES_QUERY,
    response: { status: 200, schema: 'FilesResult' },
    async handle(r) {
      const { format: rawFormat, ...selection } = r.query;
      const fmt = format(rawFormat);
      const q = { ...parseExportQuery(selection), export_content: true };
      const dir = tenantExportDir(r.exportDir, r.call.tenant);
      const created = await exportToFiles(await r.engine.exportServices(q, r.call), dir, fmt);
      return { status: 200, body: { created } };
    },
  },
  {
    method: 'POST',
    path: '/maintenance/purge',
    operationId: 'purge',
    summary: 'Delete the services started before `limit` that match `operation`',
    query: [],
    body: { schema: 'PurgeRequest', required: true },
    response: { status: 200, schema: 'PurgeResult' },
    async handle(r) {
      return { status: 200, body: await r.engine.purge(await r.body(), r.call) };
    },
  },
];
