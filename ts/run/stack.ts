/**
 * Phase 1, the stack: the run's namespace, livekit-server (and redis + livekit-sip for a
 * SIP caller) through ts/stack `startStack`, then the provider gateway on it.
 */
import { randomBytes } from 'node:crypto';
import { PORTS } from '../config.js';
import type { RuntimeInstall } from '../contract/results.js';
import { startGatewayProcess } from '../providers/client.js';
import { gatewayInferenceUrl } from '../providers/gateway.js';
import type { Scenario } from '../scenario/spec.js';
import { startStack, type Stack } from '../stack/index.js';
import type { RunLayout } from './layout.js';

export interface RunStack extends Stack {
  /** The gateway's control API, `http://<nsAddr>:<port>`. */
  gatewayUrl: string;
  /** LIVEKIT_INFERENCE_URL for the worker. */
  inferenceUrl: string;
}

/**
 * Starts everything the worker and the caller need. On failure everything already started
 * is torn down (startStack's promise, kept here for the gateway too).
 * @throws KitError (exit 2) when a part cannot start.
 */
export async function startRunStack(scenario: Scenario, install: RuntimeInstall, layout: RunLayout, progress: (l: string) => void): Promise<RunStack> {
  const sip = scenario.caller.kind !== 'webrtc';
  // The namespace name is ck-<first 8 of this>: runtime, variant and a random tail.
  const runId = `${install.runtime}${install.variant[0]}${randomBytes(3).toString('hex')}`;
  progress(`${layout.id}: starting ${sip ? 'redis, livekit-server and livekit-sip' : 'livekit-server'}`);
  const stack = await startStack({ runId, runDir: layout.dir, sip });
  try {
    const { url } = await startGatewayProcess(stack.sup, { host: stack.net.nsAddr, port: PORTS.gateway, dir: layout.dir, script: scenario.gateway, keys: stack.keys });
    return { ...stack, gatewayUrl: url, inferenceUrl: gatewayInferenceUrl(stack.net.nsAddr, PORTS.gateway) };
  } catch (e) {
    await stack.teardown();
    throw e;
  }
}
