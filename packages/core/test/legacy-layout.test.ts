import { expect, it } from 'vitest';
import type { BatchOp, Store } from '../src/index.js';
import { unescapeComponent } from '../src/keys.js';
import { verifyStoreIntegrity } from '../src/testing/index.js';
import { dump, setup } from './helpers.js';

/**
 * Rewrite a store to the layout written before state and task extensions had keys of their own:
 * extensions inline in their record, no `ext_names`, and no stored size in the service record.
 */
async function toPreviousLayout(store: Store) {
  const entries = await dump(store);
  const inline = new Map<string, Record<string, unknown>>();
  const ops: BatchOp[] = [];
  for (const [k, v] of entries) {
    const m = /^(.*\/s\/[^/]+\/)y\/(s|t)\/(\d{10})\/(.+)$/.exec(k);
    if (m === null) continue;
    const owner = `${m[1]}${m[2]}/${m[3]}`;
    const ext = inline.get(owner) ?? {};
    inline.set(owner, ext);
    ext[unescapeComponent(m[4] as string)] = JSON.parse(v);
    ops.push({ type: 'del', key: k });
  }
  for (const [k, v] of entries) {
    if (/\/s\/[^/]+\/(s|t)\/\d{10}$/.test(k)) {
      const { ext_names: _names, ...rec } = JSON.parse(v) as Record<string, unknown>;
      ops.push({ type: 'put', key: k, value: JSON.stringify({ ...rec, ext: inline.get(k) ?? {} }) });
    } else if (/\/s\/[^/]+\/$/.test(k)) {
      const { bytes: _bytes, ...rec } = JSON.parse(v) as Record<string, unknown>;
      ops.push({ type: 'put', key: k, value: JSON.stringify(rec) });
    }
  }
  await store.batch(ops);
}

it('records stored with extensions inline are read as before and move to keys of their own on their next write', async () => {
  const { cs, store } = await setup({ cacheSize: 0 });
  const { service_id: sid } = await cs.startService({ customer_id: 'C', Top: { a: 1 } });
  const { state_id } = await cs.startState(sid, { Profile: { p: 1 }, Score: 2 });
  const { task_id } = await cs.startTask(sid, { state_id, Note: 'n' });
  const { task_id: other } = await cs.startTask(sid, { Other: [1] });
  const whole = { active_states: true, active_tasks: true, extensions: ['*'] };
  const expected = await cs.getService(sid, whole);
  await toPreviousLayout(store);
  expect(JSON.stringify(await dump(store))).not.toContain('/y/');
  expect(await cs.getService(sid, whole)).toEqual(expected);
  expect(await cs.getState(sid, state_id, { extensions: ['Score'] })).toMatchObject({ Score: 2 });
  expect(await cs.listTasks(sid, { extensions: ['Note'] })).toMatchObject([
    { Note: 'n' },
    { task_id: other },
  ]);
  expect((await cs.listTasks(sid, { extensions: ['Note'] }))[1]).not.toHaveProperty('Other');
  // Writes: a merge into an inline value, an end, a write to the service (its size is counted once).
  await cs.mergeExtension({ service_id: sid, state_id }, 'Profile', { q: 2 });
  await cs.endTask(sid, task_id, { Done: true });
  await cs.putExtension({ service_id: sid }, 'Top', 5);
  expect(await verifyStoreIntegrity(store)).toEqual([]);
  const after = await cs.getService(sid, { ...whole, completed_tasks: true });
  expect(after).toMatchObject({ Top: 5 });
  expect(after.active_states?.[0]).toMatchObject({ Profile: { p: 1, q: 2 }, Score: 2 });
  expect(after.completed_tasks?.[0]).toMatchObject({ Note: 'n', Done: true });
  expect(after.active_tasks?.[0]).toMatchObject({ Other: [1] });
  // The rewritten records moved to the current layout; the untouched task still reads inline.
  const keys = (await dump(store)).map(([k]) => k).filter((k) => k.includes('/y/'));
  expect(keys.length).toBe(4);
  await cs.close();
});
