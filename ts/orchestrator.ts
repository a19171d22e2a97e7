/**
 * The orchestrator: one run = one scenario × one runtime × one variant, on a fresh stack
 * (its own network namespace, livekit-server, gateway, worker, room, caller), judged from
 * the timeline and the gateway's ledger. Composes the folders; the folders never reach into
 * each other (docs/internals.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessToken, AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { ROOT, PORTS, FORCED_CLOSE_BOUND_MS } from './config.js';
import { KitError } from './errors.js';
import { appendFileSync } from 'node:fs';
import { monotonicMs, readEvents, type TimelineEvent } from './observe/events.js';
import { sipLogEvents } from './observe/sip-log.js';
import type { Scenario, Verdict } from './scenario/spec.js';
import { judge, parkedIn, type LedgerSocket } from './verdict.js';
import { createRunNetwork } from './stack/netns.js';
import { Supervisor } from './stack/supervisor.js';
import { newKeyPair } from './stack/keys.js';
import { startLivekitServer } from './stack/livekit-server.js';
import { startWebrtcCaller } from './callers/webrtc.js';
import { startSipCaller } from './callers/sip.js';
import { startRedis } from './stack/redis.js';
import { startLivekitSip } from './stack/livekit-sip.js';
import { sipAdmin, DEFAULT_INBOUND_NUMBER } from './stack/sip-admin.js';
import { waitForGateway } from './providers/client.js';
import { gatewayInferenceUrl } from './providers/gateway.js';

export type Runtime = 'js' | 'py';
export type Variant = 'unpatched' | 'patched';

/** What a worker needs to know about the installed runtime it runs on. */
export interface RuntimeInstall {
  runtime: Runtime;
  variant: Variant;
  /** Package version, e.g. '1.9.0' (js) or '1.8.9' (py). */
  version: string;
  /** js: the runtime dir (npm project); py: the venv's python executable. */
  location: string;
}

export interface RunResult {
  scenario: string;
  runtime: Runtime;
  runtimeVersion: string;
  variant: Variant;
  caller: string;
  verdict: Verdict;
  expected: Verdict;
  matched: boolean;
  reason: string;
  /** ms from hangup to the AgentSession close event; null when it never fired. */
  closeMs: number | null;
  closeEvent: string | null;
  openSocketsAfterClose: number;
  /** STT sockets the worker opened after the hangup (reconnects after 2007 or errors). */
  gatewayReconnects: number;
  /** 2007 idle errors the gateway sent to this worker. */
  idleErrorsAfterHangup: number;
  /** What the worker's STT stream reported after the hangup (stt.error event data). */
  sttErrorsAfterHangup: Array<Record<string, unknown>>;
  /** A shutdown callback of the job ran between the hangup and the verdict. */
  shutdownCallbackRan: boolean;
  /** Extra requirements of `kit verify` that this run failed (empty when none apply or all held). */
  failedChecks: string[];
  /** Where the close is parked at a hang: innermost open step the worker reported, else its last event. */
  parkedAfter: string | null;
  /** Stack/task capture from the live job process at a hang, when the worker provided one. */
  parked: unknown;
  network: 'netns' | 'host';
  /** SIP runs: the call as the agent saw it when the caller left (sip.* participant attributes). */
  sipCall: { callId: string | null; callStatus: string | null; disconnectReason: string | null; attributes: Record<string, string>; livekitSipLines: number } | null;
  /** ms: hangup → verdict. */
  hangupToVerdictMs: number | null;
  /** Timeline with times relative to the hangup (ms; negative before it). */
  timeline: Array<{ t: number; ev: string; runtime?: string; data?: Record<string, unknown> }>;
  /** The worker's provider sockets, open/close times relative to the hangup (ms), as at the end of the run. */
  sockets: LedgerSocket[];
  logsDir: string;
}

export interface RunOptions {
  scenario: Scenario;
  install: RuntimeInstall;
  runDir: string;
  /** Override of scenario.watchdogMs. */
  watchdogMs?: number;
  onProgress?: (line: string) => void;
}

/** After a hang, how long (ms) to keep watching once the 2007 idle close has happened. */
const IDLE_WATCH_MS = 2000;

