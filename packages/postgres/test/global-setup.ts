/**
 * vitest globalSetup (wired in the root vitest.config.ts): provides `cxsPgUrl` to the test files
 * that use PostgreSQL through ./pg-harness.ts. With `CXS_PG_URL` set, that server is used;
 * otherwise one embedded PostgreSQL is started for the whole run, only when a test file of the
 * run imports the harness, and stopped at the end.
 */
import { readFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a PostgreSQL database the tests may create schemas in. */
    cxsPgUrl: string;
  }
}

/** Does any test file of this run use the harness? Unknown (internal API moved): assume yes. */
async function runNeedsPostgres(project: TestProject): Promise<boolean> {
  const state = (project.vitest as unknown as { state?: { getPaths?: () => string[] } }).state;
  const paths = state?.getPaths?.();
  if (!Array.isArray(paths) || paths.length === 0) return true;
  for (const path of paths) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.includes('pg-harness')) return true;
  }
  return false;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.CXS_PG_URL;
  if (external !== undefined && external !== '') {
    project.provide('cxsPgUrl', external);
    return undefined;
  }
  if (!(await runNeedsPostgres(project))) return undefined;
  const server = await startEmbeddedPostgres();
  project.provide('cxsPgUrl', server.url);
  return () => server.stop();
}
