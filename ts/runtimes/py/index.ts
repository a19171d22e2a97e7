/**
 * The Python runtime, host side: the venv (`.kit/runtimes/py/<version>`), the setup steps,
 * and the worker start. What runs inside the worker and job processes is
 * python-shim/closekit_shim/.
 */
export * from './install.js';
export { pySteps, pyRuntimeStep } from './steps.js';
export { startPyWorker, pyWorkerEnv, PY_WORKER_CHILD, type PyWorkerOptions } from './start.js';
export { waitForRegistration, writeScenarioJson } from '../worker.js';
export { publishedPyVersions } from './versions.js';
