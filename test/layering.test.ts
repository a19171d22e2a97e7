/**
 * The layering (ts/<folder>/DEPS.list, checked by scripts/check-deps.ts) holds on this
 * tree, refuses an upward import added to a copy of it, and is the table docs/internals.md
 * shows.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../ts/config.js';
import { checkDeps, depsTable, parseDepsList } from '../scripts/check-deps.js';

const copies: string[] = [];
/** A copy of ts/ (the checker reads `<root>/ts`) to break on purpose. */
function copyTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'ck-deps-'));
  cpSync(join(ROOT, 'ts'), join(root, 'ts'), { recursive: true });
  copies.push(root);
  return root;
}
afterEach(() => {
  for (const c of copies.splice(0)) rmSync(c, { recursive: true, force: true });
});

describe('layering', () => {
  it('every import under ts/ is listed in its folder DEPS.list', () => {
    expect(checkDeps(ROOT)).toEqual([]);
  });

  it('a report importing the run (an upward import) is a violation naming the file and the list', () => {
    const root = copyTree();
    appendFileSync(join(root, 'ts/report/html.ts'), "\nexport type { RunOptions } from '../run/index.js';\n");
    const v = checkDeps(root);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ file: 'ts/report/html.ts', specifier: '../run/index.js', target: 'ts/run/index.ts' });
    expect(v[0]!.message).toMatch(/ts\/report\/DEPS\.list does not list it/);
  });

  it('dynamic imports count, and the contract may import nothing of ours, not even a sibling root file', () => {
    const root = copyTree();
    appendFileSync(join(root, 'ts/contract/events.ts'), "\nexport const later = () => import('../config.js');\n");
    appendFileSync(join(root, 'ts/config.ts'), "\nexport const up = () => import('./cli.js');\n");
    const v = checkDeps(root).map((x) => `${x.file} -> ${x.target}`);
    expect(v).toEqual(['ts/config.ts -> ts/cli.ts', 'ts/contract/events.ts -> ts/config.ts']);
  });

  it('job-process code (js-shim) may not reach the host side', () => {
    const root = copyTree();
    appendFileSync(join(root, 'ts/js-shim/entry.ts'), "\nimport '../runtimes/js/install.js';\n");
    expect(checkDeps(root).map((x) => x.file)).toEqual(['ts/js-shim/entry.ts']);
  });

  it('an import in a string or comment is not an import; a folder without DEPS.list is a violation', () => {
    const root = copyTree();
    appendFileSync(join(root, 'ts/verdict/index.ts'), "\n// import '../run/index.js'\nexport const s = \"import { x } from '../run/index.js'\";\n");
    expect(checkDeps(root)).toEqual([]);
    rmSync(join(root, 'ts/verdict/DEPS.list'));
    expect(checkDeps(root)[0]!.message).toMatch(/ts\/verdict\/ has no DEPS\.list/);
  });

  it('a malformed DEPS.list names its line', () => {
    expect(() => parseDepsList('../contract/\n', 'ts/x/DEPS.list')).toThrow(/ts\/x\/DEPS\.list:1: .* outside a section/);
  });

  it('docs/internals.md shows the same table', () => {
    expect(readFileSync(join(ROOT, 'docs/internals.md'), 'utf8')).toContain(depsTable(ROOT));
  });
});
