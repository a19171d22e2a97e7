/**
 * Starting the Python worker (host side): `<venv python> -m closekit_shim.worker start`
 * through the run's supervisor, with the worker environment of ts/contract/env.ts. What
 * runs inside the worker and job processes is python-shim/closekit_shim/.
 */
import { existsSync } from 'node:fs';
import { KitError } from '../../errors.js';
import { baseWorkerEnv, checkWorkerOptions, type WorkerChild, type WorkerOptions, type WorkerSpawner } from '../worker.js';
import { PY_SHIM_DIR } from './install.js';

/** Supervisor child name of the Python worker (its log: `<logsDir>/py-worker.log`). */
export const PY_WORKER_CHILD = 'py-worker';

export interface PyWorkerOptions extends WorkerOptions {
  /** The venv's interpreter (ensurePyRuntime().python / wherePy()). */
  python: string;
}

/** The worker's environment (docs/internals.md "Worker environment"); exported for tests. */
export function pyWorkerEnv(o: PyWorkerOptions): Record<string, string> {
  return {
    ...baseWorkerEnv(o),
    // livekit-agents' cli reads it (TRACE, DEBUG, INFO, WARN, ERROR)
    LIVEKIT_LOG_LEVEL: (o.logLevel ?? 'debug').toUpperCase(),
    // The kit's own environment may carry these; the worker must only see the run's values.
    // Not '' for the keys: Python's os.getenv("LIVEKIT_INFERENCE_API_KEY", fallback) returns
    // a set-but-empty value instead of the fallback (inference/_utils.py resolve_credentials).
    LIVEKIT_INFERENCE_API_KEY: o.livekit.apiKey,
    LIVEKIT_INFERENCE_API_SECRET: o.livekit.apiSecret,
    LIVEKIT_AGENT_NAME: o.agentName,
    LIVEKIT_AGENT_NAME_OVERRIDE: '', // read with `if os.environ.get(...)`: '' means unset
    // The shim runs from the repo (not installed in the venv), so patched and unpatched
    // venvs run the very same agent code.
    PYTHONPATH: PY_SHIM_DIR,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    VIRTUAL_ENV: '',
  };
}

/**
 * Starts the Python worker as supervisor child `name` (default 'py-worker') inside the run's
 * namespace: `<python> -m closekit_shim.worker start`, cwd `python-shim/`. It registers
 * with livekit-server for explicit dispatch under `agentName` and emits `worker.registered`.
 * @returns the supervisor Child; its log is `<logsDir>/<name>.log`.
 * @throws KitError (exit 2) when `python` is not an executable venv interpreter, the
 *   scenario file is missing or not JSON, or the agent name is not a plain token.
 */
export function startPyWorker(sup: WorkerSpawner, o: PyWorkerOptions): WorkerChild {
  if (!existsSync(o.python)) throw new KitError(`Python runtime ${o.python} does not exist`, { fix: 'run kit setup (ensurePyRuntime) and pass its python' });
  checkWorkerOptions(o);
  return sup.spawn(o.name ?? PY_WORKER_CHILD, o.python, ['-m', 'closekit_shim.worker', 'start'], { env: pyWorkerEnv(o), cwd: PY_SHIM_DIR, stdin: 'ignore' });
}
