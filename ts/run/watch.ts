/**
 * Phase 4, the close: wait for the scenario's hangup cue, hang up, and watch the forced
 * close against the watchdog; then, at a hang, watch the orphaned sockets through the
 * gateway's compressed idle close (2007).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerSocket } from '../contract/results.js';
import { monotonicMs, readEvents, type TimelineEvent } from '../observe/events.js';
import { fetchWorkerSockets } from '../providers/client.js';
import type { Scenario } from '../scenario/spec.js';
import type { Call } from './caller.js';
import type { RunLayout } from './layout.js';

/** After a hang, how long (ms) to keep watching once the 2007 idle close has happened. */
export const IDLE_WATCH_MS = 2000;

/** How the watch ended. Times on CLOCK_MONOTONIC ms. */
export interface CloseWatch {
  /** null when the cue never came (then `abortReason` says why). */
  hangupAt: number | null;
  verdictAt: number;
  /** The worker's sockets at the verdict. */
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
 * Waits for `scenario.caller.hangupAfter` (e.g. `wedge.entered`) within cueTimeoutMs, waits
 * hangupDelayMs, hangs up (`caller.hangup`), then polls until the session closed and every
 * socket of `worker` closed, or `watchdogMs` (ms) passed: a clean close ends the run early.
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
  const cue = await waitForEvent(layout.eventsFile, scenario.caller.hangupAfter, Date.now() + scenario.caller.cueTimeoutMs);
  if (!cue) {
    const last = readEvents(layout.eventsFile).filter((e) => e.runtime !== 'kit').at(-1)?.ev ?? 'none';
    return {
      hangupAt: null,
      verdictAt: monotonicMs(),
      sockets: await fetchWorkerSockets(o.gatewayUrl, o.worker),
      abortReason: `the hangup cue ${scenario.caller.hangupAfter} never came within ${scenario.caller.cueTimeoutMs} ms (last worker event: ${last})`,
    };
  }
  await sleep(scenario.caller.hangupDelayMs);
  o.progress(`${layout.id}: ${scenario.caller.hangupAfter} seen, caller hangs up`);
  const hangupAt = monotonicMs();
  layout.kitEmit('caller.hangup', { after: scenario.caller.hangupAfter });
  let hangupError: string | undefined;
  try {
    await o.call.hangup();
  } catch (e) {
    // The verdict still comes from the timeline (did the agent see the caller leave, did
    // the close finish); the caller's own failure is evidence, not the verdict.
    hangupError = (e as Error).message.split('\n')[0];
  }

  const deadline = Date.now() + o.watchdogMs;
  while (Date.now() < deadline) {
    if (closedSince(layout.eventsFile, hangupAt)) {
      const now = await fetchWorkerSockets(o.gatewayUrl, o.worker);
      if (now.every((s) => s.closedAt !== null)) break;
    }
    await sleep(100);
  }
  const verdictAt = monotonicMs();
  return { hangupAt, verdictAt, sockets: await fetchWorkerSockets(o.gatewayUrl, o.worker), ...(hangupError ? { hangupError } : {}) };
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
