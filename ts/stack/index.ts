/**
 * The stack of one run: network namespace → supervisor → (redis, when SIP is on) →
 * livekit-server → (livekit-sip, when SIP is on), with per-run key pairs for the js
 * worker, the py worker and the kit. The provider gateway and the workers are other
 * folders' parts; the run (ts/run/) starts them on top of the returned `sup`.
 */
import { join } from 'node:path';
import { keysMap, newKeyPair, type KeyPair } from './keys.js';
import { startLivekitServer, type LivekitOptions, type LivekitServer } from './livekit-server.js';
import { startLivekitSip, type LivekitSip } from './livekit-sip.js';
import { startRedis } from './redis.js';
import { createRunNetwork, type RunNetwork } from './netns.js';
import { Supervisor } from './supervisor.js';

export { createRunNetwork, type RunNetwork } from './netns.js';
export { Supervisor, type Child, type SpawnOptions } from './supervisor.js';
export { newKeyPair, keysMap, type KeyPair } from './keys.js';
export { startLivekitServer, type LivekitServer, type LivekitOptions } from './livekit-server.js';
export { stackSteps, livekitServerStep, iprouteStep, setprivStep } from './steps.js';

export interface StackOptions {
  runId: string;
  /** Per-run directory; logs go to `<runDir>/logs`, configs to `<runDir>`. */
  runDir: string;
  /** Also start redis (livekit-server then uses it) and livekit-sip on it, for SIP calls. */
  sip?: boolean;
  /** Passed through to startLivekitServer (ports, readiness deadline). */
  livekit?: Pick<LivekitOptions, 'ports' | 'readyTimeoutMs'>;
  /** false: fail instead of falling back to host networking. */
  allowHost?: boolean;
  /** false: do not install SIGINT/SIGTERM handlers (the caller has its own). */
  handleSignals?: boolean;
}

export interface Stack {
  net: RunNetwork;
  sup: Supervisor;
  livekit: LivekitServer;
  /** One pair each for the js worker, the py worker and the kit's own calls (tokens, RoomService). */
  keys: { js: KeyPair; py: KeyPair; kit: KeyPair };
  redis: { addr: string } | null;
  /** livekit-sip, when `sip` was set. */
  sip: LivekitSip | null;
  /** Stops every child and deletes the namespace. Idempotent. */
  teardown(): Promise<void>;
}

/**
 * Starts the run's stack. On any failure everything already started is torn down before
 * the error propagates, so nothing is left half-done.
 * @throws KitError (exit 2) from any part that cannot start.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const net = await createRunNetwork(opts.runId, { allowHost: opts.allowHost });
  const sup = new Supervisor({ runId: opts.runId, logsDir: join(opts.runDir, 'logs'), runDir: opts.runDir, net, handleSignals: opts.handleSignals });
  try {
    const keys = { js: newKeyPair('js'), py: newKeyPair('py'), kit: newKeyPair('kit') };
    const redis = opts.sip ? await startRedis(sup, { host: net.nsAddr }) : null;
    // The kit's pair first: startLivekitServer probes readiness with the first key.
    const livekit = await startLivekitServer(sup, {
      keys: keysMap([keys.kit, keys.js, keys.py]),
      redis: redis ?? undefined,
      ...opts.livekit,
    });
    const sip = redis
      ? await startLivekitSip(sup, { redisAddr: redis.addr, apiKey: keys.kit.apiKey, apiSecret: keys.kit.apiSecret, wsUrl: livekit.wsUrl, host: net.nsAddr })
      : null;
    return { net, sup, livekit, keys, redis, sip, teardown: () => sup.teardown() };
  } catch (err) {
    await sup.teardown();
    throw err;
  }
}
