/**
 * GatewayScript: what the provider gateway says, per scenario. Embedded in a scenario's
 * `gateway:` block and handed to the gateway process as JSON.
 */
import { z } from 'zod';

export const SttScriptSchema = z
  .object({
    /** Final transcripts, in order; each is sent once the socket has received `afterAudioMs` of audio since the previous one. */
    transcripts: z
      .array(
        z.object({
          text: z.string().min(1),
          afterAudioMs: z.number().int().nonnegative().default(400),
          /** Send interim transcripts (word by word) before the final. */
          interim: z.boolean().default(true),
        }),
      )
      .default([]),
    /** Idle time (ms) with no audio after which the gateway sends error 2007 and closes, like LiveKit Inference. */
    idleCloseMs: z.number().int().positive().default(30 * 60 * 1000),
  })
  .strict();

export const LlmTurnSchema = z.union([
  z.object({ text: z.string() }).strict(),
  z.object({ toolCall: z.object({ name: z.string().min(1), arguments: z.record(z.unknown()).default({}) }).strict() }).strict(),
]);

export const GatewayScriptSchema = z
  .object({
    stt: SttScriptSchema.default({}),
    /** LLM replies, one per chat completion request, in order; the last one repeats. */
    llm: z.array(LlmTurnSchema).default([{ text: 'Okay.' }]),
    /** TTS: audio duration (ms) synthesised per input character. */
    tts: z.object({ msPerChar: z.number().positive().default(40) }).strict().default({}),
  })
  .strict();

export type GatewayScript = z.infer<typeof GatewayScriptSchema>;
