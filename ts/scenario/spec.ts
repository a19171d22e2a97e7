/**
 * Scenario spec: the one catalog (`scenarios/*.yaml`) both runtimes read. Runtime-neutral
 * names; where a construct differs per runtime, `wedge.constructs` names both.
 */
import { z } from 'zod';
import { CLOSE_WAITS_ON_REQUESTER, RUNTIME_IDS, VERDICTS, type Runtime, type Variant, type Verdict as VerdictName } from '../contract/results.js';
import { GatewayScriptSchema } from '../providers/script.js';

export { VERDICTS };
export const Verdict = z.enum(VERDICTS);
export type Verdict = VerdictName;

export const WEDGE_WHERE = ['none', 'tool', 'on_enter', 'on_exit'] as const;
export const CALLER_KINDS = ['webrtc', 'sip-inbound', 'sip-outbound'] as const;
export const HANGUP_AFTER = ['session.started', 'agent.entered', 'wedge.entered'] as const;
/**
 * What requests the forced close: `caller-hangup` (the caller leaves and closeOnDisconnect
 * closes the session) or `agent-tool` (the agent's own end-call function tool awaits the
 * session's close: agents-js `await ctx.session.close()`, livekit-agents `await session.aclose()`).
 */
/**
 * Which provider path STT and TTS take (the LLM always stays on the gateway's LiveKit
 * Inference endpoint): `inference` (the runtime's own `inference.STT`/`inference.TTS`) or
 * `deepgram` (the Deepgram plugins, `@livekit/agents-plugin-deepgram` /
 * `livekit-plugins-deepgram`, pointed at the gateway's Deepgram endpoints by base URL).
 */
export const PROVIDERS = ['inference', 'deepgram'] as const;
export type Providers = (typeof PROVIDERS)[number];
export const CLOSE_TRIGGERS = ['caller-hangup', 'agent-tool'] as const;
export type CloseTrigger = (typeof CLOSE_TRIGGERS)[number];
/** Defaults of the caller-hangup trigger's fields (they are not allowed with `agent-tool`). */
export const DEFAULT_HANGUP_AFTER = 'wedge.entered' as const;
export const DEFAULT_HANGUP_DELAY_MS = 500;
/** The end-call tool's name when `close.trigger: agent-tool` names none. */
export const DEFAULT_CLOSE_TOOL = 'end_call';

/**
 * What the end-call tool does to end the call (seeds 000, 002): `close` the session
 * (agents-js `ctx.session.close()`, livekit-agents `session.aclose()`), `delete-room` through
 * the server API (agents-js `JobContext.deleteRoom()`, livekit-agents
 * `JobContext.delete_room()`: RoomService DeleteRoom, as seed 002's hang-up helper does; the
 * tool awaits the RPC), or `shutdown-job` (agents-js `JobContext.shutdown()`, livekit-agents
 * `JobContext.shutdown()`; neither returns anything to await).
 */
export const CLOSE_TOOL_DOES = ['close', 'delete-room', 'shutdown-job'] as const;
/**
 * The end-call tool's fields with their defaults filled in, the one place they are decided:
 * the tool `DEFAULT_CLOSE_TOOL`, does `close`, and awaits what it does unless that is
 * `shutdown-job` (nothing to await).
 */
function endCallDefaults(c: { tool?: string; toolDoes?: (typeof CLOSE_TOOL_DOES)[number]; toolAwaitsClose?: boolean }) {
  const toolDoes = c.toolDoes ?? 'close';
  return { tool: c.tool ?? DEFAULT_CLOSE_TOOL, toolDoes, toolAwaitsClose: c.toolAwaitsClose ?? toolDoes !== 'shutdown-job' };
}
const TOOL_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a function name: letters, digits and underscores');

export const WedgeSchema = z
  .object({
    /** Where the agent parks: a function tool, Agent.onEnter, Agent.onExit, or nowhere (control). */
    where: z.enum(WEDGE_WHERE),
    /** What the wedged code ignores: the JS AbortSignal / Python task cancellation. */
    ignores: z.enum(['nothing', 'cancellation']).default('cancellation'),
    /** Name of the function tool when `where: tool`. */
    tool: z.string().optional(),
    /** The construct each runtime uses, for docs and reports. */
    constructs: z.object({ js: z.string(), py: z.string() }).partial().default({}),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.where === 'tool' && !w.tool) ctx.addIssue({ code: 'custom', path: ['tool'], message: 'wedge.where is "tool", so wedge.tool must name the function tool' });
  });

