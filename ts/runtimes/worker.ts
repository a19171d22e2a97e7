/**
 * The host side of both workers (agents-js, Python shim): the options every worker start
 * takes (the environment contract is ts/contract/env.ts), the part of the stack's
 * Supervisor they use (runtimes/ may not import stack/; a Supervisor satisfies these
 * structurally), the checks every start makes, and waiting for registration.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { WORKER_ENV } from '../contract/env.js';
import type { TimelineEvent } from '../contract/events.js';
import { KitError } from '../errors.js';
import { readEvents } from '../observe/events.js';
import type { Scenario } from '../scenario/spec.js';

export interface WorkerChild {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  done: boolean;
  /** The signal that ended it, once `exited` resolved (null: it exited with a code); absent where the spawner does not know. */
  exitSignal?: string | null;
}

export interface WorkerSpawner {
  spawn(name: string, cmd: string, args: string[], opts?: { env?: Record<string, string>; cwd?: string; stdin?: 'pipe' | 'ignore'; inNamespace?: boolean }): WorkerChild;
  logTail?(name: string, lines?: number): string;
  /** Runs `fn` at teardown, after the children stopped (a container worker removes its container). */
  onTeardown?(fn: () => Promise<unknown>): void;
  /** The run's network namespace (`ck-...`), null in host mode: a container worker joins it. */
  readonly net?: { name: string | null };
}

/** Options common to startJsWorker and startPyWorker. */
export interface WorkerOptions {
  /** livekit-server as the worker sees it from inside the namespace; that runtime's key pair. */
  livekit: { wsUrl: string; apiKey: string; apiSecret: string };
  /** The gateway, `gatewayInferenceUrl(nsAddr, port)`; becomes LIVEKIT_INFERENCE_URL. */
  inferenceUrl: string;
  /** Explicit-dispatch agent name; becomes CLOSEKIT_AGENT_NAME. */
  agentName: string;
  /** The scenario as JSON; becomes CLOSEKIT_SCENARIO. */
  scenarioFile: string;
  /** The timeline file the worker and job processes append to; becomes CLOSEKIT_EVENTS. */
  eventsFile: string;
  /** Supervisor child name (default per runtime). */
  name?: string;
  /** The agents log level (default 'debug': the job log is the evidence when a close parks). */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

/** The variables every worker gets, whatever its runtime (ts/contract/env.ts REQUIRED_WORKER_ENV). */
export function baseWorkerEnv(o: WorkerOptions): Record<string, string> {
  return {
    [WORKER_ENV.events]: o.eventsFile,
    [WORKER_ENV.scenario]: o.scenarioFile,
    [WORKER_ENV.agentName]: o.agentName,
    [WORKER_ENV.livekitUrl]: o.livekit.wsUrl,
    [WORKER_ENV.apiKey]: o.livekit.apiKey,
    [WORKER_ENV.apiSecret]: o.livekit.apiSecret,
    [WORKER_ENV.inferenceUrl]: o.inferenceUrl,
  };
}

/** A runtime's worker start: spawns the worker through `sup` (inside the run's namespace) and returns its child. */
export type StartWorker<O extends WorkerOptions = WorkerOptions> = (sup: WorkerSpawner, o: O) => WorkerChild;

/** Writes `scenario` as the JSON file CLOSEKIT_SCENARIO points at; returns `file`. */
export function writeScenarioJson(scenario: Scenario, file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(scenario, null, 2) + '\n');
  return file;
}

/**
 * The checks every worker start makes before spawning, and the events file's folder.
 * @throws KitError (exit 2) when the scenario file is missing or not JSON, or the agent name is not a plain token.
 */
export function checkWorkerOptions(o: WorkerOptions): void {
  if (!existsSync(o.scenarioFile)) throw new KitError(`scenario file ${o.scenarioFile} does not exist`, { fix: 'write it with writeScenarioJson(scenario, file)' });
  try {
    JSON.parse(readFileSync(o.scenarioFile, 'utf8'));
  } catch {
    throw new KitError(`scenario file ${o.scenarioFile} is not JSON`, { fix: 'write it with writeScenarioJson(scenario, file)' });
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.agentName)) throw new KitError(`agent name ${JSON.stringify(o.agentName)} is not a plain token`, { fix: 'use letters, digits, dot, dash or underscore' });
  mkdirSync(dirname(o.eventsFile), { recursive: true });
}

/**
 * Waits until a worker registered with livekit-server: its `worker.registered` event
 * (agents-js: AgentServer's 'worker_registered', worker.ts; livekit-agents:
 * AgentServer's "worker_registered", worker.py) appears in `eventsFile`, at or after
 * `sinceMs` (monotonic ms, default: any time). Polls the file every 100 ms.
 * @returns the event (`data.workerId`, `data.agentsVersion`).
 * @throws KitError (exit 2) when the worker exits first or after `timeoutMs` (default
 *   30 000 ms), with the tail of the worker log.
 */
export async function waitForRegistration(
  child: WorkerChild,
  eventsFile: string,
  opts: { timeoutMs?: number; sinceMs?: number; logTail?: () => string; label?: string } = {},
): Promise<TimelineEvent> {
  const since = opts.sinceMs ?? 0;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const label = opts.label ?? child.name;
  const tailOf = () => opts.logTail?.() ?? tailFile(child.logFile);
  for (;;) {
    const ev = readEvents(eventsFile).find((e) => e.ev === 'worker.registered' && e.t >= since);
    if (ev) return ev;
    if (child.done) throw new KitError(`the ${label} worker exited before it registered (exit ${await child.exited})\n${tailOf()}`, { fix: `read ${child.logFile}` });
    if (Date.now() > deadline) throw new KitError(`the ${label} worker did not register within ${timeoutMs} ms\n${tailOf()}`, { fix: `check livekit-server is reachable from the namespace; read ${child.logFile}` });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last `lines` lines of `file` ('' when unreadable). */
export function tailFile(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
