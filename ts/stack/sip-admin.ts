/**
 * SIP administration on the run's livekit-server (livekit-server-sdk SipClient, the same
 * Twirp API `lk sip ...` uses): the inbound trunk and dispatch rule an inbound call needs,
 * the outbound trunk and CreateSIPParticipant an outbound call needs. livekit-server keeps
 * these in the run's redis, which starts empty and saves nothing, so nothing leaks between
 * runs.
 */
import { RoomAgentDispatch, SipClient, type CreateSipDispatchRuleOptions, type CreateSipOutboundTrunkOptions } from 'livekit-server-sdk';
import { KitError } from '../errors.js';

/** The number the kit's inbound trunk answers; sipp dials it (Request-URI and To user). */
export const DEFAULT_INBOUND_NUMBER = '+15550100';
/** The number livekit-sip dials on the outbound trunk (sipp UAS answers any user). */
export const DEFAULT_OUTBOUND_NUMBER = '+15550199';

/** SIPTransport.SIP_TRANSPORT_UDP from @livekit/protocol (livekit_sip.proto), which the SDK does not re-export. */
const SIP_TRANSPORT_UDP = 1 as CreateSipOutboundTrunkOptions['transport'];

export interface SipAdminOptions {
  /** livekit-server `http://<nsAddr>:<port>` (startLivekitServer().httpUrl). */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
}

export interface SipAdmin {
  client: SipClient;
  /**
   * Creates an inbound trunk that accepts calls to `numbers` (default [DEFAULT_INBOUND_NUMBER])
   * from `allowedAddresses` (default: any; pass the caller's address to pin it).
   * @returns the trunk id (`ST_...`).
   */
  createInboundTrunk(o?: { name?: string; numbers?: string[]; allowedAddresses?: string[] }): Promise<string>;
  /**
   * Creates an "individual" dispatch rule: each call gets its own room `<roomPrefix>_<caller>_<random>`
   * and the room is created with `agents: [{ agentName }]`, so livekit-server dispatches that
   * agent (explicit dispatch by name, which is how the kit's workers register). `trunkIds`
   * limits the rule to those trunks (default: every trunk).
   * @returns the rule id (`SDR_...`).
   */
  createDispatchRule(agentName: string, roomPrefix: string, o?: { trunkIds?: string[]; metadata?: string; departureTimeoutS?: number }): Promise<string>;
  /**
   * Creates an outbound trunk whose calls go to `address` (`host:port` of the local callee,
   * e.g. the sipp UAS at `<nsAddr>:5070`) over UDP, presenting `numbers[0]` as the caller.
   * @returns the trunk id.
   */
  createOutboundTrunk(address: string, o?: { name?: string; numbers?: string[] }): Promise<string>;
  /**
   * Asks livekit-sip (through livekit-server and redis) to call `number` on `trunkId` and
   * join the answered call to `roomName` as `identity`.
   * `waitUntilAnswered` (default false) makes the request return only once the callee
   * answered (bounded by `timeoutS`, default 30 s).
   * @returns `{ participantIdentity, participantId, sipCallId, roomName }`.
   */
  createSipParticipant(o: { trunkId: string; number?: string; roomName: string; identity?: string; waitUntilAnswered?: boolean; timeoutS?: number }): Promise<{ participantIdentity: string; participantId: string; sipCallId: string; roomName: string }>;
}

/**
 * A SipAdmin bound to the run's livekit-server and an API key pair (the `kit` pair).
 * Every method wraps an API failure in a KitError (exit 2) that names the call and
 * upstream's message (e.g. livekit-server without redis answers "SIP not configured").
 */
export function sipAdmin(o: SipAdminOptions): SipAdmin {
  if (!o.httpUrl || !o.apiKey || !o.apiSecret) throw new KitError('sipAdmin needs httpUrl, apiKey and apiSecret', { fix: 'pass startLivekitServer().httpUrl and the kit key pair' });
  const client = new SipClient(o.httpUrl, o.apiKey, o.apiSecret);
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw new KitError(`livekit-server ${what} failed: ${(err as Error).message}`, {
        fix: 'livekit-server must run with redis (startLivekitServer(sup, { redis })) and livekit-sip must be up on the same redis',
        cause: err,
      });
    }
  };
  return {
    client,
    async createInboundTrunk(t = {}) {
      const info = await wrap('CreateSIPInboundTrunk', () =>
        client.createSipInboundTrunk(t.name ?? 'closekit-inbound', t.numbers ?? [DEFAULT_INBOUND_NUMBER], { allowedAddresses: t.allowedAddresses }));
      return info.sipTrunkId;
    },
    async createDispatchRule(agentName, roomPrefix, d = {}) {
      if (!roomPrefix) throw new KitError('createDispatchRule needs a room prefix', { fix: 'pass e.g. "ck-<runid>"' });
      // RoomConfiguration is a protobuf-es message; its constructor takes a partial object,
      // so the SDK's `new CreateSIPDispatchRuleRequest({ roomConfig })` builds it from this.
      const roomConfig = { agents: agentName ? [new RoomAgentDispatch({ agentName, metadata: d.metadata ?? '' })] : [], ...(d.departureTimeoutS !== undefined ? { departureTimeout: d.departureTimeoutS } : {}) } as unknown as CreateSipDispatchRuleOptions['roomConfig'];
      const info = await wrap('CreateSIPDispatchRule', () =>
        client.createSipDispatchRule({ type: 'individual', roomPrefix }, { name: `closekit-${roomPrefix}`, trunkIds: d.trunkIds, roomConfig }));
      return info.sipDispatchRuleId;
    },
    async createOutboundTrunk(address, t = {}) {
      if (!/^[^\s:]+(:\d+)?$/.test(address)) throw new KitError(`outbound trunk address ${JSON.stringify(address)} is not host[:port]`, { fix: 'pass the sipp UAS address, e.g. 198.18.1.2:5070' });
      const info = await wrap('CreateSIPOutboundTrunk', () =>
        client.createSipOutboundTrunk(t.name ?? 'closekit-outbound', address, t.numbers ?? [DEFAULT_INBOUND_NUMBER], { transport: SIP_TRANSPORT_UDP }));
      return info.sipTrunkId;
    },
    async createSipParticipant(p) {
      const info = await wrap('CreateSIPParticipant', () =>
        client.createSipParticipant(p.trunkId, p.number ?? DEFAULT_OUTBOUND_NUMBER, p.roomName, {
          participantIdentity: p.identity ?? 'sip-callee',
          waitUntilAnswered: p.waitUntilAnswered ?? false,
          timeout: p.timeoutS ?? 30,
          ringingTimeout: p.timeoutS ?? 30,
        }));
      return { participantIdentity: info.participantIdentity, participantId: info.participantId, sipCallId: info.sipCallId, roomName: info.roomName };
    },
  };
}
