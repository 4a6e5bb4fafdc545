import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the "source" export condition of every workspace
// package points at src/, so `pnpm test` needs no build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Provides a PostgreSQL URL (CXS_PG_URL, or an embedded server started only when a test file
    // of the run uses packages/postgres/test/pg-harness.ts).
    globalSetup: ['packages/postgres/test/global-setup.ts'],
  },
});