/**
 * What the job's shutdown callback leaves holding the job process (seed 002):
 *  - `blocked-loop`: the callback blocks its event loop synchronously for `holdMs`
 *    (livekit-agents `time.sleep`, agents-js a busy loop), so no pong answers a ping;
 *  - `running-thread`: the callback starts a thread that runs `holdMs` and returns at once
 *    (livekit-agents a non-daemon `threading.Thread`, agents-js a `worker_threads.Worker`).
 */
export const JOB_HOLDS = ['blocked-loop', 'running-thread'] as const;
export type JobHold = (typeof JOB_HOLDS)[number];
/**
 * How the job process ended after its shutdown callbacks (RunResult.jobEnd.how): `exited` on
 * its own, `killed` by the worker's supervisor (pong timeout: "process is unresponsive,
 * killing process" / agents-js "job is unresponsive"), `alive` still running at the end of the watch.
 */
export const JOB_ENDS = ['exited', 'killed', 'alive'] as const;
export type JobEnd = (typeof JOB_ENDS)[number];

/** The worker after the kit's SIGTERM (seed 001): `exited` within the watch (its bound + 10 s), or still `running`. */
export const WORKER_EXITS = ['exited', 'running'] as const;

const JobEndByVariant = z.object({ unpatched: z.enum(JOB_ENDS), patched: z.enum(JOB_ENDS) }).strict();

