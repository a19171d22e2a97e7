/**
 * The Python runtime: a venv at `.kit/runtimes/py/<version>/` with `livekit-agents==<version>`
 * from PyPI plus the shim's dev tools (pytest, ruff), all pinned. The shim itself
 * (`python-shim/closekit_shim`) is not installed into the venv: workers run it with
 * `PYTHONPATH=python-shim`, so editing the shim never needs a rebuild, and `kit verify`'s
 * patches touch only the venv's `site-packages/livekit/agents/`.
 *
 * Build: `uv` (pinned, installed from PyPI into `.kit/tools/uv/<ver>/` with
 * `python3 -m pip install --target`) makes a `--relocatable` venv in `<final>.tmp-<pid>`,
 * installs the pins, writes a completion marker last, then renames to `<final>`. Where uv
 * cannot be installed, `python3 -m venv` + pip builds in place (a stdlib venv's scripts carry
 * absolute paths, so it cannot be moved), still with the marker written last. Either way a
 * directory without the marker is a half-built venv and is deleted before building again.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { KIT_DIR, ROOT, RUNTIMES_DIR } from '../../config.js';
import { KitError } from '../../errors.js';

/** Pinned uv (PyPI `uv`): builds the venvs. */
export const UV_VERSION = '0.9.11';
/** Pinned dev tools installed next to livekit-agents (the shim's tests and lint). */
export const PY_TOOL_PINS = ['pytest==8.3.4', 'ruff==0.8.4'] as const;
/**
 * Provider plugins installed next to livekit-agents, each pinned to the agents version (the
 * plugins are released with the framework: livekit-plugins-deepgram 1.8.9 requires
 * livekit-agents[codecs]>=1.8.9). Used by `providers: deepgram` scenarios (docs/scenarios.md).
 */
export const PY_PLUGIN_PACKAGES = ['livekit-plugins-deepgram'] as const;
/** The import name of each plugin (checked after the install). */
const PY_PLUGIN_MODULES: Record<(typeof PY_PLUGIN_PACKAGES)[number], string> = { 'livekit-plugins-deepgram': 'livekit.plugins.deepgram' };
/** The shim package folder (put on PYTHONPATH by the workers). */
export const PY_SHIM_DIR = join(ROOT, 'python-shim');
/** Written last by a successful build; its absence marks a half-built venv. */
export const PY_MARKER = '.closekit-complete.json';
/** The oldest Python any livekit-agents 1.x accepts (Requires-Python >=3.10 for 1.8.x); newer pins are checked against PyPI. */
const MIN_PYTHON: [number, number] = [3, 10];

/** What ensurePyRuntime returns. All paths absolute. */
export interface PyRuntime {
  /** The venv root. */
  dir: string;
  /** The venv's interpreter (`<dir>/bin/python`). */
  python: string;
  /** The venv's site-packages (where `livekit/agents/` lives; patch target). */
  sitePackages: string;
  /** Known fix-ups applied to this venv (UNDECLARED_DEPS), said in every result of it. */
  fixups?: string[];
}

/** Contents of the completion marker. */
interface PyMarker {
  version: string;
  pins: string[];
  builder: 'uv' | 'venv';
  basePython: string;
  pythonVersion: string;
  sitePackages: string;
  builtAt: string;
  /** Known fix-ups the kit applied to make this release importable (see UNDECLARED_DEPS). */
  fixups?: string[];
  /** Provider plugin pins installed (`livekit-plugins-deepgram==1.8.9`); absent in venvs built before plugins (addPyPlugins adds them). */
  plugins?: string[];
  /** Plugin pins PyPI does not have for this version (that runtime cannot run `providers: deepgram`). */
  pluginsUnpublished?: string[];
}

/**
 * Modules some livekit-agents releases import without declaring them (a packaging bug:
 * e.g. 1.6.x `livekit/agents/inference/llm.py` imports httpx, which its metadata does not
 * list), and the pin the kit installs so the release can be driven. The fix-up is recorded
 * in the venv's marker and in every result of that release, never silent.
 */
export const UNDECLARED_DEPS: Record<string, string> = { httpx: 'httpx==0.28.1' };

/** Default venv folder for a version; `patched` is the copy `kit verify` patches. */
export function pyRuntimeDir(version: string, opts: { patched?: boolean } = {}): string {
  return join(RUNTIMES_DIR, 'py', opts.patched ? `${version}-patched` : version);
}

