/**
 * Phase 2, the worker: start the runtime's worker in the run's namespace and wait until it
 * registered with livekit-server (fails fast, with the log tail, when the worker dies).
 */
import type { RuntimeInstall } from '../contract/results.js';
import { KitError } from '../errors.js';
import { tailFile, waitForRegistration, type WorkerChild, type WorkerOptions, type WorkerSpawner } from '../runtimes/worker.js';
import type { RunLayout } from './layout.js';
import type { RunStack } from './stack.js';

/** What a run needs of a runtime: its matrix table entry (ts/matrix/runtimes.ts) satisfies it. */
export interface RunWorker {
  /** e.g. 'agents-js', for messages. */
  label: string;
  /** How its worker runs from an install on the host. */
  hostMode: 'venv' | 'npm';
  /** The pinned version: its worker must start (a failure there is the kit's, exit 2, never `unsupported`). */
  defaultVersion: string;
  startWorker(sup: WorkerSpawner, install: RuntimeInstall, o: WorkerOptions): WorkerChild;
}

/** How long (ms) a worker may take from spawn to `worker.registered`. */
export const REGISTRATION_TIMEOUT_MS = 60_000;

/**
 * @returns the agent name the worker registered under (explicit dispatch) and its child.
 * @throws KitError (exit 2) when it exits first or does not register within REGISTRATION_TIMEOUT_MS.
 */
export async function startRunWorker(
  stack: RunStack,
  worker: RunWorker,
  install: RuntimeInstall,
  layout: RunLayout,
  progress: (l: string) => void,
): Promise<{ agentName: string; child: WorkerChild }> {
  const agentName = `closekit-${install.runtime}`;
  const key = stack.keys[install.runtime];
  progress(`${layout.id}: starting ${worker.label} worker (${install.version}${install.variant === 'patched' ? ', patched' : ''})`);
  const child = worker.startWorker(stack.sup, install, {
    livekit: { wsUrl: stack.livekit.wsUrl, apiKey: key.apiKey, apiSecret: key.apiSecret },
    inferenceUrl: stack.inferenceUrl,
    agentName,
    scenarioFile: layout.scenarioFile,
    eventsFile: layout.eventsFile,
  });
  try {
    await waitForRegistration(child, layout.eventsFile, { timeoutMs: REGISTRATION_TIMEOUT_MS, label: worker.label });
  } catch (e) {
    if (e instanceof KitError) throw new WorkerStartError(e, lastErrorLine(child.logFile));
    throw e;
  }
  return { agentName, child };
}

/** The worker exited or did not register: exit 2 as before, with the log's last error line for an `unsupported` verdict. */
export class WorkerStartError extends KitError {
  constructor(
    cause: KitError,
    readonly lastError: string,
  ) {
    super(cause.message, { fix: cause.fix, cause });
  }
}

/** The last line of a worker log that names an error (an ImportError, a TypeError, ...), else its last line. */
export function lastErrorLine(file: string): string {
  const lines = tailFile(file, 200).split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.reverse().find((l) => /(Error|Exception|error:|Cannot find|not found|No module)/.test(l)) ?? lines[0] ?? 'no log').slice(0, 400);
}
