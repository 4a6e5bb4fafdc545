/**
 * The service size budget of docs/spec.md §10 over HTTP and on the command line: a write past it is 413
 * SERVICE_TOO_LARGE with nothing written, and a service just under it is read whole, streamed by
 * the export and backed up by `cxs export`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ContextServices, createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { errorOf, finished, startServer } from '../../koa/test/helpers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/server/src/cli/main.ts');
const BUDGET = 400_000;
const WHOLE = 'active_states=true&completed_states=true&active_tasks=true&completed_tasks=true&extensions=*';
const EXPORT = { time_from: '1970-01-01T00:00:00Z', time_to: '9999-12-31T23:59:59Z', export_content: true };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-budget-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** The entities filled in turn: the service, its state 1, its task 1. */
const TARGETS = ['', '/states/1', '/tasks/1'] as const;

/** Fill a service with 50,000-character extensions on each target in turn, until one is refused. */
async function fill(put: (target: number, name: string, value: string) => Promise<boolean>): Promise<number> {
  let n = 0;
  while (await put(n % 3, `Fill${n}`, 'f'.repeat(50_000))) n++;
  return n;
}

it('a write past the budget is 413 SERVICE_TOO_LARGE, nothing written; the service reads and streams whole', async () => {
  const t = await startServer({}, { config: { limits: { serviceBytes: BUDGET } } });
  try {
    const sid = (await t.req('POST', '/services/start', { customer_id: 'C' })).json.service_id as string;
    await t.req('POST', `/services/${sid}/states/start`, {});
    await t.req('POST', `/services/${sid}/tasks/start`, { state_id: 1 });
    let refused: Awaited<ReturnType<typeof t.req>> | undefined;
    let before: unknown[] = [];
    const n = await fill(async (target, name, value) => {
      before = await t.snapshot();
      const path = `/services/${sid}${TARGETS[target]}/extensions/${name}`;
      const r = await t.req('PUT', path, JSON.stringify(value), { 'content-type': 'application/json' });
      if (r.status === 200) return true;
      refused = r;
      return false;
    });
    expect(n).toBeGreaterThan(3);
    expect(refused?.status).toBe(413);
    expect(errorOf(refused as NonNullable<typeof refused>).code).toBe('SERVICE_TOO_LARGE');
    expect(await t.snapshot()).toEqual(before);
    const whole = await t.req('GET', `/services/${sid}?${WHOLE}`);
    expect(whole.status).toBe(200);
    expect(whole.text.length).toBeGreaterThan(BUDGET - 60_000);
    const stream = await t.req(
      'GET',
      `/maintenance/services/stream?time_from=1970-01-01T00:00:00Z&export_content=true`,
    );
    expect(stream.status).toBe(200);
    expect(stream.json).toEqual([whole.json]);
  } finally {
    await t.close();
  }
});

it('cxs export backs up a service just under the budget', async () => {
  const data = join(tmp, 'data');
  const engine: ContextServices = await createContextServices({
    store: new LevelStore({ location: data }),
    config: { limits: { serviceBytes: BUDGET } },
  });
  const expected: unknown[] = [];
  try {
    const { service_id: sid } = await engine.startService({ customer_id: 'C' });
    await engine.startState(sid, {});
    await engine.startTask(sid, { state_id: 1 });
    const refs = [{}, { state_id: 1 }, { task_id: 1 }];
    const put = (target: number, name: string, value: string) =>
      engine.putExtension({ service_id: sid, ...refs[target] }, name, value).then(
        () => true,
        (e: { code?: string }) => {
          expect(e.code).toBe('SERVICE_TOO_LARGE');
          return false;
        },
      );
    expect(await fill(put)).toBeGreaterThan(3);
    for await (const s of await engine.exportServices(EXPORT)) expected.push(s);
  } finally {
    await engine.close();
  }
  const file = join(tmp, 'backup.jsonl');
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', CLI, 'export', '--data', data, '--out', file],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const run = await finished(child);
  expect(run.code, run.stderr).toBe(0);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
  expect(lines[0]?.length).toBeGreaterThan(BUDGET - 60_000);
});
