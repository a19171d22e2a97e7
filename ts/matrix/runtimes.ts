/**
 * The runtime axis as data (gRPC's tools/interop_matrix/client_matrix.py is the model):
 * one entry per runtime with everything the matrix does differently for it. Nothing else
 * in the kit branches on the runtime; a new way to run a worker (a container, another
 * version scheme) is one more entry or one option of an entry, not a new branch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VERSIONS } from '../config.js';
import { RUNTIME_NAMES, type Candidate, type Runtime, type RuntimeInstall, type Variant } from '../contract/results.js';
import { KitError } from '../errors.js';
import { buildJsCandidate } from '../fix/js.js';
import { buildPyCandidate } from '../fix/py.js';
import type { FixSource } from '../fix/source.js';
import { agentsJsPatches, buildPatchedJsRuntime, JS_PATCHED_MARKER } from '../patch/js.js';
import { agentsPyPatches, buildPatchedPyRuntime, PY_PATCHED_MARKER } from '../patch/py.js';
import { agentsRootOf, ensureJsRuntime, isJsRuntimeComplete, jsRuntimeDir, publishedJsVersions, startJsWorker } from '../runtimes/js/index.js';
import { ensurePyRuntime, isPyRuntimeComplete, publishedPyVersions, pyRuntimeDir, startPyWorker, wherePy } from '../runtimes/py/index.js';
import { containerEngine, imageForVenv, startPyContainerWorker } from '../runtimes/py/container.js';
import type { WorkerChild, WorkerOptions, WorkerSpawner } from '../runtimes/worker.js';
import { jsUpstreamChecks, pyUpstreamChecks, type UpstreamPart } from './upstream.js';

export interface RuntimeEntry {
  id: Runtime;
  /** How messages and reports name it (contract RUNTIME_NAMES). */
  label: string;
  /** The version `kit repro` runs by default (config.ts VERSIONS). */
  defaultVersion: string;
  /**
   * Installs (or reuses) the release `version` unpatched.
   * @throws KitError (exit 2) for a version that does not exist or cannot be installed.
   */
  install(version: string): Promise<RuntimeInstall>;
  /**
   * Builds the patched install of `version` from `patches/` (the unpatched one first).
   * @throws KitError (exit 2) naming the hunk when a patch does not apply; the install is left untouched.
   */
  patch(version: string): Promise<RuntimeInstall>;
  /**
   * The install a fix source makes of `version` (ts/fix/source.ts: a patch file, a checkout,
   * a git ref, a published version, or patches/), and how the reports name it.
   * @throws KitError (exit 2) when it cannot be built; nothing half-built is left.
   */
  candidate(version: string, source: FixSource, log?: (l: string) => void): Promise<{ install: RuntimeInstall; candidate: Candidate }>;
  /** closekit's own patches/ as a fix source. */
  ownPatches(): FixSource;
  /** How its worker runs from an install on the host (results.json `worker.mode`). */
  hostMode: 'venv' | 'npm';
  /** The install with its worker in a container image (built when missing); absent where the runtime has no container worker. */
  containerize?(install: RuntimeInstall, log?: (l: string) => void): Promise<RuntimeInstall>;
  /** The published releases, oldest first (what version ranges and bisect walk). */
  releases(): Promise<string[]>;
  /** Starts this install's worker through `sup` (inside the run's namespace). */
  startWorker(sup: WorkerSpawner, install: RuntimeInstall, o: WorkerOptions): WorkerChild;
  /** Upstream's own tests and the regression test, unpatched vs patched. Slow: minutes. */
  upstreamTests(unpatched: RuntimeInstall, patched: RuntimeInstall, source: FixSource, log?: (l: string) => void): Promise<UpstreamPart>;
  /**
   * What `kit where <id> [--patched]` prints: the package root (js) or the venv python (py)
   * of an install that exists. Reads only: never installs or rebuilds (a running worker may
   * be using those files).
   * @throws KitError (exit 2) naming the command that builds it when it does not exist.
   */
  where(version: string, variant: Variant): string;
}

