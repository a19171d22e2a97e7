/**
 * The worker environment (docs/internals.md, "Worker environment"): what the kit hands a
 * worker process, and the job processes it forks inherit. The JS builder is
 * `runtimes/js/start.ts jsWorkerEnv`, the Python one `runtimes/py/start.ts pyWorkerEnv`;
 * the shims read these names (`ts/js-shim/`, `python-shim/closekit_shim/`).
 */
export const WORKER_ENV = {
  /** The JSON-lines events file every worker and job process appends to. */
  events: 'CLOSEKIT_EVENTS',
  /** The scenario as JSON (writeScenarioJson). */
  scenario: 'CLOSEKIT_SCENARIO',
  /** Explicit-dispatch agent name the worker registers under. */
  agentName: 'CLOSEKIT_AGENT_NAME',
  /** agents-js only: the npm project the worker imports @livekit/agents from. */
  agentsDir: 'CLOSEKIT_AGENTS_DIR',
  livekitUrl: 'LIVEKIT_URL',
  apiKey: 'LIVEKIT_API_KEY',
  apiSecret: 'LIVEKIT_API_SECRET',
  /** The provider gateway (LiveKit Inference wire protocol). */
  inferenceUrl: 'LIVEKIT_INFERENCE_URL',
} as const;

export type WorkerEnvName = (typeof WORKER_ENV)[keyof typeof WORKER_ENV];

/** The variables every worker needs, whatever its runtime (the JS worker also needs `agentsDir`). */
export const REQUIRED_WORKER_ENV: readonly WorkerEnvName[] = [
  WORKER_ENV.events,
  WORKER_ENV.scenario,
  WORKER_ENV.agentName,
  WORKER_ENV.livekitUrl,
  WORKER_ENV.apiKey,
  WORKER_ENV.apiSecret,
  WORKER_ENV.inferenceUrl,
];
