/**
 * Phase 6, the result: judge the run from its timeline and the ledger alone
 * (ts/verdict/), apply the verify checks, and lay out the evidence (timeline relative to
 * the hangup, sockets, SIP call, parked capture) as results.json's RunResult.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORCED_CLOSE_BOUND_MS } from '../config.js';
import { toParkedReport } from '../contract/parked.js';
import type { LedgerSocket, RunResult, RuntimeInstall, SipCall } from '../contract/results.js';
import { readEvents, type TimelineEvent } from '../observe/events.js';
import { sipLogEvents } from '../observe/sip-log.js';
import { closeWaitsOn, expectedVerdict, type Scenario } from '../scenario/spec.js';
import { judge, matches, parkedIn, verifyChecks } from '../verdict/index.js';
import { describeJobEnd, jobEndCheck, judgeJobEnd, workerExitCheck } from '../verdict/lifecycle.js';
import { supervisorLogEvents } from '../observe/worker-log.js';
import type { WorkerExit } from '../contract/results.js';
import type { RunLayout } from './layout.js';
import { PARKED_CAPTURE_MS } from './parked.js';
import type { CloseWatch } from './watch.js';

const round1 = (n: number) => Math.round(n * 10) / 10;

export interface ResultInput {
  scenario: Scenario;
  install: RuntimeInstall;
  layout: RunLayout;
  network: 'netns' | 'host';
  /** null when the run stopped before the watch (a caller or worker failure); `abortReason` says why. */
  watch: CloseWatch | null;
  abortReason?: string;
  /** The kit cannot drive this version (its worker did not start), if so. */
  unsupportedReason?: string;
  /** The sockets after the 2007 watch, when there was one. */
  afterIdle: LedgerSocket[] | null;
  /** ms per phase of the run (stack, worker, caller, cue, close, parked, orphans, teardown). */
  phasesMs?: Record<string, number>;
  /** How the worker runs on the host when not in a container (the runtime entry's `hostMode`). */
  hostMode: 'venv' | 'npm';
  /** `Date.now() - monotonicMs()` at the start, so wall-clock log lines (livekit-sip) join the timeline. */
  wallMinusMonoMs: number;
  /** Seed 001: the worker's exit after the kit's SIGTERM (run/lifecycle.ts watchWorkerExit). */
  workerExit?: WorkerExit | null;
  /** The worker's log (its supervisor's lines go on the timeline for a lifecycle scenario). */
  workerLog?: string;
}

/** Builds the RunResult and writes it as `<run>/result.json`. */
export function buildResult(i: ResultInput): RunResult {
  const { scenario, install, layout, watch } = i;
  const hangupAt = watch?.hangupAt ?? null;
  const verdictAt = watch?.verdictAt ?? null;
  const sockets = watch?.sockets ?? [];
  const events = readEvents(layout.eventsFile);
  const atVerdict = verdictAt === null ? events : events.filter((e) => e.t <= verdictAt);
  const v = judge({ events: atVerdict, sockets, hangupAt, trigger: scenario.close.trigger, abortReason: i.abortReason ?? watch?.abortReason, unsupportedReason: i.unsupportedReason });
  const ref = hangupAt ?? events[0]?.t ?? 0;
  const finalSockets = i.afterIdle ?? sockets;
  const sttAfterHangup = hangupAt === null ? [] : finalSockets.filter((s) => s.kind === 'stt' && s.openedAt > hangupAt);
  const idleErrors = finalSockets.reduce((n, s) => n + s.errorsSent.filter((c) => c === 2007).length, 0);
  const sttErrors = events.filter((e) => e.ev === 'stt.error' && (hangupAt === null || e.t >= hangupAt));
  const { sipCall, sipEvents } = sipEvidence(scenario, layout, events, hangupAt, i.wallMinusMonoMs);
  // Seeds 001/002: the worker's supervisor lines (unresponsive, killing, drain) on the same clock.
  const supEvents = scenario.lifecycle && i.workerLog ? supervisorLogEvents(i.workerLog, i.wallMinusMonoMs) : [];
  const timeline = [...events, ...socketEvents(finalSockets), ...sipEvents, ...supEvents].sort((a, b) => a.t - b.t);
  const jobEnd = scenario.lifecycle?.shutdownCallback ? judgeJobEnd(timeline, hangupAt, scenario.lifecycle.pingTimeoutMs ?? null) : undefined;
  // agent-tool: nothing ends the job before the caller leaves (after the verdict), so the
  // callbacks are looked for up to the end of leaveAfterVerdict's wait.
  const shutdownUntil = watch?.jobEndWatchedUntil ?? verdictAt;
  const shutdownCallbackRan = hangupAt !== null && (shutdownUntil === null ? events : events.filter((e) => e.t <= shutdownUntil)).some((e) => e.ev === 'shutdown.callback' && e.t >= hangupAt);
  const failedChecks = lifecycleChecks(scenario, install, jobEnd, i.workerExit);
  failedChecks.unshift(...verifyChecks({ variant: install.variant, wedgeWhere: closeWaitsOn(scenario), verdict: v.verdict, closeMs: v.closeMs, closeRequestMs: v.closeRequestMs ?? null, shutdownCallbackRan, boundMs: FORCED_CLOSE_BOUND_MS }));
  const expected = expectedVerdict(scenario, install.runtime, install.variant);
  const hung = v.verdict === 'hang';
  const result: RunResult = {
    scenario: scenario.name,
    runtime: install.runtime,
    runtimeVersion: install.version,
    baselineVersion: install.baseVersion ?? install.version,
    variant: install.variant,
    caller: scenario.caller.kind,
    verdict: v.verdict,
    expected,
    ...(install.variant !== 'unpatched' && hung && scenario.expect.uncured ? { uncured: scenario.expect.uncured } : {}),
    matched: matches(v.verdict, expected, failedChecks),
    reason:
      (failedChecks.length ? `${v.reason}; but ${failedChecks.join('; ')}` : v.reason) +
      (jobEnd ? `; ${describeJobEnd(jobEnd)}` : '') +
      (i.workerExit ? `; ${describeWorkerExit(i.workerExit)}` : '') +
      (watch?.hangupError ? ` (the caller's hangup reported: ${watch.hangupError})` : ''),
    shutdownCallbackRan,
    failedChecks,
    closeMs: v.closeMs,
    closeRequestMs: v.closeRequestMs ?? null,
    closeEvent: v.closeEvent,
    openSocketsAfterClose: v.openSocketsAfterClose,
    gatewayReconnects: sttAfterHangup.length,
    idleErrorsAfterHangup: idleErrors,
    sttErrorsAfterHangup: sttErrors.map((e) => e.data ?? {}),
    // The parked capture arrives just after the verdict (SIGUSR2 is sent at it).
    parkedAfter: hung ? parkedIn(verdictAt === null ? events : events.filter((e) => e.t <= verdictAt + PARKED_CAPTURE_MS + 500), v.lastEvent) : null,
    parked: hung && verdictAt !== null ? toParkedReport(events.filter((e) => e.ev === 'parked' && e.t >= verdictAt).at(-1)?.data) : null,
    network: i.network,
    sipCall,
    hangupToVerdictMs: hangupAt !== null && verdictAt !== null ? Math.round(verdictAt - hangupAt) : null,
    timeline: timeline.map((e) => ({ t: round1(e.t - ref), ev: e.ev, runtime: e.runtime, data: e.data })),
    sockets: finalSockets.map((s) => ({ ...s, openedAt: round1(s.openedAt - ref), closedAt: s.closedAt === null ? null : round1(s.closedAt - ref) })),
    logsDir: layout.logsDir,
    ...(install.notes?.length ? { installNotes: install.notes } : {}),
    ...(i.phasesMs ? { phasesMs: i.phasesMs } : {}),
    worker: install.container ? { mode: 'container', image: install.container.image, imageId: install.container.imageId } : { mode: i.hostMode },
    ...(jobEnd ? { jobEnd } : {}),
    workerExit: i.workerExit ?? null,
  };
  writeFileSync(join(layout.dir, 'result.json'), JSON.stringify(result, null, 2));
  return result;
}

