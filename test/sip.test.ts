/**
 * The real SIP path: redis + livekit-server + livekit-sip in a run namespace, a real sipp
 * placing (uac) or answering (uas) a call, hung up by the kit's 3PCC cue.
 * Needs root (ip netns), `.kit/bin/livekit-server`, `.kit/bin/livekit-sip`, redis-server
 * and sipp (make setup).
 *
 * livekit-sip keeps an inbound call ringing until some participant's track is subscribed
 * (pkg/sip/inbound.go "Waiting for track subscription(s)"): in a real run that is the
 * agent's audio; here a WebRTC participant publishing a tone stands in for it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RoomServiceClient, type ParticipantInfo } from 'livekit-server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN, LIVEKIT_SIP_BIN } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { startSipCaller, encodeMuLaw, callerAudio } from '../ts/callers/sip.js';
import { callerToken, startWebrtcCaller } from '../ts/callers/webrtc.js';
import { keysMap, newKeyPair } from '../ts/stack/keys.js';
import { startLivekitServer } from '../ts/stack/livekit-server.js';
import { LIVEKIT_SIP_CHILD, startLivekitSip } from '../ts/stack/livekit-sip.js';
import { createRunNetwork, type RunNetwork } from '../ts/stack/netns.js';
import { REDIS_CHILD, startRedis } from '../ts/stack/redis.js';
import { DEFAULT_INBOUND_NUMBER, sipAdmin } from '../ts/stack/sip-admin.js';
import { Supervisor } from '../ts/stack/supervisor.js';

const hasBin = (b: string) => execa(b, ['-v'], { reject: false }).then((r) => r.code !== 'ENOENT');
const canRun = process.getuid?.() === 0 && existsSync(LIVEKIT_SERVER_BIN) && existsSync(LIVEKIT_SIP_BIN)
  && (await hasBin('sipp')) && (await hasBin('redis-server'));
/** livekit_models.proto ParticipantInfo.Kind.SIP */
const KIND_SIP = 3;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function newRun(tag: string): Promise<{ net: RunNetwork; sup: Supervisor }> {
  const dir = mkdtempSync(join(tmpdir(), `closekit-${tag}-`));
  const net = await createRunNetwork(`s${tag}${process.pid.toString(36)}`.slice(0, 8), { allowHost: false });
  const sup = new Supervisor({ runId: tag, logsDir: join(dir, 'logs'), net, handleSignals: false });
  cleanups.push(async () => {
    await sup.teardown();
    rmSync(dir, { recursive: true, force: true });
  });
  return { net, sup };
}

/** redis + livekit-server (on that redis) + livekit-sip, with the kit key pair. */
async function sipStack(sup: Supervisor) {
  const kit = newKeyPair('kit');
  const redis = await startRedis(sup);
  const lk = await startLivekitServer(sup, { keys: keysMap([kit]), redis: { addr: redis.addr } });
  const sip = await startLivekitSip(sup, { redisAddr: redis.addr, apiKey: kit.apiKey, apiSecret: kit.apiSecret, wsUrl: lk.wsUrl });
  const admin = sipAdmin({ httpUrl: lk.httpUrl, apiKey: kit.apiKey, apiSecret: kit.apiSecret });
  const rooms = new RoomServiceClient(lk.httpUrl, kit.apiKey, kit.apiSecret);
  return { kit, redis, lk, sip, admin, rooms };
}

/** The SDK camel-cases attribute keys on the way in (sip.callStatus → sipCallStatus); accept both. */
function attr(p: ParticipantInfo, key: string): string | undefined {
  const camel = key.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
  return p.attributes[key] ?? p.attributes[camel];
}

