/** Test helpers: a real engine on a memory store behind a real listening server on 127.0.0.1. */
import type { ChildProcess } from 'node:child_process';
import { type ContextServices, createContextServices, type EngineOptions } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { pino } from 'pino';
import { type ListenOptions, listen, type ServerHandle } from '../src/http/server.js';
import { type AppOptions, createApp } from '../src/index.js';

export const BASE = '/genesys/1/cs';
export const EXC = 'com.genesyslab.gsg.services.contextservices.exceptions';

/** A response with its parsed JSON body (undefined when empty). */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON replies, read by assertions
  json: any;
}

export interface TestServer {
  engine: ContextServices;
  handle: ServerHandle;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Log lines written by the server's logger. */
  logs: Record<string, unknown>[];
  /** Request `BASE + path`; a non-string body is sent as JSON with `content-type: application/json`. */
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Every service of a tenant with all states, tasks, extensions: to prove nothing was written. */
  snapshot(tenant?: string): Promise<unknown[]>;
  close(): Promise<void>;
}

/** Send a request and read the whole reply. */
export async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body =
      typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Start a server on a fresh memory engine. */
export async function startServer(
  options: AppOptions = {},
  engineOptions: Partial<EngineOptions> = {},
  listenOptions: Partial<ListenOptions> = {},
): Promise<TestServer> {
  const engine = await createContextServices({ store: new MemoryStore(), ...engineOptions });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const handle = await listen(createApp(engine, { logger, ...options }), {
    ...listenOptions,
    port: 0,
    host: '127.0.0.1',
  });
  const origin = handle.url;
  const prefix = options.prefix ?? BASE;
  return {
    engine,
    handle,
    origin,
    logs,
    req: (method, path, body, headers) => send(`${origin}${prefix}${path}`, method, body, headers),
    async snapshot(tenant) {
      const items = await engine.exportServices(
        { time_from: '1970-01-01T00:00:00.000Z', time_to: '9999-12-31T23:59:59.999Z', export_content: true },
        tenant === undefined ? {} : { tenant },
      );
      const out: unknown[] = [];
      for await (const s of items) out.push(s);
      return out;
    },
    async close() {
      await handle.close(1000);
      await engine.close();
    },
  };
}

/** One field of every item of a JSON array reply. */
export function ids(list: unknown, key = 'service_id'): unknown[] {
  return (list as Record<string, unknown>[]).map((x) => x[key]);
}

/** Assert the JSON error shape of docs/spec.md §2.1 and return it. */
export function errorOf(r: Reply): { message: string; exception: string; code: string } {
  const body = r.json as { message: string; exception: string; code: string };
  if (
    typeof body?.message !== 'string' ||
    typeof body.exception !== 'string' ||
    typeof body.code !== 'string'
  ) {
    throw new Error(`not an error body: ${r.status} ${r.text}`);
  }
  if (Object.keys(body).length !== 3) throw new Error(`unexpected keys in error body: ${r.text}`);
  if (/\n\s+at /.test(r.text)) throw new Error(`stack trace in error body: ${r.text}`);
  return body;
}

/** Wait for a child process to exit, with everything it wrote on stdout and stderr (when piped). */
export async function finished(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c) => {
    stdout += c;
  });
  child.stderr?.on('data', (c) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}