/** The lifecycle checks a run failed: the job end against `expect.jobEnd`; a SIGTERM'd worker that never exited. */
function lifecycleChecks(scenario: Scenario, install: RuntimeInstall, jobEnd: ReturnType<typeof judgeJobEnd> | undefined, workerExit: WorkerExit | null | undefined): string[] {
  const out: string[] = [];
  const j = jobEndCheck(scenario.expect.jobEnd?.[install.runtime][install.variant], jobEnd);
  if (j) out.push(j);
  const w = workerExitCheck(scenario.expect.workerExit?.[install.variant], workerExit, !!scenario.lifecycle?.sigterm);
  if (w) out.push(w);
  return out;
}

/** The worker's exit in words, e.g. `the worker exited 18412 ms after SIGTERM (code 143; its bound drain 15000 + shutdown process 3000 ms), 0 of 3 sockets open at its exit`. */
export function describeWorkerExit(w: WorkerExit): string {
  const bound = `its bound drain ${w.drainTimeoutMs} + shutdown process ${w.shutdownProcessTimeoutMs} ms`;
  if (w.afterSigtermMs === null) return `the worker had not exited ${w.watchedMs} ms after SIGTERM (${bound})`;
  return `the worker exited ${w.afterSigtermMs} ms after SIGTERM (${w.signal ? `signal ${w.signal}` : `code ${w.code}`}; ${bound}); ${w.socketsClosedBeforeExit} of ${w.socketsTotal} provider sockets closed before the exit, ${w.socketsOpenAtExit} open just after it`;
}

/** The ledger's sockets as `socket.open`/`socket.close` timeline events (runtime `gateway`). */
function socketEvents(sockets: LedgerSocket[]): TimelineEvent[] {
  return sockets.flatMap((s) => [
    { t: s.openedAt, ev: 'socket.open', runtime: 'gateway' as const, data: { id: s.id, kind: s.kind } },
    ...(s.closedAt !== null ? [{ t: s.closedAt, ev: 'socket.close', runtime: 'gateway' as const, data: { id: s.id, kind: s.kind, code: s.closeCode, by: s.closedBy, errorsSent: s.errorsSent } }] : []),
  ]);
}

/**
 * SIP evidence: the call's state as the agent saw it when the caller left (the sip.*
 * participant attributes of `participant.disconnected`) and livekit-sip's own log lines
 * for that call, on the same clock. Nothing for a WebRTC caller.
 */
function sipEvidence(scenario: Scenario, layout: RunLayout, events: TimelineEvent[], hangupAt: number | null, wallMinusMonoMs: number): { sipCall: SipCall | null; sipEvents: TimelineEvent[] } {
  if (scenario.caller.kind === 'webrtc') return { sipCall: null, sipEvents: [] };
  const left = events.find((e) => e.ev === 'participant.disconnected' && e.t >= (hangupAt ?? 0));
  const attributes = (left?.data?.sip ?? {}) as Record<string, string>;
  const callId = attributes['sip.callID'] ?? null;
  const sipEvents = sipLogEvents(join(layout.logsDir, 'livekit-sip.log'), wallMinusMonoMs, callId);
  return {
    sipCall: { callId, callStatus: attributes['sip.callStatus'] ?? null, disconnectReason: (left?.data?.reason as string | undefined) ?? null, attributes, livekitSipLines: sipEvents.length },
    sipEvents,
  };
}
