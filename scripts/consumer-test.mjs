#!/usr/bin/env node
// Consumer test: the packages as a user gets them from the registry. Builds every package under
// packages/, packs each with pnpm (publishConfig applied, workspace ranges replaced), checks the
// packed manifests, installs the tarballs with npm into fresh temporary projects (third-party
// packages such as koa come from the npm registry, @cxs/* only from the tarballs), then runs:
//   - a strict TypeScript program (tsc --noEmit: strict, exactOptionalPropertyTypes, NodeNext)
//     against the installed types: memory store, LevelDB store, the adapter mounted in a Koa app;
//   - the same as a plain ESM JavaScript program at run time (port 0, one request, close), plain
//     and with --conditions=source (the development condition must not be published);
//   - the `cxs` command of @cxs/server;
//   - an adapter-only project (@cxs/core, @cxs/koa, koa, @koa/router) that must not install
//     LevelDB, with its own strict type check and run.
// Prints `npm ls --all` of both projects. Temporary directories are removed at the end.
//
// Usage: node scripts/consumer-test.mjs [--also-node <major>]...
//   --also-node 22   also run the programs under Node 22, installed from the npm registry
//                    (the `node` package, which ships the binary)
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const fixtures = join(root, 'scripts', 'consumer');
const { values } = parseArgs({ options: { 'also-node': { type: 'string', multiple: true, default: [] } } });
const started = Date.now();

// pnpm as it was invoked (`pnpm consumer-test` sets npm_execpath), else the one on PATH.
const execPath = process.env.npm_execpath;
const pnpm = execPath && /pnpm/.test(execPath) ? [process.execPath, execPath] : ['pnpm'];

