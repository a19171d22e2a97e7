/**
 * What both workers (agents-js, Python shim) take from the orchestrator: the same
 * environment contract (docs/internals.md "Worker environment") and the part of the
 * stack's Supervisor they use (runtimes/ may not import stack/; a Supervisor satisfies
 * these structurally).
 */
export interface WorkerChild {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  done: boolean;
}

export interface WorkerSpawner {
  spawn(name: string, cmd: string, args: string[], opts?: { env?: Record<string, string>; cwd?: string; stdin?: 'pipe' | 'ignore' }): WorkerChild;
  logTail?(name: string, lines?: number): string;
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
