/**
 * Real media through the run's namespace: two @livekit/rtc-node participants (child
 * processes inside the namespace) join one room on the real livekit-server; one publishes
 * a tone, the other must receive it. Needs root and `.kit/bin/livekit-server`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN } from '../ts/config.js';
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
    const bob = startWebrtcCaller(sup, { name: 'bob', wsUrl: livekit.wsUrl, token: await token('bob'), audio: 'none' });

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
    expect((await rooms.listParticipants('media')).map((p) => p.identity)).toEqual(['bob']);

    await bob.hangup();
    const name = stack.net.name;
    await stack.teardown();
    expect(listKitNamespaces()).not.toContain(name);
  });
});
