/** Command-line plumbing: flags over env vars over defaults, sizes, the TTY progress line. */
import { describe, expect, it } from 'vitest';
import { parseSize, readOptions, UsageError } from '../src/cli/options.js';
import { formatProgress, progress } from '../src/cli/progress.js';
import { SERVE_OPTIONS } from '../src/cli/serve.js';

describe('readOptions', () => {
  it('a flag wins over its environment variable, which wins over the default', () => {
    const env = { CXS_PORT: '9000', CXS_HOST: '0.0.0.0' };
    const o = readOptions(['--port', '7000', '--store=memory'], SERVE_OPTIONS, env);
    expect(o.port).toBe('7000');
    expect(o.host).toBe('0.0.0.0');
    expect(o.store).toBe('memory');
    expect(o['body-limit']).toBe('1mb');
    expect(o['auto-complete-after']).toBeUndefined();
    // Purge and the sweep pace themselves by the requests' latency unless told otherwise.
    expect(o['maintenance-latency-budget']).toBe('auto');
    expect(o.help).toBe(false);
    expect(readOptions(['--help'], SERVE_OPTIONS, {}).help).toBe(true);
  });

  it('unknown flags and positionals are usage errors', () => {
    expect(() => readOptions(['--nope'], SERVE_OPTIONS, {})).toThrow(UsageError);
    expect(() => readOptions(['stray'], SERVE_OPTIONS, {})).toThrow(UsageError);
    expect(() => readOptions(['--port'], SERVE_OPTIONS, {})).toThrow(UsageError);
  });
});

describe('parseSize', () => {
  it('accepts bytes and 1024-based units, rejects the rest', () => {
    expect(parseSize('1mb')).toBe(1024 * 1024);
    expect(parseSize('512KB')).toBe(512 * 1024);
    expect(parseSize('2MiB')).toBe(2 * 1024 * 1024);
    expect(parseSize('1048576')).toBe(1048576);
    for (const bad of ['', '0', 'mb', '1.5mb', '-1', '1tb'])
      expect(() => parseSize(bad), bad).toThrow(UsageError);
  });
});

describe('progress', () => {
  function sink(isTTY: boolean) {
    const writes: string[] = [];
    return {
      writes,
      stream: { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WritableStream,
    };
  }

  it('draws a counter on a TTY and erases it when done', () => {
    const { writes, stream } = sink(true);
    const p = progress('exported', { stream });
    p.add(5);
    p.done();
    expect(writes[0]).toBe('\r\x1b[Kexported 0 (0/s)');
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing when not a TTY', () => {
    const { writes, stream } = sink(false);
    const p = progress('exported', { stream });
    p.add(1000);
    p.done();
    expect(writes).toEqual([]);
  });

  it('with a total, draws the share done and the ETA at the rate so far', () => {
    expect(formatProgress({ label: 'imported', count: 500, elapsedMs: 2000, position: 25, total: 100 })).toBe(
      'imported 500 (250/s) 25% ETA 6s',
    );
    expect(formatProgress({ label: 'imported', count: 0, elapsedMs: 0, position: 0, total: 100 })).toBe(
      'imported 0 (0/s) 0% ETA ?',
    );
    expect(formatProgress({ label: 'x', count: 10, elapsedMs: 60_000, position: 1, total: 100 })).toBe(
      'x 10 (0/s) 1% ETA 1h39m',
    );
    expect(formatProgress({ label: 'purged', count: 42, elapsedMs: 1000 })).toBe('purged 42 (42/s)');
    const { writes, stream } = sink(true);
    const p = progress('imported', { stream, total: 1000 });
    p.done();
    expect(writes[0]).toBe('\r\x1b[Kimported 0 (0/s) 0% ETA ?');
  });
});