function run(cmd, args, options = {}) {
  const { cwd = root, capture = false, env } = options;
  console.log(`$ ${[cmd, ...args].join(' ')}${cwd === root ? '' : `   (in ${cwd})`}`);
  const t0 = Date.now();
  const result = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const seconds = (Date.now() - t0) / 1000;
  if (seconds >= 2) console.log(`  (${seconds.toFixed(1)} s)`);
  if (result.status !== 0 && !options.allowFailure) {
    if (capture) process.stdout.write(result.stdout);
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
  return result.stdout ?? '';
}

function fail(message) {
  throw new Error(message);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const rootManifest = readJson(join(root, 'package.json'));

/** Every publishable package under packages/ (a new package is picked up without editing this). */
const packages = readdirSync(join(root, 'packages'))
  .sort()
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
  .filter(({ manifest }) => !manifest.private);

/** The range the workspace uses for a third-party package (root or any package). */
function rangeOf(name) {
  for (const m of [rootManifest, ...packages.map((p) => p.manifest)]) {
    for (const field of ['peerDependencies', 'devDependencies', 'dependencies']) {
      const range = m[field]?.[name];
      if (range && !range.startsWith('workspace:')) return range;
    }
  }
  return fail(`no range for ${name} in the workspace manifests`);
}

/** Every export target of a manifest, with the conditions leading to it. */
function exportTargets(exports, path = []) {
  if (typeof exports === 'string') return [{ path, target: exports }];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.entries(exports).flatMap(([key, value]) => exportTargets(value, [...path, key]));
}

/** The packed manifest and file list must be what a registry user can load. */
function checkTarball(name, tarball, unpackDir) {
  mkdirSync(unpackDir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', unpackDir]);
  const dir = join(unpackDir, 'package');
  const m = readJson(join(dir, 'package.json'));
  const problems = [];
  for (const { path, target } of exportTargets(m.exports)) {
    const where = `exports ${path.join(' → ')}`;
    if (path.includes('source')) problems.push(`${where}: the development condition 'source' is published`);
    if (/\.[cm]?ts$/.test(target) && !/\.d\.[cm]?ts$/.test(target))
      problems.push(`${where}: points at TypeScript source ${target}`);
    if (!existsSync(join(dir, target))) problems.push(`${where}: ${target} is not in the tarball`);
  }
  if (m.exports === undefined) problems.push('no exports');
  for (const [bin, target] of Object.entries(typeof m.bin === 'string' ? { [m.name]: m.bin } : (m.bin ?? {})))
    if (!existsSync(join(dir, target))) problems.push(`bin ${bin}: ${target} is not in the tarball`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'])
    for (const [dep, range] of Object.entries(m[field] ?? {}))
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is still ${range}`);
  if (m.license !== 'Apache-2.0') problems.push(`license is ${m.license}`);
  if (!existsSync(join(dir, 'LICENSE'))) problems.push('no LICENSE file');
  if (!readFileSync(join(dir, 'LICENSE'), 'utf8').includes('Apache License'))
    problems.push('LICENSE is not Apache');
  if (!m.repository?.url || !m.repository?.directory) problems.push('no repository url and directory');
  if (!m.homepage) problems.push('no homepage');
  if (!m.bugs?.url) problems.push('no bugs url');
  if (!m.engines?.node) problems.push('no engines.node');
  if (!existsSync(join(dir, 'README.md'))) problems.push('no README.md');
  if (problems.length > 0) fail(`${name} tarball:\n  ${problems.join('\n  ')}`);
  console.log(`  ${name}: manifest and files ok (exports: ${Object.keys(m.exports).join(', ')})`);
}

const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** A fresh npm project in `dir` with the given dependencies, fixtures copied in, installed. */
function makeProject(dir, fixtureDir, dependencies, devDependencies) {
  cpSync(fixtureDir, dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'cxs-consumer', private: true, type: 'module', dependencies, devDependencies }, null, 2)}\n`,
  );
  run('npm', ['install', ...npmFlags], { cwd: dir });
}

function printTree(dir, title) {
  console.log(`\n--- ${title}: npm ls --all ---`);
  // npm ls exits 1 on peer warnings of third-party packages; the tree is what we want to see.
  process.stdout.write(run('npm', ['ls', '--all'], { cwd: dir, capture: true, allowFailure: true }));
}

/** Every package directory installed anywhere under node_modules, by name. */
function installedNames(dir) {
  const names = new Set();
  const walk = (modules) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const scoped = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((e) => `${entry}/${e}`)
        : [entry];
      for (const name of scoped) {
        names.add(name);
        walk(join(modules, name, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return names;
}

/** Node of another major from the npm registry (the `node` package ships the binary). */
function installNode(major, dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"node-runtime","private":true}\n');
  run('npm', ['install', ...npmFlags, `node@${major}`], { cwd: dir });
  const binary = join(dir, 'node_modules', 'node', 'bin', 'node');
  const version = run(binary, ['--version'], { capture: true }).trim();
  if (!version.startsWith(`v${major}.`)) fail(`node@${major} installed ${version}`);
  return { binary, version };
}

const tmp = mkdtempSync(join(tmpdir(), 'cxs-consumer-'));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  console.log(`packages: ${packages.map((p) => p.manifest.name).join(', ')}`);

  // 1. Build from clean dist/ folders, so no file left by an older layout is packed.
  for (const { dir } of packages) rmSync(join(dir, 'dist'), { recursive: true, force: true });
  run(pnpm[0], [...pnpm.slice(1), 'build']);

  // 2. Pack each package and check what a user would download.
  const tarballDir = join(tmp, 'tarballs');
  mkdirSync(tarballDir);
  const tarballs = new Map();
  for (const { dir, manifest } of packages) {
    const before = new Set(readdirSync(tarballDir));
    run(pnpm[0], [...pnpm.slice(1), 'pack', '--pack-destination', tarballDir], { cwd: dir, capture: true });
    const created = readdirSync(tarballDir).filter((f) => !before.has(f));
    if (created.length !== 1)
      fail(`pnpm pack of ${manifest.name} produced ${created.join(', ') || 'nothing'}`);
    const tarball = join(tarballDir, created[0]);
    checkTarball(manifest.name, tarball, join(tmp, 'unpacked', manifest.name));
    tarballs.set(manifest.name, `file:${tarball}`);
  }
  const required = ['@cxs/core', '@cxs/level', '@cxs/koa', '@cxs/server'];
  for (const name of required) if (!tarballs.has(name)) fail(`package ${name} not found under packages/`);

  const ts = { typescript: rangeOf('typescript') };
  const koaPeers = { koa: rangeOf('koa'), '@koa/router': rangeOf('@koa/router') };

  // 3. The whole set: every package, koa, the Node types; strict type check, run, cxs command.
  const full = join(tmp, 'full');
  makeProject(
    full,
    join(fixtures, 'full'),
    { ...Object.fromEntries(tarballs), ...koaPeers },
    {
      ...ts,
      '@types/node': rangeOf('@types/node'),
    },
  );
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: full });
  console.log('  strict type check of check.ts: ok');

  // 4. Adapter only: no store package, so no LevelDB; the types compile without extra @types.
  const adapter = join(tmp, 'adapter-only');
  makeProject(
    adapter,
    join(fixtures, 'adapter-only'),
    {
      '@cxs/core': tarballs.get('@cxs/core'),
      '@cxs/koa': tarballs.get('@cxs/koa'),
      ...koaPeers,
    },
    ts,
  );
  const names = installedNames(adapter);
  const leveldb = [...names].filter((n) =>
    /(^|\/)(classic-level|level|abstract-level|level-transcoder)$/.test(n),
  );
  if (leveldb.length > 0) fail(`the adapter-only project installed ${leveldb.join(', ')}`);
  const fullNames = installedNames(full);
  if (!fullNames.has('classic-level'))
    fail('the full project has no classic-level: the LevelDB check proves nothing');
  console.log(
    `  adapter-only project: ${names.size} packages installed, none of LevelDB (the full project: ${fullNames.size}, with classic-level)`,
  );
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: adapter });
  console.log('  strict type check of check.ts (adapter only, no @types installed by hand): ok');

  // 5. Run time, under this Node and each other major asked for.
  const runtimes = [{ binary: process.execPath, version: process.version }];
  for (const major of values['also-node']) runtimes.push(installNode(major, join(tmp, `node-${major}`)));
  for (const { binary, version } of runtimes) {
    console.log(`\n--- run time on Node ${version} ---`);
    for (const conditions of [[], ['--conditions=source']]) {
      run(binary, [...conditions, 'run.mjs'], { cwd: full });
      run(binary, [...conditions, 'run.mjs'], { cwd: adapter });
    }
    const help = run(binary, ['node_modules/.bin/cxs', '--help'], { cwd: full, capture: true });
    if (!/serve/.test(help)) fail(`cxs --help printed no commands:\n${help}`);
    console.log('  cxs --help: ok');
  }

  printTree(full, 'every package (@cxs/core, @cxs/level, @cxs/koa, @cxs/server, koa, @koa/router)');
  printTree(adapter, 'adapter only (@cxs/core, @cxs/koa, koa, @koa/router)');
  console.log(
    `\nconsumer test passed on ${runtimes.map((r) => `Node ${r.version}`).join(' and ')} in ${Math.round((Date.now() - started) / 1000)} s`,
  );
} finally {
  cleanup();
}
