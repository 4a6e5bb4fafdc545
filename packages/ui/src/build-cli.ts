/** `node dist/lib/build-cli.js`: write the bundled page to `dist/page` (run by `pnpm build`). */
import { buildPage } from './build.js';
import { PAGE_DIR } from './paths.js';

const files = await buildPage({ outDir: PAGE_DIR });
let bytes = 0;
for (const file of files.values()) bytes += file.body.length;
process.stdout.write(`journey page: ${files.size} files, ${Math.round(bytes / 1024)} KiB in ${PAGE_DIR}\n`);
