/**
 * Child process of test/crash.test.ts: runs the engine on a LevelStore with a write-heavy mix
 * until it is killed, and reports in a file, one JSON line each, every operation just before it
 * is called (`i`) and just after it resolved (`a`). Each line is one `write(2)` to the file before
 * the code goes on, so whatever the kill interrupts, a line the parent reads was written before
 * the operation it reports started (`i`) or after it resolved (`a`). (Not stdout: on POSIX a pipe
 * is written asynchronously by Node, and a busy parent would let lines wait in this process's
 * memory, where the kill loses them although their operations went on.) Stdout only says `ready`.
 *
 * Usage: node --conditions=source --import tsx test/crash-child.ts <dir> <seed> <round> <model.json> <sync 0|1> <report.jsonl>
 *
 * Workers own disjoint sets of services and run one operation at a time, so at most one
 * unacknowledged operation per worker can have reached the store when the kill comes.
 */
import { openSync, readFileSync, writeSync } from 'node:fs';
import { createContextServices } from '@cxs/core';
import { seededRandom } from '@cxs/core/testing';
import { LevelStore } from '@cxs/level';
import {
  apply,
  type CrashLine,
  type CrashOp,
  type Model,
  type ModelService,
  nextStateId,
  nextTaskId,
} from './crash-model.js';

const [dir, seedArg, roundArg, modelPath, syncArg, reportPath] = process.argv.slice(2);
if (dir === undefined || modelPath === undefined || reportPath === undefined)
  throw new Error('usage: crash-child <dir> <seed> <round> <model.json> <sync> <report.jsonl>');
const round = Number(roundArg);
const WORKERS = 6;

const rnd = seededRandom(Number(seedArg));
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;

const report = openSync(reportPath, 'w');
const send = (line: CrashLine) => writeSync(report, `${JSON.stringify(line)}\n`);

const model: Model = new Map(
  (JSON.parse(readFileSync(modelPath, 'utf8')) as ModelService[]).map((s) => [s.sid, s]),
);
const owned: string[][] = Array.from({ length: WORKERS }, () => []);
const ownerOf = (sid: string) => [...sid].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % WORKERS;
for (const sid of model.keys()) owned[ownerOf(sid)]?.push(sid);

let nextId = '';
const store = new LevelStore({ location: dir, sync: syncArg === '1' });
const cs = await createContextServices({ store, ids: () => nextId });
process.stdout.write(`${JSON.stringify({ t: 'ready' })}\n`);

/** Choose a valid next operation for worker `w` from its own services. */
function choose(w: number, n: number): CrashOp {
  const mine = owned[w] as string[];
  const token = `r${round}w${w}n${n}`;
  if (mine.length === 0 || (mine.length < 6 && rnd() < 0.15)) {
    // Service ids are chosen here (engine option `ids`) so that an unacknowledged start is known too.
    const sid = `cr${token}`;
    return rnd() < 0.5 ? { k: 'start', sid, customer: `cust${w}` } : { k: 'start', sid, contact: `+33${w}` };
  }
  const s = model.get(pick(mine)) as ModelService;
  const activeStates = Object.keys(s.states).filter((id) => !s.states[id]);
  const activeTasks = Object.keys(s.tasks).filter((id) => !s.tasks[id]?.done);
  const r = rnd();
  if (mine.length > 8 && r < 0.3) return { k: 'del', sid: s.sid };
  if (r < 0.18) {
    const op: CrashOp = { k: 'task', sid: s.sid, id: nextTaskId(s) };
    if (activeStates.length > 0 && rnd() < 0.7) op.state = Number(pick(activeStates));
    return op;
  }
  if (r < 0.32) return { k: 'state', sid: s.sid, id: nextStateId(s) };
  if (r < 0.42 && activeTasks.length > 0) return { k: 'endTask', sid: s.sid, id: Number(pick(activeTasks)) };
  if (r < 0.5 && activeStates.length > 0)
    return { k: 'endState', sid: s.sid, id: Number(pick(activeStates)) };
  if (r < 0.62) return { k: 'put', sid: s.sid, name: pick(['Feedback', 'Notes']), value: { v: token } };
  if (r < 0.74) return { k: 'merge', sid: s.sid, name: 'Cart', value: { [pick(['a', 'b', 'c'])]: token } };
  if (r < 0.8) return { k: 'assoc', sid: s.sid, customer: `cust${token}` };
  if (r < 0.9 && !s.completed) return { k: 'end', sid: s.sid };
  if (r < 0.96) return { k: 'del', sid: s.sid };
  return {
    k: 'put',
    sid: s.sid,
    name: 'Notes',
    value: { v: token, pad: 'x'.repeat(Math.floor(rnd() * 4000)) },
  };
}

async function run(op: CrashOp): Promise<void> {
  switch (op.k) {
    case 'start': {
      nextId = op.sid;
      // choose() sets exactly one of the two.
      const body =
        op.customer !== undefined ? { customer_id: op.customer } : { contact_key: op.contact as string };
      await cs.startService({ ...body, service_type: 'crash' });
      return;
    }
    case 'end':
      return cs.endService(op.sid, { disposition: 'done' });
    case 'state': {
      const { state_id } = await cs.startState(op.sid, { state_type: 'phase' });
      if (state_id !== op.id) throw new Error(`state id ${state_id}, model expected ${op.id}`);
      return;
    }
    case 'endState':
      return cs.endState(op.sid, op.id, {});
    case 'task': {
      const body = op.state === undefined ? { task_type: 'work' } : { task_type: 'work', state_id: op.state };
      const { task_id } = await cs.startTask(op.sid, body);
      if (task_id !== op.id) throw new Error(`task id ${task_id}, model expected ${op.id}`);
      return;
    }
    case 'endTask':
      return cs.endTask(op.sid, op.id, {});
    case 'put':
      return cs.putExtension({ service_id: op.sid }, op.name, op.value);
    case 'merge':
      return cs.mergeExtension({ service_id: op.sid }, op.name, op.value);
    case 'assoc':
      return cs.associate(op.customer, op.sid, {});
    case 'del':
      return cs.deleteService(op.sid);
  }
}

async function worker(w: number): Promise<void> {
  for (let n = 0; ; n++) {
    const op = choose(w, n);
    send({ t: 'i', w, n, op });
    try {
      await run(op);
    } catch (error) {
      send({ t: 'e', w, message: `${JSON.stringify(op)}: ${String(error)}` });
      process.exit(2);
    }
    send({ t: 'a', w, n });
    apply(model, op);
    const mine = owned[w] as string[];
    if (op.k === 'start') mine.push(op.sid);
    if (op.k === 'del') mine.splice(mine.indexOf(op.sid), 1);
  }
}

// The parent kills this process; the timer only bounds an orphan.
setTimeout(() => process.exit(3), 60_000).unref();
await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
