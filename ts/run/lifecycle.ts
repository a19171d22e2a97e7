/**
 * Seeds 001 and 002, the ends after the close: the worker's exit after a SIGTERM sent while
 * the job's close is (or may be) wedged, and the job process's end after its shutdown
 * callbacks (exited, or killed by the worker's supervisor for missing pings).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerSocket, WorkerExit } from '../contract/results.js';
import { monotonicMs, readEvents } from '../observe/events.js';
import { supervisorLogEvents } from '../observe/worker-log.js';
import { fetchWorkerSockets } from '../providers/client.js';
import type { WorkerChild } from '../runtimes/worker.js';
import type { Scenario } from '../scenario/spec.js';
import { isUnresponsiveKillLine } from '../verdict/lifecycle.js';
import type { RunLayout } from './layout.js';

/** Past the worker's own bound (drain + shutdown process timeout), how long (ms) the kit still waits for its exit. */
export const WORKER_EXIT_SLACK_MS = 10_000;
/** Past the pong timeout, how long (ms) the kit waits for the job process's end (ping interval 2.5 s, twice, plus the kill's own 0.5 s). */
export const JOB_END_SLACK_MS = 8_000;
/** How long (ms) after the hold starts the kit asks the held job process for its capture (SIGUSR2). */
export const HOLD_CAPTURE_AFTER_MS = 1_000;

/** A SIGTERM armed for the worker: `sentAt` (monotonic ms) once sent. */
export interface ArmedSigterm {
  sentAt: number | null;
  done: Promise<void>;
}

/**
 * Scenario `lifecycle.sigterm` (null otherwise): waits for the worker's `close.requested`
 * (within cueTimeoutMs + watchdogMs), then `afterCloseRequestMs` more, and sends SIGTERM to
 * the worker process (`worker.sigterm {pid, afterCloseRequestMs}`), as a rollout does.
 * Runs alongside the close watch.
 */
export function armSigterm(scenario: Scenario, worker: WorkerChild, layout: RunLayout): ArmedSigterm | null {
  const cfg = scenario.lifecycle?.sigterm;
  if (!cfg) return null;
  const armed: ArmedSigterm = { sentAt: null, done: Promise.resolve() };
  armed.done = (async () => {
    const until = Date.now() + scenario.caller.cueTimeoutMs + scenario.watchdogMs;
    let req: number | null = null;
    while (Date.now() < until && req === null) {
      req = readEvents(layout.eventsFile).find((e) => e.ev === 'close.requested')?.t ?? null;
      if (req === null) await sleep(50);
    }
    if (req === null || worker.done) return;
    await sleep(Math.max(0, cfg.afterCloseRequestMs - (monotonicMs() - req)));
    try {
      process.kill(worker.pid, 'SIGTERM');
    } catch {
      return;
    }
    armed.sentAt = monotonicMs();
    layout.kitEmit('worker.sigterm', { pid: worker.pid, afterCloseRequestMs: Math.round(armed.sentAt - req) });
  })();
  return armed;
}

/**
 * After the verdict: waits for the worker's exit up to drainTimeoutMs +
 * shutdownProcessTimeoutMs + WORKER_EXIT_SLACK_MS from the SIGTERM, emits `worker.exit
 * {code, signal}`, and reads the ledger just after to tell which of `runtime`'s sockets
 * closed before the exit. Null when no SIGTERM was sent.
 */
export async function watchWorkerExit(o: { scenario: Scenario; armed: ArmedSigterm | null; worker: WorkerChild; layout: RunLayout; gatewayUrl: string; runtime: string; progress: (l: string) => void }): Promise<WorkerExit | null> {
  const l = o.scenario.lifecycle;
  if (!o.armed || !l?.sigterm) return null;
  await o.armed.done;
  if (o.armed.sentAt === null) return null;
  const drainTimeoutMs = l.drainTimeoutMs ?? 0;
  const shutdownProcessTimeoutMs = l.shutdownProcessTimeoutMs ?? 0;
  const boundMs = drainTimeoutMs + shutdownProcessTimeoutMs;
  const watchedMs = boundMs + WORKER_EXIT_SLACK_MS;
  o.progress(`${o.layout.id}: SIGTERM sent to the worker; waiting up to ${watchedMs} ms for its exit`);
  let exitAt: number | null = null;
  const code = await Promise.race([o.worker.exited.then((c) => ((exitAt = monotonicMs()), c)), sleep(Math.max(0, watchedMs - (monotonicMs() - o.armed.sentAt))).then(() => undefined)]);
  if (exitAt !== null) o.layout.kitEmit('worker.exit', { code: code ?? null, signal: o.worker.exitSignal ?? null });
  await sleep(300); // the ledger sees a socket the exit dropped a moment later
  const sockets: LedgerSocket[] = await fetchWorkerSockets(o.gatewayUrl, o.runtime);
  const at = exitAt ?? monotonicMs();
  return {
    afterSigtermMs: exitAt !== null ? Math.round(exitAt - o.armed.sentAt) : null,
    code: exitAt !== null ? (code ?? null) : null,
    signal: exitAt !== null ? (o.worker.exitSignal ?? null) : null,
    boundMs,
    drainTimeoutMs,
    shutdownProcessTimeoutMs,
    watchedMs,
    socketsOpenAtExit: sockets.filter((s) => s.closedAt === null).length,
    socketsClosedBeforeExit: sockets.filter((s) => s.closedAt !== null && s.closedAt < at).length,
    socketsTotal: sockets.length,
  };
}

