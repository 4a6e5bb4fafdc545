#!/usr/bin/env node
// The `cxs` command: runs the compiled command line in ../dist (built by `pnpm build`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write(
    `cxs: the command line is not built yet (${error.message}).\nRun 'pnpm build' first.\n`,
  );
  process.exit(1);
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`cxs: ${String(error)}\n`);
    process.exit(1);
  },
);
