import { invalid } from './errors.js';

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants with four-digit years. */
const FIRST_INSTANT = -62_167_219_200_000;
const LAST_INSTANT = 253_402_300_799_999;

// ISO 8601 date-time with a zone designator (Z or ±hh:mm); fractions of any length.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0); // day 0 of the next month = last day of this one
  return date.getUTCDate();
}

/** Parse an ISO 8601 instant (docs/spec.md §2) to epoch milliseconds, or throw VALIDATION_FAILED naming `field`. */
export function parseInstant(field: string, value: unknown): number {
  if (typeof value !== 'string' || !ISO.test(value)) {
    throw invalid(field, 'must be an ISO 8601 instant such as 2014-09-02T08:00:00.000Z', { value });
  }
  const ms = Date.parse(value);
  const [y, mo, d, h, mi, sec] = value.split(/[-T:.Z+]/).map(Number) as number[];
  // Date.parse rolls 2026-02-30 over to March: check every calendar field is in range.
  const calendarOk =
    mo !== undefined &&
    mo >= 1 &&
    mo <= 12 &&
    d !== undefined &&
    d >= 1 &&
    d <= daysInMonth(y ?? 0, mo) &&
    (h ?? 0) <= 23 &&
    (mi ?? 0) <= 59 &&
    (sec ?? 0) <= 59;
  if (!Number.isFinite(ms) || !calendarOk) throw invalid(field, 'is not a valid instant', { value });
  // Once shifted to UTC by its offset, the instant must still have a four-digit year: the output
  // form YYYY-MM-DDTHH:mm:ss.SSSZ (and the fixed-width key encoding) cannot hold any other.
  if (ms < FIRST_INSTANT || ms > LAST_INSTANT) {
    throw invalid(field, 'must fall between 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z', {
      value,
    });
  }
  return ms;
}

const DAY_MS = 86_400_000;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * The normalized output form `YYYY-MM-DDTHH:mm:ss.SSSZ`. Every view formats its instants, and
 * `Date#toISOString` costs several times more than this arithmetic (the civil date from a day
 * count, H. Hinnant's `civil_from_days`); instants without a four-digit year keep its form.
 */
export function formatInstant(ms: number): string {
  // The events and views of one request, and of requests within the same millisecond, share instants.
  if (ms !== lastMs) {
    lastText = isoText(ms);
    lastMs = ms;
  }
  return lastText;
}
let lastMs = Number.NaN;
let lastText = '';

function isoText(ms: number): string {
  if (!Number.isInteger(ms) || ms < FIRST_INSTANT || ms > LAST_INSTANT) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // Days since 0000-03-01, in 400-year eras of 146,097 days (a March start puts leap days last).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  return `${pad(year, 4)}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${pad(rest - second * 1000, 3)}Z`;
}

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Parse a lifetime `<integer><unit>` (units s m h d w M y, docs/spec.md §7.2) to milliseconds. */
export function parseLifetime(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw invalid('expiration', 'must be a positive number of ms');
    return value;
  }
  const m = /^([1-9][0-9]*)([smhdwMy])$/.exec(value);
  if (!m)
    throw invalid('expiration', "must be <integer><unit> with unit one of s m h d w M y, e.g. '5y'", {
      value,
    });
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}
