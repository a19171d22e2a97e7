/**
 * The session's STT and TTS for the scenario's `providers` (docs/scenarios.md): LiveKit
 * Inference (`inference.STT`/`inference.TTS` from the runtime's own `@livekit/agents`, via
 * LIVEKIT_INFERENCE_URL) or Deepgram (`@livekit/agents-plugin-deepgram` from the same
 * runtime dir, pointed at the gateway's Deepgram endpoints through the plugin's `baseUrl`).
 * The LLM stays on inference either way (entry.ts). Python mirror:
 * python-shim/closekit_shim/speech.py `make_speech`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WORKER_ENV } from '../contract/env.js';
import { KitError } from '../errors.js';
import type { Scenario } from '../scenario/spec.js';
import type { LoadedRuntime } from './runtime.js';

/** Model descriptors sent to the gateway (it accepts any; these are real Inference names). */
export const MODELS = { stt: 'deepgram/nova-3', llm: 'openai/gpt-4.1-mini', tts: 'cartesia/sonic-2' } as const;
/** Deepgram models the plugin is constructed with (its defaults; the gateway scripts every model alike). */
export const DEEPGRAM_MODELS = { stt: 'nova-3', tts: 'aura-2-andromeda-en' } as const;
export const DEEPGRAM_PLUGIN = '@livekit/agents-plugin-deepgram';

/** What `job.started {speech}` says about the session's STT/TTS. */
export interface SpeechInfo {
  providers: Scenario['providers'];
  stt: string;
  tts: string;
  /** `called`: tts.prewarm() ran; `unavailable`: the TTS has no prewarm (agents-plugin-deepgram 1.9.0); `off`: the scenario did not ask. */
  ttsPrewarm: 'called' | 'unavailable' | 'off';
}

/**
 * The gateway's origin for the Deepgram plugin: LIVEKIT_INFERENCE_URL is
 * `http://<host>:<port>/v1` (providers/gateway.ts gatewayInferenceUrl); the plugin appends
 * `/v1/listen` to its STT `baseUrl` (a ws URL) and `/v1/speak` to its TTS `baseUrl` (an
 * http URL it turns into ws), so both get the origin.
 */
export function gatewayOrigin(inferenceUrl: string | undefined = process.env[WORKER_ENV.inferenceUrl]): string {
  if (!inferenceUrl) throw new KitError(`${WORKER_ENV.inferenceUrl} is not set`, { fix: 'start the worker through startJsWorker' });
  return inferenceUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

async function importDeepgram(dir: string): Promise<any> {
  const root = join(dir, 'node_modules', ...DEEPGRAM_PLUGIN.split('/'));
  if (!existsSync(join(root, 'package.json'))) {
    throw new KitError(`${dir} has no ${DEEPGRAM_PLUGIN} (providers: deepgram needs it)`, { fix: 'run kit setup (ensureJsRuntime adds the plugin to the runtime) or kit verify (rebuilds the patched copy from it)' });
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: { import?: { default?: string } }; main?: string };
  return import(pathToFileURL(join(root, pkg.exports?.import?.default ?? pkg.main ?? 'dist/index.js')).href);
}

/**
 * STT and TTS for the scenario. With `prewarmTts`, calls `tts.prewarm()` when the class has
 * one (seed 000): `inference.TTS` does (a pooled socket); the Deepgram plugin's TTS (1.9.0)
 * has none (it connects per stream), which `info.ttsPrewarm: 'unavailable'` says.
 * The Deepgram API key is the worker's LIVEKIT_API_KEY: the gateway names the worker by it.
 */
export async function makeSpeech(rt: LoadedRuntime, scenario: Scenario): Promise<{ stt: any; tts: any; info: SpeechInfo }> {
  let stt: any;
  let tts: any;
  if (scenario.providers === 'deepgram') {
    const deepgram = await importDeepgram(rt.dir);
    const origin = gatewayOrigin();
    const apiKey = process.env[WORKER_ENV.apiKey];
    stt = new deepgram.STT({ model: DEEPGRAM_MODELS.stt, language: 'en-US', apiKey, baseUrl: origin.replace(/^http/, 'ws') });
    tts = new deepgram.TTS({ model: DEEPGRAM_MODELS.tts, apiKey, baseUrl: origin });
  } else {
    const { inference } = rt.agents;
    stt = new inference.STT({ model: MODELS.stt, language: 'en' } as any);
    tts = new inference.TTS({ model: MODELS.tts } as any);
  }
  let ttsPrewarm: SpeechInfo['ttsPrewarm'] = 'off';
  if (scenario.prewarmTts) {
    if (typeof tts.prewarm === 'function') {
      tts.prewarm();
      ttsPrewarm = 'called';
    } else ttsPrewarm = 'unavailable';
  }
  return { stt, tts, info: { providers: scenario.providers, stt: stt.label ?? stt.constructor?.name ?? 'stt', tts: tts.label ?? tts.constructor?.name ?? 'tts', ttsPrewarm } };
}
