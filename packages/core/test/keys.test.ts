import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTime,
  encodeId,
  encodeTime,
  escapeComponent,
  TenantKeys,
  unescapeComponent,
} from '../src/keys.js';

const seed = Number(process.env.FC_SEED ?? 20261122);
const numRuns = Number(process.env.FC_RUNS ?? 2000);
const params = { seed, numRuns, ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };

describe('key codec', () => {
  it('escapes to ASCII without separators, and round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeComponent(s);
        expect(/^[A-Za-z0-9%]*$/.test(e)).toBe(true);
        expect(unescapeComponent(e)).toBe(s);
      }),
      params,
    );
  });

  it('no customer id, contact key or tenant can forge a separator or a prefix of another value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        const k = new TenantKeys('t');
        expect(k.byCustomerPrefix(b).startsWith(k.byCustomerPrefix(a))).toBe(false);
        expect(k.byContactKeyPrefix(b).startsWith(k.byContactKeyPrefix(a))).toBe(false);
        expect(new TenantKeys(b).prefix.startsWith(new TenantKeys(a).prefix)).toBe(false);
        expect(new TenantKeys(a).service('x').startsWith(new TenantKeys(b).prefix)).toBe(false);
      }),
      params,
    );
  });

  it('encodes instants and ids in fixed width, preserving order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
        fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
        (a, b) => {
          const ea = encodeTime(a);
          const eb = encodeTime(b);
          expect(ea).toHaveLength(15);
          expect(ea < eb).toBe(a < b);
          expect(decodeTime(ea)).toBe(a);
        },
      ),
      params,
    );
    expect(Date.parse('0000-01-01T00:00:00.000Z')).toBe(-62_167_219_200_000);
    expect(encodeTime(Date.parse('+100000-01-01T00:00:00Z'))).toBe(
      encodeTime(Date.parse('9999-12-31T23:59:59.999Z')),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (a, b) => {
          expect(encodeId(a)).toHaveLength(10);
          expect(encodeId(a) < encodeId(b)).toBe(a < b);
        },
      ),
      params,
    );
  });

  it('keeps children of one service out of the range of a service whose id extends it', () => {
    const k = new TenantKeys('');
    const ranges = [k.service('abc'), k.state('abc', 1), k.task('abc', 1), k.activeTask('abc', 1, 2)];
    for (const key of [k.service('abc-x'), k.service('abcd'), k.state('abc_', 1)]) {
      expect(key.startsWith(k.service('abc'))).toBe(false);
    }
    for (const own of ranges) expect(own.startsWith(k.service('abc'))).toBe(true);
  });
});
