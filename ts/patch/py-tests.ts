/**
 * Run the fix's Python regression test (`tests/test_forced_close.py`, shipped inside
 * `patches/agents/0001-*.patch` in upstream layout) against a venv, unpatched or patched, and
 * report pass/fail counts (docs/fix-agents.md).
 *
 * The test is taken from the patch itself (`git apply --include='tests/*'` into a scratch
 * folder), so the test the kit runs is byte for byte the one proposed upstream. It is written
 * in upstream's style (the `virtual_time` marker, upstream's shared fakes), so the scratch
 * folder also gets upstream's root `pyproject.toml` (pytest options, markers) and its `tests/`
 * support files (UPSTREAM_PY_TEST_FILES) at config.ts UPSTREAM_COMMITS.agentsPy. pytest and
 * its asyncio plugins at upstream's uv.lock versions (PY_TEST_PINS) are installed once with
 * `pip install --no-deps --target .kit/tools/...` and put first on PYTHONPATH, so the venvs
 * themselves are never modified.
 *
 * Bounded: under virtual time each wedge case fails on its own within seconds of virtual time
 * against an unpatched venv (every wait in the test is bounded), and the whole run is killed
 * at `timeoutMs`.
 */
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KIT_DIR, UPSTREAM_COMMITS } from '../config.js';
import { upstreamFiles } from '../gates/upstream-files.js';
import { KitError } from '../errors.js';
import { agentsPyPatches } from './py.js';

/**
 * pytest and its asyncio plugins at upstream's uv.lock versions (livekit/agents da6af86):
 * upstream's conftest needs pytest-asyncio-concurrent (the `no_concurrent` marker), and
 * pytest-asyncio 1.4 needs pytest >= 8.4 (the venvs carry 8.3).
 */
export const PY_TEST_PINS = ['pytest==9.0.3', 'pytest-asyncio==1.4.0', 'pytest-asyncio-concurrent==0.5.2'] as const;

/**
 * Upstream files the regression test runs with: the root pyproject.toml (its
 * `[tool.pytest.ini_options]`: asyncio mode, markers, `-p tests.concurrency`) and the `tests/`
 * support modules conftest.py imports or the test uses.
 */
export const UPSTREAM_PY_TEST_FILES = [
  'pyproject.toml',
  'tests/__init__.py',
  'tests/conftest.py',
  'tests/concurrency.py',
  'tests/toxic_proxy.py',
  'tests/virtual_time.py',
  'tests/fake_io.py',
  'tests/fake_llm.py',
  'tests/fake_stt.py',
  'tests/fake_tts.py',
  'tests/fake_vad.py',
  'tests/fake_session.py',
] as const;

export interface PyTestCase {
  /** pytest node id, e.g. `tests/test_forced_close.py::test_forced_close_is_bounded[on_exit]`. */
  id: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  /** Seconds, as pytest measured. */
  durationS: number;
  /** First line of the failure, when failed. */
  message?: string;
}

export interface PyTestRun {
  python: string;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  cases: PyTestCase[];
  /** Wall-clock ms of the pytest run. */
  durationMs: number;
  /** pytest's exit code (0 all passed, 1 some failed, others: usage/internal errors). */
  exitCode: number;
}

/** Ensures PY_TEST_PINS in `.kit/tools/pytest-upstream/<pins>/` (a `--target` folder); returns it. */
let installing: Promise<string> | null = null;

export function ensurePytestTools(): Promise<string> {
  // One install per process at a time: two callers in one process shared the temp folder.
  installing ??= installPytestTools().finally(() => {
    installing = null;
  });
  return installing;
}

