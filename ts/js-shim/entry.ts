/**
 * The job entrypoint (runs in the job process agents-js forks, ipc/job_proc_lazy_main.ts):
 * connect, build an AgentSession on the inference STT/LLM/TTS (reached through
 * LIVEKIT_INFERENCE_URL, i.e. the kit's gateway), start WedgeAgent with the scenario's
 * closeOnDisconnect, and emit the job-level timeline events.
 * Python mirror: python-shim/closekit_shim/entry.py.
 */
import type { JobContext } from '@livekit/agents';
import type { Scenario } from '../scenario/spec.js';
import { defaultEmitter, type Emit } from './emit.js';
import { loadScenario } from './spec.js';
import { instrument, onCloseRequested, openInstrumentedSteps } from './instrument.js';
import { makeSpeech, MODELS } from './speech.js';

export { MODELS };

/**
 * Job entrypoint, `defineAgent({ entry })` in worker.ts.
 * Timeline: `job.started`, then (via instrument.ts) `session.started`, the close events;
 * `participant.disconnected {identity, reason}` from the room (reason: the rtc-node
 * DisconnectReason name, which room_io.ts `onParticipantDisconnected` checks against
 * CLOSE_ON_DISCONNECT_REASONS); `shutdown.callback` when the job's shutdown callbacks run
 * (ipc/job_proc_lazy_main.ts, after `finalizeSession` and `room.disconnect()`).
 * The entry returns once the session started; the job lives on until the room disconnects
 * or ctx.shutdown() is called (1.9.0 does not end the job when the session closes).
 */
export async function entry(ctx: JobContext): Promise<void> {
  const emit = defaultEmitter();
  const rt = await instrument(emit);
  const scenario = loadScenario();
  // STT/TTS per scenario.providers, built (and the TTS prewarmed, prewarmTts) before the
  // room connects, as seed 000's agent does; speech.ts.
  const speech = await makeSpeech(rt, scenario);
  // agentsRoot is the evidence that the job process runs the runtime dir's agents (patched or not).
  emit('job.started', { jobId: ctx.job.id, room: ctx.job.room?.name ?? null, agentName: ctx.job.agentName, metadata: ctx.job.metadata || null, agentsVersion: rt.version, agentsRoot: rt.agentsRoot, speech: speech.info });
  const { voice, inference } = rt.agents;
  const { RoomEvent, DisconnectReason } = rt.rtc;
  const { WedgeAgent } = await import('./agent.js');

  ctx.addShutdownCallback(async () => {
    emit('shutdown.callback', {});
    // Seed 002: the callback itself is done; what it leaves behind holds the process.
    const hold = scenario.lifecycle?.shutdownCallback;
    if (hold) await (await import('./hold.js')).holdJobProcess(hold, emit);
  });
  // Registered before session.start, so it fires before room_io's own listener requests the close.
  ctx.room.on(RoomEvent.ParticipantDisconnected, (p: any) => {
    const reason = p?.disconnectReason;
    // sip.* attributes (sip.callStatus, sip.callID, sip.phoneNumber...) are the SIP call's
    // state as livekit-sip published it; empty for a WebRTC caller.
    const sip = Object.fromEntries(Object.entries((p?.attributes ?? {}) as Record<string, string>).filter(([k]) => k.startsWith('sip.')));
    emit('participant.disconnected', { identity: p?.identity ?? null, kind: p?.kind ?? null, reason: reason === undefined ? null : (DisconnectReason as any)[reason] ?? reason, sip });
  });
  ctx.room.on(RoomEvent.Disconnected, (reason: any) => emit('room.disconnected', { reason: (DisconnectReason as any)[reason] ?? reason ?? null }));

  await ctx.connect();

  const session = new voice.AgentSession({
    stt: speech.stt,
    llm: new inference.LLM({ model: MODELS.llm }),
    tts: speech.tts,
    // No VAD and no turn-detector model: both would load local models. The gateway's
    // final transcripts end the user's turn (turnDetection 'stt').
    vad: null,
    turnHandling: {
      turnDetection: 'stt',
      interruption: { mode: 'vad' },
      preemptiveGeneration: { enabled: false },
    },
  } as any);

  watchForPark(session, scenario, emit);

  await session.start({
    agent: new WedgeAgent(scenario, emit),
    room: ctx.room,
    inputOptions: { closeOnDisconnect: scenario.close.closeOnDisconnect },
  });
}

/**
 * Emits `parked {open, sinceCloseMs}` once, half a watchdog (scenario.watchdogMs / 2, ms)
 * after the close was requested, if the session has not emitted 'close' by then: the
 * instrumented steps still open are where the close waits (e.g. `['activity.close',
 * 'toolExecutor.drain']`). Its timer is unref'd, so it never keeps the job alive; SIGUSR2
 * on the job process emits the same event on demand (instrument.ts).
 */
function watchForPark(session: { on(ev: string, fn: (...a: any[]) => void): unknown }, scenario: Scenario, emit: Emit): void {
  let requestedAt: number | null = null;
  let closed = false;
  session.on('close', () => {
    closed = true;
  });
  // AgentSession emits no event when a close is requested; instrument.ts's closeImpl
  // wrapper (the same call that emits close.requested) calls us.
  const arm = () => {
    if (requestedAt !== null) return;
    requestedAt = performance.now();
    const wait = Math.max(1000, Math.floor(scenario.watchdogMs / 2));
    setTimeout(() => {
      if (!closed) emit('parked', { open: openInstrumentedSteps(), sinceCloseMs: Math.round(performance.now() - requestedAt!) });
    }, wait).unref();
  };
  onCloseRequested(session, arm);
}

/**
 * `entry`, reporting `job.unsupported {error}` when it throws: on another release the agent
 * under test may need an API that release lacks, and the kit must say it cannot drive that
 * version instead of calling the run a hang or an error. Rethrows (the job fails as it would).
 * Python: entry.py `guarded_entry`.
 */
export async function guardedEntry(ctx: JobContext): Promise<void> {
  try {
    await entry(ctx);
  } catch (e) {
    const err = e as Error;
    defaultEmitter()('job.unsupported', { error: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`.slice(0, 500) });
    throw e;
  }
}