/** Pinned constraints for a livekit-agents version's dependency tree, when the repo has them (python-shim/constraints/). */
export function pyConstraintsFile(version: string): string | null {
  const f = join(PY_SHIM_DIR, 'constraints', `livekit-agents-${version}.txt`);
  return existsSync(f) ? f : null;
}

function wantedPins(version: string): string[] {
  return [`livekit-agents==${version}`, ...PY_TOOL_PINS];
}

function readMarker(dir: string): PyMarker | null {
  try {
    return JSON.parse(readFileSync(join(dir, PY_MARKER), 'utf8')) as PyMarker;
  } catch {
    return null;
  }
}

/**
 * The base interpreter venvs are made from: `$CLOSEKIT_PYTHON` or `python3` on PATH, resolved
 * to its real `sys.executable` (pyenv's `python3` is a shell shim; a venv must point at the
 * interpreter itself). Throws KitError when missing or older than 3.10.
 */
export async function findBasePython(): Promise<{ python: string; version: string }> {
  const cmd = process.env.CLOSEKIT_PYTHON || 'python3';
  let out: string;
  try {
    out = (await execa(cmd, ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'])).stdout;
  } catch (e) {
    throw new KitError(`cannot run ${cmd}: ${(e as Error).message.split('\n')[0]}`, {
      fix: 'install Python 3.10+ (Debian: apt-get install python3 python3-venv) or set CLOSEKIT_PYTHON',
      cause: e,
    });
  }
  const [python, version] = out.trim().split('\n');
  const [maj, min] = version.split('.').map(Number);
  if (maj < MIN_PYTHON[0] || (maj === MIN_PYTHON[0] && min < MIN_PYTHON[1])) {
    throw new KitError(`${python} is Python ${version}; livekit-agents needs Python >= ${MIN_PYTHON.join('.')}`, {
      fix: 'install a newer Python and point CLOSEKIT_PYTHON at it',
    });
  }
  return { python, version };
}

/**
 * Checks `livekit-agents==<version>` exists on PyPI and accepts `basePython`, with
 * `pip index versions` (once ignoring Requires-Python, once honouring it, so the two
 * failures get different messages). Throws KitError: unknown version, Python too old for
 * that version, or PyPI unreachable.
 */
export async function checkPyPiVersion(version: string, basePython: { python: string; version: string }): Promise<void> {
  const list = async (ignoreRequires: boolean): Promise<string[]> => {
    const args = ['-m', 'pip', 'index', 'versions', 'livekit-agents', '--disable-pip-version-check'];
    if (ignoreRequires) args.push('--ignore-requires-python');
    const r = await execa(basePython.python, args, { reject: false });
    const m = /Available versions: (.*)/.exec(r.stdout);
    if (r.exitCode !== 0 || !m) {
      if (/No matching distribution/.test(r.stderr + r.stdout)) return [];
      throw new KitError(`cannot list livekit-agents versions on PyPI: ${(r.stderr || r.stdout).trim().split('\n').pop()}`, {
        fix: 'check that PyPI is reachable (pip config, proxy), then rerun kit setup',
      });
    }
    return m[1].split(',').map((s) => s.trim());
  };
  const all = await list(true);
  if (!all.includes(version)) {
    throw new KitError(`livekit-agents ${version} does not exist on PyPI (newest: ${all.slice(0, 5).join(', ') || 'none'})`, {
      fix: 'pin an existing version in ts/config.ts (VERSIONS.agentsPy)',
    });
  }
  const usable = await list(false);
  if (!usable.includes(version)) {
    throw new KitError(`livekit-agents ${version} does not support Python ${basePython.version} (${basePython.python}); its Requires-Python excludes it`, {
      fix: 'install a Python that version supports and point CLOSEKIT_PYTHON at it',
    });
  }
}

/**
 * Pinned uv in `.kit/tools/uv/<UV_VERSION>/` (installed once with `pip install --target`
 * into a temp dir, then renamed). Returns the uv executable, or null when pip cannot install
 * it (the caller falls back to `python3 -m venv`).
 */
export async function ensureUv(basePython: string, log: (l: string) => void = () => {}): Promise<string | null> {
  const dir = join(KIT_DIR, 'tools', 'uv', UV_VERSION);
  const bin = join(dir, 'bin', 'uv');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(KIT_DIR, 'tools', 'uv'), { recursive: true });
  log(`installing uv ${UV_VERSION} into ${dir}`);
  const r = await execa(basePython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '--target', tmp, `uv==${UV_VERSION}`], {
    reject: false,
  });
  if (r.exitCode !== 0 || !existsSync(join(tmp, 'bin', 'uv'))) {
    rmSync(tmp, { recursive: true, force: true });
    log(`uv install failed, falling back to python -m venv: ${(r.stderr || '').trim().split('\n').pop()}`);
    return null;
  }
  try {
    renameSync(tmp, dir);
  } catch {
    // another kit process won the race; use its copy
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** `pip index versions <pkg>` with the base Python: the versions PyPI has (empty when none). */
async function pypiVersions(pkg: string, basePython: string): Promise<string[]> {
  const r = await execa(basePython, ['-m', 'pip', 'index', 'versions', pkg, '--disable-pip-version-check'], { reject: false });
  const m = /Available versions: (.*)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) {
    if (/No matching distribution/.test(r.stderr + r.stdout)) return [];
    throw new KitError(`cannot list ${pkg} versions on PyPI: ${(r.stderr || r.stdout).trim().split('\n').pop()}`, { fix: 'check that PyPI is reachable (pip config, proxy), then rerun kit setup' });
  }
  return m[1].split(',').map((s) => s.trim());
}

/** The plugin pins for `version`: those PyPI has, and those it does not. */
async function pyPluginPlan(version: string, basePython: string): Promise<{ pins: string[]; unpublished: string[]; modules: string[] }> {
  const pins: string[] = [];
  const unpublished: string[] = [];
  const modules: string[] = [];
  for (const pkg of PY_PLUGIN_PACKAGES) {
    if ((await pypiVersions(pkg, basePython)).includes(version)) {
      pins.push(`${pkg}==${version}`);
      modules.push(PY_PLUGIN_MODULES[pkg]);
    } else unpublished.push(`${pkg}==${version}`);
  }
  return { pins, unpublished, modules };
}

function writeMarker(dir: string, m: PyMarker): void {
  const tmp = join(dir, `${PY_MARKER}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n');
  renameSync(tmp, join(dir, PY_MARKER));
}

/**
 * Adds the provider plugins (PY_PLUGIN_PACKAGES at `version`) to a complete venv built
 * before them, without ever leaving `dir` half-written. uv venvs (relocatable): copied
 * beside `dir`, `uv pip install livekit-agents==<version> <plugins>` there (agents pinned, so
 * nothing else moves), import-checked, the marker updated, then swapped in (the old copy
 * moved aside first, then removed; a worker already running keeps its open files and finds
 * the same files plus the plugin). A stdlib venv cannot be moved: pip installs in place and
 * the marker, rewritten last by rename, commits it. When PyPI has no plugin for this version
 * only the marker is rewritten (`plugins: []`, `pluginsUnpublished`).
 */
async function addPyPlugins(version: string, dir: string, m: PyMarker, log: (l: string) => void): Promise<PyMarker> {
  const base = await findBasePython();
  const plan = await pyPluginPlan(version, base.python);
  const next: PyMarker = { ...m, plugins: plan.pins, ...(plan.unpublished.length ? { pluginsUnpublished: plan.unpublished } : {}) };
  if (plan.pins.length === 0) {
    writeMarker(dir, next);
    return next;
  }
  const constraints = pyConstraintsFile(version);
  const uv = m.builder === 'uv' ? await ensureUv(base.python, log) : null;
  const parent = join(dir, '..');
  const work = uv ? join(parent, `.tmp-plugins-${version}-${process.pid}`) : dir;
  const old = join(parent, `.old-plugins-${version}-${process.pid}`);
  if (work !== dir) rmSync(work, { recursive: true, force: true });
  const fail = (what: string, r: { stderr?: string; stdout?: string }): never => {
    if (work !== dir) rmSync(work, { recursive: true, force: true });
    throw new KitError(`adding ${plan.pins.join(' ')} to ${dir} failed at ${what}:\n${(r.stderr || r.stdout || '').trim().split('\n').slice(-6).join('\n')}`, {
      fix: 'fix the cause above (network, disk) and rerun; the venv was left as it was',
    });
  };
  log(`adding ${plan.pins.join(' ')} to ${dir}${work !== dir ? ` (built in ${work}, then swapped in)` : ' (in place: stdlib venv)'}`);
  if (work !== dir) cpSync(dir, work, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  const python = join(work, 'bin', 'python');
  const pins = [`livekit-agents==${version}`, ...plan.pins];
  const cargs = constraints ? ['--constraint', constraints] : [];
  const env = { ...process.env, UV_PYTHON_DOWNLOADS: 'never', VIRTUAL_ENV: undefined } as Record<string, string | undefined>;
  const r = uv
    ? await execa(uv, ['pip', 'install', '-q', '--python', python, ...pins, ...cargs], { reject: false, env })
    : await execa(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...pins, ...cargs], { reject: false });
  if (r.exitCode !== 0) fail(uv ? 'uv pip install' : 'pip install', r);
  const check = await execa(python, ['-c', `import livekit.agents as a\n${plan.modules.map((x) => `import ${x}`).join('\n')}\nprint(a.__version__)`], { reject: false });
  if (check.exitCode !== 0 || check.stdout.trim() !== version) fail(`import check (got "${check.stdout.trim()}")`, check);
  writeMarker(work, next);
  if (work !== dir) {
    try {
      rmSync(old, { recursive: true, force: true });
      renameSync(dir, old);
      renameSync(work, dir);
      rmSync(old, { recursive: true, force: true });
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      if (!existsSync(dir) && existsSync(old)) renameSync(old, dir);
      throw new KitError(`cannot swap the venv with plugins into ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
  return next;
}

function sitePackagesOf(dir: string, pyVersion: string): string {
  const [maj, min] = pyVersion.split('.');
  return join(dir, 'lib', `python${maj}.${min}`, 'site-packages');
}

/** The venv's python path for a version (whether or not it is built yet): what `kit where py [--patched]` prints. */
export function wherePy(version: string, opts: { patched?: boolean } = {}): string {
  return join(pyRuntimeDir(version, opts), 'bin', 'python');
}

/**
 * True when `dir` holds a complete venv built for `version` with today's pins (cheap: reads
 * the marker and checks the interpreter exists; no subprocess).
 */
export function isPyRuntimeComplete(version: string, dir: string): boolean {
  const m = readMarker(dir);
  return !!m && m.version === version && JSON.stringify(m.pins) === JSON.stringify(wantedPins(version)) && existsSync(join(dir, 'bin', 'python'));
}

/**
 * Ensures a venv with `livekit-agents==<version>` (+ pinned pytest, ruff, and the provider
 * plugins PY_PLUGIN_PACKAGES at the same version where PyPI has them) exists at
 * `opts.dir` (default `.kit/runtimes/py/<version>/`). Idempotent: a complete venv is reused
 * after a marker check; one built before the plugins gets them added (addPyPlugins: copy,
 * install, swap). A directory without a valid marker (a crashed build, an older pin
 * set) is deleted and rebuilt.
 *
 * Errors (KitError, exit 2): no usable base Python (< 3.10 or missing), the version does not
 * exist on PyPI or excludes this Python, PyPI unreachable, or the install failed (uv/pip's
 * last stderr lines in the message; no half-built venv is left behind).
 */
export async function ensurePyRuntime(
  version: string,
  opts: { dir?: string; log?: (line: string) => void } = {},
): Promise<PyRuntime> {
  const log = opts.log ?? (() => {});
  const dir = opts.dir ?? pyRuntimeDir(version);
  if (!/^\d+\.\d+\.\d+([a-z0-9.]*)$/i.test(version)) {
    throw new KitError(`"${version}" is not a livekit-agents version (expected e.g. 1.8.9)`, { fix: 'set VERSIONS.agentsPy in ts/config.ts' });
  }
  if (isPyRuntimeComplete(version, dir)) {
    let m = readMarker(dir)!;
    if (m.plugins === undefined) m = await addPyPlugins(version, dir, m, log);
    return { dir, python: join(dir, 'bin', 'python'), sitePackages: m.sitePackages, fixups: m.fixups ?? [] };
  }
  if (existsSync(dir)) {
    log(`removing incomplete or outdated venv ${dir}`);
    rmSync(dir, { recursive: true, force: true });
  }

  const base = await findBasePython();
  await checkPyPiVersion(version, base);
  const pins = wantedPins(version);
  const plugins = await pyPluginPlan(version, base.python);
  const constraints = pyConstraintsFile(version);
  mkdirSync(join(dir, '..'), { recursive: true });

  const uv = await ensureUv(base.python, log);
  const fixups: string[] = [];
  // uv: relocatable venv built beside the target, renamed when complete (atomic).
  // stdlib venv: not relocatable, so built in place; the marker (written last) is the commit.
  const buildDir = uv ? `${dir}.tmp-${process.pid}` : dir;
  rmSync(buildDir, { recursive: true, force: true });
  const fail = (what: string, r: { stderr?: string; stdout?: string; message?: string }): never => {
    rmSync(buildDir, { recursive: true, force: true });
    const tail = (r.stderr || r.stdout || r.message || '').trim().split('\n').slice(-6).join('\n');
    throw new KitError(`building the Python runtime ${dir} failed at ${what}:\n${tail}`, {
      fix: 'fix the cause above (network, disk, Python headers) and rerun kit setup; nothing half-built was kept',
    });
  };
  try {
    log(`creating venv ${dir} (livekit-agents ${version}, Python ${base.version}, ${uv ? 'uv' : 'python -m venv'})`);
    if (uv) {
      const env = { ...process.env, UV_PYTHON_DOWNLOADS: 'never', VIRTUAL_ENV: undefined } as Record<string, string | undefined>;
      let r = await execa(uv, ['venv', '-q', '--relocatable', '--python', base.python, buildDir], { reject: false, env });
      if (r.exitCode !== 0) fail('uv venv', r);
      const args = ['pip', 'install', '-q', '--python', join(buildDir, 'bin', 'python'), ...pins, ...plugins.pins];
      if (constraints) args.push('--constraint', constraints);
      r = await execa(uv, args, { reject: false, env });
      if (r.exitCode !== 0) fail('uv pip install', r);
    } else {
      let r = await execa(base.python, ['-m', 'venv', buildDir], { reject: false });
      if (r.exitCode !== 0) fail('python -m venv (Debian: apt-get install python3-venv)', r);
      const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...pins, ...plugins.pins];
      if (constraints) args.push('--constraint', constraints);
      r = await execa(join(buildDir, 'bin', 'python'), args, { reject: false });
      if (r.exitCode !== 0) fail('pip install', r);
    }
    const importCheck = () =>
      execa(join(buildDir, 'bin', 'python'), ['-c', `import livekit.agents as a\n${plugins.modules.map((x) => `import ${x}`).join('\n')}\nprint(a.__version__)`], { reject: false });
    let r = await importCheck();
    // A release that imports a module it does not declare: install the known one, then check again.
    for (let tries = 0; r.exitCode !== 0 && tries < Object.keys(UNDECLARED_DEPS).length; tries++) {
      const missing = /No module named '([\w.]+)'/.exec(r.stderr)?.[1]?.split('.')[0];
      const pin = missing ? UNDECLARED_DEPS[missing] : undefined;
      if (!pin) break;
      log(`livekit-agents ${version} imports ${missing} without declaring it: installing ${pin} (a known fix-up)`);
      const args = uv ? ['pip', 'install', '-q', '--python', join(buildDir, 'bin', 'python'), pin] : ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', pin];
      const fx = uv ? await execa(uv, args, { reject: false }) : await execa(join(buildDir, 'bin', 'python'), args, { reject: false });
      if (fx.exitCode !== 0) fail(`the fix-up install of ${pin}`, fx);
      fixups.push(`installed ${pin}: livekit-agents ${version} imports ${missing} but does not declare it`);
      r = await importCheck();
    }
    if (r.exitCode !== 0 || r.stdout.trim() !== version) fail(`import check (got "${r.stdout.trim()}")`, r);
  } catch (e) {
    if (e instanceof KitError) throw e;
    fail('spawn', e as Error);
  }
  const marker: PyMarker = {
    version,
    pins,
    builder: uv ? 'uv' : 'venv',
    basePython: base.python,
    pythonVersion: base.version,
    sitePackages: sitePackagesOf(dir, base.version),
    builtAt: new Date().toISOString(),
    ...(fixups.length ? { fixups } : {}),
    plugins: plugins.pins,
    ...(plugins.unpublished.length ? { pluginsUnpublished: plugins.unpublished } : {}),
  };
  writeFileSync(join(buildDir, PY_MARKER), JSON.stringify(marker, null, 2) + '\n');
  if (buildDir !== dir) {
    try {
      renameSync(buildDir, dir);
    } catch (e) {
      // a concurrent build finished first: keep its venv if complete
      rmSync(buildDir, { recursive: true, force: true });
      if (!isPyRuntimeComplete(version, dir)) throw new KitError(`cannot move the built venv into ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { dir, python: join(dir, 'bin', 'python'), sitePackages: marker.sitePackages, fixups };
}

/** The fix-ups recorded in a venv's marker (empty when none, or no marker). */
export function pyFixups(dir: string): string[] {
  return readMarker(dir)?.fixups ?? [];
}
