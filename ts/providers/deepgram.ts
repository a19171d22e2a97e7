/**
 * Deepgram's public streaming protocol, gateway side: STT `GET /v1/listen?…` and TTS
 * `GET /v1/speak?…` (websocket upgrades), authenticated with `Authorization: Token <key>`
 * (auth.ts `authenticateToken`). Reached by the Deepgram plugins through their base-URL
 * option (`providers: deepgram` scenarios). Only what the two pinned plugins send and read:
 * agents-js `@livekit/agents-plugin-deepgram@1.9.0` (`src/stt.ts SpeechStream.run/#runWS`,
 * `src/tts.ts SynthesizeStream.run/closeWebSocket`) and Python
 * `livekit-plugins-deepgram==1.8.9` (`livekit/plugins/deepgram/stt.py SpeechStream._run`,
 * `tts.py TTS._connect_ws/_close_ws`, `SynthesizeStream._run_ws`).
 *
 * STT (`/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&…`)
 * client → gateway:
 * - binary frames: linear16 audio (JS 100 ms per frame, and only frames its AudioEnergyFilter
 *   passes: the first second always, then audible ones; Python 50 ms per frame, all of them);
 * - `{"type":"KeepAlive"}` every 5 s (both), `{"type":"Finalize"}` at a flush sentinel,
 *   `{"type":"CloseStream"}` when the input ends (JS in `sendTask`'s finally, Python after
 *   the input channel closes); then both close the socket themselves.
 * gateway → client:
 * - `Results {is_final, speech_final, channel:{alternatives:[{transcript, confidence, words}]}, metadata:{request_id}}`:
 *   interims (is_final false) word by word, then the final (is_final true, speech_final true:
 *   both plugins emit END_OF_SPEECH on speech_final, which ends the user's turn with
 *   `turnDetection: 'stt'`);
 * - `Metadata {request_id, …}` after `CloseStream`, then the gateway closes (1000), as
 *   Deepgram does: the ledger says closedBy 'client' (the client asked for it).
 * - Inactivity: with neither audio nor KeepAlive for `idleCloseMs`, the gateway closes with
 *   1011 (Deepgram's NET-0001, closedBy 'gateway'). Both plugins send KeepAlive every 5 s,
 *   so an orphaned STT socket stays open, as it does (and is billed) at Deepgram.
 *
 * TTS (`/v1/speak?model=aura-2-andromeda-en&encoding=linear16&sample_rate=24000&mip_opt_out=false`)
 * client → gateway: `{"type":"Speak","text":"<word or sentence> "}`…, `{"type":"Flush"}` (end of
 * a segment), `{"type":"Clear"}`, `{"type":"Close"}`. Python pools the socket
 * (`utils.ConnectionPool`, max_session_duration 3600 s; `TTS.prewarm()` opens one ahead)
 * and closes it with `Flush` + `Close` and a 1 s wait for one message (`_close_ws`); JS opens
 * one socket per stream and closes it the same way (`closeWebSocket`).
 * gateway → client: `Metadata {request_id, model_name, …}` once after the upgrade; binary
 * linear16 audio for the text spoken since the last flush; `Flushed {sequence_id}` after it
 * (ends the segment: JS END_OF_STREAM, Python `end_segment()`); `Cleared {sequence_id}`;
 * `Close` → the gateway closes (1000, closedBy 'client').
 */
import { randomUUID } from 'node:crypto';
import type { GatewayScript } from './script.js';
import type { WsCtx, WsHandler } from './session.js';
import type { TranscriptCursor } from './stt.js';

/** Deepgram's close for a stream that received neither audio nor a text message within its timeout (NET-0001). */
export const DEEPGRAM_IDLE_CLOSE_CODE = 1011;
export const DEEPGRAM_IDLE_REASON = 'NET-0001: no audio or text message within the timeout window';

const MODEL_INFO = { name: 'closekit-scripted', version: '1', arch: 'scripted' };

/**
 * Deepgram live STT on one accepted websocket.
 * @param script the scenario's `gateway.stt` block (transcripts, idleCloseMs): the same script the inference STT reads.
 * @param cursor which transcript comes next (per worker when `transcriptScope: worker`).
 */
