/**
 * Phase 4, the close: wait for the scenario's hangup cue, hang up, and watch the forced
 * close against the watchdog; then, at a hang, watch the orphaned sockets through the
 * gateway's compressed idle close (2007).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerSocket } from '../contract/results.js';
import { monotonicMs, readEvents, type TimelineEvent } from '../observe/events.js';
import { fetchWorkerSockets } from '../providers/client.js';
import { hangupPlan, type CloseTrigger, type Scenario } from '../scenario/spec.js';
import type { Call } from './caller.js';
import type { RunLayout } from './layout.js';

/** agent-tool: how long (ms) after the close event to wait for the tool's `tool.end_call.returned` before the verdict. */
export const TOOL_RETURN_GRACE_MS = 500;

/** After a hang, how long (ms) to keep watching once the 2007 idle close has happened. */
export const IDLE_WATCH_MS = 2000;

/** How the watch ended. Times on CLOCK_MONOTONIC ms. */
export interface CloseWatch {
  /** What requested the close (the scenario's `close.trigger`). */
  trigger?: CloseTrigger;
  /**
   * The anchor everything after it is measured from (closeMs, the watchdog, the timeline's
   * zero): the caller's hangup for `caller-hangup`; for `agent-tool` the worker's own
   * `close.requested` (the end-call tool asking for the close). Null when the cue never
   * came (then `abortReason` says why).
   */
  hangupAt: number | null;
  /** agent-tool: when the caller left, after the verdict (`leaveAfterVerdict`). */
  callerHangupAt?: number;
  /**
   * agent-tool, after a close: the end of the wait for the job's shutdown callbacks once the
   * caller left (`leaveAfterVerdict`); "the shutdown callbacks ran" is read up to here, not
   * up to the verdict (nothing ends the job before the caller leaves).
   */
  jobEndWatchedUntil?: number;
  verdictAt: number;
  /** The worker's sockets at the verdict (agent-tool, after a close: once the job ended, see leaveAfterVerdict). */
  sockets: LedgerSocket[];
  abortReason?: string;
  /** The caller's own hangup failed (it still left, or the watch would say so); kept in the result's reason. */
  hangupError?: string;
}

async function waitForEvent(file: string, ev: string, deadline: number): Promise<TimelineEvent | null> {
  while (Date.now() < deadline) {
    const hit = readEvents(file).find((e) => e.ev === ev);
    if (hit) return hit;
    await sleep(50);
  }
  return null;
}

const closedSince = (file: string, t: number) => readEvents(file).some((e) => e.ev === 'session.closed' && e.t >= t);

/**
 * The close, per the scenario's trigger (`hangupPlan`):
 *  - caller-hangup: waits for `caller.hangupAfter` (e.g. `wedge.entered`) within
 *    cueTimeoutMs, waits hangupDelayMs, hangs up (`caller.hangup`); the anchor is the hangup.
 *  - agent-tool: the caller does not hang up; waits for the worker's `close.requested` (the
 *    end-call tool's close) within cueTimeoutMs; the anchor is that event. The caller leaves
 *    only after the verdict (`leaveAfterVerdict`), so its leaving can neither close the
 *    session nor be mistaken for the close under test.
 * Then polls until the session closed and every socket of `worker` closed, or `watchdogMs`
 * (ms) passed since the anchor: a clean close ends the run early.
 */
export async function hangupAndWatch(o: {
  scenario: Scenario;
  call: Call;
  layout: RunLayout;
  gatewayUrl: string;
  worker: string;
  watchdogMs: number;
  progress: (l: string) => void;
}): Promise<CloseWatch> {
  const { scenario, layout } = o;
  const plan = hangupPlan(scenario);
  const cueName = plan.trigger === 'agent-tool' ? 'close.requested' : plan.hangupAfter;
  const cue = await waitForEvent(layout.eventsFile, cueName, Date.now() + scenario.caller.cueTimeoutMs);
  if (!cue) {
    const last = readEvents(layout.eventsFile).filter((e) => e.runtime !== 'kit').at(-1)?.ev ?? 'none';
    const what = plan.trigger === 'agent-tool' ? `the ${plan.tool} tool's close request (close.requested)` : `the hangup cue ${cueName}`;
    return {
      trigger: plan.trigger,
      hangupAt: null,
      verdictAt: monotonicMs(),
      sockets: await fetchWorkerSockets(o.gatewayUrl, o.worker),
      abortReason: `${what} never came within ${scenario.caller.cueTimeoutMs} ms (last worker event: ${last})`,
    };
  }
  let hangupAt: number;
  let hangupError: string | undefined;
  if (plan.trigger === 'agent-tool') {
    hangupAt = cue.t;
    o.progress(`${layout.id}: the ${plan.tool} tool requested the close; the caller stays until the verdict`);
  } else {
    await sleep(plan.hangupDelayMs);
    o.progress(`${layout.id}: ${plan.hangupAfter} seen, caller hangs up`);
    hangupAt = monotonicMs();
    layout.kitEmit('caller.hangup', { after: plan.hangupAfter });
    try {
      await o.call.hangup();
    } catch (e) {
      // The verdict still comes from the timeline (did the agent see the caller leave, did
      // the close finish); the caller's own failure is evidence, not the verdict.
      hangupError = (e as Error).message.split('\n')[0];
    }
  }

  const deadline = Date.now() + Math.max(0, o.watchdogMs - (monotonicMs() - hangupAt));
  let closedSeenAt: number | null = null;
  while (Date.now() < deadline) {
    if (closedSince(layout.eventsFile, hangupAt)) {
      // agent-tool: the pooled sockets (TTS) close only when the job ends, which needs the
      // caller gone: the close event is the verdict here, the sockets are judged after
      // leaveAfterVerdict. The tool's own outcome comes right after the close event: give
      // it TOOL_RETURN_GRACE_MS to be on the timeline the verdict reads.
      if (plan.trigger === 'agent-tool') {
        closedSeenAt ??= Date.now();
        if (Date.now() - closedSeenAt >= TOOL_RETURN_GRACE_MS || readEvents(layout.eventsFile).some((e) => e.ev === 'tool.end_call.returned' && e.t >= hangupAt)) break;
        await sleep(50);
        continue;
      }
      const now = await fetchWorkerSockets(o.gatewayUrl, o.worker);
      if (now.every((s) => s.closedAt !== null)) break;
    }
    await sleep(100);
  }
  const verdictAt = monotonicMs();
  const sockets = await fetchWorkerSockets(o.gatewayUrl, o.worker);
  return { trigger: plan.trigger, hangupAt, verdictAt, sockets, ...(hangupError ? { hangupError } : {}) };
}

