/**
 * A full disk (issue 11, item 5): LevelDB's writes fail while the volume is full, and (LevelDB
 * keeps its first background error) kept failing until the process restarted, even with space
 * back. The store must recover on its own and say that it is degraded meanwhile. Run on a small
 * tmpfs when this process may mount one (root); skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isContextServicesError } from '@cxs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelStore } from '../src/index.js';

let mnt: string;
let mounted = false;
beforeAll(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'cxs-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
});
afterAll(async () => {
  if (mounted) execFileSync('umount', [mnt]);
  await rm(mnt, { recursive: true, force: true });
});

const put = (key: string, value: string) => ({ type: 'put' as const, key, value });

describe('full disk', () => {
  it('writes fail with STORE_FAILED while the disk is full, the store reports it, and writes succeed again once space is back, without a restart', async (ctx) => {
    if (!mounted) ctx.skip();
    const changes: boolean[] = [];
    const store = new LevelStore({
      location: join(mnt, 'db'),
      writeBufferSize: 256 * 1024,
      onHealthChange: (health) => changes.push(health.degraded),
    });
    await store.open();
    try {
      await store.batch([put('before', 'ok')]);
      // Fill the volume but for a little, then write until LevelDB fails. With half a megabyte left
      // the failure hits a table write, which LevelDB keeps as its background error (sticky).
      const { bavail, bsize } = await statfs(mnt);
      const filler = join(mnt, 'filler');
      await writeFile(filler, Buffer.alloc(Math.max(0, Number(bavail) * Number(bsize) - 512 * 1024)));
      const value = 'v'.repeat(16 * 1024);
      let failure: unknown;
      for (let i = 0; i < 5000 && failure === undefined; i++) {
        await store.batch([put(`k${String(i).padStart(4, '0')}`, value)]).catch((e: unknown) => {
          failure = e;
        });
      }
      expect(isContextServicesError(failure) && failure.code).toBe('STORE_FAILED');
      const whileFull = store.health;
      // Take whatever LevelDB freed meanwhile (a compaction may delete files): now truly full.
      const rest = await statfs(mnt);
      await writeFile(join(mnt, 'filler2'), Buffer.alloc(Number(rest.bavail) * Number(rest.bsize))).catch(
        () => undefined,
      );
      // Still full: writes keep failing, reads keep working.
      await expect(store.batch([put('during', 'x')])).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store.get('before')).toBe('ok');

      await rm(filler);
      await rm(join(mnt, 'filler2'), { force: true });
      // Space is back: the next writes succeed on the same store (LevelDB alone kept failing them).
      for (let i = 0; i < 5; i++) await store.batch([put(`after${i}`, 'ok')]);
      expect(await store.getMany(['before', 'after0', 'after4'])).toEqual(['ok', 'ok', 'ok']);
      // The degraded state was reported while it lasted, and is clear now.
      expect(whileFull).toMatchObject({ degraded: true, reason: expect.stringMatching(/space|IO error/i) });
      expect(store.health).toEqual({ degraded: false });
      expect(changes).toEqual([true, false]);
    } finally {
      await store.close().catch(() => undefined);
    }
    // Everything acknowledged is there after a reopen.
    const again = new LevelStore({ location: join(mnt, 'db') });
    await again.open();
    expect(await again.get('after4')).toBe('ok');
    await again.close();
  });
});
