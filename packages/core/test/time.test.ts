import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant, parseInstant } from '../src/time.js';

const seed = Number(process.env.FC_SEED ?? 20261201);
const numRuns = Number(process.env.FC_RUNS ?? 5000);
const params = { seed, numRuns, ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };

const FIRST = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const LAST = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

describe('formatInstant', () => {
  it('writes what Date#toISOString writes, for every instant with a four-digit year', () => {
    fc.assert(
      fc.property(fc.integer({ min: FIRST, max: LAST }), (ms) => {
        expect(formatInstant(ms)).toBe(new Date(ms).toISOString());
      }),
      params,
    );
  });

  it('gets the edges of days, months, leap years and the range right', () => {
    const instants = [
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T23:59:59.999Z',
      '0000-03-01T00:00:00.000Z',
      '1899-12-31T23:59:59.999Z',
      '1900-02-28T12:00:00.000Z',
      '1900-03-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:00:00.000Z',
      '2000-02-29T00:00:00.001Z',
      '2024-12-31T23:59:59.999Z',
      '2100-03-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const iso of instants) expect(formatInstant(parseInstant('t', iso))).toBe(iso);
    expect(formatInstant(FIRST)).toBe('0000-01-01T00:00:00.000Z');
    expect(formatInstant(LAST)).toBe('9999-12-31T23:59:59.999Z');
  });

  it('keeps the extended form outside the four-digit years', () => {
    for (const ms of [FIRST - 1, LAST + 1]) expect(formatInstant(ms)).toBe(new Date(ms).toISOString());
  });
});
