/**
 * Starting the agents-js worker from the orchestrator: `startJsWorker` spawns
 * `node --import tsx ts/runtimes/js/worker.ts start` through the run's supervisor (so it
 * runs inside the run's namespace) with the worker environment of docs/internals.md, and
 * `waitForRegistration` waits for its `worker.registered` timeline event.
 */
import type { WorkerChild, WorkerOptions, WorkerSpawner } from '../worker.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../../config.js';
import { KitError } from '../../errors.js';
import { readEvents, type TimelineEvent } from '../../observe/events.js';
import type { Scenario } from '../../scenario/spec.js';
import { isJsRuntimeComplete } from './install.js';

export { ensureJsRuntime, jsRuntimeDir, agentsRootOf } from './install.js';
export { jsRuntimeStep } from './steps.js';

/** The supervisor child name of the JS worker. */
export const JS_WORKER_CHILD = 'js-worker';
/** The worker entry, relative to the repo root. */
export const JS_WORKER_SCRIPT = join(ROOT, 'ts', 'runtimes', 'js', 'worker.ts');

export type { WorkerChild, WorkerSpawner } from '../worker.js';

export interface JsWorkerOptions extends WorkerOptions {
  /** `.kit/runtimes/js/<version>[-patched]` (ensureJsRuntime().dir); becomes CLOSEKIT_AGENTS_DIR. */
  runtimeDir: string;
}

/** Writes `scenario` as the JSON file CLOSEKIT_SCENARIO points at; returns `file`. */
export function writeScenarioJson(scenario: Scenario, file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(scenario, null, 2) + '\n');
  return file;
}

/**
 * The worker's environment (docs/internals.md "Worker environment" + CLOSEKIT_AGENTS_DIR).
 * Exported for tests and for the Python side to compare against.
 */
export function jsWorkerEnv(o: JsWorkerOptions): Record<string, string> {
  return {
    CLOSEKIT_AGENTS_DIR: o.runtimeDir,
    CLOSEKIT_EVENTS: o.eventsFile,
    CLOSEKIT_SCENARIO: o.scenarioFile,
    CLOSEKIT_AGENT_NAME: o.agentName,
    LIVEKIT_URL: o.livekit.wsUrl,
    LIVEKIT_API_KEY: o.livekit.apiKey,
    LIVEKIT_API_SECRET: o.livekit.apiSecret,
    LIVEKIT_INFERENCE_URL: o.inferenceUrl,
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
 * `process.execPath --import tsx ts/runtimes/js/worker.ts start`. agents itself is
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
  if (!existsSync(o.scenarioFile)) throw new KitError(`scenario file ${o.scenarioFile} does not exist`, { fix: 'write it with writeScenarioJson(scenario, file)' });
  try {
    JSON.parse(readFileSync(o.scenarioFile, 'utf8'));
  } catch {
    throw new KitError(`scenario file ${o.scenarioFile} is not JSON`, { fix: 'write it with writeScenarioJson(scenario, file)' });
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.agentName)) throw new KitError(`agent name ${JSON.stringify(o.agentName)} is not a plain token`, { fix: 'use letters, digits, dot, dash or underscore' });
  mkdirSync(dirname(o.eventsFile), { recursive: true });
  return sup.spawn(o.name ?? JS_WORKER_CHILD, process.execPath, ['--import', 'tsx', JS_WORKER_SCRIPT, 'start'], { env: jsWorkerEnv(o), cwd: ROOT, stdin: 'ignore' });
}

/**
 * Waits until the worker registered with livekit-server: its `worker.registered` event
 * (emitted from AgentServer's 'worker_registered' event, agents worker.ts) appears in
 * `eventsFile`, at or after `sinceMs` (monotonic ms, default: any time; the events file is per run).
 * Polls the file every 100 ms.
 * @returns the event (`data.workerId`, `data.agentsVersion`, `data.agentsDir`).
 * @throws KitError (exit 2) when the worker exits first or after `timeoutMs` (default
 *   30 000 ms), with the tail of the worker log.
 */
export async function waitForRegistration(
  child: WorkerChild,
  eventsFile: string,
  opts: { timeoutMs?: number; sinceMs?: number; logTail?: () => string } = {},
): Promise<TimelineEvent> {
  const since = opts.sinceMs ?? 0;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const tailOf = () => opts.logTail?.() ?? tailFile(child.logFile);
  for (;;) {
    const ev = readEvents(eventsFile).find((e) => e.ev === 'worker.registered' && e.t >= since);
    if (ev) return ev;
    if (child.done) throw new KitError(`the agents-js worker exited before it registered (exit ${await child.exited})\n${tailOf()}`, { fix: `read ${child.logFile}` });
    if (Date.now() > deadline) throw new KitError(`the agents-js worker did not register within ${opts.timeoutMs ?? 30_000} ms\n${tailOf()}`, { fix: `check livekit-server is reachable from the namespace; read ${child.logFile}` });
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tailFile(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
