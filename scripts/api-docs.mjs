#!/usr/bin/env node
// API reference from the TSDoc of every package under packages/ (TypeDoc), written to docs/api/.
// Entry points are the package's public exports, read from each package.json (the `source`
// condition that names the TypeScript file of each subpath), so a new package is documented as
// soon as it lands. Warnings fail the build (treatWarningsAsErrors): broken {@link}s, types
// referenced but not exported.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, ReflectionKind } from 'typedoc';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = join(root, 'docs', 'api');

/** Entry file (absolute) → documented module name, e.g. `@cxs/core/memory`. */
const modules = new Map();
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const manifest = join(root, 'packages', dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (pkg.private) continue;
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const source = typeof target === 'object' ? target.source : undefined;
    if (typeof source !== 'string') {
      throw new Error(`${pkg.name}: export '${subpath}' has no 'source' condition to document`);
    }
    const name = subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`;
    modules.set(resolve(root, 'packages', dir, source), name);
  }
}

rmSync(out, { recursive: true, force: true });
const app = await Application.bootstrapWithPlugins({
  name: 'cxs',
  entryPoints: [...modules.keys()],
  tsconfig: join(root, 'tsconfig.json'),
  out,
  readme: 'none',
  treatWarningsAsErrors: true,
  excludePrivate: true,
  excludeInternal: true,
  sort: ['kind', 'instance-first', 'alphabetical-ignoring-documents'],
  gitRevision: 'main',
  sourceLinkTemplate: 'https://github.com/cxs-project/cxs/blob/{gitRevision}/{path}#L{line}',
});
const project = await app.convert();
if (!project) throw new Error('TypeDoc could not convert the project');
for (const child of project.children ?? []) {
  if (!child.kindOf(ReflectionKind.Module)) continue;
  const name = modules.get(child.sources?.[0]?.fullFileName ?? '');
  if (name) child.name = name;
}
app.validate(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) process.exit(1);
await app.generateOutputs(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) process.exit(1);
console.log(`API reference of ${modules.size} entry points in ${relative(root, out)}/`);
