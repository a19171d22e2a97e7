/**
 * Scenario spec: the one catalog (`scenarios/*.yaml`) both runtimes read. Runtime-neutral
 * names; where a construct differs per runtime, `wedge.constructs` names both.
 */
import { z } from 'zod';
import { VERDICTS, type Verdict as VerdictName } from '../contract/results.js';
import { GatewayScriptSchema } from '../providers/script.js';

export { VERDICTS };
export const Verdict = z.enum(VERDICTS);
export type Verdict = VerdictName;

export const WEDGE_WHERE = ['none', 'tool', 'on_enter', 'on_exit'] as const;
export const CALLER_KINDS = ['webrtc', 'sip-inbound', 'sip-outbound'] as const;
export const HANGUP_AFTER = ['session.started', 'agent.entered', 'wedge.entered'] as const;

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

export const ScenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    description: z.string(),
    /** Seed reports this scenario comes from (ids of the upstream issue and user reports, e.g. 003). */
    seeds: z.array(z.string()).default([]),
    caller: z
      .object({
        kind: z.enum(CALLER_KINDS).default('webrtc'),
        /** Hang up once this timeline event has been seen. */
        hangupAfter: z.enum(HANGUP_AFTER).default('wedge.entered'),
        /** Extra wait (ms) after that event before hanging up. */
        hangupDelayMs: z.number().int().nonnegative().default(500),
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
    wedge: WedgeSchema,
    close: z
      .object({
        trigger: z.enum(['caller-hangup']).default('caller-hangup'),
        /** closeOnDisconnect on the room input options. */
        closeOnDisconnect: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** A close not finished this long (ms) after hangup is a hang. */
    watchdogMs: z.number().int().positive().default(8_000),
    expect: z.object({ unpatched: Verdict, patched: Verdict }).strict(),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
