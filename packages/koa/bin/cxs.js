#!/usr/bin/env node
// The `cxs` command: runs the compiled command line (build with `pnpm build` first).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`cxs: ${String(error)}\n`);
    process.exit(1);
  },
);
