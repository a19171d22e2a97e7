/**
 * LiveKit Inference STT websocket, gateway side (`GET <base>/stt?model=...`, upgraded).
 *
 * The protocol as both pinned clients speak it (agents-js 1.9.0 `inference/stt.ts`
 * `STT.connectWs` + `SpeechStream.run`; Python 1.8.9 `livekit/agents/inference/stt.py`
 * `SpeechStream._connect_ws` + `_run`):
 *
 * client → gateway (JSON text frames)
 * - `{type:'session.create', model?, settings:{sample_rate:"16000", encoding:'pcm_s16le', language?, extra}, connection?:{timeout (s), retries}}`
 *   sent right after the upgrade;
 * - `{type:'input_audio', audio:<base64 pcm_s16le mono>}`, 50 ms per message;
 * - `{type:'session.finalize'}` when input ends (or on local VAD end of speech);
 * - `{type:'session.update', settings:{...}}` mid-stream option changes (ignored here);
 * - `{type:'session.close'}` on teardown, then the client closes the socket itself.
 *
 * gateway → client
 * - `session.created {session_id}`, `interim_transcript` / `final_transcript`
 *   `{session_id, transcript, language, start (s), duration (s), confidence, words:[{word,start,end,confidence}]}`,
 *   `session.finalized`, `session.closed`, and `error {code, message}`.
 *
 * Inactivity: with no audio for `idleCloseMs`, the gateway sends
 * `error {code: 2007, message: 'session closed due to agent inactivity'}` and closes the
 * socket (1000). How the clients react differs (both read from the code above):
 * - agents-js 1.9.0: `recv` throws `APIStatusError{statusCode: 2007, retryable: false}`;
 *   the base `stt/stt.ts SpeechStream.mainTask` emits one `error` event with
 *   `recoverable: false` and ends the stream: no reconnect.
 * - Python 1.8.9: `recv_task` raises `APIError(retryable=not input_ended)`, so the base
 *   `stt/stt.py RecognizeStream._main_task` emits `error` with `recoverable: True` and
 *   reconnects (0.1 s, then `retry_interval` 2 s); the retry budget resets when an attempt
 *   outlived `conn_options.timeout` (10 s), so with a long idle close it reconnects forever.
 */
import type { GatewayScript } from './script.js';
import type { WsCtx, WsHandler } from './session.js';

export const INACTIVITY_ERROR_CODE = 2007;
export const INACTIVITY_MESSAGE = 'session closed due to agent inactivity';

/** Transcript cursor; shared by all STT sockets of one worker when `transcriptScope: worker`. */
export interface TranscriptCursor {
  next: number;
}

/**
 * Start the STT protocol on one accepted websocket.
 *
 * @param script the scenario's `gateway.stt` block (transcripts, idleCloseMs in ms).
 * @param cursor which transcript comes next; advanced after each final.
 */
export function sttSession(ctx: WsCtx, script: GatewayScript['stt'], cursor: TranscriptCursor): WsHandler {
  const sessionId = `stt_${ctx.entry.id}`;
  let created = false;
  let closed = false;
  let sampleRate = 16000;
  let language = 'en';
  /** Audio received on this socket (ms), in total and since the last final. */
  let audioMsTotal = 0;
  let audioMsPending = 0;
  let interimsSent = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const clearIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
  };
  // Mirrors production: the server, not the client, ends an idle session, and says why first.
  const armIdle = () => {
    clearIdle();
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (closed || !ctx.isOpen()) return;
      ctx.log('stt.idle_close', { id: ctx.entry.id, idleCloseMs: script.idleCloseMs });
      ctx.sendError(INACTIVITY_ERROR_CODE, INACTIVITY_MESSAGE);
      ctx.closeByGateway(1000, INACTIVITY_MESSAGE);
    }, script.idleCloseMs);
    idleTimer.unref?.();
  };

  const transcriptEvent = (type: 'interim_transcript' | 'final_transcript', words: string[]) => {
    const startS = (audioMsTotal - audioMsPending) / 1000;
    const durS = audioMsPending / 1000;
    const per = words.length ? durS / words.length : 0;
    return {
      type,
      session_id: sessionId,
      transcript: words.join(' '),
      language,
      start: startS,
      duration: durS,
      confidence: 0.99,
      words: words.map((w, i) => ({ word: w, start: startS + i * per, end: startS + (i + 1) * per, confidence: 0.99 })),
    };
  };

  const sendFinal = (text: string) => {
    ctx.send(transcriptEvent('final_transcript', text.split(/\s+/).filter(Boolean)));
    ctx.log('stt.final', { id: ctx.entry.id, transcript: text });
    cursor.next += 1;
    audioMsPending = 0;
    interimsSent = 0;
  };

  /** Send whatever interims/finals the audio received so far has earned. */
  const advance = () => {
    for (;;) {
      const t = script.transcripts[cursor.next];
      if (!t) return;
      const words = t.text.split(/\s+/).filter(Boolean);
      if (t.interim) {
        // interim k (k words) is due at k/(n+1) of the way to the final
        while (interimsSent < words.length && audioMsPending >= ((interimsSent + 1) * t.afterAudioMs) / (words.length + 1)) {
          interimsSent += 1;
          ctx.send(transcriptEvent('interim_transcript', words.slice(0, interimsSent)));
        }
      }
      if (audioMsPending < t.afterAudioMs) return;
      sendFinal(t.text);
    }
  };

  return {
    onMessage(msg) {
      switch (msg.type) {
        case 'session.create': {
          if (created) return;
          const settings = (msg.settings ?? {}) as Record<string, unknown>;
          const enc = settings.encoding ?? 'pcm_s16le';
          const sr = Number(settings.sample_rate ?? 16000);
          if (enc !== 'pcm_s16le' || !Number.isInteger(sr) || sr <= 0) {
            ctx.sendError(undefined, `unsupported audio format: encoding=${String(enc)} sample_rate=${String(settings.sample_rate)}`);
            ctx.closeByGateway(1008, 'unsupported audio format');
            return;
          }
          sampleRate = sr;
          if (typeof settings.language === 'string' && settings.language) language = settings.language;
          created = true;
          ctx.send({ type: 'session.created', session_id: sessionId });
          armIdle();
          return;
        }
        case 'input_audio': {
          if (!created) {
            ctx.sendError(undefined, 'input_audio before session.create');
            ctx.closeByGateway(1008, 'session.create must come first');
            return;
          }
          const b64 = typeof msg.audio === 'string' ? msg.audio : '';
          const bytes = Buffer.byteLength(b64, 'base64');
          const ms = (bytes / 2 / sampleRate) * 1000;
          audioMsTotal += ms;
          audioMsPending += ms;
          armIdle();
          advance();
          return;
        }
        case 'session.finalize': {
          // A finalize flushes the provider: audio already heard becomes final now.
          const t = script.transcripts[cursor.next];
          if (t && audioMsPending > 0) sendFinal(t.text);
          ctx.send({ type: 'session.finalized', session_id: sessionId });
          return;
        }
        case 'session.close':
          clearIdle();
          if (script.replySessionClosed) ctx.send({ type: 'session.closed', session_id: sessionId });
          return;
        default:
          // session.update and unknown types: the real gateway applies or ignores them; no reply either way.
          return;
      }
    },
    onClose() {
      closed = true;
      clearIdle();
    },
  };
}