/** The command that builds a missing install: setup for the pins, a repro for another version. */
function notBuilt(runtime: Runtime, version: string, variant: Variant, dir: string): KitError {
  const pinned = version === RUNTIMES[runtime].defaultVersion;
  const build = pinned ? (variant === 'patched' ? 'kit setup --patched' : 'kit setup') : `kit ${variant === 'patched' ? 'verify' : 'repro'} -r ${runtime} --${runtime}-version ${version}`;
  return new KitError(`${RUNTIME_NAMES[runtime].long} ${version}${variant === 'patched' ? ' (patched)' : ''} is not built (${dir})`, { fix: `run \`${build}\`, which builds it` });
}

const install = (runtime: Runtime, variant: Variant, version: string, location: string): RuntimeInstall => ({ runtime, variant, version, location });

export const RUNTIMES: Record<Runtime, RuntimeEntry> = {
  js: {
    id: 'js',
    label: RUNTIME_NAMES.js.short,
    defaultVersion: VERSIONS.agentsJs,
    async install(version) {
      return install('js', 'unpatched', version, (await ensureJsRuntime(version)).dir);
    },
    async patch(version) {
      await ensureJsRuntime(version);
      return install('js', 'patched', version, (await buildPatchedJsRuntime(version)).dir);
    },
    candidate: (version, source, log) => buildJsCandidate(version, source, log),
    releases: () => publishedJsVersions(),
    hostMode: 'npm',
    ownPatches: () => ({ kind: 'patches', files: agentsJsPatches() }),
    startWorker: (sup, inst, o) => startJsWorker(sup, { runtimeDir: inst.location, ...o }),
    upstreamTests: (u, p, source, log) => jsUpstreamChecks(agentsRootOf(u.location), agentsRootOf(p.location), source, log),
    where(version, variant) {
      const dir = jsRuntimeDir(version, { patched: variant === 'patched' });
      const built = isJsRuntimeComplete(dir, version) && (variant === 'unpatched' || existsSync(join(dir, JS_PATCHED_MARKER)));
      if (!built) throw notBuilt('js', version, variant, dir);
      return agentsRootOf(dir);
    },
  },
  py: {
    id: 'py',
    label: RUNTIME_NAMES.py.long,
    defaultVersion: VERSIONS.agentsPy,
    async install(version) {
      const r = await ensurePyRuntime(version);
      return { ...install('py', 'unpatched', version, r.python), ...(r.fixups?.length ? { notes: r.fixups } : {}) };
    },
    async patch(version) {
      return install('py', 'patched', version, (await buildPatchedPyRuntime(version)).python);
    },
    candidate: (version, source, log) => buildPyCandidate(version, source, log),
    releases: () => publishedPyVersions(),
    hostMode: 'venv',
    async containerize(inst, log) {
      const engine = await containerEngine();
      if (!engine) throw new KitError('--py-worker container needs podman or docker', { fix: 'kit setup --only container (apt-get install -y podman runc debootstrap)' });
      const img = await imageForVenv(inst.location, inst.variant, log);
      return { ...inst, container: { image: img.image, imageId: img.imageId, engine: engine.bin } };
    },
    ownPatches: () => ({ kind: 'patches', files: agentsPyPatches() }),
    // One option of the Python entry, not another runtime: the same worker, in an image.
    startWorker: (sup, inst, o) =>
      inst.container ? startPyContainerWorker(sup, { python: inst.location, ...o, image: inst.container.image, engine: inst.container.engine }) : startPyWorker(sup, { python: inst.location, ...o }),
    upstreamTests: (u, p, source, log) => pyUpstreamChecks(u.location, p.location, source, log),
    where(version, variant) {
      const dir = pyRuntimeDir(version, { patched: variant === 'patched' });
      const built = isPyRuntimeComplete(version, dir) && (variant === 'unpatched' || existsSync(join(dir, PY_PATCHED_MARKER)));
      if (!built) throw notBuilt('py', version, variant, dir);
      return wherePy(version, { patched: variant === 'patched' });
    },
  },
};

/** The install of `runtime` × `variant` × `version`, installing or building it when missing. */
export function resolveInstall(runtime: Runtime, variant: Variant, version: string): Promise<RuntimeInstall> {
  const entry = RUNTIMES[runtime];
  return variant === 'patched' ? entry.patch(version) : entry.install(version);
}
