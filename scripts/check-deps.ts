/**
 * The layering check (Playwright's DEPS.list + check_deps.js is the model): every folder
 * under ts/ has a DEPS.list naming what its files may import; an import outside it, or a
 * folder without one, is a violation. Imports are read with TypeScript's own
 * `preProcessFile` (static and dynamic imports and re-exports; never strings or comments).
 *
 * DEPS.list format, one entry per line, `#` comments:
 *   [*]            the section for every file of the folder (the default section)
 *   [cli.ts]       a section for one file, added to `[*]`
 *   ../contract/   a folder: any file under it
 *   ../config.ts   one file
 *   **             anything under ts/ (composition roots only)
 * Files of the same folder may always import each other, except in ts/ itself (there every
 * import is listed); packages (`node:*`, npm) are not checked.
 *
 * Usage: `tsx scripts/check-deps.ts [root]` prints the violations and exits 1 when there
 * are any; `--table` prints the markdown table docs/internals.md carries.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface Violation {
  /** The importing file, relative to the root (e.g. `ts/report/html.ts`). */
  file: string;
  /** The import as written. */
  specifier: string;
  /** What it resolves to, relative to the root. */
  target: string;
  /** Why it is refused, with the fix. */
  message: string;
}

interface DepsList {
  /** Section name (`*` or a file name) → entries, as written. */
  sections: Map<string, string[]>;
}

/** Parses a DEPS.list. @throws Error naming the line on an entry outside any section. */
export function parseDepsList(text: string, file = 'DEPS.list'): DepsList {
  const sections = new Map<string, string[]>();
  let current: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      current = m[1]!;
      if (!sections.has(current)) sections.set(current, []);
      return;
    }
    if (current === null) throw new Error(`${file}:${i + 1}: "${line}" is outside a section; start the file with [*]`);
    sections.get(current)!.push(line);
  });
  return { sections };
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `./x.js` → the `.ts` file it names (tsx/NodeNext convention), else the path as resolved. */
function resolveImport(from: string, spec: string): string {
  const abs = resolve(dirname(from), spec);
  if (abs.endsWith('.js') && existsSync(abs.slice(0, -3) + '.ts')) return abs.slice(0, -3) + '.ts';
  return abs;
}

/** Relative imports of one file (static, dynamic, re-exports, `import type`). */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('./') || s.startsWith('../'));
}

function allowed(entry: string, folder: string, tsRoot: string, target: string): boolean {
  if (entry === '**') return target.startsWith(tsRoot + sep);
  const abs = resolve(folder, entry);
  return entry.endsWith('/') ? target.startsWith(abs + sep) : target === abs;
}

/**
 * Checks every file under `<root>/ts` against its folder's DEPS.list.
 * @param root the repository root (default: this repository).
 * @returns the violations, empty when the layering holds.
 */
export function checkDeps(root = resolve(dirname(fileURLToPath(import.meta.url)), '..')): Violation[] {
  const tsRoot = join(root, 'ts');
  const out: Violation[] = [];
  const lists = new Map<string, DepsList | null>();
  const listOf = (folder: string): DepsList | null => {
    if (!lists.has(folder)) {
      const f = join(folder, 'DEPS.list');
      lists.set(folder, existsSync(f) ? parseDepsList(readFileSync(f, 'utf8'), relative(root, f)) : null);
    }
    return lists.get(folder)!;
  };
  for (const file of tsFiles(tsRoot)) {
    const folder = dirname(file);
    const rel = relative(root, file);
    const deps = listOf(folder);
    for (const spec of importsOf(file)) {
      const target = resolveImport(file, spec);
      // Files of one folder are one unit; ts/ itself is not (its leaves must not import its roots).
      if (dirname(target) === folder && folder !== tsRoot) continue;
      const relTarget = relative(root, target);
      if (!deps) {
        out.push({ file: rel, specifier: spec, target: relTarget, message: `${relative(root, folder)}/ has no DEPS.list: add one naming what its files may import` });
        continue;
      }
      const entries = [...(deps.sections.get('*') ?? []), ...(deps.sections.get(file.slice(folder.length + 1)) ?? [])];
      if (!entries.some((e) => allowed(e, folder, tsRoot, target))) {
        out.push({ file: rel, specifier: spec, target: relTarget, message: `${rel} may not import ${relTarget} (${relative(root, join(folder, 'DEPS.list'))} does not list it): import from a lower layer, or move the shared part down (types that cross a boundary live in ts/contract/)` });
      }
    }
  }
  return out;
}

/** The markdown table of every DEPS.list (folder, its `[*]` entries, per-file additions), for docs/internals.md. */
export function depsTable(root = resolve(dirname(fileURLToPath(import.meta.url)), '..')): string {
  const tsRoot = join(root, 'ts');
  const folders = [tsRoot, ...tsFiles(tsRoot).map(dirname)].filter((f, i, a) => a.indexOf(f) === i).sort();
  const rows = ['| folder | may import | per file |', '|---|---|---|'];
  for (const folder of folders) {
    const f = join(folder, 'DEPS.list');
    if (!existsSync(f)) continue;
    const deps = parseDepsList(readFileSync(f, 'utf8'));
    const fmt = (es: string[]) => (es.length ? es.map((e) => `\`${e}\``).join(', ') : 'nothing of ours');
    const extra = [...deps.sections].filter(([k]) => k !== '*').map(([k, es]) => `\`${k}\`: ${fmt(es)}`).join('; ');
    rows.push(`| \`${relative(root, folder)}/\` | ${fmt(deps.sections.get('*') ?? [])} | ${extra || ''} |`);
  }
  return rows.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const root = args.find((a) => !a.startsWith('--'));
  if (args.includes('--table')) {
    console.log(depsTable(root));
  } else {
    const v = checkDeps(root);
    for (const x of v) console.error(`${x.file}: import '${x.specifier}': ${x.message}`);
    console.error(v.length ? `${v.length} layering violation(s)` : 'layering: every import is listed in its DEPS.list');
    process.exitCode = v.length ? 1 : 0;
  }
}
