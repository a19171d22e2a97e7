/**
 * The agents-js runtime, host side: install (`.kit/runtimes/js/<version>`), the setup step,
 * and the worker start. What runs inside the worker and job processes is ts/js-shim/.
 */
export { ensureJsRuntime, jsRuntimeDir, agentsRootOf, isJsRuntimeComplete, type JsRuntime } from './install.js';
export { jsRuntimeStep } from './steps.js';
export { startJsWorker, jsWorkerEnv, JS_WORKER_CHILD, JS_WORKER_SCRIPT, type JsWorkerOptions } from './start.js';
export { waitForRegistration, writeScenarioJson } from '../worker.js';
export { publishedJsVersions } from './versions.js';
