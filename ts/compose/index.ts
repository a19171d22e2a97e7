/**
 * `kit compose`: the whole stack (livekit-server, redis, livekit-sip, the provider gateway,
 * both workers) as a compose file for users who want it under their own engine, written
 * from the same config functions a run uses (livekitConfig, livekitSipConfig, the worker
 * environments). Every service shares one network namespace (`network_mode:
 * service:livekit-server`), as every part of a kit run shares the run's namespace, and
 * binds its address. The keys are fixed development keys, printed in the file: never use
 * them for anything else.
 */
import { stringify } from 'yaml';
import { PORTS, VERSIONS } from '../config.js';
import { WORKER_ENV } from '../contract/env.js';
import { livekitConfig } from '../stack/livekit-server.js';
import { livekitSipConfig } from '../stack/livekit-sip.js';

/** The address every service binds (the compose network's fixed address of livekit-server). */
export const COMPOSE_ADDR = '172.28.0.2';
/** Development-only key pairs (the kit mints fresh ones per run). */
export const DEV_KEYS = {
  kit: { apiKey: 'devkit', apiSecret: 'closekit-dev-only-kit-secret-not-for-production' },
  js: { apiKey: 'devjs', apiSecret: 'closekit-dev-only-js-secret-not-for-production' },
  py: { apiKey: 'devpy', apiSecret: 'closekit-dev-only-py-secret-not-for-production' },
};

/** The files `kit compose` writes into docker/, name → content. Deterministic. */
export function composeFiles(): Record<string, string> {
  const keys = Object.fromEntries(Object.values(DEV_KEYS).map((k) => [k.apiKey, k.apiSecret]));
  const ws = `ws://${COMPOSE_ADDR}:${PORTS.livekitHttp}`;
  const redis = `${COMPOSE_ADDR}:${PORTS.redis}`;
  const livekit = livekitConfig({ nsAddr: COMPOSE_ADDR, keys, ports: { http: PORTS.livekitHttp, rtcTcp: PORTS.livekitRtcTcp, udpStart: PORTS.livekitUdpStart, udpEnd: PORTS.livekitUdpEnd }, redis: { addr: redis } });
  const sip = livekitSipConfig({ apiKey: DEV_KEYS.kit.apiKey, apiSecret: DEV_KEYS.kit.apiSecret, wsUrl: ws, redisAddr: redis, host: COMPOSE_ADDR, sipPort: PORTS.sip, rtpRange: { start: PORTS.sipRtpStart, end: PORTS.sipRtpEnd }, healthPort: 7930, logLevel: 'debug' });
  const inference = `http://${COMPOSE_ADDR}:${PORTS.gateway}`;
  const workerEnv = (label: 'js' | 'py') => ({
    [WORKER_ENV.events]: `/closekit/run/events.jsonl`,
    [WORKER_ENV.scenario]: `/closekit/run/scenario.json`,
    [WORKER_ENV.agentName]: `closekit-${label}`,
    [WORKER_ENV.livekitUrl]: ws,
    [WORKER_ENV.apiKey]: DEV_KEYS[label].apiKey,
    [WORKER_ENV.apiSecret]: DEV_KEYS[label].apiSecret,
    [WORKER_ENV.inferenceUrl]: inference,
  });
  const shared = { network_mode: 'service:livekit-server', depends_on: ['livekit-server'] };
  const compose = {
    name: 'closekit',
    networks: { closekit: { ipam: { config: [{ subnet: '172.28.0.0/24' }] } } },
    services: {
      'livekit-server': {
        image: `livekit/livekit-server:${VERSIONS.livekitServer}`,
        command: ['--config', '/config/livekit.yaml'],
        volumes: ['./livekit.yaml:/config/livekit.yaml:ro'],
        networks: { closekit: { ipv4_address: COMPOSE_ADDR } },
      },
      redis: { image: 'redis:7', command: ['redis-server', '--bind', COMPOSE_ADDR, '--port', String(PORTS.redis), '--save', '', '--appendonly', 'no'], ...shared },
      'livekit-sip': { image: `livekit/sip:${VERSIONS.livekitSip}`, command: ['--config', '/config/livekit-sip.yaml'], volumes: ['./livekit-sip.yaml:/config/livekit-sip.yaml:ro'], ...shared, depends_on: ['livekit-server', 'redis'] },
      gateway: {
        image: 'node:20-bookworm-slim',
        working_dir: '/closekit',
        // the repository, after `npm install` (the gateway runs from source, like the kit's)
        volumes: ['..:/closekit:ro', './gateway-keys.json:/config/gateway-keys.json:ro', './gateway-script.json:/config/gateway-script.json:ro'],
        command: ['node', '--import', 'tsx', 'ts/providers/main.ts', '--host', COMPOSE_ADDR, '--port', String(PORTS.gateway), '--script', '/config/gateway-script.json', '--keys', '/config/gateway-keys.json'],
        ...shared,
      },
      'js-worker': {
        image: 'node:20-bookworm-slim',
        working_dir: '/closekit',
        volumes: ['..:/closekit:ro', './run:/closekit/run'],
        environment: { ...workerEnv('js'), [WORKER_ENV.agentsDir]: `/closekit/.kit/runtimes/js/${VERSIONS.agentsJs}` },
        command: ['node', '--import', 'tsx', 'ts/js-shim/worker.ts', 'start'],
        ...shared,
        depends_on: ['livekit-server', 'gateway'],
      },
      'py-worker': {
        build: { context: '..', dockerfile: 'docker/python-worker.Dockerfile', args: { BASE_IMAGE: 'python:3.11-slim', AGENTS_VERSION: VERSIONS.agentsPy } },
        volumes: ['./run:/closekit/run'],
        environment: { ...workerEnv('py'), LIVEKIT_INFERENCE_API_KEY: DEV_KEYS.py.apiKey, LIVEKIT_INFERENCE_API_SECRET: DEV_KEYS.py.apiSecret, LIVEKIT_AGENT_NAME: 'closekit-py' },
        ...shared,
        depends_on: ['livekit-server', 'gateway'],
      },
    },
  };
  const header = (what: string) => `# Generated by \`node bin/kit.mjs compose\` (${what}); development keys only.\n`;
  return {
    'compose.yml': header('the whole stack under your own engine: see docker/README.md') + stringify(compose),
    'livekit.yaml': header('livekit-server, from livekitConfig') + livekit,
    'livekit-sip.yaml': header('livekit-sip, from livekitSipConfig') + sip,
    'gateway-keys.json': JSON.stringify(DEV_KEYS, null, 2) + '\n',
    'gateway-script.json': JSON.stringify({}, null, 2) + '\n',
  };
}