/** agent-tool, after a close: how long (ms) past the room's departure timeout to wait for the job's shutdown callbacks. */
export const JOB_END_SLACK_MS = 5000;

/**
 * agent-tool only (a no-op otherwise): the caller leaves after the verdict (and after the
 * parked capture, so its leaving cannot change what a hung job reports), as a caller does
 * once the agent ended the call: `caller.hangup {after: 'verdict'}`. When the session did
 * close, the room's departure timeout then ends the job, whose shutdown callbacks close the
 * pooled provider sockets (as after a caller-hangup close): waits for the shutdown callback
 * and every socket of `worker` closed, up to `room.departureTimeoutS` + JOB_END_SLACK_MS,
 * then records the sockets at the end of that wait in `w.sockets` (what the verdict's
 * "every socket closed" reads for this trigger) and the end in `w.jobEndWatchedUntil`.
 * Mutates `w` (`callerHangupAt`, `jobEndWatchedUntil`, `sockets`, `hangupError`).
 */
export async function leaveAfterVerdict(o: { w: CloseWatch; scenario: Scenario; call: Call; layout: RunLayout; gatewayUrl: string; worker: string; progress: (l: string) => void }): Promise<void> {
  const { w, layout } = o;
  if (w.trigger !== 'agent-tool' || w.hangupAt === null) return;
  o.progress(`${layout.id}: the caller leaves after the verdict`);
  w.callerHangupAt = monotonicMs();
  layout.kitEmit('caller.hangup', { after: 'verdict' });
  try {
    await o.call.hangup();
  } catch (e) {
    w.hangupError ??= (e as Error).message.split('\n')[0];
  }
  if (closeHung(w, layout.eventsFile)) return;
  const ended = () => readEvents(layout.eventsFile).some((e) => e.ev === 'shutdown.callback' && e.t >= w.hangupAt!);
  const deadline = Date.now() + o.scenario.room.departureTimeoutS * 1000 + JOB_END_SLACK_MS;
  let sockets = await fetchWorkerSockets(o.gatewayUrl, o.worker);
  while (Date.now() < deadline && !(ended() && sockets.every((s) => s.closedAt !== null))) {
    await sleep(100);
    sockets = await fetchWorkerSockets(o.gatewayUrl, o.worker);
  }
  w.jobEndWatchedUntil = monotonicMs();
  w.sockets = sockets;
}

/** True when the close event had not fired after the hangup by the verdict. */
export function closeHung(w: CloseWatch, eventsFile: string): boolean {
  return w.hangupAt !== null && !readEvents(eventsFile).some((e) => e.ev === 'session.closed' && e.t >= w.hangupAt! && e.t <= w.verdictAt);
}

/**
 * Evidence window after a verdict that left sockets open: the gateway's compressed idle
 * timer sends 2007 on the orphaned STT socket; watch what this version does (reconnect, or
 * error out) until every 2007'd socket has been closed for IDLE_WATCH_MS, or the idle close
 * plus IDLE_WATCH_MS passed. Returns the sockets at the end, or null when nothing was left open.
 */
export async function watchOrphans(o: { w: CloseWatch; scenario: Scenario; gatewayUrl: string; worker: string; layout: RunLayout; progress: (l: string) => void }): Promise<LedgerSocket[] | null> {
  const { w } = o;
  if (w.hangupAt === null || w.sockets.every((s) => s.closedAt !== null)) return null;
  o.progress(`${o.layout.id}: verdict taken; watching the orphaned sockets for the 2007 idle close`);
  const until = Date.now() + Math.max(0, o.scenario.gateway.stt.idleCloseMs - (monotonicMs() - w.hangupAt)) + IDLE_WATCH_MS;
  while (Date.now() < until) {
    await sleep(200);
    const now = await fetchWorkerSockets(o.gatewayUrl, o.worker);
    const got2007 = now.filter((s) => s.errorsSent.includes(2007));
    if (got2007.length && got2007.every((s) => s.closedAt !== null && monotonicMs() - s.closedAt > IDLE_WATCH_MS)) break;
  }
  return fetchWorkerSockets(o.gatewayUrl, o.worker);
}
