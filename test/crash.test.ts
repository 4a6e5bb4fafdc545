/**
 * Crash test (L7, durability of @cxs/level): a child process runs the engine on a LevelStore with
 * a write-heavy mix and is SIGKILLed at random moments. After each kill the parent reopens the
 * directory with a new engine and checks that every acknowledged operation is there (an
 * unacknowledged one may or may not be, but never half of it) and that the store is consistent
 * (`verifyStoreIntegrity`). The next round continues on the same directory.
 *
 * CRASH_ROUNDS (default 20) sets the number of kills, CRASH_SEED the seed (printed).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContextServices, isContextServicesError, type ServiceView } from '@cxs/core';
import { seededRandom, verifyStoreIntegrity, WHOLE_SERVICE } from '@cxs/core/testing';
import { LevelStore } from '@cxs/level';
import { afterAll, expect, it } from 'vitest';
import { apply, type CrashLine, type CrashOp, expected, type Model, observed, same } from './crash-model.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? 20261123);
/**
 * About 1 s per round on an idle 2-core machine, but each round starts a child process that
 * compiles the sources with tsx, which takes seconds on a loaded one: the rounds wait on events,
 * only this budget depends on the machine.
 */
const TIME_LIMIT = Math.max(300_000, ROUNDS * 15_000);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

interface RoundResult {
  lines: CrashLine[];
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/**
 * Run the child and SIGKILL it: usually `delay` ms after it reported ready (mid-workload), and in
 * `early` rounds `delay` ms after spawn, whatever it is doing (loading, opening, recovering).
 */
function runChild(
  dir: string,
  modelPath: string,
  seed: number,
  round: number,
  sync: boolean,
  kill: { early: boolean; delay: number },
): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const report = `${modelPath}.report.jsonl`;
    rmSync(report, { force: true }); // a child killed before it opens the file reports nothing
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        CHILD,
        dir,
        String(seed),
        String(round),
        modelPath,
        sync ? '1' : '0',
        report,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const killLater = () => setTimeout(() => child.kill('SIGKILL'), kill.delay);
    if (kill.early) killLater();
    child.stdout.on('data', (chunk: Buffer) => {
      if (!kill.early && chunk.toString('utf8').includes('"ready"')) killLater();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // A line cut by the kill is dropped: an operation without its `a` line counts as unacknowledged.
      const text = existsSync(report) ? readFileSync(report, 'utf8') : '';
      const lines = text
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as CrashLine);
      resolve({ lines, stderr, signal, code });
    });
  });
}

const base = await mkdtemp(join(tmpdir(), 'cxs-crash-'));
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

it(`keeps every acknowledged operation and a consistent store across ${ROUNDS} SIGKILLs`, {
  timeout: TIME_LIMIT,
}, async () => {
  console.log(`crash test: seed ${SEED} (CRASH_SEED), ${ROUNDS} rounds (CRASH_ROUNDS)`);
  const rnd = seededRandom(SEED);
  const dir = join(base, 'db');
  const modelPath = join(base, 'model.json');
  const model: Model = new Map();
  let acknowledged = 0;
  let pendingApplied = 0;
  let pendingSeen = 0;
  let checkedServices = 0;

  for (let round = 0; round < ROUNDS; round++) {
    await writeFile(modelPath, JSON.stringify([...model.values()]));
    const early = rnd() < 0.15;
    const kill = { early, delay: Math.floor(early ? rnd() * 1200 : rnd() ** 2 * 300) };
    const sync = round % 2 === 1;
    const r = await runChild(dir, modelPath, Math.floor(rnd() * 2 ** 32), round, sync, kill);
    const where = `seed ${SEED}, round ${round}`;
    expect(
      r.lines.filter((l) => l.t === 'e'),
      `${where}: an operation of the child failed`,
    ).toEqual([]);
    expect(r.signal, `${where}: the child must die by the kill (exit ${r.code})\n${r.stderr}`).toBe(
      'SIGKILL',
    );

    // Acknowledged operations in order; per worker, the last operation started and not acknowledged.
    const intents = new Map<string, CrashOp>();
    const pending = new Map<number, CrashOp>();
    for (const line of r.lines) {
      if (line.t === 'i') {
        intents.set(`${line.w}/${line.n}`, line.op);
        pending.set(line.w, line.op);
      } else if (line.t === 'a') {
        const op = intents.get(`${line.w}/${line.n}`) as CrashOp;
        apply(model, op);
        pending.delete(line.w);
        acknowledged++;
      }
    }

    const store = new LevelStore({ location: dir });
    const cs = await createContextServices({ store });
    try {
      const read = async (sid: string) => {
        try {
          return observed((await cs.getService(sid, WHOLE_SERVICE)) as ServiceView);
        } catch (e) {
          if (isContextServicesError(e) && e.code === 'SERVICE_NOT_FOUND') return undefined;
          throw e;
        }
      };
      const pendingBySid = new Map([...pending.values()].map((op) => [op.sid, op]));
      pendingSeen += pendingBySid.size;
      for (const sid of new Set([...model.keys(), ...pendingBySid.keys()])) {
        const seen = await read(sid);
        const acked = model.get(sid);
        checkedServices++;
        if (same(seen, acked && expected(acked))) continue;
        // Only the one unacknowledged operation on this service may explain a difference, whole.
        const op = pendingBySid.get(sid);
        const alt: Model = new Map(acked === undefined ? [] : [[sid, structuredClone(acked)]]);
        if (op !== undefined) apply(alt, op);
        const altSummary = alt.get(sid);
        expect(
          op !== undefined && same(seen, altSummary && expected(altSummary)),
          `${where}: service ${sid}\nread back: ${JSON.stringify(seen)}\nacknowledged: ${JSON.stringify(acked && expected(acked))}\nunacknowledged op: ${JSON.stringify(op)}`,
        ).toBe(true);
        // It reached the store before the kill: from now on it is part of what must survive.
        if (altSummary === undefined) model.delete(sid);
        else model.set(sid, altSummary);
        pendingApplied++;
      }
      expect(await verifyStoreIntegrity(store), where).toEqual([]);
    } finally {
      await cs.close();
    }
  }
  console.log(
    `crash test: ${ROUNDS} rounds, ${acknowledged} acknowledged operations checked, ` +
      `${checkedServices} service checks, ${pendingApplied} of ${pendingSeen} unacknowledged operations had landed, ` +
      `${model.size} services at the end`,
  );
  expect(acknowledged).toBeGreaterThan(ROUNDS);
});
