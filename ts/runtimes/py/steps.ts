/**
 * SetupStep for the pinned Python runtime (ts/steps.ts contract): `kit doctor` reports it,
 * `kit setup` builds the venv `.kit/runtimes/py/<VERSIONS.agentsPy>/` (ts/runtimes/py/install.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { VERSIONS } from '../../config.js';
import type { SetupStep, StepStatus } from '../../steps.js';
import { containerEngine, ensureWorkerImage, IMAGE_REPO, workerImageTag } from './container.js';
import { ensurePyRuntime, isPyRuntimeComplete, pyRuntimeDir, PY_SHIM_DIR } from './install.js';

/**
 * The step for `livekit-agents==version` (default: the pin). `check()` reads the venv's
 * completion marker and imports `livekit.agents` and the shim with the venv's python
 * (about 1 s), reporting the version found.
 */
export function pyRuntimeStep(version: string = VERSIONS.agentsPy): SetupStep {
  return {
    name: `livekit-agents ${version} (Python venv)`,
    pinned: version,
    required: true,
    fix: 'kit setup',
    feature: 'py',
    async check(): Promise<StepStatus> {
      const dir = pyRuntimeDir(version);
      if (!isPyRuntimeComplete(version, dir)) return { ok: false, found: null, detail: `${dir} missing or incomplete` };
      const python = join(dir, 'bin', 'python');
      const r = await execa(python, ['-c', 'import livekit.agents as a, closekit_shim.worker; print(a.__version__)'], {
        reject: false,
        env: { PYTHONPATH: PY_SHIM_DIR },
      });
      if (r.exitCode !== 0) return { ok: false, found: null, detail: `${python} cannot import livekit.agents + closekit_shim: ${r.stderr.trim().split('\n').pop()}` };
      const found = r.stdout.trim();
      return { ok: found === version, found, detail: python };
    },
    async install(log) {
      await ensurePyRuntime(version, { log });
    },
  };
}

/**
 * The Python worker image for the pinned version (`--py-worker container`): `check()` looks
 * for the tag of today's content hash (Dockerfile, shim, version, base); `install()` builds
 * it (the base first, with debootstrap, when missing). Optional, feature `container`.
 */
export function pyImageStep(version: string = VERSIONS.agentsPy): SetupStep {
  return {
    name: `Python worker image (livekit-agents ${version})`,
    pinned: `${IMAGE_REPO}:${version}-<content hash>`,
    required: false,
    fix: 'kit setup --only container',
    feature: 'container',
    async check(): Promise<StepStatus> {
      if (!(await containerEngine())) return { ok: false, found: null, detail: 'no podman or docker' };
      const tag = await workerImageTag(version).catch(() => null);
      return tag && tag.exists ? { ok: true, found: tag.tag } : { ok: false, found: null, detail: tag ? `${tag.tag} not built` : 'no base image yet' };
    },
    async install(log) {
      await ensureWorkerImage(version, { log });
    },
  };
}

/** Steps this module contributes to `kit setup` / `kit doctor` (collected by ts/setup.ts). */
export function pySteps(): SetupStep[] {
  return existsSync(PY_SHIM_DIR) ? [pyRuntimeStep(), pyImageStep()] : [];
}
