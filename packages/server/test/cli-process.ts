/**
 * The `cxs` command line as real child processes, for tests: run a command to completion, or
 * start `serve` and wait for its `listening on` line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finished } from '../../koa/test/helpers.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The command line's entry point, run from the sources. */
export const CLI = join(ROOT, 'packages/server/src/cli/main.ts');

/** Spawn `cxs <args>` from the sources, with piped standard streams. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Run a command to completion. */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startCli(args, options.env);
  const done = finished(child);
  child.stdin?.end(options.input ?? '');
  return done;
}

/** A running `cxs serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Resolves with the exit code (or null after a signal). */
  readonly exited: Promise<number | null>;
  /** Everything written so far on stdout and stderr. */
  output(): string;
}

/** Start `serve` on a free port and resolve once it prints its `listening on` line. */
export async function serveCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = startCli(
    ['serve', '--port', '0', '--log-level', 'warn', '--log-format', 'json', ...args],
    env,
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      output += c;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (m) resolve(m[1] as string);
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c;
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  return { child, url, exited, output: () => output };
}

/** Stop a server with SIGTERM (if it still runs) and wait for it to exit. */
export async function stopServe(server: ServeProcess): Promise<number | null> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  return server.exited;
}

/** Poll `check` until it returns true (a condition, never a fixed sleep); fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
