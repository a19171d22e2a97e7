/**
 * Build the patched agents-js runtime: `.kit/runtimes/js/<version>-patched/`, a copy of
 * `.kit/runtimes/js/<version>/` (made by ts/runtimes/js/install.ts `ensureJsRuntime`) with
 * `patches/agents-js/*.patch` applied to the package's shipped `src/` and the changed files
 * rebuilt into `dist/` (docs/internals.md, "Runtimes on disk"; docs/fix-agents-js.md).
 *
 * The npm package ships `src/**\/*.ts` next to `dist/`, built by upstream's tsup config
 * (agents-js `tsup.config.ts`: `format: ['cjs', 'esm']`, `bundle: false`, `target: 'node16'`,
 * `sourcemap: true`, `define` of `__PACKAGE_NAME__`/`__PACKAGE_VERSION__`, and a plugin that
 * rewrites relative `.js` specifiers to `.cjs` in the CJS output). We rebuild each changed file
 * the same way with esbuild (what tsup runs), so `import` and `require` both see the fix.
 * Type declarations (`dist/*.d.ts`) are not regenerated: runtime behaviour only.
 */
import { build, type Plugin } from 'esbuild';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PATCHES_DIR, RUNTIMES_DIR } from '../config.js';
import { KitError } from '../errors.js';
import { applyPatchesAtomic } from './apply.js';

/** Written into a patched runtime dir last: what was applied (its presence marks a complete patched copy). */
export const JS_PATCHED_MARKER = 'closekit-patched.json';

export interface PatchedJsRuntime {
  /** The patched npm project, `.kit/runtimes/js/<version>-patched`. */
  dir: string;
  /** `@livekit/agents` package root inside it. */
  agentsRoot: string;
  /** Package-relative paths the patches changed (`src/...`) and the dist files rebuilt from them. */
  changedFiles: string[];
  rebuilt: string[];
}

const VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** The agents-js patch files, in apply order (`patches/agents-js/*.patch`, sorted by name). */
export function agentsJsPatches(dir = join(PATCHES_DIR, 'agents-js')): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => join(dir, f));
}