export function deepgramSttSession(ctx: WsCtx, script: GatewayScript['stt'], cursor: TranscriptCursor): WsHandler {
  const requestId = randomUUID();
  const modelUuid = randomUUID();
  const q = ctx.query;
  const sampleRate = Number(q.get('sample_rate') ?? 16000);
  const channels = Number(q.get('channels') ?? 1);
  const encoding = q.get('encoding') ?? 'linear16';
  const interimResults = (q.get('interim_results') ?? 'false') === 'true';
  let closed = false;
  let audioMsTotal = 0;
  let audioMsPending = 0;
  let interimsSent = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const clearIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
  };
  const armIdle = () => {
    clearIdle();
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (closed || !ctx.isOpen()) return;
      ctx.log('stt.idle_close', { id: ctx.entry.id, idleCloseMs: script.idleCloseMs, provider: 'deepgram' });
      ctx.closeByGateway(DEEPGRAM_IDLE_CLOSE_CODE, DEEPGRAM_IDLE_REASON);
    }, script.idleCloseMs);
    idleTimer.unref?.();
  };

  const results = (words: string[], isFinal: boolean, fromFinalize = false) => {
    const startS = (audioMsTotal - audioMsPending) / 1000;
    const durS = audioMsPending / 1000;
    const per = words.length ? durS / words.length : 0;
    return {
      type: 'Results',
      channel_index: [0, channels],
      duration: durS,
      start: startS,
      is_final: isFinal,
      speech_final: isFinal,
      ...(fromFinalize ? { from_finalize: true } : {}),
      channel: {
        alternatives: [
          {
            transcript: words.join(' '),
            confidence: 0.99,
            words: words.map((w, i) => ({
              word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
              start: startS + i * per,
              end: startS + (i + 1) * per,
              confidence: 0.99,
              punctuated_word: w,
            })),
          },
        ],
      },
      metadata: { request_id: requestId, model_info: MODEL_INFO, model_uuid: modelUuid },
    };
  };

  const sendFinal = (text: string, fromFinalize = false) => {
    ctx.send(results(text.split(/\s+/).filter(Boolean), true, fromFinalize));
    ctx.log('stt.final', { id: ctx.entry.id, transcript: text, provider: 'deepgram' });
    cursor.next += 1;
    audioMsPending = 0;
    interimsSent = 0;
  };

  const advance = () => {
    for (;;) {
      const t = script.transcripts[cursor.next];
      if (!t) return;
      const words = t.text.split(/\s+/).filter(Boolean);
      if (t.interim && interimResults) {
        while (interimsSent < words.length && audioMsPending >= ((interimsSent + 1) * t.afterAudioMs) / (words.length + 1)) {
          interimsSent += 1;
          ctx.send(results(words.slice(0, interimsSent), false));
        }
      }
      if (audioMsPending < t.afterAudioMs) return;
      sendFinal(t.text);
    }
  };

  if (encoding !== 'linear16' || !Number.isInteger(sampleRate) || sampleRate <= 0 || !Number.isInteger(channels) || channels <= 0) {
    ctx.log('stt.bad_format', { id: ctx.entry.id, encoding, sampleRate, channels });
    ctx.closeByGateway(1008, `unsupported audio format: encoding=${encoding} sample_rate=${sampleRate} channels=${channels}`);
  } else {
    armIdle();
  }

  return {
    onBinary(data) {
      const ms = (data.length / 2 / channels / sampleRate) * 1000;
      audioMsTotal += ms;
      audioMsPending += ms;
      armIdle();
      advance();
    },
    onMessage(msg) {
      switch (msg.type) {
        case 'KeepAlive':
          armIdle();
          return;
        case 'Finalize': {
          armIdle();
          const t = script.transcripts[cursor.next];
          if (t && audioMsPending > 0) sendFinal(t.text, true);
          return;
        }
        case 'CloseStream':
          clearIdle();
          ctx.send({
            type: 'Metadata',
            transaction_key: 'deprecated',
            request_id: requestId,
            sha256: '',
            created: new Date().toISOString(),
            duration: audioMsTotal / 1000,
            channels,
            models: [modelUuid],
            model_info: { [modelUuid]: MODEL_INFO },
          });
          ctx.closeOnRequest(1000, 'CloseStream');
          return;
        default:
          return;
      }
    },
    onClose() {
      closed = true;
      clearIdle();
    },
  };
}

/** Audio goes out in 100 ms binary chunks. */
const CHUNK_MS = 100;
const AMPLITUDE = 0.1 * 32767;

/**
 * Deepgram streaming TTS on one accepted websocket.
 * @param script the scenario's `gateway.tts` block: `msPerChar`, `toneHz` (0 = silence).
 */
export function deepgramTtsSession(ctx: WsCtx, script: GatewayScript['tts']): WsHandler {
  const requestId = randomUUID();
  const q = ctx.query;
  const sampleRate = Number(q.get('sample_rate') ?? 24000);
  const encoding = q.get('encoding') ?? 'linear16';
  let closed = false;
  let phase = 0;
  let pending = '';
  let sequenceId = 0;
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
      ctx.sendBinary(pcm);
      await new Promise<void>((r) => setImmediate(r));
    }
  };

  if (encoding !== 'linear16' || !Number.isInteger(sampleRate) || sampleRate <= 0) {
    ctx.log('tts.bad_format', { id: ctx.entry.id, encoding, sampleRate });
    ctx.closeByGateway(1008, `unsupported audio format: encoding=${encoding} sample_rate=${sampleRate}`);
  } else {
    ctx.send({ type: 'Metadata', request_id: requestId, model_name: q.get('model') ?? 'aura-2-andromeda-en', model_version: '1', model_uuid: randomUUID() });
  }

  return {
    onMessage(msg) {
      switch (msg.type) {
        case 'Speak':
          if (typeof msg.text === 'string') pending += msg.text;
          return;
        case 'Flush': {
          const text = pending.trim();
          pending = '';
          const chars = Array.from(text).length;
          if (chars) ctx.log('tts.input', { id: ctx.entry.id, chars, provider: 'deepgram' });
          const seq = sequenceId++;
          enqueue(() => synth(chars));
          enqueue(() => ctx.send({ type: 'Flushed', sequence_id: seq }));
          return;
        }
        case 'Clear': {
          pending = '';
          const seq = sequenceId++;
          enqueue(() => ctx.send({ type: 'Cleared', sequence_id: seq }));
          return;
        }
        case 'Close':
          enqueue(() => ctx.closeOnRequest(1000, 'Close'));
          return;
        default:
          ctx.send({ type: 'Warning', warn_code: 'UNKNOWN_MESSAGE_TYPE', warn_msg: `unknown message type ${JSON.stringify(msg.type)}` });
          return;
      }
    },
    onClose() {
      closed = true;
    },
  };
}
