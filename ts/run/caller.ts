/**
 * Phase 3, the caller: put a caller in a room with the agent, in the scenario's way.
 *  - webrtc: the kit creates the room, dispatches the agent and joins an
 *    `@livekit/rtc-node` participant (ts/callers/webrtc.ts).
 *  - sip-inbound: the production shape: an inbound SIP trunk and a dispatch rule create the
 *    call's room and dispatch the agent; sipp calls livekit-sip.
 *  - sip-outbound (seeds 000/001): the agent's room places a call with
 *    CreateSIPParticipant through an outbound trunk; sipp answers as the callee.
 */
import { randomBytes } from 'node:crypto';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { startSipCaller } from '../callers/sip.js';
import { callerToken, startWebrtcCaller } from '../callers/webrtc.js';
import type { Scenario } from '../scenario/spec.js';
import { DEFAULT_INBOUND_NUMBER, sipAdmin } from '../stack/sip-admin.js';
import type { RunLayout } from './layout.js';
import type { RunStack } from './stack.js';

/** A caller in the room: both callers' common part. */
export interface Call {
  waitFor(ev: string, timeoutMs: number): Promise<unknown>;
  hangup(): Promise<void>;
}

/** How long (ms) the caller may take to publish its audio once started. */
export const PUBLISH_TIMEOUT_MS = 30_000;

/**
 * Places the call and waits until the caller published its audio; emits `caller.joined`.
 * @throws Error/KitError when a caller cannot start or never publishes (the run reports it as `error`).
 */
export async function placeCall(stack: RunStack, scenario: Scenario, agentName: string, layout: RunLayout, progress: (l: string) => void): Promise<Call> {
  const room = `ck-${scenario.name}-${randomBytes(3).toString('hex')}`;
  const kit = stack.keys.kit;
  const metadata = JSON.stringify({ scenario: scenario.name });
  const rooms = new RoomServiceClient(stack.livekit.httpUrl, kit.apiKey, kit.apiSecret);
  const dispatch = new AgentDispatchClient(stack.livekit.httpUrl, kit.apiKey, kit.apiSecret);
  const roomWithAgent = async () => {
    await rooms.createRoom({ name: room, emptyTimeout: 60, departureTimeout: scenario.room.departureTimeoutS });
    await dispatch.createDispatch(room, agentName, { metadata });
  };
  let call: Call;
  if (scenario.caller.kind === 'webrtc') {
    await roomWithAgent();
    progress(`${layout.id}: WebRTC caller joins ${room}`);
    const token = await callerToken({ apiKey: kit.apiKey, apiSecret: kit.apiSecret, room, identity: 'caller', ttl: '10m' });
    call = startWebrtcCaller(stack.sup, { name: 'caller', wsUrl: stack.livekit.wsUrl, token });
  } else {
    const admin = sipAdmin({ httpUrl: stack.livekit.httpUrl, apiKey: kit.apiKey, apiSecret: kit.apiSecret });
    if (scenario.caller.kind === 'sip-inbound') {
      const trunk = await admin.createInboundTrunk({ allowedAddresses: [stack.net.nsAddr] });
      await admin.createDispatchRule(agentName, `ck-${scenario.name}`, { trunkIds: [trunk], metadata, departureTimeoutS: scenario.room.departureTimeoutS });
      progress(`${layout.id}: sipp calls livekit-sip (inbound trunk ${DEFAULT_INBOUND_NUMBER})`);
      call = await startSipCaller(stack.sup, { name: 'sip-caller', mode: 'uac', host: stack.net.nsAddr, target: stack.sip!.sipAddr, number: DEFAULT_INBOUND_NUMBER });
    } else {
      const callee = await startSipCaller(stack.sup, { name: 'sip-callee', mode: 'uas', host: stack.net.nsAddr });
      const trunk = await admin.createOutboundTrunk(callee.sipAddr);
      await roomWithAgent();
      progress(`${layout.id}: CreateSIPParticipant dials the sipp callee from ${room}`);
      await admin.createSipParticipant({ trunkId: trunk, roomName: room, waitUntilAnswered: true });
      call = callee;
    }
  }
  await call.waitFor('published', PUBLISH_TIMEOUT_MS);
  layout.kitEmit('caller.joined', { room, kind: scenario.caller.kind });
  return call;
}
