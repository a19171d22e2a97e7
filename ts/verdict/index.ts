/**
 * The verdict of one run, from its timeline and the gateway's socket ledger alone, so a
 * results.json can be re-judged without re-running anything.
 *
 *  - `closed`: the AgentSession close event fired after the hangup AND every provider socket
 *    that worker opened is closed by the time of the verdict.
 *  - `hang`: the forced close was requested but did not finish its job by the verdict:
 *    either the close event had not fired when the watchdog expired (upstream:
 *    agent_session.ts closeImplInner never reached its emit of 'close'; Python
 *    agent_session.py _aclose_impl likewise), or it fired but provider sockets the worker
 *    opened outlived it (seed 000: "tts deepgram connection stays open" after the call;
 *    `socketsOutlivedClose`). Both leave the provider connection open after the call.
 *  - `error`: anything that is not the bug under test: the hangup cue (e.g. wedge.entered)
 *    never came, the close was never requested, the worker died.
 *  - `close.trigger: agent-tool` (the agent's end-call tool awaits the close itself): the
 *    anchor (`hangupAt`) is the worker's `close.requested`, not a hangup (the caller leaves
 *    only after the verdict), so closeMs = closeRequestMs; after a close, `sockets` are those
 *    once the job ended (the caller leaves after the verdict, run/watch.ts
 *    leaveAfterVerdict), since pooled sockets close only then. The tool's outcome
 *    (`tool.end_call.returned`: returned, or threw e.g. CancelledError) goes into the reason;
 *    it never makes a close: with no close event by the verdict the run is a `hang`, whatever
 *    the tool's await did. A close request that did not come from the tool is an `error`.
 *  - `unsupported`: the kit cannot drive this version: it does not install, its worker does
 *    not start, or the job reported `job.unsupported` (an API the agent under test needs is
 *    missing). Checked first: it is never a verdict on the bug.
 */
import type { TimelineEvent } from '../contract/events.js';
import type { LedgerSocket, Verdict } from '../contract/results.js';

export type { LedgerSocket } from '../contract/results.js';
export { socketsOutlivedClose } from '../contract/results.js';
export { verifyChecks, matches, exitCodeOf, crossRuntimeChecks, applyCrossRuntimeChecks, type CheckInput } from './checks.js';

export interface VerdictInput {
  events: TimelineEvent[];
  /** Ledger entries opened by this run's worker. */
  sockets: LedgerSocket[];
  /**
   * Monotonic ms of the close trigger, or null if the run never got that far: the caller's
   * hangup, or for `trigger: 'agent-tool'` the worker's `close.requested`.
   */
  hangupAt: number | null;
  /** The scenario's `close.trigger` (default `caller-hangup`). */
  trigger?: 'caller-hangup' | 'agent-tool';
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
  /** ms from the close request (`close.requested`) to the close event: what the fix's bound limits. Null when either is missing. */
  closeRequestMs?: number | null;
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

/**
 * agent-tool: what the end-call tool's awaited close did by the verdict, in words, e.g.
 * `the end_call tool's awaited close threw CancelledError:  after 5003 ms`.
 */
export function endCallOutcome(events: TimelineEvent[]): string {
  const start = events.find((e) => e.ev === 'tool.end_call.start');
  const tool = String(start?.data?.tool ?? 'end-call');
  const ret = events.find((e) => e.ev === 'tool.end_call.returned' && (!start || e.t >= start.t));
  const what = `the ${tool} tool's ${start?.data?.awaited === false ? 'close (not awaited)' : 'awaited close'}`;
  if (!ret) return `${what} had not returned`;
  const ms = typeof ret.data?.ms === 'number' ? ` after ${ret.data.ms} ms` : '';
  return ret.data?.ok === true ? `${what} returned normally${ms}` : `${what} threw ${String(ret.data?.error ?? 'an error')}${ms}`;
}

/** The reason of a `hang` whose close event fired while `open` provider sockets stayed open. */
function outlivedReason(sockets: LedgerSocket[]): string {
  const open = sockets.filter((s) => s.closedAt === null);
  const kinds = [...new Set(open.map((s) => s.kind))].join(', ');
  return `the session closed, but ${open.length} provider socket(s) (${kinds}) outlived the close`;
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
  if (input.trigger === 'agent-tool') return judgeAgentTool(events, hangupAt, base, closed, requested, sockets);
  if (closed) {
    const closeMs = Math.round(closed.t - hangupAt);
    const closeRequestMs = requested && requested.t <= closed.t ? Math.round(closed.t - requested.t) : null;
    if (open > 0) {
      return { ...base, verdict: 'hang', reason: outlivedReason(sockets), closeMs, closeRequestMs, closeEvent: closed.ev };
    }
    return { ...base, verdict: 'closed', reason: 'close event fired and every socket closed', closeMs, closeRequestMs, closeEvent: closed.ev };
  }
  if (!requested) {
    return { ...base, verdict: 'error', reason: 'the hangup never led to a close request (closeOnDisconnect did not fire)', closeMs: null, closeEvent: null };
  }
  return { ...base, verdict: 'hang', reason: `close requested but never completed; parked after ${lastEvent}`, closeMs: null, closeEvent: null };
}

/** `judge` for `close.trigger: agent-tool`; `anchor` is the `close.requested` the run watched from. */
function judgeAgentTool(
  events: TimelineEvent[],
  anchor: number,
  base: { openSocketsAfterClose: number; lastEvent: string | null },
  closed: TimelineEvent | undefined,
  requested: TimelineEvent | undefined,
  sockets: LedgerSocket[],
): VerdictResult {
  const open = base.openSocketsAfterClose;
  const start = events.find((e) => e.ev === 'tool.end_call.start' && e.t <= anchor);
  if (!requested || !start) {
    const why = !requested ? 'no close request at the anchor' : `the close was requested (reason ${String(requested.data?.reason ?? 'unknown')}) but not by the end-call tool (no tool.end_call.start before it)`;
    return { ...base, verdict: 'error', reason: `close.trigger agent-tool: ${why}`, closeMs: null, closeRequestMs: null, closeEvent: null };
  }
  const tool = endCallOutcome(events);
  if (closed) {
    const closeMs = Math.round(closed.t - anchor);
    const closeRequestMs = Math.round(closed.t - requested.t);
    if (open > 0) {
      return { ...base, verdict: 'hang', reason: `${outlivedReason(sockets)}; ${tool}`, closeMs, closeRequestMs, closeEvent: closed.ev };
    }
    return { ...base, verdict: 'closed', reason: `close event fired and every socket closed; ${tool}`, closeMs, closeRequestMs, closeEvent: closed.ev };
  }
  return { ...base, verdict: 'hang', reason: `the end-call tool requested the close and it never completed (no close event); ${tool}; parked after ${base.lastEvent}`, closeMs: null, closeRequestMs: null, closeEvent: null };
}