async function until<T>(f: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('mu-law audio for sipp', () => {
  it('encodes whole 20 ms packets of G.711 mu-law', () => {
    const buf = encodeMuLaw({ sampleRate: 8000, samples: Int16Array.from([0, 32767, -32768, 100]) });
    expect(buf.length).toBe(160);
    expect([...buf.subarray(0, 4)]).toEqual([0xff, 0x80, 0x00, 0xf2]);
    expect(buf[4]).toBe(0xff); // padding is mu-law silence
    expect(callerAudio('speech').samples.length).toBe(8000 * 5);
  });
});

describe.skipIf(!canRun)('SIP path on a real stack', () => {
  it('an inbound sipp call joins the room as a SIP participant and leaves on BYE', async () => {
    const { net, sup } = await newRun('in');
    const { kit, lk, sip, admin, rooms } = await sipStack(sup);
    const trunk = await admin.createInboundTrunk({ allowedAddresses: [net.nsAddr] });
    await admin.createDispatchRule('closekit-none', 'ck-sip', { trunkIds: [trunk] });

    const t0 = Date.now();
    const caller = await startSipCaller(sup, { mode: 'uac', host: net.nsAddr, target: sip.sipAddr, number: DEFAULT_INBOUND_NUMBER, fromNumber: '+15550111' });
    await caller.waitFor('invite.sent', 5000);
    const room = await until(async () => (await rooms.listRooms()).find((r) => r.name.startsWith('ck-sip_'))?.name, 10_000, 'the dispatch rule to create the room');
    const tRoom = Date.now() - t0;
    // Stand-in for the agent: livekit-sip answers once it subscribed to a track.
    const peer = startWebrtcCaller(sup, { name: 'peer', wsUrl: lk.wsUrl, token: await callerToken({ apiKey: kit.apiKey, apiSecret: kit.apiSecret, room, identity: 'agent-stand-in' }), audio: 'tone' });
    await peer.waitFor('published', 20_000);
    await caller.waitFor('published', 20_000);
    const tAnswered = Date.now() - t0;

    const sipP = await until(async () => (await rooms.listParticipants(room)).find((p) => p.kind === KIND_SIP && attr(p, 'sip.callStatus') === 'active'), 10_000, 'the SIP participant to be active');
    expect(sipP.identity).toBe('sip_+15550111');
    expect(attr(sipP, 'sip.phoneNumber')).toBe('+15550111');
    expect(attr(sipP, 'sip.trunkPhoneNumber')).toBe(DEFAULT_INBOUND_NUMBER);
    expect(attr(sipP, 'sip.callIDFull') ?? attr(sipP, 'sip.callIdFull')).toBe(caller.callId());
    expect(room.startsWith('ck-sip_+15550111_')).toBe(true);
    // Let real RTP flow for a moment: livekit-sip counts the packets in its call statistics.
    await new Promise((r) => setTimeout(r, 1000));

    const tBye = Date.now();
    await caller.hangup();
    const byeMs = Date.now() - tBye;
    await until(async () => !(await rooms.listParticipants(room)).some((p) => p.kind === KIND_SIP), 10_000, 'the SIP participant to leave');
    const leftMs = Date.now() - tBye;
    console.log(`inbound: room after ${tRoom} ms, answered after ${tAnswered} ms, BYE→200 ${byeMs} ms, participant gone ${leftMs} ms after the cue`);

    expect(caller.child.done).toBe(true);
    expect(await caller.child.exited).toBe(0);
    expect(caller.events.map((e) => e.ev)).toEqual(expect.arrayContaining(['answered', 'media.started', 'hangup.cue', 'bye.sent', 'bye.ok', 'exited']));
    const st = caller.stats();
    expect(st?.['SuccessfulCall(C)']).toBe('1');
    expect(st?.['FailedCall(C)']).toBe('0');
    expect(sup.logTail(LIVEKIT_SIP_CHILD, 400)).toMatch(/BYE from remote/);
    expect(sup.logTail(LIVEKIT_SIP_CHILD, 400)).toMatch(/"audio_packets":[1-9]/);
    await peer.hangup();
  });

  it('an outbound CreateSIPParticipant call is answered by sipp and ends on its BYE', async () => {
    const { net, sup } = await newRun('out');
    const { admin, rooms } = await sipStack(sup);
    const callee = await startSipCaller(sup, { name: 'sip-callee', mode: 'uas', host: net.nsAddr });
    const trunk = await admin.createOutboundTrunk(callee.sipAddr);
    await rooms.createRoom({ name: 'ck-out' });
    const t0 = Date.now();
    const info = await admin.createSipParticipant({ trunkId: trunk, roomName: 'ck-out', identity: 'phone', waitUntilAnswered: true });
    expect(info.participantIdentity).toBe('phone');
    await callee.waitFor('published', 10_000);
    const p = (await rooms.listParticipants('ck-out')).find((x) => x.identity === 'phone');
    expect(p?.kind).toBe(KIND_SIP);
    expect(attr(p!, 'sip.callStatus')).toBe('active');
    const answeredMs = Date.now() - t0;
    const tBye = Date.now();
    await callee.hangup();
    await until(async () => !(await rooms.listParticipants('ck-out')).some((x) => x.kind === KIND_SIP), 10_000, 'the SIP participant to leave');
    console.log(`outbound: answered ${answeredMs} ms after CreateSIPParticipant, participant gone ${Date.now() - tBye} ms after the cue`);
    expect(callee.callId()).toBeTruthy();
    expect(await callee.child.exited).toBe(0);
  });

  it('bad input: missing binaries, taken ports; KitError exit 2 and nothing left running', async () => {
    const { net, sup } = await newRun('bad');
    // Missing sipp / livekit-sip / redis: refused before anything starts.
    for (const start of [
      () => startSipCaller(sup, { mode: 'uas', host: net.nsAddr, bin: '/nonexistent/sipp' }),
      () => startLivekitSip(sup, { redisAddr: `${net.nsAddr}:1`, apiKey: 'k', apiSecret: 's', wsUrl: 'ws://x', bin: '/nonexistent/livekit-sip' }),
      () => startRedis(sup, { bin: '/nonexistent/redis-server' }),
      () => startSipCaller(sup, { mode: 'uac', host: net.nsAddr }),
    ]) {
      const err = await start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KitError);
      expect((err as KitError).exitCode).toBe(2);
    }
    expect(sup.running()).toEqual([]);

    const { sip } = await sipStack(sup);
    // A second redis on a taken port.
    const r2 = await startRedis(sup, { port: 7880 }).catch((e: unknown) => e);
    expect(r2).toBeInstanceOf(KitError);
    expect((r2 as KitError).message).toMatch(/port 7880 .* already taken/);

    // sipp on livekit-sip's SIP port: sipp cannot bind, exits; KitError names the bind.
    const s2 = await startSipCaller(sup, { name: 'sipp-clash', mode: 'uas', host: net.nsAddr, ports: { sip: sip.sipPort } }).catch((e: unknown) => e);
    expect(s2).toBeInstanceOf(KitError);
    expect((s2 as KitError).exitCode).toBe(2);
    expect((s2 as KitError).message).toMatch(/could not bind SIP 5060: the port is already taken/);
    expect(sup.get('sipp-clash')?.done).toBe(true);

    // livekit-sip on a SIP port sipp already holds (UDP): it logs the bind error and
    // exits (with 0: upstream prints the error), the kit names the port.
    await sup.stop(LIVEKIT_SIP_CHILD, 'SIGINT');
    const callee = await startSipCaller(sup, { name: 'holder', mode: 'uas', host: net.nsAddr, ports: { sip: 5062 } });
    const l2 = await startLivekitSip(sup, { redisAddr: `${net.nsAddr}:6379`, apiKey: 'ckkitx', apiSecret: 'x'.repeat(40), wsUrl: 'ws://127.0.0.1:1', sipPort: 5062 }).catch((e: unknown) => e);
    expect(l2).toBeInstanceOf(KitError);
    expect((l2 as KitError).exitCode).toBe(2);
    expect((l2 as KitError).message).toMatch(/5062.*already taken|exited/);
    expect(sup.get(LIVEKIT_SIP_CHILD)?.done).toBe(true);
    await callee.stop();
    expect(sup.get('holder')?.done).toBe(true);
    expect(sup.get(REDIS_CHILD)?.done).toBe(false);
  });
});
