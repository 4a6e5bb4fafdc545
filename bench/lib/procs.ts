/** Child processes: servers under test and baselines, each in its own Node process. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (the benchmarks are run from it). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node arguments that run a TypeScript file against the workspace sources, like `pnpm bench` itself. */
export const TS_NODE_ARGS = ['--conditions=source', '--import', 'tsx'] as const;

/** A running server process. */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM, then wait for the exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/**
 * Start `file` (relative to the repository root) in a new Node process and wait until it prints
 * `listening on http://…` on stdout.
 */
export function startServer(
  name: string,
  file: string,
  args: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<ServerProcess>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: no 'listening on' line after 60 s\n${stderr}`));
    }, 60_000);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening\n${stderr}`));
    };
    child.once('exit', early);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m?.[1] === undefined) return;
      clearTimeout(timer);
      const url = m[1];
      child.off('exit', early);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.resume();
      resolve({
        name,
        url,
        child,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/** Run a TypeScript program to completion and parse the last line of its stdout as JSON. */
export function runJsonChild<T>(
  file: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, ...TS_NODE_ARGS, file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => {
    out += c;
  });
  child.stderr?.on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  return new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${file} exited with ${code}\n${err}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${file}: no JSON result\n${out.slice(-2000)}\n${err}`));
      }
    });
  });
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system, in seconds) that process `pid` has used so far, from fields 14 and 15
 * of `/proc/<pid>/stat` (clock ticks, `getconf CLK_TCK`). Linux only.
 */
export function processCpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
