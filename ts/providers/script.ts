/**
 * GatewayScript: what the provider gateway says, per scenario. Embedded in a scenario's
 * `gateway:` block and handed to the gateway process as JSON.
 *
 * Every field has a default, so `{}` is a valid script; fields added after the first
 * scenarios were written are optional for the same reason.
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
    /**
     * Who owns the transcript cursor. 'worker' (default): one cursor per worker label, so a
     * socket the client reopens after a 2007 close does not replay what the caller already
     * said. 'socket': every STT socket starts from the first transcript.
     */
    transcriptScope: z.enum(['worker', 'socket']).default('worker'),
    /**
     * Answer the client's `session.close` with `session.closed` (both clients handle it).
     * Default true. Seen here: agents-js 1.9.0 on Node 20.20.2 gets this reply after it has
     * already closed its event channel and throws an uncaught ERR_INTERNAL_ASSERTION from
     * `inference/stt.ts` (ws 'message' → stream_channel write); false avoids provoking it.
     */
    replySessionClosed: z.boolean().default(true),
  })
  .strict();

export const LlmTurnSchema = z.union([
  z.object({ text: z.string() }).strict(),
  z.object({ toolCall: z.object({ name: z.string().min(1), arguments: z.record(z.unknown()).default({}) }).strict() }).strict(),
]);

export const TtsScriptSchema = z
  .object({
    /** Audio duration (ms) synthesised per input character. */
    msPerChar: z.number().positive().default(40),
    /** Frequency (Hz) of the synthesised sine tone; 0 sends silence. */
    toneHz: z.number().nonnegative().default(440),
  })
  .strict();

export const GatewayScriptSchema = z
  .object({
    stt: SttScriptSchema.default({}),
    /** LLM replies, one per chat completion request (counted per worker), in order; the last one repeats. */
    llm: z.array(LlmTurnSchema).min(1).default([{ text: 'Okay.' }]),
    /** TTS: audio synthesised per `input_transcript`. */
    tts: TtsScriptSchema.default({}),
  })
  .strict();

export type GatewayScript = z.infer<typeof GatewayScriptSchema>;
export type GatewayScriptInput = z.input<typeof GatewayScriptSchema>;
export type LlmTurn = z.infer<typeof LlmTurnSchema>;