/**
 * Scenario `lifecycle.shutdownCallback` (a no-op otherwise): runs alongside the close watch;
 * HOLD_CAPTURE_AFTER_MS after the job's `job.hold` it sends SIGUSR2 to the held job process
 * (the `pid` of `job.started`), whose answer (`parked`, Python: every thread's stack) shows
 * what the process is doing while the supervisor waits for a pong. Resolves with what
 * happened, in words (for the progress line), or null when no hold came within `untilMs`.
 */
export async function armHoldCapture(scenario: Scenario, layout: RunLayout, untilMs = 120_000): Promise<string | null> {
  // running-thread: not asked (livekit-agents' closed loop reset SIGUSR2 to its default, which
  // kills; its hold thread reports itself, hold.py _hold_thread; agents-js exits anyway).
  if (scenario.lifecycle?.shutdownCallback?.leaves !== 'blocked-loop') return null;
  const until = Date.now() + untilMs;
  let hold = null;
  while (Date.now() < until && !(hold = readEvents(layout.eventsFile).find((e) => e.ev === 'job.hold'))) {
    if (readEvents(layout.eventsFile).some((e) => e.ev === 'job.exit')) return null;
    await sleep(50);
  }
  if (!hold) return null;
  await sleep(Math.max(0, HOLD_CAPTURE_AFTER_MS - (monotonicMs() - hold.t)));
  const pid = readEvents(layout.eventsFile).find((e) => e.ev === 'job.started')?.pid;
  if (!pid) return null;
  try {
    process.kill(pid, 'SIGUSR2');
    return `asked the held job process (pid ${pid}) for its capture (SIGUSR2)`;
  } catch (e) {
    return `the held job process (pid ${pid}) did not take SIGUSR2: ${(e as Error).message}`;
  }
}

/**
 * Scenario `lifecycle.shutdownCallback`: waits for the hold (`job.hold`, up to the room's
 * departure timeout + 70 s: the job's own session.aclose bound is 60 s), then waits for its end: the
 * supervisor's kill line in `workerLog` or `job.exit`, up to pingTimeoutMs + JOB_END_SLACK_MS
 * after the hold. The verdict (judgeJobEnd) is read from the timeline afterwards.
 */
export async function watchJobEnd(o: { scenario: Scenario; layout: RunLayout; workerLog: string; wallMinusMonoMs: number; progress: (l: string) => void }): Promise<void> {
  const l = o.scenario.lifecycle;
  if (!l?.shutdownCallback) return;
  const holdUntil = Date.now() + o.scenario.room.departureTimeoutS * 1000 + 70_000;
  let hold = null;
  const ended = () => readEvents(o.layout.eventsFile).some((e) => e.ev === 'job.exit');
  while (Date.now() < holdUntil && !(hold = readEvents(o.layout.eventsFile).find((e) => e.ev === 'job.hold')) && !ended()) await sleep(100);
  if (!hold) return; // the job ended before any hold (agents-js 1.9.0 crashes right after a clean close)
  o.progress(`${o.layout.id}: the shutdown callback holds the job process (${String(hold.data?.kind)}); watching for the supervisor`);
  const until = Date.now() + Math.max(0, (l.pingTimeoutMs ?? 60_000) + JOB_END_SLACK_MS - (monotonicMs() - hold.t));
  while (Date.now() < until) {
    if (readEvents(o.layout.eventsFile).some((e) => e.ev === 'job.exit' && e.t >= hold.t)) break;
    if (supervisorLogEvents(o.workerLog, o.wallMinusMonoMs).some((e) => e.t >= hold.t && isUnresponsiveKillLine(String(e.data?.msg ?? '')))) break;
    await sleep(200);
  }
  await sleep(500); // the capture and the kill's last lines
}
