/**
 * Starting the agents-js worker (host side): `startJsWorker` spawns
 * `node --import tsx ts/js-shim/worker.ts start` through the run's supervisor (so it runs
 * inside the run's namespace) with the worker environment of ts/contract/env.ts.
 * What runs inside the worker and its job processes is ts/js-shim/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKER_ENV } from '../../contract/env.js';
import { ROOT } from '../../config.js';
import { KitError } from '../../errors.js';
import { baseWorkerEnv, checkWorkerOptions, type WorkerChild, type WorkerOptions, type WorkerSpawner } from '../worker.js';
import { isJsRuntimeComplete } from './install.js';

/** The supervisor child name of the JS worker. */
export const JS_WORKER_CHILD = 'js-worker';
/** The worker entry, relative to the repo root. */
export const JS_WORKER_SCRIPT = join(ROOT, 'ts', 'js-shim', 'worker.ts');

export interface JsWorkerOptions extends WorkerOptions {
  /** `.kit/runtimes/js/<version>[-patched]` (ensureJsRuntime().dir); becomes CLOSEKIT_AGENTS_DIR. */
  runtimeDir: string;
}

/**
 * The worker's environment (ts/contract/env.ts, with CLOSEKIT_AGENTS_DIR).
 * Exported for tests and for the Python side to compare against.
 */
export function jsWorkerEnv(o: JsWorkerOptions): Record<string, string> {
  return {
    [WORKER_ENV.agentsDir]: o.runtimeDir,
    ...baseWorkerEnv(o),
    LOG_LEVEL: o.logLevel ?? 'debug',
    // The kit's process may carry these; the worker must only ever see the run's values.
    LIVEKIT_INFERENCE_API_KEY: '',
    LIVEKIT_INFERENCE_API_SECRET: '',
    NODE_OPTIONS: '',
  };
}

/**
 * Starts the agents-js worker as supervisor child `name` (default 'js-worker'), inside the
 * run's namespace, cwd = repo root (so `--import tsx` resolves the kit's tsx), with
 * `process.execPath --import tsx ts/js-shim/worker.ts start`. agents itself is
 * imported from `runtimeDir`, in the worker and in the job processes it forks.
 * @returns the supervisor Child; its log is `<logsDir>/<name>.log`.
 * @throws KitError (exit 2) when runtimeDir holds no complete agents install, the scenario
 *   file is missing or not JSON, or the agent name is not a plain token.
 */
export function startJsWorker(sup: WorkerSpawner, o: JsWorkerOptions): WorkerChild {
  const version = (() => {
    try {
      return (JSON.parse(readFileSync(join(o.runtimeDir, 'node_modules', '@livekit', 'agents', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '';
    }
  })();
  if (!version || !isJsRuntimeComplete(o.runtimeDir, version)) {
    throw new KitError(`${o.runtimeDir} holds no complete @livekit/agents install`, { fix: 'run kit setup (ensureJsRuntime) and pass its dir as runtimeDir' });
  }
  checkWorkerOptions(o);
  return sup.spawn(o.name ?? JS_WORKER_CHILD, process.execPath, ['--import', 'tsx', JS_WORKER_SCRIPT, 'start'], { env: jsWorkerEnv(o), cwd: ROOT, stdin: 'ignore' });
}