async function installPytestTools(): Promise<string> {
  const dir = join(KIT_DIR, 'tools', 'pytest-upstream', PY_TEST_PINS.map((p) => p.replace('==', '-')).join('_'));
  if (existsSync(join(dir, 'pytest_asyncio_concurrent'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  // --no-deps: pluggy, iniconfig and packaging come from the venv under test
  const r = await execa('python3', ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', '--target', tmp, ...PY_TEST_PINS], { reject: false, all: true });
  if (r.exitCode !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new KitError(`installing ${PY_TEST_PINS.join(' ')} failed:\n${(r.all ?? '').trim().split('\n').slice(-5).join('\n')}`, { fix: 'check that PyPI is reachable and python3 has pip' });
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // a concurrent install won
  }
  return dir;
}

/**
 * Lays out a fresh scratch folder: upstream's pyproject.toml and tests/ support files, then the
 * patch's `tests/` files on top; returns it (caller removes it).
 */
export async function extractPatchTests(patches: string[]): Promise<string> {
  const support = await upstreamFiles(UPSTREAM_COMMITS.agentsPy, UPSTREAM_PY_TEST_FILES);
  const dir = mkdtempSync(join(tmpdir(), 'closekit-pytests-'));
  for (const f of UPSTREAM_PY_TEST_FILES) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(support, f), join(dir, f));
  }
  for (const patch of patches) {
    const r = await execa('git', ['apply', '-p1', "--include=tests/*", patch], {
      cwd: dir,
      reject: false,
      all: true,
      env: { GIT_CEILING_DIRECTORIES: tmpdir() },
    });
    if (r.exitCode !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new KitError(`cannot extract the tests of ${patch}:\n${r.all}`);
    }
  }
  return dir;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, '\n').replace(/&amp;/g, '&');
}

/** Parses a pytest `--junitxml` report into cases (pytest's own schema: testcase with failure/error/skipped children). */
export function parseJunit(xml: string): PyTestCase[] {
  const cases: PyTestCase[] = [];
  const re = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs = m[1]!;
    const body = m[2] ?? '';
    const attr = (n: string) => unescapeXml(new RegExp(`\\b${n}="([^"]*)"`).exec(attrs)?.[1] ?? '');
    const file = attr('file') || attr('classname').replace(/\./g, '/') + '.py';
    const id = `${file}::${attr('name')}`;
    let status: PyTestCase['status'] = 'passed';
    let message: string | undefined;
    const child = /<(failure|error|skipped)\b([^>]*)>/.exec(body);
    if (child) {
      status = child[1] === 'failure' ? 'failed' : (child[1] as 'error' | 'skipped');
      const msg = /\bmessage="([^"]*)"/.exec(child[2]!)?.[1];
      message = msg ? unescapeXml(msg).split('\n')[0] : undefined;
    }
    cases.push({ id, status, durationS: Number(attr('time')) || 0, ...(message ? { message } : {}) });
  }
  return cases;
}

/**
 * Runs pytest with the venv interpreter `python` on `testDir`, with upstream's pytest options
 * (its pyproject.toml in `testDir`), and returns the parsed outcome.
 *
 * @throws KitError when pytest cannot run at all (exit code other than 0/1, e.g. import errors
 *   during collection are reported as errors, not thrown) or exceeds `timeoutMs`.
 */
export async function runPytest(python: string, testDir: string, opts: { args?: string[]; timeoutMs?: number } = {}): Promise<PyTestRun> {
  const pluginDir = await ensurePytestTools();
  const junit = join(testDir, '.closekit-junit.xml');
  const started = Date.now();
  const r = await execa(
    python,
    [
      '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--rootdir', testDir,
      `--junitxml=${junit}`, ...(opts.args ?? ['tests/test_forced_close.py']),
    ],
    {
      cwd: testDir,
      reject: false,
      all: true,
      timeout: opts.timeoutMs ?? 300_000,
      env: { PYTHONPATH: pluginDir, PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  const durationMs = Date.now() - started;
  if (r.timedOut) throw new KitError(`pytest with ${python} did not finish within ${(opts.timeoutMs ?? 300_000) / 1000}s`);
  if (!existsSync(junit) || (r.exitCode !== 0 && r.exitCode !== 1)) {
    throw new KitError(`pytest with ${python} could not run (exit ${r.exitCode}):\n${(r.all ?? '').trim().split('\n').slice(-12).join('\n')}`);
  }
  const cases = parseJunit(readFileSync(junit, 'utf8'));
  const count = (s: PyTestCase['status']) => cases.filter((c) => c.status === s).length;
  return { python, passed: count('passed'), failed: count('failed'), errors: count('error'), skipped: count('skipped'), cases, durationMs, exitCode: r.exitCode ?? -1 };
}

/**
 * Runs the fix's regression test (`tests/test_forced_close.py` from the patches) with the venv
 * interpreter `python`. Expected: every case passes on the patched venv and fails on the
 * unpatched one (the wedge cases by a bounded wait in virtual time, the option case with a
 * TypeError for the unknown keyword).
 *
 * @param python a venv interpreter (`PyRuntime.python`).
 * @param opts.patches patch files to take the tests from (default `agentsPyPatches()`).
 * @returns counts and per-case outcomes; never throws on test failures, only when pytest
 *   cannot run (KitError).
 */
export async function runPyRegression(python: string, opts: { patches?: string[]; timeoutMs?: number } = {}): Promise<PyTestRun> {
  const patches = opts.patches ?? agentsPyPatches();
  if (patches.length === 0) throw new KitError('no patches in patches/agents');
  const dir = await extractPatchTests(patches);
  try {
    return await runPytest(python, dir, { timeoutMs: opts.timeoutMs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
