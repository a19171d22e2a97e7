/**
 * Phase 2, the worker: start the runtime's worker in the run's namespace and wait until it
 * registered with livekit-server (fails fast, with the log tail, when the worker dies).
 */
import type { RuntimeInstall } from '../contract/results.js';
import { waitForRegistration, type WorkerChild, type WorkerOptions, type WorkerSpawner } from '../runtimes/worker.js';
import type { RunLayout } from './layout.js';
import type { RunStack } from './stack.js';

/** What a run needs of a runtime: its matrix table entry (ts/matrix/runtimes.ts) satisfies it. */
export interface RunWorker {
  /** e.g. 'agents-js', for messages. */
  label: string;
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
  await waitForRegistration(child, layout.eventsFile, { timeoutMs: REGISTRATION_TIMEOUT_MS, label: worker.label });
  return { agentName, child };
}
