/**
 * The verdict of one run, from its timeline and the gateway's socket ledger alone, so a
 * results.json can be re-judged without re-running anything.
 *
 *  - `closed`: the AgentSession close event fired after the hangup AND every provider socket
 *    that worker opened is closed by the time of the verdict.
 *  - `hang`: the forced close was requested but the close event had not fired when the
 *    watchdog expired (upstream: agent_session.ts closeImplInner never reached its emit of
 *    'close'; Python agent_session.py _aclose_impl likewise).
 *  - `error`: anything that is not the bug under test: the hangup cue (e.g. wedge.entered)
 *    never came, the close was never requested, the worker died, or the session closed
 *    while sockets stayed open.
 *  - `unsupported`: the kit cannot drive this version: it does not install, its worker does
 *    not start, or the job reported `job.unsupported` (an API the agent under test needs is
 *    missing). Checked first: it is never a verdict on the bug.
 */
import type { TimelineEvent } from '../contract/events.js';
import type { LedgerSocket, Verdict } from '../contract/results.js';

export type { LedgerSocket } from '../contract/results.js';
export { verifyChecks, matches, exitCodeOf, type CheckInput } from './checks.js';

export interface VerdictInput {
  events: TimelineEvent[];
  /** Ledger entries opened by this run's worker. */
  sockets: LedgerSocket[];
  /** Monotonic ms of the hangup, or null if the run never got that far. */
  hangupAt: number | null;
  /** Why the run stopped before the hangup, if it did. */
  abortReason?: string;
  /** Why the kit cannot drive this version at all (install or worker start failed), if so. */
  unsupportedReason?: string;
}

export interface VerdictResult {
  verdict: Verdict;
  reason: string;
  /** ms from hangup to the close event, null when it never fired. */
  closeMs: number | null;
  closeEvent: string | null;
  /** Provider sockets still open at the verdict. */
  openSocketsAfterClose: number;
  /** The last worker event: where the close is parked when it hangs. */
  lastEvent: string | null;
}

// Side events that say nothing about how far the close got.
const WORKER_EVENTS_IGNORED_FOR_PARK = new Set(['stt.error', 'stt.reconnect', 'stt.connect', 'session.error', 'room.disconnected', 'parked']);

/** `activity.step.start(toolExecutor.drain)`: the event name with the step it names, if any. */
function describeEvent(e: TimelineEvent): string {
  const step = e.data && typeof e.data.step === 'string' ? e.data.step : null;
  return step && !e.ev.includes(step) ? `${e.ev}(${step})` : e.ev;
}

/**
 * Where a hung close is parked: the innermost step still open in the worker's last
 * self-reported `parked` event (e.g. `toolExecutor.drain`), else the last worker event.
 */
export function parkedIn(events: TimelineEvent[], fallback: string | null): string | null {
  const p = [...events].reverse().find((e) => e.ev === 'parked');
  const open = p?.data && Array.isArray(p.data.open) ? (p.data.open as unknown[]).map(String) : [];
  return open.length ? open[open.length - 1]! : fallback;
}

/** Judge one run. Pure; see the module comment for the rules. */
export function judge(input: VerdictInput): VerdictResult {
  const { events, sockets, hangupAt } = input;
  const open = sockets.filter((s) => s.closedAt === null).length;
  const workerEvents = events.filter((e) => e.runtime !== 'kit' && !WORKER_EVENTS_IGNORED_FOR_PARK.has(e.ev));
  const lastEvent = workerEvents.length ? describeEvent(workerEvents[workerEvents.length - 1]!) : null;
  const base = { openSocketsAfterClose: open, lastEvent };
  // Not a verdict on the bug: the kit could not drive this version (never a hang or closed).
  const unsupported = input.unsupportedReason ?? (() => {
    const e = events.find((x) => x.ev === 'job.unsupported');
    return e ? `the agent under test cannot start on this version: ${String(e.data?.error ?? 'unknown error')}` : undefined;
  })();
  if (unsupported) return { ...base, verdict: 'unsupported', reason: unsupported, closeMs: null, closeEvent: null };
  if (hangupAt === null) {
    return { ...base, verdict: 'error', reason: input.abortReason ?? 'the run never reached the hangup', closeMs: null, closeEvent: null };
  }
  const after = events.filter((e) => e.t >= hangupAt);
  const closed = after.find((e) => e.ev === 'session.closed');
  const requested = after.find((e) => e.ev === 'close.requested');
  if (closed) {
    const closeMs = Math.round(closed.t - hangupAt);
    if (open > 0) {
      return { ...base, verdict: 'error', reason: `session closed but ${open} provider socket(s) stayed open`, closeMs, closeEvent: closed.ev };
    }
    return { ...base, verdict: 'closed', reason: 'close event fired and every socket closed', closeMs, closeEvent: closed.ev };
  }
  if (!requested) {
    return { ...base, verdict: 'error', reason: 'the hangup never led to a close request (closeOnDisconnect did not fire)', closeMs: null, closeEvent: null };
  }
  return { ...base, verdict: 'hang', reason: `close requested but never completed; parked after ${lastEvent}`, closeMs: null, closeEvent: null };
}
