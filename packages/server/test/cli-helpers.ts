/** Test helpers: the `cxs` command line as a real child process (short names of cli-process.ts). */
export { CLI, ROOT, runCli as run, serveCli as serve, startCli as start } from './cli-process.js';
