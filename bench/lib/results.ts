/**
 * Benchmark results: one record per figure, each beside the baseline measured in the same run,
 * and the writers of `results.json` and `RESULTS.md`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine.js';

/** A design target: the figure (or its ratio) must be at most / at least `value`. */
export interface Target {
  /** What the target bounds: the ratio to the baseline, or the value itself. */
  on: 'ratio' | 'value';
  op: '>=' | '<=' | '<';
  value: number;
}

/** One measured figure. */
export interface BenchRecord {
  /** Stable name, `<suite>.<figure>` (e.g. `http.start-service.level.rps`). */
  name: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run, or null for figures that stand alone. */
  baseline: string | null;
  baseline_value: number | null;
  /** value / baseline_value (null without a baseline). */
  ratio: number | null;
  target?: Target;
  /** Whether the target is met (absent without a target). */
  met?: boolean;
  /** How it was measured, in a few words. */
  note?: string;
}

/** Everything a run produces. */
export interface RunResults {
  meta: {
    mode: 'full' | 'quick';
    date: string;
    command: string;
    machine: MachineInfo;
    seconds: number;
    /** Population times and other facts that are not figures (suite → key → value). */
    facts: Record<string, Record<string, unknown>>;
  };
  records: BenchRecord[];
}

function check(target: Target, value: number, ratio: number | null): boolean {
  const x = target.on === 'ratio' ? ratio : value;
  if (x === null || !Number.isFinite(x)) return false;
  return target.op === '>=' ? x >= target.value : target.op === '<=' ? x <= target.value : x < target.value;
}

/** Collects records and facts during a run. */
export class Recorder {
  readonly records: BenchRecord[] = [];
  readonly facts: Record<string, Record<string, unknown>> = {};

  /** Add a figure; `ratio` and `met` are computed here. */
  add(r: {
    name: string;
    value: number;
    unit: string;
    baseline?: { name: string; value: number };
    target?: Target;
    note?: string;
  }): BenchRecord {
    const ratio = r.baseline === undefined || r.baseline.value === 0 ? null : r.value / r.baseline.value;
    const rec: BenchRecord = {
      name: r.name,
      value: round(r.value),
      unit: r.unit,
      baseline: r.baseline?.name ?? null,
      baseline_value: r.baseline === undefined ? null : round(r.baseline.value),
      ratio: ratio === null ? null : round(ratio, 3),
    };
    if (r.target !== undefined) {
      rec.target = r.target;
      rec.met = check(r.target, r.value, ratio);
    }
    if (r.note !== undefined) rec.note = r.note;
    this.records.push(rec);
    const ratioText =
      rec.ratio === null ? '' : `  ratio ${rec.ratio} vs ${rec.baseline} (${rec.baseline_value})`;
    const met = rec.met === undefined ? '' : rec.met ? '  [target met]' : '  [TARGET MISSED]';
    process.stdout.write(`  ${rec.name}: ${rec.value} ${rec.unit}${ratioText}${met}\n`);
    return rec;
  }

  /** Record a fact (population time, counts…) under a suite. */
  fact(suite: string, key: string, value: unknown): void {
    this.facts[suite] ??= {};
    (this.facts[suite] as Record<string, unknown>)[key] = value;
    process.stdout.write(
      `  (${suite}) ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`,
    );
  }
}

/** Round to a few significant decimals so the files stay readable. */
export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const abs = Math.abs(x);
  const d = abs >= 100 ? Math.min(digits, 1) : abs >= 1 ? digits : digits + 2;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function targetText(t: Target | undefined): string {
  if (t === undefined) return '';
  return `${t.on === 'ratio' ? 'ratio ' : ''}${t.op.replace('>=', '≥').replace('<=', '≤')} ${t.value}`;
}

function fmt(x: number | null): string {
  return x === null ? '—' : String(x);
}

/** A markdown table with padded columns (the layout the formatter keeps). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => `| ${widths.map((w, i) => (r[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
}

/** The markdown report: table, machine, date, commands, facts, and the analysis file if present. */
export function renderMarkdown(results: RunResults, analysis: string | undefined): string {
  const m = results.meta;
  const header = ['figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const cells = results.records.map((r) => [
    `\`${r.name}\``,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ?? '—',
    fmt(r.baseline_value),
    fmt(r.ratio),
    targetText(r.target),
    r.met === undefined ? '' : r.met ? 'yes' : '**no**',
  ]);
  const rows = table(header, cells);
  const facts = Object.entries(m.facts).flatMap(([suite, kv]) =>
    Object.entries(kv).map(
      ([k, v]) => `- ${suite} — ${k}: ${typeof v === 'object' ? `\`${JSON.stringify(v)}\`` : String(v)}`,
    ),
  );
  const missed = results.records.filter((r) => r.met === false).map((r) => `\`${r.name}\``);
  return [
    `# Benchmark results (${m.mode} run)`,
    '',
    `Generated by \`${m.command}\` on ${m.date} in ${Math.round(m.seconds)} s. What each benchmark does and`,
    'what its baseline is: [README.md](README.md). Every ratio compares two figures measured in the same',
    'run on the same machine, one after the other.',
    '',
    '## Machine',
    '',
    `- CPU: ${m.machine.cpuModel} — \`nproc\` = ${m.machine.nproc}`,
    `- Memory: ${m.machine.memoryGiB} GiB; OS: ${m.machine.os}`,
    `- Node ${m.machine.node}; commit \`${m.machine.commit}\``,
    '- The HTTP load generator (autocannon) runs in the benchmark process on the same 2 cores as the',
    '  server process under test: every HTTP figure is what a server gets while sharing the machine with',
    '  its client, and the baselines share it the same way.',
    '',
    '## Figures',
    '',
    ...rows,
    '',
    missed.length === 0
      ? 'Every target is met.'
      : `Targets missed: ${missed.join(', ')} (see the analysis below).`,
    '',
    '## Facts of the run',
    '',
    ...facts,
    '',
    '## Reproduce',
    '',
    '```sh',
    'pnpm install --frozen-lockfile',
    'pnpm bench            # full run (about 15 minutes here), writes bench/results.json and bench/RESULTS.md',
    'pnpm bench --quick    # under 2 minutes, writes bench/.tmp/results.json and bench/.tmp/RESULTS.md',
    'pnpm bench --only http,core   # some suites only (http, core, scale, durability, postgres), into bench/.tmp/',
    'pnpm bench --merge   # put the suites of that partial run into bench/results.json, re-render RESULTS.md',
    '```',
    '',
    ...(analysis === undefined ? [] : [analysis.trim(), '']),
  ].join('\n');
}

/** Write `results.json` and `RESULTS.md` into `dir`. */
export async function writeResults(dir: string, results: RunResults, analysisPath?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
  let analysis: string | undefined;
  if (analysisPath !== undefined) {
    analysis = await readFile(analysisPath, 'utf8').catch(() => undefined);
  }
  await mkdir(dirname(`${dir}/RESULTS.md`), { recursive: true });
  await writeFile(`${dir}/RESULTS.md`, renderMarkdown(results, analysis));
}
