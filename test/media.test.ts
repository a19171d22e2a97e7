/**
 * Real media through the run's namespace: two @livekit/rtc-node participants (child
 * processes inside the namespace) join one room on the real livekit-server; one publishes
 * a tone, the other must receive it. Needs root and `.kit/bin/livekit-server`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN } from '../ts/config.js';
import { readWav, rms, speechLike, tone, toWav } from '../ts/callers/audio.js';
import { callerToken, startWebrtcCaller } from '../ts/callers/webrtc.js';
import { startStack, type Stack } from '../ts/stack/index.js';
import { listKitNamespaces } from '../ts/stack/netns.js';

const canRun = process.getuid?.() === 0 && existsSync(LIVEKIT_SERVER_BIN);

describe.skipIf(!canRun)('WebRTC media in the run namespace', () => {
  let stack: Stack | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'closekit-media-'));
  afterAll(async () => {
    await stack?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers audio published by one participant to the other, and reports the hangup', async () => {
    stack = await startStack({ runId: `m${process.pid.toString(36)}`, runDir: dir, handleSignals: false });
    const { livekit, keys, sup } = stack;
    const token = (identity: string) => callerToken({ ...keys.kit, room: 'media', identity });
    const alice = startWebrtcCaller(sup, { name: 'alice', wsUrl: livekit.wsUrl, token: await token('alice'), audio: 'tone' });
    const bob = startWebrtcCaller(sup, { name: 'bob', wsUrl: livekit.wsUrl, token: await token('bob'), audio: 'none', expectAudio: true });

    await alice.waitFor('published', 60_000);
    const sub = await bob.waitFor('track.subscribed', 60_000);
    expect(sub.participant).toBe('alice');

    const rooms = new RoomServiceClient(livekit.httpUrl, keys.kit.apiKey, keys.kit.apiSecret);
    expect((await rooms.listParticipants('media')).map((p) => p.identity).sort()).toEqual(['alice', 'bob']);

    // 10 ms frames: 150 frames is 1.5 s of audio actually decoded on bob's side.
    const frames = await bob.waitFor('frames', 60_000, (e) => (e.n as number) >= 150);
    // The tone is loud; silence or comfort noise would not pass the RMS threshold.
    expect(frames.voiced as number).toBeGreaterThan((frames.n as number) * 0.8);

    await alice.hangup();
    expect(alice.child.done).toBe(true);
    expect(alice.events.map((e) => e.ev)).toContain('hungup');
    const left = await bob.waitFor('participant.disconnected', 30_000);
    expect(left.participant).toBe('alice');
    // What an agent's closeOnDisconnect sees when a caller hangs up.
    expect(left.reason).toBe('CLIENT_INITIATED');
    expect((await rooms.listParticipants('media')).map((p) => p.identity)).toEqual(['bob']);

    // Deleting the room disconnects bob from the server side; the caller reports why and
    // exits 0 (it did receive audio, so --expect-audio is satisfied).
    await rooms.deleteRoom('media');
    const gone = await bob.waitFor('disconnected', 30_000);
    expect(gone.reason).toBe('ROOM_DELETED');
    expect(await bob.child.exited).toBe(0);
    const summary = bob.events.find((e) => e.ev === 'summary');
    expect(summary?.voiced as number).toBeGreaterThanOrEqual(frames.voiced as number);

    const name = stack.net.name;
    await stack.teardown();
    expect(listKitNamespaces()).not.toContain(name);
  });
});

describe('caller audio signals', () => {
  it('round-trips a generated signal through WAV', () => {
    const dir = mkdtempSync(join(tmpdir(), 'closekit-wav-'));
    try {
      const pcm = speechLike({ sampleRate: 16000, ms: 1000 });
      writeFileSync(join(dir, 'a.wav'), toWav(pcm));
      const back = readWav(join(dir, 'a.wav'));
      expect(back.sampleRate).toBe(16000);
      expect(Array.from(back.samples)).toEqual(Array.from(pcm.samples));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes speech-like audio with syllables and pauses, and a loud tone', () => {
    const pcm = speechLike({ sampleRate: 48000, ms: 3000 });
    const frame = 480;
    const levels: number[] = [];
    for (let i = 0; i + frame <= pcm.samples.length; i += frame) levels.push(rms(pcm.samples.subarray(i, i + frame)));
    const voiced = levels.filter((l) => l > 200).length;
    expect(voiced).toBeGreaterThan(levels.length * 0.4); // talking most of the time
    expect(levels.length - voiced).toBeGreaterThan(levels.length * 0.2); // with real gaps
    expect(rms(tone({ ms: 100 }).samples)).toBeGreaterThan(5000);
  });
});
