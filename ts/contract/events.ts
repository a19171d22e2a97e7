/**
 * The timeline event protocol (docs/internals.md, "Timeline events"): the one list of event
 * names and their payloads. Both workers (the agents-js job process, `ts/js-shim/`, and the
 * Python job process, `python-shim/closekit_shim/`) append one JSON object per line to the
 * file named by `CLOSEKIT_EVENTS`; the kit adds its own and, when it builds a run's
 * timeline, the gateway's socket events and livekit-sip's lines.
 *
 * `python-shim/closekit_shim/emit.py` holds `EVENT_NAMES` with the same worker names (a test
 * holds the two lists equal); both emitters refuse a name not listed here.
 */

/** Emitted by both workers, with the same names and payloads. */
export const WORKER_EVENT_NAMES = [
  'worker.registered',
  'job.started',
  'session.started',
  'agent.entered',
  'wedge.entered',
  'participant.disconnected',
  'close.requested',
  'interrupt.done',
  'drain.start',
  'drain.end',
  'activity.close.start',
  'activity.close.end',
  'activity.step.start',
  'activity.step.end',
  'session.closed',
  'session.error',
  'shutdown.callback',
  'stt.connect',
  'stt.reconnect',
  'stt.error',
  'room.disconnected',
  'job.exit',
  'job.unsupported',
  'parked',
  'tool.end_call.start',
  'tool.end_call.returned',
  'job.hold',
] as const;

/** Emitted by the kit's run itself (runtime `kit`). */
export const KIT_EVENT_NAMES = ['caller.joined', 'caller.hangup', 'worker.sigterm', 'worker.exit'] as const;

/** Added when the kit builds a run's timeline: the gateway's ledger (runtime `gateway`) and livekit-sip's log lines for the call (runtime `kit`). */
export const DERIVED_EVENT_NAMES = ['socket.open', 'socket.close', 'sip.log', 'supervisor.log'] as const;

export const EVENT_NAMES = [...WORKER_EVENT_NAMES, ...KIT_EVENT_NAMES, ...DERIVED_EVENT_NAMES] as const;

export type WorkerEventName = (typeof WORKER_EVENT_NAMES)[number];
export type KitEventName = (typeof KIT_EVENT_NAMES)[number];
export type EventName = (typeof EVENT_NAMES)[number];

/** Who wrote an event line. */
export type EventSource = 'js' | 'py' | 'kit' | 'gateway';

/**
 * The payloads, as the workers write them. Fields are optional where one runtime has no
 * equivalent (noted); extra fields are allowed (evidence, not contract).
 */
export interface EventPayloads {
  'worker.registered': { workerId: string; agentName: string; agentsVersion?: string; agentsDir?: string };
  /** `speech`: the session's STT/TTS per `providers` and whether the TTS was prewarmed (js-shim/speech.ts, closekit_shim/speech.py). */
  'job.started': {
    jobId: string;
    room: string | null;
    agentName?: string;
    agentsVersion?: string;
    agentsRoot?: string;
    speech?: { providers: string; stt: string; tts: string; ttsPrewarm: 'called' | 'unavailable' | 'off' };
  };
  'session.started': Record<string, unknown>;
  'agent.entered': { agent?: string };
  'wedge.entered': { where: string; ignores?: string; tool?: string };
  'participant.disconnected': { identity: string | null; reason: string | null; sip?: Record<string, string> };
  'close.requested': { reason: string | null; drain?: boolean; error?: string | null };
  'interrupt.done': { force?: boolean; ms?: number };
  'drain.start': { step?: string; agent?: string };
  'drain.end': { step?: string; agent?: string; ms?: number; error?: string };
  'activity.close.start': { step?: string };
  'activity.close.end': { step?: string; ms?: number; error?: string };
  /** `step`: JS `activity.pauseSchedulingTask` / `toolExecutor.drain` / `activity.closeSessionResources`; Python `activity.pause_scheduling_task` / `tool_executor.drain` / `activity.close_session`. */
  'activity.step.start': { step: string };
  'activity.step.end': { step: string; ms?: number; error?: string };
  'session.closed': { reason: string | null; error?: string | null };
  'session.error': { type?: string; recoverable?: boolean; code?: number | null; message?: string };
  'shutdown.callback': Record<string, unknown>;
  'stt.connect': { n?: number; model?: string };
  'stt.reconnect': { n?: number; model?: string };
  'stt.error': { code?: number | null; retryable?: boolean; message?: string };
  'room.disconnected': { reason: string | null };
  'job.exit': { code?: number | null };
  /** The agent under test could not start on this version (an API it needs is missing, or the entry threw before the session started). */
  'job.unsupported': { error: string; missing?: string };
  /** At a hang: see ParkedReport (contract/parked.ts). */
  parked: Record<string, unknown>;
  /** The end-call tool (scenario `close.trigger: agent-tool`, named by `close.tool`) starts awaiting the session's close. */
  'tool.end_call.start': { tool: string; args?: Record<string, unknown>; awaited?: boolean; does?: string };
  /**
   * The close the tool requested came back (`awaited`: the tool was awaiting it, scenario
   * `close.toolAwaitsClose`): `ok` when it returned normally, else `error` is the exception's
   * `<name>: <message>` (e.g. Python `CancelledError: `). `ms` from the tool's start.
   */
  'tool.end_call.returned': { tool: string; ok: boolean; error: string | null; ms: number; awaited?: boolean; does?: string };
  /**
   * Scenario `lifecycle.shutdownCallback` (seed 002): the job's shutdown callback is about to
   * hold the job process (`kind` blocked-loop: a synchronous block of the event loop;
   * running-thread: a thread left running after the callback returns) for `holdMs`.
   * `construct` names the code; `capture` is what the process was doing as it started
   * (JS: active resources and the parked tasks, taken in-process because a blocked isolate
   * answers no signal; Python: every thread's stack and the asyncio tasks).
   */
  'job.hold': { kind: string; construct: string; holdMs: number; capture?: Record<string, unknown> };
  'caller.joined': { room: string; kind: string };
  /** Scenario `lifecycle.sigterm` (seed 001): the kit sent SIGTERM to the worker process (`pid`). */
  'worker.sigterm': { pid: number; afterCloseRequestMs: number };
  /** The worker process exited after the kit's SIGTERM: exit code or signal. */
  'worker.exit': { code: number | null; signal: string | null };
  /** The worker's own log line about a job process (its supervisor: unresponsive, killing, drain), on the timeline's clock. */
  'supervisor.log': { level: string; msg: string; pid?: number | null; delayMs?: number | null };
  'caller.hangup': { after: string };
  'socket.open': { id: string; kind: string };
  'socket.close': { id: string; kind: string; code: number | null; by: string | null; errorsSent: number[] };
  'sip.log': { level: string; msg: string; at?: string; callID: string; reason?: string; status?: string; error?: string };
}

/** One line of the events file. */
export interface TimelineEvent {
  /** CLOCK_MONOTONIC, ms (Node: `process.hrtime.bigint() / 1e6`; Python: `time.monotonic_ns() / 1e6`). */
  t: number;
  ev: EventName | string;
  runtime?: EventSource;
  pid?: number;
  data?: Record<string, unknown>;
}

const KNOWN = new Set<string>(EVENT_NAMES);

/** True when `ev` is in the protocol (the emitters refuse anything else). */
export function isEventName(ev: string): ev is EventName {
  return KNOWN.has(ev);
}