/** esbuild plugin: tsup's `fix-cjs-imports` (relative `./x.js` → `./x.cjs` in CJS output). */
const fixCjsImports: Plugin = {
  name: 'closekit-fix-cjs-imports',
  setup(b) {
    b.onEnd((result) => {
      for (const file of result.outputFiles ?? []) {
        if (!file.path.endsWith('.cjs')) continue;
        const code = file.text
          .replace(/require\((?<quote>['"])(?<import>\.[^'"]+)\.js['"]\)/g, 'require($<quote>$<import>.cjs$<quote>)')
          .replace(/import\((?<quote>['"])(?<import>\.[^'"]+)\.js['"]\)/g, 'import($<quote>$<import>.cjs$<quote>)')
          .replace(/from(?<space>[\s]*)(?<quote>['"])(?<import>\.[^'"]+)\.js['"]/g, 'from$<space>$<quote>$<import>.cjs$<quote>');
        file.contents = Buffer.from(code);
      }
    });
  },
};

/**
 * Compiles `src/<rel>.ts` of the package at `agentsRoot` into `dist/<rel>.js` (ESM) and
 * `dist/<rel>.cjs` (CJS), with source maps, the way the shipped dist was built.
 * @returns the package-relative dist files written.
 */
export async function rebuildDistFile(agentsRoot: string, srcRel: string): Promise<string[]> {
  if (!srcRel.startsWith('src/') || !srcRel.endsWith('.ts') || srcRel.endsWith('.d.ts')) return [];
  const pkg = JSON.parse(readFileSync(join(agentsRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const base = srcRel.slice('src/'.length, -'.ts'.length);
  const written: string[] = [];
  for (const format of ['esm', 'cjs'] as const) {
    const ext = format === 'esm' ? '.js' : '.cjs';
    const outfile = join(agentsRoot, 'dist', base + ext);
    const r = await build({
      entryPoints: [join(agentsRoot, srcRel)],
      outfile,
      format,
      platform: 'node',
      target: 'node16',
      bundle: false,
      sourcemap: true,
      // upstream tsconfig.json: verbatimModuleSyntax keeps `import {} from 'x'` side effects.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      write: false,
      logLevel: 'silent',
      define: {
        __PACKAGE_NAME__: JSON.stringify(pkg.name),
        __PACKAGE_VERSION__: JSON.stringify(pkg.version),
        // tsup `shims: true`: CJS output reads import.meta.url from a shim (prepended below).
        ...(format === 'cjs' ? { 'import.meta.url': 'importMetaUrl' } : {}),
      },
      plugins: [fixCjsImports],
    });
    for (const file of r.outputFiles) {
      let text = file.text;
      if (format === 'cjs' && file.path.endsWith('.cjs')) {
        if (text.includes('importMetaUrl')) {
          text = `var importMetaUrl = require("url").pathToFileURL(__filename).href;\n${text}`;
        }
        text = `"use strict";\n${text}`;
      }
      const tmp = `${file.path}.closekit-tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, file.path);
      written.push(relative(agentsRoot, file.path));
    }
  }
  return written;
}

/**
 * Builds `.kit/runtimes/js/<version>-patched/` from `.kit/runtimes/js/<version>/`:
 * copies the unpatched project to a temp dir next to it, applies `patches` (default
 * `patches/agents-js/*.patch`, upstream paths `agents/src/...` with `-p2` so they land on the
 * package root's `src/`; `.changeset/` files are skipped), rebuilds every changed `src/*.ts`
 * into `dist/` (ESM `.js` + CJS `.cjs`), then renames the temp dir into place (replacing an
 * older patched copy). The unpatched runtime is never written.
 *
 * @returns `{ dir, agentsRoot, changedFiles, rebuilt }` (absolute dir/agentsRoot).
 * @throws KitError (exit 2): malformed version; the unpatched runtime is missing (run
 *   `kit setup`); a patch does not apply (message names the patch, file and hunk; no patched
 *   dir is created or replaced); esbuild fails on a patched file.
 */
export async function buildPatchedJsRuntime(
  version: string,
  opts: { patches?: string[]; log?: (line: string) => void; /** Folder name under .kit/runtimes/js (default `<version>-patched`). */ destName?: string } = {},
): Promise<PatchedJsRuntime> {
  if (!VERSION_RE.test(version)) throw new KitError(`agents-js version ${JSON.stringify(version)} is not an exact npm version`);
  const parent = join(RUNTIMES_DIR, 'js');
  const src = join(parent, version);
  const destName = opts.destName ?? `${version}-patched`;
  const dest = join(parent, destName);
  const rel = ['node_modules', '@livekit', 'agents'];
  if (!existsSync(join(src, ...rel, 'package.json'))) {
    throw new KitError(`the agents-js runtime ${src} does not exist`, { fix: 'run kit setup first (it installs the unpatched runtime)' });
  }
  const patches = opts.patches ?? agentsJsPatches();
  if (patches.length === 0) throw new KitError(`no patches in ${join(PATCHES_DIR, 'agents-js')}`);

  const tmp = join(parent, `.tmp-${destName}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    opts.log?.(`copy ${src} -> ${tmp}`);
    cpSync(src, tmp, { recursive: true, verbatimSymlinks: true });
    const agentsRoot = join(tmp, ...rel);
    const { changedFiles } = await applyPatchesAtomic({ patches, targetDir: agentsRoot, strip: 2, include: 'agents/src/' });
    opts.log?.(`patched ${changedFiles.join(', ')}`);
    const rebuilt: string[] = [];
    for (const f of changedFiles) {
      try {
        rebuilt.push(...(await rebuildDistFile(agentsRoot, f)));
      } catch (e) {
        throw new KitError(`esbuild failed on patched ${f}: ${(e as Error).message}`, { cause: e });
      }
    }
    writeFileSync(
      join(tmp, JS_PATCHED_MARKER),
      JSON.stringify({ version, patches: patches.map((p) => relative(PATCHES_DIR, p)), changedFiles, rebuilt }, null, 2) + '\n',
    );
    // Swap into place: move an older patched copy aside first so `dest` is never half-written.
    const old = join(parent, `.old-${destName}-${process.pid}`);
    if (existsSync(dest)) renameSync(dest, old);
    renameSync(tmp, dest);
    rmSync(old, { recursive: true, force: true });
    return { dir: dest, agentsRoot: join(dest, ...rel), changedFiles, rebuilt };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
