/**
 * Build the patched Python runtime: `.kit/runtimes/py/<version>-patched/`, a copy of the
 * unpatched venv `.kit/runtimes/py/<version>/` (ts/runtimes/py/install.ts `ensurePyRuntime`) with
 * `patches/agents/*.patch` applied to its site-packages (docs/internals.md "Runtimes on disk";
 * docs/fix-agents.md).
 *
 * Path mapping: the patches are in upstream livekit/agents layout,
 * `livekit-agents/livekit/agents/voice/x.py` (plus the regression test at `tests/...`). The
 * wheel installs `livekit/agents/...` into site-packages, so `git apply -p2` (strip `a/` and
 * `livekit-agents/`) relative to site-packages, applied only to the diffs under
 * `livekit-agents/livekit/`; the tests are run from the patch by ts/patch/py-tests.ts.
 *
 * Atomic: the venv is copied to a scratch folder beside the destination, patched there with
 * `applyPatchesAtomic` (which dry-runs every hunk before writing anything), import-checked,
 * and only then renamed into place. On any failure the scratch copy is deleted; the unpatched
 * venv and any earlier patched venv are left as they were. The copy works because the kit's
 * venvs are relocatable (uv `--relocatable`; a stdlib venv's interpreter symlink and
 * `pyvenv.cfg` also survive a move, and the kit only runs `python -m ...`).
 */
import { execa } from 'execa';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PATCHES_DIR } from '../config.js';
import { KitError } from '../errors.js';
import { ensurePyRuntime, pyRuntimeDir, type PyRuntime } from '../runtimes/py/install.js';
import { applyPatchesAtomic } from './apply.js';

/** Marker written into a patched venv: what was applied, for `kit verify`'s report. */
export const PY_PATCHED_MARKER = 'closekit-patched.json';

export interface PatchedPyRuntime extends PyRuntime {
  /** site-packages-relative files the patches changed, e.g. `livekit/agents/voice/agent_session.py`. */
  changedFiles: string[];
  /** The patch files applied, in order (absolute). */
  patches: string[];
}

const VERSION_RE = /^\d+\.\d+\.\d+([a-z0-9.]*)$/i;

/** The livekit-agents patch files, in apply order (`patches/agents/*.patch`, sorted by name). */
export function agentsPyPatches(dir = join(PATCHES_DIR, 'agents')): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Builds (or rebuilds) `.kit/runtimes/py/<version>-patched/` from the unpatched venv.
 *
 * @param version livekit-agents version, e.g. `1.8.9` (VERSIONS.agentsPy).
 * @param opts.patches patch files in apply order (default `agentsPyPatches()`).
 * @param opts.base the unpatched venv to copy (default `ensurePyRuntime(version)`, which
 *   builds it if missing). Only read.
 * @param opts.dest destination folder (default `pyRuntimeDir(version, { patched: true })`).
 * @returns the patched venv: `{ dir, python, sitePackages, changedFiles, patches }`.
 * @throws KitError (exit 2): no patches; a hunk that does not apply (the message names the
 *   patch, the file and the hunk, from `applyPatchesAtomic`); the patched package fails to
 *   import. In every case nothing is left at `dest` that was not there before.
 */
export async function buildPatchedPyRuntime(
  version: string,
  opts: { patches?: string[]; base?: PyRuntime; dest?: string; log?: (line: string) => void } = {},
): Promise<PatchedPyRuntime> {
  if (!VERSION_RE.test(version)) throw new KitError(`livekit-agents version ${JSON.stringify(version)} is not an exact PyPI version`);
  const log = opts.log ?? (() => {});
  const patches = opts.patches ?? agentsPyPatches();
  if (patches.length === 0) throw new KitError(`no patches in ${join(PATCHES_DIR, 'agents')}`, { fix: 'restore patches/agents/*.patch' });
  const base = opts.base ?? (await ensurePyRuntime(version, { log }));
  const dest = opts.dest ?? pyRuntimeDir(version, { patched: true });
  const parent = join(dest, '..');
  const spRel = relative(base.dir, base.sitePackages);
  if (spRel.startsWith('..')) throw new KitError(`site-packages ${base.sitePackages} is not inside the venv ${base.dir}`);

  const tmp = join(parent, `.tmp-${version}-patched-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    log(`copy ${base.dir} -> ${tmp}`);
    // timestamps kept, so the untouched modules' bytecode caches stay valid in the copy
    cpSync(base.dir, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    const sitePackages = join(tmp, spRel);
    const { changedFiles } = await applyPatchesAtomic({ patches, targetDir: sitePackages, strip: 2, include: 'livekit-agents/livekit/' });
    log(`patched ${changedFiles.join(', ')}`);

    // a patch can apply cleanly and still break the package (a bad merge of two patches)
    const python = join(tmp, 'bin', 'python');
    const modules = changedFiles.filter((f) => f.endsWith('.py')).map((f) => f.replace(/\.py$/, '').replace(/\/__init__$/, '').split('/').join('.'));
    const check = await execa(python, ['-c', `import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)`, 'livekit.agents', ...modules], {
      reject: false,
      all: true,
      env: { PYTHONDONTWRITEBYTECODE: '1' },
    });
    if (check.exitCode !== 0) {
      throw new KitError(`the patched livekit-agents ${version} does not import:\n${(check.all ?? '').trim().split('\n').slice(-8).join('\n')}`, {
        fix: 'fix the patch in patches/agents/ (the unpatched venv was not touched)',
      });
    }

    writeFileSync(
      join(tmp, PY_PATCHED_MARKER),
      JSON.stringify({ version, from: base.dir, patches: patches.map((p) => relative(PATCHES_DIR, p)), changedFiles, builtAt: new Date().toISOString() }, null, 2) + '\n',
    );
    // swap into place: an older patched copy is moved aside first, so `dest` is never half-written
    const old = join(parent, `.old-${version}-patched-${process.pid}`);
    rmSync(old, { recursive: true, force: true });
    if (existsSync(dest)) renameSync(dest, old);
    renameSync(tmp, dest);
    rmSync(old, { recursive: true, force: true });
    return { dir: dest, python: join(dest, 'bin', 'python'), sitePackages: join(dest, spRel), changedFiles, patches };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
