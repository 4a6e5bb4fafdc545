import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEngine, runCallFlow } from '../src/flow.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxs-embedded-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('runs the IVR story on LevelDB: dropped call, call back found by contact key, identified, completed', async () => {
  const lines: string[] = [];
  const cs = await openEngine(join(dir, 'db'), (line) => lines.push(line));
  const sid = await runCallFlow(cs, '+33123456789', 'customer-42');
  await cs.close();

  const types = lines.map((l) => l.split(' ')[1]);
  expect(types).toEqual([
    'service.started',
    'state.started',
    'task.started',
    'task.completed', // the drop ends the state and its open task (L2)
    'state.completed',
    'state.started', // the call back: same service, new state
    'task.started',
    'task.completed',
    'service.associated',
    'state.completed',
    'state.started',
    'state.transitioned',
    'task.started',
    'task.completed',
    'state.completed', // ending the service completes the open fix-bill state (L2)
    'service.completed',
  ]);
  expect(lines[8]).toContain('customer customer-42');

  // Durable: a new engine on the same directory finds the whole journey.
  const again = await openEngine(join(dir, 'db'), () => {});
  const [journey, ...others] = await again.listCustomerServices('customer-42', {
    completed_states: true,
    completed_tasks: true,
    extensions: ['*'],
  });
  expect(others).toEqual([]);
  expect(journey).toMatchObject({
    service_id: sid,
    customer_id: 'customer-42',
    contact_key: '+33123456789',
    disposition: 'resolved',
    Verification: { method: 'account-number' },
  });
  expect(journey?.completed_states?.map((s) => [s.state_type, s.disposition])).toEqual([
    ['identification', 'dropped'],
    ['identification', 'identified'],
    ['fix-bill', undefined],
  ]);
  expect(journey?.completed_tasks?.map((t) => t.task_type)).toEqual(['ask-account', 'ask-account', 'refund']);
  expect(await again.listAnonymousServices('+33123456789')).toEqual([]);
  await again.close();
});
