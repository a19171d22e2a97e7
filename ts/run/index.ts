/**
 * One run = one scenario × one runtime install, on a fresh stack, as named phases; each
 * phase is the part's own entry point, the same functions the parts' tests exercise:
 *
 *   prepareRunDir → startRunStack → startRunWorker → placeCall → hangupAndWatch
 *     → captureParkedAt (at a hang) → leaveAfterVerdict (agent-tool: the caller leaves now)
 *     → watchOrphans (sockets left open) → buildResult
 *
 * Never throws for a misbehaving agent (that is a verdict); throws KitError (exit 2) when
 * a component cannot start. Everything started is torn down on every path.
 */
import { KitError } from '../errors.js';
import type { LedgerSocket, RunResult, RuntimeInstall } from '../contract/results.js';
import { monotonicMs } from '../observe/events.js';
import type { Scenario } from '../scenario/spec.js';
import { placeCall } from './caller.js';
import { prepareRunDir } from './layout.js';
import { captureParkedAt } from './parked.js';
import { buildResult } from './result.js';
import { startRunStack, type RunStack } from './stack.js';
import { closeHung, hangupAndWatch, leaveAfterVerdict, watchOrphans, type CloseWatch } from './watch.js';
import { startRunWorker, WorkerStartError, type RunWorker } from './worker.js';
import { armHoldCapture, armSigterm, watchJobEnd, watchWorkerExit } from './lifecycle.js';
import type { WorkerExit } from '../contract/results.js';
import type { WorkerChild } from '../runtimes/worker.js';

export type { RunWorker } from './worker.js';

export interface RunOptions {
  scenario: Scenario;
  install: RuntimeInstall;
  /** How to start this install's worker: the runtime's entry of ts/matrix/runtimes.ts. */
  worker: RunWorker;
  /** `reports/<run-id>`; this run writes `runs/<scenario>.<runtime>.<variant>/` in it. */
  runDir: string;
  /** Override of scenario.watchdogMs (ms). */
  watchdogMs?: number;
  onProgress?: (line: string) => void;
}

/** Runs one scenario on one runtime install; see the module comment for the phases. */
export async function runOne(opts: RunOptions): Promise<RunResult> {
  const { scenario, install } = opts;
  const progress = opts.onProgress ?? (() => {});
  const wallMinusMonoMs = Date.now() - monotonicMs();
  const layout = prepareRunDir(opts.runDir, scenario, install);
  // Where a run's wall time goes, phase by phase (results.json `phasesMs`; docs/speed.md).
  const phasesMs: Record<string, number> = {};
  let mark = Date.now();
  const phase = (name: string) => {
    const now = Date.now();
    phasesMs[name] = (phasesMs[name] ?? 0) + (now - mark);
    mark = now;
  };
  const stack: RunStack = await startRunStack(scenario, install, layout, progress);
  phase('stack');
  let watch: CloseWatch | null = null;
  let afterIdle: LedgerSocket[] | null = null;
  let abortReason: string | undefined;
  let unsupportedReason: string | undefined;
  let workerExit: WorkerExit | null = null;
  let workerLog: string | undefined;
  try {
    let agentName: string;
    let workerChild: WorkerChild;
    try {
      ({ agentName, child: workerChild } = await startRunWorker(stack, opts.worker, install, layout, progress));
      workerLog = workerChild.logFile;
      phase('worker');
    } catch (e) {
      // The pinned versions start (make test proves it); another release whose worker does
      // not register is one the kit cannot drive: say so, with the worker's own last words.
      // Only another release, unpatched: the pinned worker and any candidate must start.
      if (!(e instanceof WorkerStartError) || install.variant === 'patched' || install.version === opts.worker.defaultVersion) throw e;
      unsupportedReason = `the ${opts.worker.label} ${install.version} worker did not start: ${e.lastError}`;
      throw e;
    }
    const call = await placeCall(stack, scenario, agentName, layout, progress);
    phase('caller');
    const ledger = { gatewayUrl: stack.gatewayUrl, worker: install.runtime };
    // Seed 001: SIGTERM to the worker while the close runs (scenario lifecycle.sigterm).
    const sigterm = armSigterm(scenario, workerChild, layout);
    // Seed 002: SIGUSR2 to the held job process while the supervisor waits for its pong.
    const holdCapture = armHoldCapture(scenario, layout).then((m) => m && progress(`${layout.id}: ${m}`));
    watch = await hangupAndWatch({ scenario, call, layout, ...ledger, watchdogMs: opts.watchdogMs ?? scenario.watchdogMs, progress });
    // cue: caller joined -> hangup (the scenario's own setup: the wedge being entered); close: hangup -> verdict
    if (watch.hangupAt !== null) {
      phasesMs.close = Math.round(watch.verdictAt - watch.hangupAt);
      phasesMs.cue = Math.max(0, Date.now() - mark - phasesMs.close);
      mark = Date.now();
    } else phase('cue');
    if (closeHung(watch, layout.eventsFile)) await captureParkedAt(layout.eventsFile, watch.verdictAt);
    // close.trigger agent-tool: the caller is still in the call and leaves now, after the
    // parked capture (a no-op for caller-hangup; counted in the `parked` phase).
    await leaveAfterVerdict({ w: watch, scenario, call, layout, ...ledger, progress });
    phase('parked');
    afterIdle = await watchOrphans({ w: watch, scenario, layout, ...ledger, progress });
    phase('orphans');
    // Seeds 002 / 001: the job process's end after its shutdown callbacks; the worker's exit after SIGTERM.
    await watchJobEnd({ scenario, layout, workerLog: workerChild.logFile, wallMinusMonoMs, progress });
    await holdCapture;
    workerExit = await watchWorkerExit({ scenario, armed: sigterm, worker: workerChild, layout, gatewayUrl: stack.gatewayUrl, runtime: install.runtime, progress });
    phase('lifecycle');
  } catch (e) {
    if (e instanceof KitError && e.exitCode === 2 && !unsupportedReason) {
      await stack.teardown();
      throw e;
    }
    abortReason = `run failed: ${(e as Error).message}`;
  } finally {
    await stack.teardown();
    phase('teardown');
  }
  return buildResult({ scenario, install, layout, hostMode: opts.worker.hostMode, network: stack.net.mode, watch, abortReason, unsupportedReason, afterIdle, wallMinusMonoMs, phasesMs, workerExit, workerLog });
}