export const LifecycleSchema = z
  .object({
    /** Seed 002: what the job's shutdown callback leaves holding the process (JOB_HOLDS), for `holdMs` (ms). */
    shutdownCallback: z.object({ leaves: z.enum(JOB_HOLDS), holdMs: z.number().int().positive() }).strict().optional(),
    /**
     * The supervisor's pong timeout (ms): both runtimes hard-code 60 s (agents-js
     * ipc/proc_pool.ts `pingTimeout: 60000`, livekit-agents ipc/proc_pool.py `ping_timeout=60`);
     * the worker shims compress it to this. The ping interval stays as shipped (2.5 s).
     */
    pingTimeoutMs: z.number().int().positive().optional(),
    /** Seed 001: the kit sends SIGTERM to the worker process this long (ms) after the close request, as a rollout does. */
    sigterm: z.object({ afterCloseRequestMs: z.number().int().nonnegative() }).strict().optional(),
    /** The worker's drain bound (ms): Python `drain_timeout` (s, default 3600), agents-js `drainTimeout` (default 1 h). */
    drainTimeoutMs: z.number().int().positive().optional(),
    /** The worker's per-process shutdown bound (ms): Python `shutdown_process_timeout` (default 10 s), agents-js `shutdownProcessTimeout` (default 60 s). */
    shutdownProcessTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type Lifecycle = z.infer<typeof LifecycleSchema>;

export const ScenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    description: z.string(),
    /** Seed reports this scenario comes from (ids of the upstream issue and user reports, e.g. 003). */
    seeds: z.array(z.string()).default([]),
    caller: z
      .object({
        kind: z.enum(CALLER_KINDS).default('webrtc'),
        /**
         * Hang up once this timeline event has been seen (close.trigger caller-hangup only;
         * default DEFAULT_HANGUP_AFTER, read it through `hangupPlan`). With agent-tool the
         * caller leaves only after the verdict, so setting it there is an error.
         */
        hangupAfter: z.enum(HANGUP_AFTER).optional(),
        /** Extra wait (ms) after that event before hanging up (caller-hangup only; default DEFAULT_HANGUP_DELAY_MS). */
        hangupDelayMs: z.number().int().nonnegative().optional(),
        /** Give up (verdict error) if the hangup cue is not seen within this time (ms). */
        cueTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .default({}),
    room: z
      .object({
        /**
         * Seconds livekit-server keeps the room once only the agent is left (room
         * departure_timeout, 20 s by default in production; compressed here). The room
         * closing is what ends the job and runs its shutdown callbacks, as in production.
         */
        departureTimeoutS: z.number().int().nonnegative().default(1),
      })
      .strict()
      .default({}),
    gateway: GatewayScriptSchema.default({}),
    /** STT and TTS through LiveKit Inference (default) or the Deepgram plugins (PROVIDERS). */
    providers: z.enum(PROVIDERS).default('inference'),
    /**
     * Prewarm the TTS before the session starts, as seed 000 does (`tts.prewarm()`: a pooled
     * TTS opens its websocket ahead of the first synthesis: Python's Deepgram and inference
     * TTS, agents-js's inference TTS). agents-js's Deepgram TTS (1.9.0) has no pool and no
     * `prewarm` (one socket per stream): `job.started {speech: {ttsPrewarm: 'unavailable'}}`.
     */
    prewarmTts: z.boolean().default(false),
    wedge: WedgeSchema,
    close: z
      .object({
        /** What requests the close (CLOSE_TRIGGERS). */
        trigger: z.enum(CLOSE_TRIGGERS).default('caller-hangup'),
        /**
         * The end-call function tool (agent-tool only; DEFAULT_CLOSE_TOOL when omitted). The
         * gateway's scripted LLM must call it (a `toolCall` of this name in `gateway.llm`).
         */
        tool: TOOL_NAME.optional(),
        /**
         * agent-tool only (default true): the end-call tool awaits the close it requested
         * (agents-js `await ctx.session.close()`, livekit-agents `await session.aclose()`,
         * seeds 000/002). false: it starts the close and returns at once (agents-js
         * `void ctx.session.close()`, livekit-agents `asyncio.create_task(session.aclose())`,
         * the pattern seed 000 is told to use), so the tool is done before the close drains it.
         */
        toolAwaitsClose: z.boolean().optional(),
        /** agent-tool only (default `close`): what the end-call tool does (CLOSE_TOOL_DOES). */
        toolDoes: z.enum(CLOSE_TOOL_DOES).optional(),
        /** closeOnDisconnect on the room input options. */
        closeOnDisconnect: z.boolean().default(true),
      })
      .strict()
      .transform((c) => (c.trigger === 'agent-tool' ? { ...c, ...endCallDefaults(c) } : c))
      .default({}),
    /** A close not finished this long (ms) after hangup is a hang. */
    watchdogMs: z.number().int().positive().default(8_000),
    /** The job process's and worker's end (seeds 001, 002); absent: as shipped, not watched. */
    lifecycle: LifecycleSchema.optional(),
    expect: z
      .object({
        unpatched: Verdict,
        patched: Verdict,
        /**
         * Where one runtime measurably differs (e.g. a pooled TTS socket only Python keeps):
         * `{ py: { unpatched: error, patched: error } }` overrides the verdicts above for that
         * runtime. Read through `expectedVerdict`.
         */
        runtimes: z.record(z.enum(RUNTIME_IDS), z.object({ unpatched: Verdict, patched: Verdict }).partial().strict()).optional(),
        /** With `lifecycle.shutdownCallback`: how the job process ends (JOB_ENDS), per runtime and variant. */
        jobEnd: z.object({ js: JobEndByVariant, py: JobEndByVariant }).strict().optional(),
        /**
         * Where the patched verdict stays `hang`: what the forced-close fix does not cure and
         * what else upstream needs (one sentence; the issue text quotes it). Required when a
         * patched verdict is `hang`, so the kit never shows an uncured hang without saying why.
         */
        uncured: z.string().min(1).optional(),
        /** With `lifecycle.sigterm`: whether the worker exits after SIGTERM within its bound + 10 s (WORKER_EXITS), per variant. */
        workerExit: z.object({ unpatched: z.enum(WORKER_EXITS), patched: z.enum(WORKER_EXITS) }).strict().optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    lifecycleIssues(s, issue);
    const patchedHang = s.expect.patched === 'hang' || Object.values(s.expect.runtimes ?? {}).some((r) => r?.patched === 'hang');
    if (patchedHang && !s.expect.uncured) issue(['expect', 'uncured'], 'a patched verdict is hang: say what the fix does not cure and what else upstream needs, expect.uncured: "<one sentence>"');
    if (!patchedHang && s.expect.uncured) issue(['expect', 'uncured'], 'expect.uncured explains a patched hang, and no patched verdict is hang (remove expect.uncured)');
    if (s.close.trigger !== 'agent-tool') {
      for (const k of ['tool', 'toolAwaitsClose', 'toolDoes'] as const) {
        if (s.close[k] !== undefined) issue(['close', k], `close.${k} is about the end-call tool of close.trigger "agent-tool"; close.trigger is "${s.close.trigger}" (set close.trigger: agent-tool, or remove close.${k})`);
      }
      return;
    }
    const tool = s.close.tool!;
    for (const k of ['hangupAfter', 'hangupDelayMs'] as const) {
      if (s.caller[k] !== undefined) issue(['caller', k], `close.trigger is "agent-tool": the ${tool} tool requests the close and the caller leaves only after the verdict, so caller.${k} does not apply (remove it)`);
    }
    if (!s.gateway.llm.some((t) => 'toolCall' in t && t.toolCall.name === tool)) {
      issue(['gateway', 'llm'], `close.trigger is "agent-tool" but no gateway.llm turn calls the ${tool} tool, so the close would never be requested (add - toolCall: { name: ${tool}, arguments: {} })`);
    }
    if (s.close.toolDoes === 'shutdown-job' && s.close.toolAwaitsClose) {
      issue(['close', 'toolAwaitsClose'], 'close.toolDoes is "shutdown-job": JobContext.shutdown() returns nothing to await in either runtime (remove close.toolAwaitsClose)');
    }
    if (s.wedge.where === 'tool' && s.wedge.tool === tool) {
      issue(['wedge', 'tool'], `wedge.tool "${tool}" is also close.tool: the end-call tool cannot be the wedged tool (name them apart)`);
    }
  });

/**
 * The lifecycle block's cross-field rules (a scenario must say what it measures, with the
 * worker's timeouts explicit): reports each problem through `issue(path, message)`.
 */
function lifecycleIssues(
  s: { lifecycle?: Lifecycle; expect: { jobEnd?: unknown; workerExit?: unknown }; watchdogMs: number },
  issue: (path: (string | number)[], message: string) => void,
): void {
  const l = s.lifecycle;
  if (s.expect.workerExit && !l?.sigterm) issue(['expect', 'workerExit'], 'expect.workerExit is the worker after the kit\'s SIGTERM; set lifecycle.sigterm, or remove expect.workerExit');
  if (l?.sigterm && !s.expect.workerExit) issue(['expect', 'workerExit'], 'lifecycle.sigterm is set: say whether the worker must exit, expect.workerExit: { unpatched, patched } (exited | running)');
  if (!l) {
    if (s.expect.jobEnd) issue(['expect', 'jobEnd'], 'expect.jobEnd is how the job process ends after lifecycle.shutdownCallback; there is no lifecycle block (add lifecycle.shutdownCallback, or remove expect.jobEnd)');
    return;
  }
  if (l.shutdownCallback) {
    if (l.pingTimeoutMs === undefined) issue(['lifecycle', 'pingTimeoutMs'], 'lifecycle.shutdownCallback needs lifecycle.pingTimeoutMs: the supervisor kills an unresponsive job only after its pong timeout (60 s as shipped); set it compressed, e.g. 5000');
    else if (l.shutdownCallback.holdMs <= l.pingTimeoutMs) issue(['lifecycle', 'shutdownCallback', 'holdMs'], `holdMs ${l.shutdownCallback.holdMs} must exceed lifecycle.pingTimeoutMs ${l.pingTimeoutMs}, or the hold ends before the supervisor could notice it`);
    if (!s.expect.jobEnd) issue(['expect', 'jobEnd'], 'lifecycle.shutdownCallback is set: say how the job process must end, expect.jobEnd: { js: { unpatched, patched }, py: { unpatched, patched } } (exited | killed | alive)');
  } else if (s.expect.jobEnd) issue(['expect', 'jobEnd'], 'expect.jobEnd needs lifecycle.shutdownCallback (what holds the job process)');
  if (l.sigterm) {
    for (const k of ['drainTimeoutMs', 'shutdownProcessTimeoutMs'] as const) {
      if (l[k] === undefined) issue(['lifecycle', k], `lifecycle.sigterm needs lifecycle.${k} explicit (compressed): the worker's exit after SIGTERM is measured against it`);
    }
  }
}

/** The close request of a scenario, in the run's terms. */
export type HangupPlan =
  | { trigger: 'caller-hangup'; hangupAfter: (typeof HANGUP_AFTER)[number]; hangupDelayMs: number }
  | { trigger: 'agent-tool'; tool: string; toolAwaitsClose: boolean; toolDoes: (typeof CLOSE_TOOL_DOES)[number] };

/** How a scenario's close is triggered, with the defaults filled in. */
export function hangupPlan(s: Scenario): HangupPlan {
  if (s.close.trigger === 'agent-tool') return { trigger: 'agent-tool', ...endCallDefaults(s.close) };
  return { trigger: 'caller-hangup', hangupAfter: s.caller.hangupAfter ?? DEFAULT_HANGUP_AFTER, hangupDelayMs: s.caller.hangupDelayMs ?? DEFAULT_HANGUP_DELAY_MS };
}

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/**
 * What the close waits on in the agent's own code, for the verify checks (`none` = a
 * control): `wedge.where`, except that an end-call tool awaiting its own close with nothing
 * else wedged is itself the wedge (CLOSE_WAITS_ON_REQUESTER): unpatched, the close drains the
 * running tools, so it waits on the tool that waits on it (measured in both runtimes: the close
 * parks in the tool executor's drain).
 */
export function closeWaitsOn(s: Scenario): string {
  const plan = hangupPlan(s);
  if (s.wedge.where === 'none' && plan.trigger === 'agent-tool' && plan.toolDoes === 'close' && plan.toolAwaitsClose) return CLOSE_WAITS_ON_REQUESTER;
  return s.wedge.where;
}

/** The verdict `scenario` expects of `runtime` × `variant`: `expect.runtimes[runtime][variant]`, else `expect[variant]`. */
export function expectedVerdict(s: Scenario, runtime: Runtime, variant: Variant): Verdict {
  return s.expect.runtimes?.[runtime]?.[variant] ?? s.expect[variant];
}
