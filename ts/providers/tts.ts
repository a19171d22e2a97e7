/**
 * LiveKit Inference TTS websocket, gateway side (`GET <base>/tts?model=...`, upgraded).
 *
 * The protocol as both pinned clients speak it (agents-js 1.9.0 `inference/tts.ts`
 * `TTS.connectWs` + `SynthesizeStream.run`, schemas in `inference/api_protos.ts`; Python
 * 1.8.9 `livekit/agents/inference/tts.py` `TTS._connect_ws` + `SynthesizeStream._run`):
 *
 * - The socket is pooled and reused by later streams (JS `ConnectionPool`,
 *   maxSessionDuration 300 s), so `session.create` comes once per socket and
 *   `input_transcript`… `session.flush` → `done` repeats once per synthesis on it.
 * client → gateway: `session.create {sample_rate:"16000", encoding:'pcm_s16le', model?, voice?, language?, extra, connection?}`,
 *   `input_transcript {transcript: "<sentence> ", generation_config:{voice?,model?,language?}, extra}` (one per sentence),
 *   `session.flush` (end of this synthesis), `session.close`.
 * gateway → client: `session.created {session_id}`, `output_audio {audio:<base64 pcm_s16le mono>, session_id}`,
 *   `done {session_id}` (ends the synthesis: JS puts END_OF_STREAM, Python `end_input()`),
 *   `session.closed {session_id}`, `error {message, session_id}`.
 * Every message carries `session_id`: Python starts its output segment on the first
 * message that has one, and the JS zod schemas require it on output_audio/done.
 */
import type { GatewayScript } from './script.js';
import type { WsCtx, WsHandler } from './session.js';

/** Audio is sent in 100 ms chunks; the clients re-frame it (AudioByteStream) anyway. */
const CHUNK_MS = 100;
const AMPLITUDE = 0.1 * 32767;

/**
 * Start the TTS protocol on one accepted websocket.
 *
 * @param script the scenario's `gateway.tts` block: `msPerChar` (ms of audio per
 *   character of the trimmed transcript), `toneHz` (0 = silence).
 */
export function ttsSession(ctx: WsCtx, script: GatewayScript['tts']): WsHandler {
  const sessionId = `tts_${ctx.entry.id}`;
  let created = false;
  let closed = false;
  let sampleRate = 16000;
  let phase = 0;
  // Replies go out in request order: audio for every input_transcript before the flush's done.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (fn: () => Promise<void> | void) => {
    chain = chain.then(fn).catch((err: unknown) => ctx.log('tts.send_failed', { id: ctx.entry.id, error: String(err) }));
  };

  const synth = async (chars: number) => {
    const total = Math.round(((chars * script.msPerChar) / 1000) * sampleRate);
    const chunk = Math.max(1, Math.round((CHUNK_MS / 1000) * sampleRate));
    const step = (2 * Math.PI * script.toneHz) / sampleRate;
    for (let done = 0; done < total && !closed; done += chunk) {
      const n = Math.min(chunk, total - done);
      const pcm = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) {
        pcm.writeInt16LE(script.toneHz > 0 ? Math.round(AMPLITUDE * Math.sin(phase)) : 0, i * 2);
        phase += step;
      }
      phase %= 2 * Math.PI;
      ctx.send({ type: 'output_audio', audio: pcm.toString('base64'), session_id: sessionId });
      // let the event loop breathe between chunks (other sockets, the ledger endpoint)
      await new Promise<void>((r) => setImmediate(r));
    }
  };

  return {
    onMessage(msg) {
      switch (msg.type) {
        case 'session.create': {
          if (created) return;
          const enc = msg.encoding ?? 'pcm_s16le';
          const sr = Number(msg.sample_rate ?? 16000);
          if (enc !== 'pcm_s16le' || !Number.isInteger(sr) || sr <= 0) {
            ctx.send({ type: 'error', message: `unsupported audio format: encoding=${String(enc)} sample_rate=${String(msg.sample_rate)}`, session_id: sessionId });
            ctx.closeByGateway(1008, 'unsupported audio format');
            return;
          }
          sampleRate = sr;
          created = true;
          ctx.send({ type: 'session.created', session_id: sessionId });
          return;
        }
        case 'input_transcript': {
          if (!created) {
            ctx.send({ type: 'error', message: 'input_transcript before session.create', session_id: sessionId });
            ctx.closeByGateway(1008, 'session.create must come first');
            return;
          }
          const text = typeof msg.transcript === 'string' ? msg.transcript.trim() : '';
          const chars = Array.from(text).length;
          ctx.log('tts.input', { id: ctx.entry.id, chars });
          enqueue(() => synth(chars));
          return;
        }
        case 'session.flush':
          enqueue(() => ctx.send({ type: 'done', session_id: sessionId }));
          return;
        case 'session.close':
          enqueue(() => ctx.send({ type: 'session.closed', session_id: sessionId }));
          return;
        default:
          return;
      }
    },
    onClose() {
      closed = true;
    },
  };
}
