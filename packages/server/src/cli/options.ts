/** Command-line options: each flag also read from an environment variable; flags win. */
import { parseArgs } from 'node:util';

/** One option of a command. */
export interface OptionSpec {
  flag: string;
  env?: string;
  default?: string;
  boolean?: boolean;
  help: string;
}

/** Wrong usage: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parse `argv` against `specs`: `--flag value`, `--flag=value`, booleans as `--flag`. A flag that
 * is absent falls back to its environment variable, then to its default.
 *
 * @throws UsageError for an unknown flag, a missing value or a stray argument.
 */
export function readOptions(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | boolean | undefined> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          specs.map((s) => [s.flag, { type: s.boolean ? 'boolean' : 'string' } as const]),
        ),
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const out: Record<string, string | boolean | undefined> = { help: parsed.values.help === true };
  for (const s of specs) {
    const v = parsed.values[s.flag];
    const fromEnv = s.env === undefined ? undefined : env[s.env];
    if (v !== undefined) out[s.flag] = v as string | boolean;
    else if (fromEnv !== undefined && fromEnv !== '') out[s.flag] = s.boolean ? fromEnv === 'true' : fromEnv;
    else out[s.flag] = s.default;
  }
  return out;
}

/** The help text of a command's options. */
export function optionsHelp(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.flag}${s.boolean ? '' : ' <value>'}`;
    const extra = [
      s.default === undefined ? undefined : `default ${s.default}`,
      s.env === undefined ? undefined : `env ${s.env}`,
    ]
      .filter((x) => x !== undefined)
      .join(', ');
    return `${left.padEnd(34)}${s.help}${extra === '' ? '' : ` (${extra})`}`;
  });
  return [...rows, `${'  --help'.padEnd(34)}show this help`].join('\n');
}

/** A required string option. */
export function required(values: Record<string, string | boolean | undefined>, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required`);
  return v;
}

/** An integer option within bounds. */
export function integer(value: string | boolean | undefined, flag: string, min: number, max: number): number {
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got '${text}')`);
  }
  return Number(text);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};

/** A byte size such as `1mb`, `512kb`, `1048576` (units are powers of 1024). */
export function parseSize(value: string, flag = 'body-limit'): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase().replace(/ib$/, 'b')];
  if (m === null || unit === undefined || Number(m[1]) === 0) {
    throw new UsageError(`--${flag} must be a size such as 1mb, 512kb or 1048576 (got '${value}')`);
  }
  return Number(m[1]) * unit;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A duration in milliseconds: `500ms`, `20s`, `2m`, or a plain number of seconds; more than 0,
 * at most a day.
 */
export function duration(value: string | boolean | undefined, flag: string): number {
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(text);
  const ms = m === null ? Number.NaN : Number(m[1]) * (DURATION_UNITS[(m[2] ?? 's').toLowerCase()] ?? 0);
  if (!(ms >= 1 && ms <= 86_400_000)) {
    throw new UsageError(`--${flag} must be a duration such as 20s, 500ms or 2m (got '${text}')`);
  }
  return Math.round(ms);
}
