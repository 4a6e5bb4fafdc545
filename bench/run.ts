/**
 * `pnpm bench [--quick] [--only http,core,scale,durability,postgres]`, `pnpm bench --render` to
 * rewrite RESULTS.md from results.json and analysis.md, or `pnpm bench --merge [file]` to put
 * the suites of a partial run (default bench/.tmp/results.json) into the committed results
 *
 * Runs the suites one after the other (never in parallel: the machine has 2 cores) and writes
 * `results.json` and `RESULTS.md`: into bench/ for a full run of every suite, into bench/.tmp/
 * for a quick or partial run, so that those never overwrite the committed full results.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.js';
import { Recorder, type RunResults, writeResults } from './lib/results.js';
import { log, type SuiteContext } from './lib/suite.js';
import { TMP } from './lib/temp.js';
import { coreSuite } from './suites/core.js';
import { durabilitySuite } from './suites/durability.js';
import { httpSuite } from './suites/http.js';
import { postgresSuite } from './suites/postgres.js';
import { scaleSuite } from './suites/scale.js';

const SUITES: Record<string, (ctx: SuiteContext) => Promise<void>> = {
  http: httpSuite,
  core: coreSuite,
  scale: scaleSuite,
  durability: durabilitySuite,
  postgres: postgresSuite,
};

function parseArgs(argv: readonly string[]): {
  quick: boolean;
  only: string[] | undefined;
  render: boolean;
  merge: string | undefined;
} {
  let quick = false;
  let render = false;
  let merge: string | undefined;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a === '--quick') quick = true;
    else if (a === '--render') render = true;
    else if (a === '--merge')
      merge = argv[i + 1]?.startsWith('--') === false ? (argv[++i] as string) : `${TMP}/results.json`;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter((s) => s !== '');
    else if (a?.startsWith('--only='))
      only = a
        .slice(7)
        .split(',')
        .filter((s) => s !== '');
    else throw new Error(`unknown argument ${a}: use --quick and/or --only ${Object.keys(SUITES).join(',')}`);
  }
  for (const s of only ?? []) if (!(s in SUITES)) throw new Error(`unknown suite ${s}`);
  return { quick, only, render, merge };
}

/**
 * The committed results with the suites of a partial full-mode run put in: that run's records
 * replace the records of the same suites (the name's first part), its facts replace theirs, and
 * a fact says which run was merged when. Other suites' figures stay as they were.
 */
function mergeResults(committed: RunResults, partial: RunResults): RunResults {
  if (partial.meta.mode !== 'full')
    throw new Error('--merge: only a full-mode run can be merged (not --quick)');
  const suites = new Set(partial.records.map((r) => r.name.split('.')[0]));
  const facts = { ...committed.meta.facts };
  for (const [suite, kv] of Object.entries(partial.meta.facts)) {
    facts[suite] = suite === 'load average (1, 5, 15 min)' ? { ...facts[suite], ...kv } : kv;
  }
  facts.merged = {
    ...facts.merged,
    [[...suites].join(',')]:
      `${partial.meta.command} on ${partial.meta.date} (${Math.round(partial.meta.seconds)} s, commit ${partial.meta.machine.commit})`,
  };
  return {
    meta: { ...committed.meta, facts },
    records: [...committed.records.filter((r) => !suites.has(r.name.split('.')[0])), ...partial.records],
  };
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ANALYSIS = fileURLToPath(new URL('analysis.md', import.meta.url));

async function main(): Promise<void> {
  const { quick, only, render, merge } = parseArgs(process.argv.slice(2));
  if (merge !== undefined) {
    const committed = JSON.parse(await readFile(`${HERE}/results.json`, 'utf8')) as RunResults;
    const partial = JSON.parse(await readFile(merge, 'utf8')) as RunResults;
    await writeResults(HERE, mergeResults(committed, partial), ANALYSIS);
    log(`merged ${merge} into ${HERE}results.json and rendered RESULTS.md`);
    return;
  }
  if (render) {
    // Re-render RESULTS.md from the committed results.json (after editing analysis.md).
    const results = JSON.parse(await readFile(`${HERE}/results.json`, 'utf8')) as RunResults;
    await writeResults(HERE, results, ANALYSIS);
    log(`rendered ${HERE}RESULTS.md`);
    return;
  }
  const rec = new Recorder();
  const t0 = performance.now();
  const names = only ?? Object.keys(SUITES);
  // Other work on the machine shows in the load average: kept with the results.
  const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
  for (const name of names) {
    log(`suite ${name}${quick ? ' (quick)' : ''}`);
    const before = load();
    await (SUITES[name] as (ctx: SuiteContext) => Promise<void>)({ quick, rec });
    rec.fact('load average (1, 5, 15 min)', `${name}: before, after`, [before, load()]);
  }
  const partial = only !== undefined;
  const results: RunResults = {
    meta: {
      mode: quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      command: `pnpm bench${quick ? ' --quick' : ''}${partial ? ` --only ${names.join(',')}` : ''}`,
      machine: machineInfo(),
      seconds: (performance.now() - t0) / 1000,
      facts: rec.facts,
    },
    records: rec.records,
  };
  const dir = quick || partial ? TMP : HERE;
  await writeResults(dir, results, ANALYSIS);
  log(`done in ${Math.round(results.meta.seconds)} s: ${dir}/results.json, ${dir}/RESULTS.md`);
}

let finished = false;
// A promise that can never settle would let Node exit quietly with code 0: fail loudly instead.
process.on('beforeExit', () => {
  if (!finished) {
    process.stderr.write('bench failed: the run stopped before finishing (a promise never settled)\n');
    process.exit(1);
  }
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
