import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isContextServicesError } from '@cxs/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryIterator } from '../src/entry-iterator.js';
import { LevelStore } from '../src/index.js';
import { dump, levelFactory, reason, tempDir } from './helpers.js';

const factory = levelFactory();
let store: LevelStore;

beforeEach(async () => {
  store = await factory.create();
  await store.open();
});
afterEach(async () => {
  await store.close();
  await factory.destroy(store);
});

const put = (key: string, value: string) => ({ type: 'put' as const, key, value });

describe('LevelStore options and lifecycle', () => {
  it('rejects bad options with a TypeError', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { location: '' },
      { location: 1 },
      { location: 'x', cacheSize: -1 },
      { location: 'x', cacheSize: 1.5 },
      { location: 'x', cacheSize: 2 ** 32 },
      { location: 'x', writeBufferSize: '4mb' },
      { location: 'x', sync: 'yes' },
    ];
    for (const o of bad) expect(() => new LevelStore(o as never), JSON.stringify(o)).toThrow(TypeError);
  });

  it('touches nothing before open() and creates the directory on open()', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const s = new LevelStore({
        location: join(dir, 'a', 'b'),
        cacheSize: 1 << 20,
        writeBufferSize: 1 << 20,
      });
      await new Promise((r) => setTimeout(r, 20));
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(dir)).toEqual([]);
      await s.open();
      await s.batch([put('k', 'v')]);
      expect(await s.get('k')).toBe('v');
      await s.close();
      expect(await readdir(join(dir, 'a', 'b'))).toContain('LOCK');
    } finally {
      await cleanup();
    }
  });

  it('serializes concurrent open() and close() calls in call order', async () => {
    await Promise.all([store.close(), store.open(), store.open(), store.close(), store.open()]);
    await store.batch([put('a', '1')]);
    expect(await store.get('a')).toBe('1');
  });

  it('fails to open on a path that is a file with STORE_FAILED and the cause', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, 'file');
      await writeFile(file, 'not a database');
      const s = new LevelStore({ location: file });
      const e = await reason(s.open());
      expect(isContextServicesError(e) && e.code).toBe('STORE_FAILED');
      expect((e as Error).message).toContain(file);
      expect((e as Error).cause).toBeDefined();
      await reason(s.get('a')).then((c) => expect(isContextServicesError(c) && c.code).toBe('CLOSED'));
    } finally {
      await cleanup();
    }
  });

  it('refuses every operation while closed with CLOSED, before open() too', async () => {
    const fresh = await factory.create();
    try {
      for (const p of [fresh.get('a'), fresh.getMany(['a']), fresh.batch([put('a', '1')])]) {
        const e = await reason(p);
        expect(isContextServicesError(e) && e.code, String(e)).toBe('CLOSED');
      }
      expect(() => fresh.iterate({})).toThrow(expect.objectContaining({ code: 'CLOSED' }));
      expect(fresh.db).toBeUndefined();
    } finally {
      await factory.destroy(fresh);
    }
  });

  it('keeps everything across close and a new instance on the same directory', async () => {
    const big = 'x'.repeat(100_000);
    await store.batch([put('a', '1'), put('b', big), put('é', 'ünï')]);
    await store.batch([{ type: 'del', key: 'a' }]);
    await store.close();
    store = factory.reopen(store);
    await store.open();
    expect(await dump(store)).toEqual([
      ['b', big],
      ['é', 'ünï'],
    ]);
  });

  it('writes batches queued before close() and refuses those after it', async () => {
    const writes = [store.batch([put('a', '1')]), store.batch([put('b', '2')])];
    const closing = store.close();
    const late = reason(store.batch([put('c', '3')]));
    await Promise.all(writes);
    await closing;
    expect(isContextServicesError(await late) && ((await late) as { code: string }).code).toBe('CLOSED');
    await store.open();
    expect(await dump(store)).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('copies the ops of a batch when called: reusing the array afterwards changes nothing', async () => {
    const ops = [put('a', '1')];
    const p = store.batch(ops);
    ops[0] = put('a', 'changed');
    ops.push(put('b', '2'));
    await p;
    expect(await dump(store)).toEqual([['a', '1']]);
  });
});

describe('LevelStore iterators', () => {
  it('read the snapshot of the iterate() call, not of the first next()', async () => {
    await store.batch([put('a', '1'), put('b', '2')]);
    const iterable = store.iterate({});
    await store.batch([put('a', 'new'), { type: 'del', key: 'b' }, put('c', '3')]);
    const seen: [string, string][] = [];
    for await (const e of iterable) seen.push(e);
    expect(seen).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('can be iterated only once', async () => {
    const iterable = store.iterate({});
    for await (const _ of iterable) {
      // empty store
    }
    expect(() => iterable[Symbol.asyncIterator]()).toThrow(TypeError);
  });

  it('treat a fractional limit like the memory store (rounded up) and NaN or Infinity as none', async () => {
    await store.batch(['a', 'b', 'c', 'd'].map((k) => put(k, k)));
    const keys = async (limit: number) => {
      const out: string[] = [];
      for await (const [k] of store.iterate({ limit })) out.push(k);
      return out;
    };
    expect(await keys(2.5)).toEqual(['a', 'b', 'c']);
    expect(await keys(Number.NaN)).toEqual(['a', 'b', 'c', 'd']);
    expect(await keys(Number.POSITIVE_INFINITY)).toEqual(['a', 'b', 'c', 'd']);
    expect(await keys(-3)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fail with CLOSED when the store closes during iteration', async () => {
    await store.batch(Array.from({ length: 3000 }, (_, i) => put(`k${String(i).padStart(5, '0')}`, 'v')));
    const it = store.iterate({})[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await store.close();
    const e = await reason(it.next());
    expect(isContextServicesError(e) && e.code, String(e)).toBe('CLOSED');
  });

  it('close the LevelDB iterator when the consumer stops early (break, return, throw)', async () => {
    await store.batch(Array.from({ length: 50 }, (_, i) => put(`k${String(i).padStart(3, '0')}`, 'v')));
    const db = store.db;
    if (db === undefined) throw new Error('store not open');
    for (const stop of ['break', 'return', 'throw'] as const) {
      const level = db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8' });
      const entries = new EntryIterator(
        level,
        () => undefined,
        (e) => e,
      );
      const consume = async () => {
        for await (const [k] of { [Symbol.asyncIterator]: () => entries }) {
          if (k !== 'k002') continue;
          if (stop === 'break') break;
          if (stop === 'return') return;
          throw new Error('consumer failed');
        }
      };
      await consume().catch((e: Error) => expect(e.message).toBe('consumer failed'));
      // A closed abstract-level iterator refuses to read: the early stop did close it.
      const e = await reason(level.next());
      expect((e as { code?: string }).code, stop).toBe('LEVEL_ITERATOR_NOT_OPEN');
    }
  });

  it('leave nothing open after many early stops: writes and close() still complete', async () => {
    await store.batch(Array.from({ length: 100 }, (_, i) => put(`k${String(i).padStart(3, '0')}`, 'v')));
    for (let i = 0; i < 300; i++) {
      for await (const _ of store.iterate({ reverse: i % 2 === 0 })) break;
    }
    await store.batch([put('z', 'last')]);
    await store.close();
    await store.open();
    expect(await store.get('z')).toBe('last');
  });
});
