/**
 * A livekit-agents candidate as a venv (`.kit/runtimes/py/<name>/`, the layout
 * ensurePyRuntime makes), from any fix source (ts/fix/source.ts). A checkout is installed
 * the way upstream's package installs: `uv pip install <checkout>/livekit-agents` (a wheel
 * built from the tree by its own build backend, uncommitted edits included) into a copy of
 * the baseline venv: what the tree declares is resolved, everything else stays the release's.
 */
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { RUNTIMES_DIR } from '../config.js';
import type { Candidate, RuntimeInstall } from '../contract/results.js';
import { KitError } from '../errors.js';
import { buildPatchedPyRuntime, PY_PATCHED_MARKER } from '../patch/py.js';
import { ensurePyRuntime, ensureUv, findBasePython, PY_MARKER } from '../runtimes/py/index.js';
import { cloneAtRef } from './checkout.js';
import { describeCandidate, resolveCheckout, type FixSource } from './source.js';

type Log = (line: string) => void;

/**
 * The candidate's venv for `version` (the unpatched baseline) from `source`.
 * @throws KitError (exit 2) when it cannot be built; nothing half-built is left in .kit/.
 */
export async function buildPyCandidate(version: string, source: FixSource, log: Log = () => {}): Promise<{ install: RuntimeInstall; candidate: Candidate }> {
  const done = (python: string, v: string, candidate: Candidate) => ({ install: { runtime: 'py' as const, variant: 'patched' as const, version: v, ...(v !== version ? { baseVersion: version } : {}), location: python }, candidate });
  switch (source.kind) {
    case 'patches': {
      const r = await buildPatchedPyRuntime(version, { patches: source.files, log });
      return done(r.python, version, describeCandidate('py', source));
    }
    case 'patch': {
      const r = await buildPatchedPyRuntime(version, { patches: [source.file], log, dest: join(RUNTIMES_DIR, 'py', `${version}-fix-${source.sha256.slice(0, 12)}`) });
      return done(r.python, version, describeCandidate('py', source));
    }
    case 'version': {
      const r = await ensurePyRuntime(source.version, { log });
      return done(r.python, source.version, describeCandidate('py', source));
    }
    case 'git': {
      const { dir, commit } = await cloneAtRef(source.url, source.ref, log);
      const co = await resolveCheckout('py', dir);
      const built = await buildPyCheckout(version, co.dir, `git-${commit.slice(0, 12)}-on-${version}`, log);
      return done(built.python, built.version, describeCandidate('py', source, { commit, builtVersion: built.version }));
    }
    case 'checkout': {
      const built = await buildPyCheckout(version, source.dir, `co-${source.key}-on-${version}`, log);
      return done(built.python, built.version, describeCandidate('py', source, { builtVersion: built.version }));
    }
  }
}

/** `__version__` of a livekit-agents tree (livekit/agents/version.py). */
function treeVersion(dir: string): string {
  const m = /__version__\s*=\s*["']([^"']+)["']/.exec(readFileSync(join(dir, 'livekit-agents', 'livekit', 'agents', 'version.py'), 'utf8'));
  if (!m) throw new KitError(`${dir}/livekit-agents/livekit/agents/version.py names no __version__`, { fix: 'pass the root of a livekit/agents clone' });
  return m[1]!;
}

/**
 * Installs the checkout's livekit-agents into a copy of the `version` venv, as
 * `.kit/runtimes/py/fix-<key>/` (reused when complete).
 * @throws KitError (exit 2) with uv's output tail when the install or the import check fails.
 */
export async function buildPyCheckout(version: string, dir: string, key: string, log: Log = () => {}): Promise<{ python: string; version: string }> {
  const builtVersion = treeVersion(dir);
  const dest = join(RUNTIMES_DIR, 'py', `fix-${key}`);
  const python = join(dest, 'bin', 'python');
  if (existsSync(join(dest, PY_PATCHED_MARKER)) && existsSync(python)) return { python, version: builtVersion };
  const base = await ensurePyRuntime(version, { log });
  const uv = await ensureUv((await findBasePython()).python, log);
  if (!uv) throw new KitError('uv is needed to build a livekit-agents checkout and could not be installed', { fix: 'check that pip can reach PyPI' });
  const tmp = join(RUNTIMES_DIR, 'py', `.tmp-fix-${key}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    log(`copy ${base.dir} -> ${tmp}`);
    cpSync(base.dir, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    log(`uv pip install ${dir}/livekit-agents`);
    const r = await execa(uv, ['pip', 'install', '-q', '--reinstall-package', 'livekit-agents', '--python', join(tmp, 'bin', 'python'), join(dir, 'livekit-agents')], {
      reject: false,
      all: true,
      env: { ...process.env, UV_PYTHON_DOWNLOADS: 'never', VIRTUAL_ENV: undefined } as Record<string, string | undefined>,
      timeout: 15 * 60_000,
    });
    if (r.exitCode !== 0) throw new KitError(`installing the livekit-agents checkout ${dir} failed:\n${(r.all ?? '').trim().split('\n').slice(-10).join('\n')}`, { fix: 'fix the cause above in the checkout (the baseline venv is untouched)' });
    const check = await execa(join(tmp, 'bin', 'python'), ['-c', 'import livekit.agents as a; print(a.__version__)'], { reject: false, all: true });
    if (check.exitCode !== 0) throw new KitError(`the livekit-agents checkout ${dir} does not import:\n${(check.all ?? '').trim().split('\n').slice(-8).join('\n')}`, { fix: 'fix the checkout' });
    // The copy keeps the baseline's completion marker; say what it now holds.
    const marker = JSON.parse(readFileSync(join(tmp, PY_MARKER), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(tmp, PY_MARKER), JSON.stringify({ ...marker, candidate: { key, from: dir, version: check.stdout.trim() } }, null, 2) + '\n');
    writeFileSync(join(tmp, PY_PATCHED_MARKER), JSON.stringify({ version: builtVersion, from: 'checkout', key, builtAt: new Date().toISOString() }, null, 2) + '\n');
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
    return { python, version: builtVersion };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
