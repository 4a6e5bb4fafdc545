/**
 * File export safety (docs/spec.md §8.2): each tenant's files under `<export dir>/<tenant id>/`; files
 * written under temporary names (none left after an export); leftovers of a dead process removed;
 * CSV cells that a spreadsheet would run as a formula escaped as OWASP recommends.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../src/export/csv.js';
import { removeExportLeftovers } from '../src/index.js';
import { startServer, type TestServer } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxs-export-safety-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const Q = 'time_from=2021-01-01T00:00:00Z&time_to=2022-01-01T00:00:00Z';

describe('multi-tenant file export (docs/spec.md §8.2)', () => {
  let t: TestServer;
  const exportDir = () => join(dir, 'tenants');
  beforeAll(async () => {
    t = await startServer({
      exportDir: exportDir(),
      tenants: [
        { id: 't1', name: 'One' },
        { id: '../evil', name: 'Evil' },
      ],
    });
  });
  afterAll(() => t.close());

  it('files go under <export dir>/<tenant id>/, the id encoded so it cannot leave the directory', async () => {
    const one = await t.req('POST', `/maintenance/services/files?${Q}`, undefined, {
      ContactCenterId: 'One',
    });
    expect(one.status).toBe(200);
    for (const p of one.json.created as string[]) expect(dirname(p)).toBe(join(exportDir(), 't1'));
    const evil = await t.req('POST', `/maintenance/services/files?${Q}`, undefined, {
      ContactCenterId: 'Evil',
    });
    expect(evil.status).toBe(200);
    for (const p of evil.json.created as string[]) expect(dirname(p)).toBe(join(exportDir(), '..%2Fevil'));
    expect((await readdir(exportDir())).sort()).toEqual(['..%2Fevil', 't1']);
  });
});

describe('temporary names (docs/spec.md §8.2)', () => {
  it('a finished export leaves only its three final files', async () => {
    const exportDir = join(dir, 'single');
    const t = await startServer({ exportDir });
    try {
      await t.req('POST', '/services/start', { contact_key: 'k', timestamp: '2021-05-01T00:00:00Z' });
      const r = await t.req('POST', `/maintenance/services/files?${Q}&format=csv`);
      expect(r.status).toBe(200);
      expect((await readdir(exportDir)).sort()).toEqual(
        (r.json.created as string[]).map((p) => p.slice(exportDir.length + 1)).sort(),
      );
    } finally {
      await t.close();
    }
  });

  it('removeExportLeftovers removes partial files of dead processes only, in the directory and tenant directories', async () => {
    const root = join(dir, 'leftovers');
    await mkdir(join(root, 'tenant'), { recursive: true });
    // A pid that is certainly not running: above the kernel's pid_max.
    const dead = 2 ** 22 + 1;
    const deadFiles = [
      join(root, `export20240101_000000_000_services.json.${dead}.partial`),
      join(root, 'tenant', `export20240101_000000_000_tasks.csv.${dead}.partial`),
    ];
    const kept = [
      join(root, `export20240101_000000_000_states.json.${process.pid}.partial`),
      join(root, 'export20240101_000000_000_services.json'),
      join(root, 'notes.partial'),
    ];
    for (const p of [...deadFiles, ...kept]) await writeFile(p, '[');
    expect((await removeExportLeftovers(root)).sort()).toEqual(deadFiles.sort());
    expect((await readdir(root)).sort()).toEqual(
      [...kept.map((p) => p.slice(root.length + 1)), 'tenant'].sort(),
    );
    expect(await readdir(join(root, 'tenant'))).toEqual([]);
    expect(await removeExportLeftovers(join(root, 'missing'))).toEqual([]);
  });
});

describe('CSV formula injection (OWASP)', () => {
  it('cells starting with = + - @ tab or CR are prefixed with a quote and quoted; numbers are not', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1+1')).toBe(`"'+1+1"`);
    expect(csvCell('-2+3')).toBe(`"'-2+3"`);
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvCell('\tcmd')).toBe(`"'\tcmd"`);
    expect(csvCell('\rcmd')).toBe(`"'\rcmd"`);
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('a formula in a contact key or an extension is escaped in the exported file', async () => {
    const exportDir = join(dir, 'csv');
    const t = await startServer({ exportDir });
    try {
      await t.req('POST', '/services/start', {
        contact_key: '=cmd|"/c calc"!A1',
        timestamp: '2021-05-01T00:00:00Z',
      });
      const r = await t.req('POST', `/maintenance/services/files?${Q}&format=csv`);
      const text = await readFile((r.json.created as string[])[0] as string, 'utf8');
      expect(text).toContain(`"'=cmd|""/c calc""!A1"`);
      expect(text).not.toMatch(/(^|,)=cmd/m);
    } finally {
      await t.close();
    }
  });
});
