/**
 * The WebRTC caller, a child process run inside the run's namespace by webrtc.ts:
 *
 *   node --import tsx ts/callers/webrtc-child.ts --url ws://198.18.n.2:7880 --token <jwt>
 *        [--audio tone|speech|silence|none|<file.wav>] [--sample-rate 48000] [--expect-audio]
 *
 * It joins with @livekit/rtc-node, publishes a microphone track fed from audio.ts (looped),
 * subscribes to every remote audio track and counts the frames it receives.
 * stdout: one JSON object per line (`ev` = starting | joined | published |
 * participant.connected | participant.disconnected | track.subscribed | audio.first |
 * frames | hungup | disconnected | summary | error). stdin: a line `hangup` (or EOF) makes
 * it call `room.disconnect()`, which livekit-server records as CLIENT_INITIATED, and exit 0.
 * A server-side disconnect (room deleted, removed) also ends it with exit 0.
 * With --expect-audio the exit code is 3 instead when no voiced frame was ever received,
 * so "the other side never spoke" is visible without parsing events.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  DisconnectReason,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  dispose,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { frameSize, readWav, rms, speechLike, tone, type Pcm } from './audio.js';

/** A received frame whose RMS is above this counts as voiced (silence from rtc is ~0). */
const VOICED_RMS = 200;
const FRAMES_EVERY_MS = 500;

function emit(ev: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...data })}\n`);
}

function audioFor(spec: string, sampleRate: number): Pcm | null {
  switch (spec) {
    case 'none': return null;
    case 'tone': return tone({ sampleRate, ms: 1000 });
    case 'speech': return speechLike({ sampleRate, ms: 3000 });
    case 'silence': return { sampleRate, samples: new Int16Array(sampleRate) };
    default: return readWav(spec);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      audio: { type: 'string', default: 'tone' },
      'sample-rate': { type: 'string', default: '48000' },
      'expect-audio': { type: 'boolean', default: false },
    },
  });
  if (!values.url || !values.token) {
    emit('error', { message: 'usage: webrtc-child.ts --url ws://... --token <jwt> [--audio tone|speech|silence|none|file.wav]' });
    process.exit(2);
  }
  const pcm = audioFor(values.audio!, Number(values['sample-rate']));
  emit('starting', { pid: process.pid });

  const room = new Room();
  const counts = new Map<string, { n: number; voiced: number }>();
  let hangingUp = false;
  let stopAudio = false;

  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub, participant: RemoteParticipant) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return;
    emit('track.subscribed', { participant: participant.identity, track: pub.sid });
    const c = { n: 0, voiced: 0 };
    counts.set(`${participant.identity}/${pub.sid}`, c);
    void (async () => {
      for await (const frame of new AudioStream(track) as unknown as AsyncIterable<AudioFrame>) {
        c.n++;
        if (rms(frame.data) > VOICED_RMS) {
          if (c.voiced++ === 0) emit('audio.first', { participant: participant.identity, track: pub.sid });
        }
      }
    })().catch((err) => emit('error', { message: `audio stream: ${(err as Error).message}` }));
  });
  room.on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) => emit('participant.connected', { participant: p.identity }));
  // The reason is what agents' RoomIO closeOnDisconnect keys on (room_io.ts: CLIENT_INITIATED, ROOM_DELETED, USER_REJECTED).
  room.on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
    const r = p.disconnectReason;
    emit('participant.disconnected', { participant: p.identity, reason: r === undefined ? null : (DisconnectReason[r] ?? String(r)) });
  });
  room.on(RoomEvent.Disconnected, (reason: DisconnectReason) => {
    emit('disconnected', { reason: DisconnectReason[reason] ?? String(reason) });
    if (!hangingUp) void finish(0);
  });

  const ticker = setInterval(() => {
    if (counts.size === 0) return;
    let n = 0;
    let voiced = 0;
    for (const c of counts.values()) { n += c.n; voiced += c.voiced; }
    emit('frames', { n, voiced });
  }, FRAMES_EVERY_MS);

  let finishing: Promise<void> | null = null;
  function finish(code: number): Promise<void> {
    finishing ??= (async () => {
      stopAudio = true;
      clearInterval(ticker);
      try { await room.disconnect(); } catch { /* already gone */ }
      let n = 0;
      let voiced = 0;
      for (const c of counts.values()) { n += c.n; voiced += c.voiced; }
      emit('summary', { n, voiced });
      try { await dispose(); } catch { /* best effort */ }
      process.exit(code === 0 && values['expect-audio'] && voiced === 0 ? 3 : code);
    })();
    return finishing;
  }

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() !== 'hangup') return;
    hangingUp = true;
    emit('hungup');
    void finish(0);
  });
  // EOF on stdin: the parent went away without saying hangup.
  rl.on('close', () => { hangingUp = true; void finish(0); });

  await room.connect(values.url, values.token, { autoSubscribe: true, dynacast: false });
  emit('joined', {
    room: room.name,
    identity: room.localParticipant?.identity,
    remotes: [...room.remoteParticipants.values()].map((p) => p.identity),
  });

  if (!pcm) return;
  const source = new AudioSource(pcm.sampleRate, 1);
  const track = LocalAudioTrack.createAudioTrack('microphone', source);
  const pub = await room.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  emit('published', { track: pub.sid, sampleRate: pcm.sampleRate, audio: values.audio });
  const step = frameSize(pcm.sampleRate);
  // captureFrame resolves when the source's queue has room, which paces the loop in real time.
  for (let off = 0; !stopAudio; off += step) {
    if (off + step > pcm.samples.length) off = 0; // loop the clip
    const data = pcm.samples.slice(off, off + step);
    await source.captureFrame(new AudioFrame(data, pcm.sampleRate, 1, step));
  }
}

main().catch((err) => {
  emit('error', { message: (err as Error).message });
  process.exit(1);
});
