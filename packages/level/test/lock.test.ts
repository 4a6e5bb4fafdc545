import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isContextServicesError } from '@cxs/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../src/index.js';
import { reason, tempDir } from './helpers.js';

// classic-level as `level` itself loads it, so the holder process opens the directory with the
// very same LevelDB.
const requireHere = createRequire(import.meta.url);
const classicLevel = createRequire(requireHere.resolve('level')).resolve('classic-level');

/** A separate Node process that opens `location` with classic-level and holds it until killed. */
async function holdInAnotherProcess(location: string): Promise<ChildProcess> {
  const script = `
    const { ClassicLevel } = require(${JSON.stringify(classicLevel)});
    const db = new ClassicLevel(${JSON.stringify(location)});
    db.open().then(() => process.stdout.write('holding\\n'), (e) => { console.error(e); process.exit(1); });
    setInterval(() => {}, 60000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('holding')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${stderr}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('LevelStore: one process per directory', () => {
  it('open() rejects with STORE_LOCKED naming the location while another process holds it', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const location = join(dir, 'db');
    const holder = await holdInAnotherProcess(location);
    cleanups.push(() => kill(holder));

    const store = new LevelStore({ location });
    const e = await reason(store.open());
    expect(isContextServicesError(e) && e.code, String(e)).toBe('STORE_LOCKED');
    expect((e as Error).message).toContain(location);
    expect((e as Error).cause).toBeDefined();
    // Still closed and usable later: once the holder is gone, the same instance opens.
    expect(isContextServicesError(await reason(store.get('a')))).toBe(true);
    await kill(holder);
    await store.open();
    await store.batch([{ type: 'put', key: 'a', value: '1' }]);
    expect(await store.get('a')).toBe('1');
    await store.close();
  });

  it('refuses a second open store on the same directory in the same process too', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const location = join(dir, 'db');
    const first = new LevelStore({ location });
    await first.open();
    cleanups.push(() => first.close());
    const e = await reason(new LevelStore({ location }).open());
    expect(isContextServicesError(e) && e.code, String(e)).toBe('STORE_LOCKED');
  });
});
