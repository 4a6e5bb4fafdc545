/** Test helpers: the `cxs` command line as a real child process, run from the sources. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finished } from '../../koa/test/helpers.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(ROOT, 'packages/server/src/cli/main.ts');

/** Spawn `cxs <args>` with stdin, stdout and stderr piped. */
export function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Run a command to completion. */
export async function run(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args, options.env);
  const done = finished(child);
  child.stdin?.end(options.input ?? '');
  return done;
}

/** Start `serve` and resolve once it prints its `listening on` line. */
export async function serve(args: string[], env: Record<string, string> = {}) {
  const child = start(['serve', '--port', '0', '--log-level', 'warn', ...args], env);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (m) resolve(m[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c) => {
      output += c;
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  return { child, url, exited, output: () => output };
}
