/**
 * Seeds 001 and 002: the job process's and the worker's end, judged from the timeline alone
 * (the workers' events plus the `supervisor.log` lines of the worker log), pure like the verdict.
 */
import type { TimelineEvent } from '../contract/events.js';
import type { JobEndResult, WorkerExit } from '../contract/results.js';

/** A supervisor line that kills an unresponsive job: livekit-agents supervised_proc.py / agents-js supervised_proc.ts. */
export function isUnresponsiveKillLine(msg: string): boolean {
  return /process is unresponsive, killing process|^job is unresponsive$/i.test(msg.trim());
}

/**
 * How the job process ended after its shutdown callbacks. `events`: the run's timeline with
 * `supervisor.log` events; `hangupAt`: the caller's hangup (monotonic ms) or null.
 * `killed` when a supervisor kill line follows the shutdown callback (and no `job.exit` with
 * an exit code came before it: a line about a process that had already exited is not a
 * kill; livekit-agents' `job.exit` has no code and comes before the thread join), else `exited`
 * when the job emitted `job.exit` (`exitCode` its code: agents-js 1.9.0's job crashes with
 * exit 1 right after a clean close, before any shutdown callback), else `alive`.
 */
export function judgeJobEnd(events: TimelineEvent[], hangupAt: number | null, pingTimeoutMs: number | null): JobEndResult {
  const cb = events.find((e) => e.ev === 'shutdown.callback' && (hangupAt === null || e.t >= hangupAt));
  const from = cb?.t ?? hangupAt ?? -Infinity;
  const hold = events.find((e) => e.ev === 'job.hold' && e.t >= from);
  const kill = events.find((e) => e.ev === 'supervisor.log' && e.t >= from && isUnresponsiveKillLine(String(e.data?.msg ?? '')));
  const exit = events.find((e) => e.ev === 'job.exit' && e.t >= from);
  // agents-js emits job.exit {code} from process 'exit' (the real end); livekit-agents emits
  // job.exit {code: null} from multiprocessing's exit function, before threading._shutdown
  // joins the non-daemon threads, so only an exit with a code rules a later kill line out.
  const killed = kill && !(exit && exit.t <= kill.t && typeof exit.data?.code === 'number') ? kill : undefined;
  const end = killed ?? exit;
  const roomGone = events.find((e) => e.ev === 'room.disconnected' && (hangupAt === null || e.t >= hangupAt));
  const since = (a: TimelineEvent | undefined | null, t: number | null) => (a && t !== null ? Math.round(a.t - t) : null);
  return {
    how: killed ? 'killed' : exit ? 'exited' : 'alive',
    hold: hold ? String(hold.data?.kind ?? 'unknown') : null,
    shutdownCallbackRan: !!cb,
    exitCode: !killed && exit && typeof exit.data?.code === 'number' ? exit.data.code : null,
    supervisorLine: killed ? String(killed.data?.msg) : null,
    afterRoomGoneMs: since(end, roomGone?.t ?? null),
    afterHangupMs: since(end, hangupAt),
    afterHoldMs: since(end, hold?.t ?? null),
    pingTimeoutMs,
  };
}

/** The job end in words, for the run's reason, e.g. `the job process was killed by its supervisor 5012 ms after the room was gone ("process is unresponsive, killing process")`. */
export function describeJobEnd(j: JobEndResult): string {
  const after = j.afterRoomGoneMs !== null ? ` ${j.afterRoomGoneMs} ms after the room was gone` : j.afterHangupMs !== null ? ` ${j.afterHangupMs} ms after the hangup` : '';
  const hold = j.hold ? ` (${j.hold} hold${j.afterHoldMs !== null ? `, ${j.afterHoldMs} ms after it started` : ''}; pong timeout ${j.pingTimeoutMs ?? '?'} ms)` : '';
  if (j.how === 'killed') return `the job process was killed by its supervisor${after} ("${j.supervisorLine}")${hold}`;
  if (j.how === 'exited') return `the job process exited on its own${j.exitCode !== null ? ` (code ${j.exitCode})` : ''}${after}${j.shutdownCallbackRan ? '' : ', before any shutdown callback ran'}${hold}`;
  return `the job process was still alive at the end of the watch${hold}`;
}

/** The failed check when the job end is not the scenario's expectation (null when it is, or nothing is expected). */
export function jobEndCheck(expected: JobEndResult['how'] | undefined, got: JobEndResult | null | undefined): string | null {
  if (!expected) return null;
  const how = got?.how ?? 'alive';
  return how === expected ? null : `the job process ${how === 'alive' ? 'was still alive' : how}, expected ${expected}`;
}

/**
 * The failed check for the worker after SIGTERM (null when it held): `expected` exited /
 * running against `got` (afterSigtermMs null = still running at the end of the watch);
 * with `sigtermPlanned` and no WorkerExit, the SIGTERM was never sent (no close request).
 */
export function workerExitCheck(expected: 'exited' | 'running' | undefined, got: WorkerExit | null | undefined, sigtermPlanned: boolean): string | null {
  if (!sigtermPlanned) return null;
  if (!got) return 'no SIGTERM was sent (the close was never requested)';
  const how = got.afterSigtermMs === null ? 'running' : 'exited';
  if (!expected || how === expected) return null;
  return how === 'running' ? `the worker was still running ${got.watchedMs} ms after SIGTERM, expected it to exit` : `the worker exited ${got.afterSigtermMs} ms after SIGTERM, expected it still running`;
}
