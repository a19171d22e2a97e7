/**
 * The agents-js worker, run inside the run's namespace as
 *   node --import tsx ts/js-shim/worker.ts start
 * with the environment of docs/internals.md ("Worker environment") plus
 * CLOSEKIT_AGENTS_DIR (the runtime dir, `.kit/runtimes/js/<version>[-patched]`).
 *
 * This file is both the CLI entry (main process: `cli.runApp`, registers with
 * livekit-server for explicit dispatch under CLOSEKIT_AGENT_NAME) and the agent module the
 * job processes import (agents forks `ipc/job_proc_lazy_main.js <this file>` and imports
 * its default export). The fork inherits `process.execArgv` (Node's fork default, as
 * ipc/job_proc_executor.ts passes no options for .js builds), so `--import tsx` carries
 * over, and it inherits the environment, so the job loads agents from the same runtime dir.
 */
import { fileURLToPath } from 'node:url';
import { KitError } from '../errors.js';
import { createEmitter } from './emit.js';
import { loadRuntime } from './runtime.js';
import { loadScenario } from './spec.js';

const rt = await loadRuntime();
const { agents } = rt;

/** The agent definition the job processes load (`ServerOptions.agent` = this file). */
export default agents.defineAgent({
  // One job per process and nothing to prewarm; the default prewarm would be a no-op too.
  prewarm: async () => {},
  entry: async (ctx) => {
    const { guardedEntry } = await import('./entry.js');
    await guardedEntry(ctx);
  },
});

/** Port of the worker's HTTP health server; distinct from the Python worker's default 8081. */
export const JS_WORKER_HTTP_PORT = 8091;

/** The pong timeout agents-js 1.9.0 hard-codes for job processes (ipc/proc_pool.ts `pingTimeout: 60000`), ms. */
export const SHIPPED_PING_TIMEOUT_MS = 60_000;

/**
 * Compresses the supervisor's pong timeout to `ms` (scenario `lifecycle.pingTimeoutMs`):
 * agents-js keeps it in a private field of SupervisedProc (`#opts.pingTimeout`) and arms it
 * with `setTimeout(kill, 60000)` in ipc/supervised_proc.ts `run()`, refreshed on every
 * pong. This wraps the worker process's global `setTimeout` so that only a 60000 ms timer
 * created from supervised_proc gets `ms` instead (`refresh()` keeps the new delay).
 */
export function compressPongTimeout(ms: number): void {
  const orig = globalThis.setTimeout;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) {
    if (delay === SHIPPED_PING_TIMEOUT_MS && /supervised_proc\.(ts|js)/.test(new Error().stack ?? '')) delay = ms;
    return orig(fn, delay, ...args);
  };
  globalThis.setTimeout = Object.assign(wrapped, orig) as typeof setTimeout;
}

function main(): void {
  const agentName = process.env.CLOSEKIT_AGENT_NAME;
  if (!agentName) throw new KitError('CLOSEKIT_AGENT_NAME is not set', { fix: 'start the worker through startJsWorker' });
  for (const k of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'LIVEKIT_INFERENCE_URL', 'CLOSEKIT_EVENTS', 'CLOSEKIT_SCENARIO']) {
    if (!process.env[k]) throw new KitError(`${k} is not set`, { fix: 'start the worker through startJsWorker' });
  }
  const emit = createEmitter(process.env.CLOSEKIT_EVENTS, 'js');
  // Seeds 001/002: the worker's own bounds, explicit and compressed per scenario.
  const lifecycle = loadScenario().lifecycle;
  if (lifecycle?.pingTimeoutMs !== undefined) compressPongTimeout(lifecycle.pingTimeoutMs);
  // cli.runApp builds its own AgentServer; the prototype hook is how we see its
  // 'worker_registered' event (worker.ts AgentServer.run → event.emit('worker_registered')).
  const proto = agents.AgentServer.prototype as any;
  const origRun = proto.run;
  proto.run = function (this: any, ...args: any[]) {
    this.event.once('worker_registered', (workerId: string, serverInfo: any) => {
      emit('worker.registered', { workerId, agentName, agentsVersion: rt.version, agentsDir: rt.dir, server: serverInfo?.version ?? null });
      process.stdout.write(`closekit: worker.registered ${workerId}\n`);
    });
    return origRun.apply(this, args);
  };
  agents.cli.runApp(
    new agents.ServerOptions({
      agent: fileURLToPath(import.meta.url),
      agentName,
      // 2 cores: one warm job process is enough for one call at a time.
      numIdleProcesses: 1,
      port: JS_WORKER_HTTP_PORT,
      host: '127.0.0.1',
      // As shipped unless the scenario's lifecycle block sets them (seed 001).
      ...(lifecycle?.drainTimeoutMs !== undefined ? { drainTimeout: lifecycle.drainTimeoutMs } : {}),
      ...(lifecycle?.shutdownProcessTimeoutMs !== undefined ? { shutdownProcessTimeout: lifecycle.shutdownProcessTimeoutMs } : {}),
    }),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (e) {
    if (e instanceof KitError) {
      process.stderr.write(`js worker: ${e.message}\n${e.fix ? `fix: ${e.fix}\n` : ''}`);
      process.exit(e.exitCode);
    }
    throw e;
  }
}
