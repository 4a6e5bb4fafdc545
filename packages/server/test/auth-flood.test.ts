/**
 * A bad-password flood (issue: 32 looping clients sending `ghost:wrong` and wrong passwords for a
 * real user) must not stall authenticated requests: `cxs serve --store level --users` in a child
 * process, the authenticated p50 of `POST /services/start` measured without and with the flood in
 * the same run, alternately, on the same server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '@cxs/koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE } from '../../koa/test/helpers.js';
import { serve } from './cli-helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-flood-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

describe('bad-password flood', () => {
  it.each([['default settings', []]])(
    '%s: the authenticated p50 of POST /services/start stays within 2x of its value without the flood',
    async (label, extra) => {
      const users = join(tmp, 'users.json');
      const admin = { username: 'admin', password: await hashPassword('right'), roles: ['Administrator'] };
      await writeFile(users, JSON.stringify({ users: [admin] }));
      const server = await serve([
        '--store',
        'level',
        '--data',
        join(tmp, `data-${extra.length}`),
        '--users',
        users,
        ...extra,
      ]);
      const url = `${server.url}${BASE}/services/start`;
      const good = basic('admin', 'right');
      const start = async (authorization: string) => {
        const t0 = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body: '{"contact_key":"k"}',
        });
        await res.arrayBuffer();
        return { status: res.status, ms: performance.now() - t0 };
      };
      const sample = async (n: number) => {
        const ms: number[] = [];
        for (let i = 0; i < n; i++) {
          const r = await start(good);
          expect(r.status).toBe(201);
          ms.push(r.ms);
        }
        return ms;
      };
      try {
        // Warm-up: the first check of the good password runs scrypt once.
        await sample(30);
        // 32 looping clients; between rounds they wait at a gate, so that the quiet samples are
        // taken with no flood request in flight and the loud ones with all 32 in flight.
        let gate: Promise<void> | undefined;
        let openGate: () => void = () => undefined;
        let inFlight = 0;
        let onChange: () => void = () => undefined;
        const statuses = new Map<number, number>();
        let stop = false;
        const flood = async (i: number) => {
          let n = 0;
          while (!stop) {
            if (gate !== undefined) await gate;
            if (stop) break;
            const auth = i % 2 === 0 ? basic('ghost', 'wrong') : basic('admin', `wrong-${i}-${n++}`);
            inFlight++;
            onChange();
            const r = await start(auth).catch(() => ({ status: 0, ms: 0 }));
            inFlight--;
            onChange();
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          }
        };
        const inFlightIs = (test: (n: number) => boolean) =>
          new Promise<void>((resolve) => {
            onChange = () => {
              if (test(inFlight)) resolve();
            };
            onChange();
          });
        const close = () => {
          gate = new Promise<void>((resolve) => {
            openGate = resolve;
          });
        };
        close();
        const clients = Array.from({ length: 32 }, (_, i) => flood(i));
        const quiet: number[] = [];
        const loud: number[] = [];
        for (let round = 0; round < 10; round++) {
          quiet.push(...(await sample(25)));
          const g = openGate;
          gate = undefined;
          g();
          await inFlightIs((n) => n === 32);
          loud.push(...(await sample(25)));
          close();
          await inFlightIs((n) => n === 0);
        }
        stop = true;
        openGate();
        await Promise.all(clients);
        const [q, l] = [median(quiet), median(loud)];
        console.log(
          `auth flood (${label}): p50 without ${q.toFixed(2)} ms, with 32 flooding clients ${l.toFixed(2)} ms (${(l / q).toFixed(2)}x); flood answers ${JSON.stringify(Object.fromEntries(statuses))}`,
        );
        expect([...statuses.keys()].every((s) => s === 401 || s === 429)).toBe(true);
        expect(l).toBeLessThanOrEqual(2 * q);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    },
    120_000,
  );
});