/** How long (ms) to wait for the job process to answer SIGUSR2 with its `parked` event. */
const PARKED_CAPTURE_MS = 1500;

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * The worker's sockets from the gateway ledger, with open/close times moved onto the
 * CLOCK_MONOTONIC ms scale of the timeline (the ledger reports ms since gateway start
 * plus its start on that scale: ts/providers/ledger.ts).
 */
async function workerSockets(baseUrl: string, worker: string): Promise<LedgerSocket[]> {
  const res = await fetch(`${baseUrl}/_kit/ledger`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { sockets: LedgerSocket[]; startedAtMonotonicMs: number };
  const t0 = body.startedAtMonotonicMs;
  return body.sockets
    .filter((s) => s.worker === worker)
    .map((s) => ({ ...s, openedAt: s.openedAt + t0, closedAt: s.closedAt === null ? null : s.closedAt + t0 }));
}

function token(apiKey: string, apiSecret: string, identity: string, room: string): Promise<string> {
  const at = new AccessToken(apiKey, apiSecret, { identity, ttl: '10m' });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  return at.toJwt();
}

async function waitForEvent(file: string, ev: string, deadline: number, stop?: () => string | null): Promise<TimelineEvent | null> {
  while (Date.now() < deadline) {
    const hit = readEvents(file).find((e) => e.ev === ev);
    if (hit) return hit;
    const why = stop?.();
    if (why) throw new KitError(why, { exitCode: 1 });
    await sleep(50);
  }
  return null;
}

/**
 * Run one scenario on one runtime install. Never throws for a misbehaving agent (that is
 * a verdict); throws KitError (exit 2) when a component cannot start.
 */
export async function runOne(opts: RunOptions): Promise<RunResult> {
  const { scenario, install, runDir } = opts;
  const progress = opts.onProgress ?? (() => {});
  const id = `${scenario.name}.${install.runtime}.${install.variant}`;
  const dir = join(runDir, 'runs', id);
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const eventsFile = join(dir, 'events.jsonl');
  const scenarioFile = join(dir, 'scenario.json');
  writeFileSync(scenarioFile, JSON.stringify(scenario, null, 2));
  writeFileSync(eventsFile, '');
  const kitEmit = (ev: string, data?: Record<string, unknown>) =>
    appendFileSync(eventsFile, JSON.stringify({ t: monotonicMs(), ev, runtime: 'kit', pid: process.pid, data }) + '\n');

  // Both clocks read here, so wall-clock log lines (livekit-sip) can join the timeline.
  const wallMinusMonoMs = Date.now() - monotonicMs();
  const runId = `${install.runtime}${install.variant[0]}${randomBytes(3).toString('hex')}`;
  const net = await createRunNetwork(runId);
  const sup = new Supervisor({ runId, logsDir, net });
  let hangupAt: number | null = null;
  let abortReason: string | undefined;
  let sockets: LedgerSocket[] = [];
  let verdictAt: number | null = null;
  let ledgerUrl = '';
  let after2007: LedgerSocket[] | null = null;
  const workerLabel = install.runtime;
  try {
    const keys = { kit: newKeyPair('kit'), js: newKeyPair('js'), py: newKeyPair('py') };
    const keyMap = Object.fromEntries(Object.values(keys).map((k) => [k.apiKey, k.apiSecret]));
    const sipCall = scenario.caller.kind !== 'webrtc';
    progress(`${id}: starting ${sipCall ? 'redis, livekit-server and livekit-sip' : 'livekit-server'} in ${net.name ?? 'host network'}`);
    const redis = sipCall ? await startRedis(sup, { host: net.nsAddr }) : null;
    const lk = await startLivekitServer(sup, { keys: keyMap, ...(redis ? { redis: { addr: redis.addr } } : {}) });
    const sip = redis ? await startLivekitSip(sup, { redisAddr: redis.addr, apiKey: keys.kit.apiKey, apiSecret: keys.kit.apiSecret, wsUrl: lk.wsUrl, host: net.nsAddr }) : null;

    const gwPort = PORTS.gateway;
    const gwScript = join(dir, 'gateway-script.json');
    const gwKeys = join(dir, 'gateway-keys.json');
    writeFileSync(gwScript, JSON.stringify(scenario.gateway));
    writeFileSync(gwKeys, JSON.stringify(keys));
    sup.spawn('gateway', process.execPath, ['--import', 'tsx', join(ROOT, 'ts/providers/main.ts'), '--host', net.nsAddr, '--port', String(gwPort), '--script', gwScript, '--keys', gwKeys], { cwd: ROOT });
    ledgerUrl = `http://${net.nsAddr}:${gwPort}`;
    await waitForGateway(ledgerUrl, 20_000);
    const inferenceUrl = gatewayInferenceUrl(net.nsAddr, gwPort);

    const agentName = `closekit-${install.runtime}`;
    const wk = keys[install.runtime];
    progress(`${id}: starting ${install.runtime} worker (${install.version}${install.variant === 'patched' ? ', patched' : ''})`);
    const workerOpts = { livekit: { wsUrl: lk.wsUrl, apiKey: wk.apiKey, apiSecret: wk.apiSecret }, inferenceUrl, agentName, scenarioFile, eventsFile };
    if (install.runtime === 'js') {
      const { startJsWorker } = await import('./runtimes/js/index.js');
      startJsWorker(sup, { runtimeDir: install.location, ...workerOpts });
    } else {
      const { startPyWorker } = await import('./runtimes/python.js');
      startPyWorker(sup, { python: install.location, ...workerOpts });
    }
    const registered = await waitForEvent(eventsFile, 'worker.registered', Date.now() + 60_000);
    if (!registered) throw new KitError(`${install.runtime} worker did not register with livekit-server within 60 s`, { fix: `see ${logsDir}/js-worker.log or py-worker.log` });

    const room = `ck-${scenario.name}-${randomBytes(3).toString('hex')}`;
    const kit = keys.kit;
    const metadata = JSON.stringify({ scenario: scenario.name });
    const rooms = new RoomServiceClient(lk.httpUrl, kit.apiKey, kit.apiSecret);
    const dispatch = new AgentDispatchClient(lk.httpUrl, kit.apiKey, kit.apiSecret);
    let caller: { waitFor(ev: string, timeoutMs: number): Promise<unknown>; hangup(): Promise<void> };
    if (scenario.caller.kind === 'webrtc') {
      await rooms.createRoom({ name: room, emptyTimeout: 60, departureTimeout: scenario.room.departureTimeoutS });
      await dispatch.createDispatch(room, agentName, { metadata });
      progress(`${id}: WebRTC caller joins ${room}`);
      caller = startWebrtcCaller(sup, { name: 'caller', wsUrl: lk.wsUrl, token: await token(kit.apiKey, kit.apiSecret, 'caller', room) });
    } else {
      const admin = sipAdmin({ httpUrl: lk.httpUrl, apiKey: kit.apiKey, apiSecret: kit.apiSecret });
      if (scenario.caller.kind === 'sip-inbound') {
        // Production shape: the dispatch rule creates the call's room and dispatches the agent.
        const trunk = await admin.createInboundTrunk({ allowedAddresses: [net.nsAddr] });
        await admin.createDispatchRule(agentName, `ck-${scenario.name}`, { trunkIds: [trunk], metadata, departureTimeoutS: scenario.room.departureTimeoutS });
        progress(`${id}: sipp calls livekit-sip (inbound trunk ${DEFAULT_INBOUND_NUMBER})`);
        caller = await startSipCaller(sup, { name: 'sip-caller', mode: 'uac', host: net.nsAddr, target: sip!.sipAddr, number: DEFAULT_INBOUND_NUMBER });
      } else {
        // Seeds 000/001: the agent's room places an outbound call; sipp answers as the callee.
        const callee = await startSipCaller(sup, { name: 'sip-callee', mode: 'uas', host: net.nsAddr });
        const trunk = await admin.createOutboundTrunk(callee.sipAddr);
        await rooms.createRoom({ name: room, emptyTimeout: 60, departureTimeout: scenario.room.departureTimeoutS });
        await dispatch.createDispatch(room, agentName, { metadata });
        progress(`${id}: CreateSIPParticipant dials the sipp callee from ${room}`);
        await admin.createSipParticipant({ trunkId: trunk, roomName: room, waitUntilAnswered: true });
        caller = callee;
      }
    }
    await caller.waitFor('published', 30_000);
    kitEmit('caller.joined', { room, kind: scenario.caller.kind });

    const cue = await waitForEvent(eventsFile, scenario.caller.hangupAfter, Date.now() + scenario.caller.cueTimeoutMs);
    if (!cue) {
      abortReason = `the hangup cue ${scenario.caller.hangupAfter} never came within ${scenario.caller.cueTimeoutMs} ms (last worker event: ${readEvents(eventsFile).filter((e) => e.runtime !== 'kit').at(-1)?.ev ?? 'none'})`;
    } else {
      await sleep(scenario.caller.hangupDelayMs);
      progress(`${id}: ${scenario.caller.hangupAfter} seen, caller hangs up`);
      hangupAt = monotonicMs();
      kitEmit('caller.hangup', { after: scenario.caller.hangupAfter });
      await caller.hangup();

      // Watchdog: the close has this long to finish; poll so a clean close ends the run early.
      const watchdogMs = opts.watchdogMs ?? scenario.watchdogMs;
      const deadline = Date.now() + watchdogMs;
      while (Date.now() < deadline) {
        const evs = readEvents(eventsFile);
        if (evs.some((e) => e.ev === 'session.closed' && e.t >= hangupAt!)) {
          sockets = await workerSockets(ledgerUrl, workerLabel);
          if (sockets.every((s) => s.closedAt !== null)) break;
        }
        await sleep(100);
      }
    }
    verdictAt = monotonicMs();
    sockets = await workerSockets(ledgerUrl, workerLabel);
    const evsAtVerdict = readEvents(eventsFile);
    if (hangupAt !== null && !evsAtVerdict.some((e) => e.ev === 'session.closed' && e.t >= hangupAt!)) {
      // Ask the live job process where it is parked (both workers answer SIGUSR2 with a
      // `parked` event: open close steps; Python adds every asyncio task's await chain).
      const job = evsAtVerdict.find((e) => e.ev === 'job.started');
      if (job?.pid) {
        try {
          process.kill(job.pid, 'SIGUSR2');
          const until = Date.now() + PARKED_CAPTURE_MS;
          while (Date.now() < until && !readEvents(eventsFile).some((e) => e.ev === 'parked' && e.t >= verdictAt!)) await sleep(50);
        } catch {
          // the job process is gone: nothing to capture
        }
      }
    }
    if (hangupAt !== null && sockets.some((s) => s.closedAt === null)) {
      // Evidence window after the verdict: the gateway's compressed idle timer sends 2007 on
      // the orphaned STT socket; watch what this version does (reconnect, or error out).
      progress(`${id}: verdict taken; watching the orphaned sockets for the 2007 idle close`);
      const until = Date.now() + Math.max(0, scenario.gateway.stt.idleCloseMs - (monotonicMs() - hangupAt)) + IDLE_WATCH_MS;
      while (Date.now() < until) {
        await sleep(200);
        const now = await workerSockets(ledgerUrl, workerLabel);
        const got2007 = now.filter((s) => s.errorsSent.includes(2007));
        if (got2007.length && got2007.every((s) => s.closedAt !== null && monotonicMs() - s.closedAt > IDLE_WATCH_MS)) break;
      }
      after2007 = await workerSockets(ledgerUrl, workerLabel);
    }
  } catch (e) {
    if (e instanceof KitError && e.exitCode === 2) {
      await sup.teardown();
      throw e;
    }
    abortReason = `run failed: ${(e as Error).message}`;
  } finally {
    await sup.teardown();
  }

  const events = readEvents(eventsFile);
  const atVerdict = verdictAt === null ? events : events.filter((e) => e.t <= verdictAt!);
  const v = judge({ events: atVerdict, sockets, hangupAt, abortReason });
  const ref = hangupAt ?? events[0]?.t ?? 0;
  const finalSockets = after2007 ?? sockets;
  const sttAfterHangup = hangupAt === null ? [] : finalSockets.filter((s) => s.kind === 'stt' && s.openedAt > hangupAt!);
  const idleErrors = finalSockets.reduce((n, s) => n + s.errorsSent.filter((c) => c === 2007).length, 0);
  const sttErrors = events.filter((e) => e.ev === 'stt.error' && (hangupAt === null || e.t >= hangupAt));
  const socketEvents = finalSockets.flatMap((s) => [
    { t: s.openedAt, ev: 'socket.open', runtime: 'gateway', data: { id: s.id, kind: s.kind } },
    ...(s.closedAt !== null ? [{ t: s.closedAt, ev: 'socket.close', runtime: 'gateway', data: { id: s.id, kind: s.kind, code: s.closeCode, by: s.closedBy, errorsSent: s.errorsSent } }] : []),
  ]);
  // SIP evidence: the call's state as the agent saw it (participant attributes) and
  // livekit-sip's own log lines for that call, on the same clock.
  const left = events.find((e) => e.ev === 'participant.disconnected' && e.t >= (hangupAt ?? 0));
  const sipAttrs = (left?.data?.sip ?? {}) as Record<string, string>;
  const sipCallId = sipAttrs['sip.callID'] ?? null;
  const sipEvents = scenario.caller.kind === 'webrtc' ? [] : sipLogEvents(join(logsDir, 'livekit-sip.log'), wallMinusMonoMs, sipCallId);
  const sipCall =
    scenario.caller.kind === 'webrtc'
      ? null
      : { callId: sipCallId, callStatus: sipAttrs['sip.callStatus'] ?? null, disconnectReason: (left?.data?.reason as string | undefined) ?? null, attributes: sipAttrs, livekitSipLines: sipEvents.length };
  const timeline = [...events, ...socketEvents, ...sipEvents].sort((a, b) => a.t - b.t);
  const shutdownCallbackRan = hangupAt !== null && atVerdict.some((e) => e.ev === 'shutdown.callback' && e.t >= hangupAt!);
  // kit verify: a patched wedge run must close within the bound + 1 s and run the job's
  // shutdown callbacks (issue "The fix", make verify).
  const failedChecks: string[] = [];
  if (install.variant === 'patched' && scenario.wedge.where !== 'none' && v.verdict === 'closed') {
    if (v.closeMs !== null && v.closeMs > FORCED_CLOSE_BOUND_MS + 1000) failedChecks.push(`closed in ${v.closeMs} ms, over the ${FORCED_CLOSE_BOUND_MS} ms bound + 1 s`);
    if (!shutdownCallbackRan) failedChecks.push('the job\'s shutdown callbacks did not run');
  }
  const result: RunResult = {
    scenario: scenario.name,
    runtime: install.runtime,
    runtimeVersion: install.version,
    variant: install.variant,
    caller: scenario.caller.kind,
    verdict: v.verdict,
    expected: scenario.expect[install.variant],
    matched: v.verdict === scenario.expect[install.variant] && failedChecks.length === 0,
    reason: failedChecks.length ? `${v.reason}; but ${failedChecks.join('; ')}` : v.reason,
    shutdownCallbackRan,
    failedChecks,
    closeMs: v.closeMs,
    closeEvent: v.closeEvent,
    openSocketsAfterClose: v.openSocketsAfterClose,
    gatewayReconnects: sttAfterHangup.length,
    idleErrorsAfterHangup: idleErrors,
    sttErrorsAfterHangup: sttErrors.map((e) => e.data ?? {}),
    parkedAfter: v.verdict === 'hang' ? parkedIn(verdictAt === null ? events : events.filter((e) => e.t <= verdictAt! + PARKED_CAPTURE_MS + 500), v.lastEvent) : null,
    parked: v.verdict === 'hang' ? (events.filter((e) => e.ev === 'parked' && verdictAt !== null && e.t >= verdictAt).at(-1)?.data ?? null) : null,
    network: net.mode,
    sipCall,
    hangupToVerdictMs: hangupAt !== null && verdictAt !== null ? Math.round(verdictAt - hangupAt) : null,
    timeline: timeline.map((e) => ({ t: Math.round((e.t - ref) * 10) / 10, ev: e.ev, runtime: e.runtime, data: e.data })),
    sockets: finalSockets.map((s) => ({ ...s, openedAt: round1(s.openedAt - ref), closedAt: s.closedAt === null ? null : round1(s.closedAt - ref) })),
    logsDir,
  };
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2));
  return result;
}
