/**
 * livekit-sip inside the run's namespace: the SIP <-> LiveKit bridge a real phone call goes
 * through. It talks to livekit-server over psrpc on the same redis (trunk lookups,
 * dispatch, CreateSIPParticipant) and joins rooms as a SIP participant over `ws_url`.
 * SIP signalling and RTP bind the namespace address only.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { portTaken, tcpOpen } from './probe.js';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LIVEKIT_SIP_BIN, PORTS } from '../config.js';
import { KitError } from '../errors.js';
import type { Supervisor } from './supervisor.js';

/** Supervisor child name; its log is `<logsDir>/livekit-sip.log`. */
export const LIVEKIT_SIP_CHILD = 'livekit-sip';
/** Default health port inside the namespace (livekit-sip answers 200 "OK" on `/`). */
export const SIP_HEALTH_PORT = 7930;
/** A warm start answers health in ~200 ms here; 30 s covers a loaded 2-core machine. */
export const SIP_READY_TIMEOUT_MS = 30_000;

export interface LivekitSipOptions {
  /** `host:port` of the redis livekit-server also uses (startRedis().addr). */
  redisAddr: string;
  apiKey: string;
  apiSecret: string;
  /** livekit-server's `ws://<nsAddr>:<port>`. */
  wsUrl: string;
  /** Address SIP and RTP bind and announce (default `sup.net.nsAddr`). */
  host?: string;
  /** SIP signalling port, UDP and TCP (default PORTS.sip, 5060). */
  sipPort?: number;
  /** RTP port range, inclusive (default PORTS.sipRtpStart..sipRtpEnd). */
  rtpRange?: { start: number; end: number };
  /** Health HTTP port (default SIP_HEALTH_PORT). */
  healthPort?: number;
  /** livekit-sip log level (default 'debug': it logs SDP and call state, which the report needs). */
  logLevel?: 'debug' | 'info' | 'warn';
  /** Seconds without RTP before livekit-sip hangs up by itself (`media_timeout`, default upstream's 15 s). */
  mediaTimeoutS?: number;
  /** Binary (default LIVEKIT_SIP_BIN; tests pass a missing one). */
  bin?: string;
  /** Readiness deadline, ms (default SIP_READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
}

export interface LivekitSip {
  /** `host:port` where it takes SIP (UDP and TCP). */
  sipAddr: string;
  host: string;
  sipPort: number;
  rtpRange: { start: number; end: number };
  healthUrl: string;
  configFile: string;
  pid: number;
}

/**
 * The YAML livekit-sip reads (`--config`). Field names are upstream's
 * pkg/config/config.go (Config) at the pinned tag: `listen_ip` is where the UDP/TCP
 * listeners bind (pkg/sip/server.go), `local_net` (a /32 of the namespace address) is how
 * the signalling/media address is picked when `use_external_ip` is false (pkg/sip/config.go
 * getLocalIP walks the interfaces and takes the first address inside it), and
 * `rtp_port` is a "start-end" string (mediatransportutil rtcconfig.PortRange).
 * Its WebRTC side (pion) still tries public STUN servers; inside the namespace there is no
 * route or DNS, so those attempts fail at once ("network is unreachable") and it uses the
 * host candidate on the namespace address.
 */
export function livekitSipConfig(o: {
  apiKey: string; apiSecret: string; wsUrl: string; redisAddr: string; host: string; sipPort: number;
  rtpRange: { start: number; end: number }; healthPort: number; logLevel: string; mediaTimeoutS?: number;
}): string {
  const conf: Record<string, unknown> = {
    api_key: o.apiKey,
    api_secret: o.apiSecret,
    ws_url: o.wsUrl,
    redis: { address: o.redisAddr },
    sip_port: o.sipPort,
    sip_port_listen: o.sipPort,
    rtp_port: `${o.rtpRange.start}-${o.rtpRange.end}`,
    listen_ip: o.host,
    local_net: `${o.host}/32`,
    use_external_ip: false,
    media_use_external_ip: false,
    health_port: o.healthPort,
    // 1.0 turns livekit-sip's load shedding off: with the default 0.9 it reports
    // "UnderLoad" (health 429) and refuses CreateSIPParticipant ("unavailable") whenever
    // system-wide CPU idle drops under 10% (pkg/stats/monitor.go Health, pkg/sip/client.go),
    // which on a 2-core machine running workers and the stack is most of the time.
    max_cpu_utilization: 1.0,
    logging: { level: o.logLevel, json: false },
  };
  if (o.mediaTimeoutS) conf.media_timeout = `${o.mediaTimeoutS}s`;
  return stringify(conf);
}

/**
 * Writes `<sup.runDir>/livekit-sip.yaml`, starts `.kit/bin/livekit-sip --config <file>` in
 * the namespace, and waits until its health port answers 200 and (at log level debug) it
 * logged "service ready" (psrpc handlers registered on redis, pkg/service/service.go Run).
 * livekit-server must run with the same redis (`startLivekitServer(sup, { redis: { addr } })`).
 * @returns `{ sipAddr, host, sipPort, rtpRange, healthUrl, configFile, pid }`.
 * @throws KitError (exit 2): binary missing (fix: make setup); the SIP TCP port or the
 *   health port already accepts connections; the process exits before it is ready (a
 *   "bind: address already in use" names the port; else the log tail; note livekit-sip
 *   prints startup errors and exits 0); not ready by the deadline. On any throw the process
 *   has been stopped.
 */
export async function startLivekitSip(sup: Supervisor, opts: LivekitSipOptions): Promise<LivekitSip> {
  const bin = opts.bin ?? LIVEKIT_SIP_BIN;
  if (!existsSync(bin)) throw new KitError(`livekit-sip is not installed at ${bin}`, { fix: 'run `make setup` (kit setup builds it from its Go module)' });
  for (const [k, v] of Object.entries({ redisAddr: opts.redisAddr, apiKey: opts.apiKey, apiSecret: opts.apiSecret, wsUrl: opts.wsUrl })) {
    if (!v) throw new KitError(`startLivekitSip needs ${k}`, { fix: 'pass the redis address, the kit key pair and livekit-server wsUrl' });
  }
  const host = opts.host ?? sup.net.nsAddr;
  const sipPort = opts.sipPort ?? PORTS.sip;
  const rtpRange = opts.rtpRange ?? { start: PORTS.sipRtpStart, end: PORTS.sipRtpEnd };
  const healthPort = opts.healthPort ?? SIP_HEALTH_PORT;
  const logLevel = opts.logLevel ?? 'debug';
  if (!(rtpRange.start > 0 && rtpRange.end >= rtpRange.start && rtpRange.end < 65536)) {
    throw new KitError(`bad RTP port range ${JSON.stringify(rtpRange)}`, { fix: 'pass { start, end } with 0 < start <= end < 65536' });
  }
  // UDP cannot be probed from outside without sending SIP; TCP shares the port number, and
  // a UDP clash shows up as a bind error in the log (handled below).
  for (const [what, port] of [['SIP (TCP)', sipPort], ['health', healthPort]] as const) {
    if (await tcpOpen(host, port)) throw portTaken(what, host, port);
  }

  const configFile = join(sup.runDir, 'livekit-sip.yaml');
  writeFileSync(configFile, livekitSipConfig({ ...opts, host, sipPort, rtpRange, healthPort, logLevel, redisAddr: opts.redisAddr }), { mode: 0o600 });
  const child = sup.spawn(LIVEKIT_SIP_CHILD, bin, ['--config', configFile]);
  const healthUrl = `http://${host}:${healthPort}/`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? SIP_READY_TIMEOUT_MS);
  let delay = 50;
  let last = '';
  try {
    for (;;) {
      if (child.done) throw exitedEarly(sup, await child.exited, configFile);
      try {
        const r = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) });
        last = `HTTP ${r.status} ${await r.text()}`;
        if (r.ok && (logLevel !== 'debug' || /service ready/.test(sup.logTail(LIVEKIT_SIP_CHILD, 400)))) break;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new KitError(`livekit-sip was not ready at ${healthUrl} within ${opts.readyTimeoutMs ?? SIP_READY_TIMEOUT_MS} ms (last: ${last})\n${sup.logTail(LIVEKIT_SIP_CHILD)}`, { fix: `read ${child.logFile}` });
      }
      await Promise.race([sleep(delay), child.exited]);
      delay = Math.min(delay * 2, 500);
    }
  } catch (err) {
    await stopLivekitSip(sup);
    throw err;
  }
  return { sipAddr: `${host}:${sipPort}`, host, sipPort, rtpRange, healthUrl, configFile, pid: child.pid };
}

/**
 * Stops livekit-sip with SIGINT, which upstream treats as "stop all calls now"
 * (cmd/livekit-sip/main.go); SIGTERM would wait without bound for active calls to end.
 * SIGKILL after `graceMs` (default 3000).
 */
export async function stopLivekitSip(sup: Supervisor, graceMs = 3000): Promise<void> {
  await sup.stop(LIVEKIT_SIP_CHILD, 'SIGINT', graceMs);
}

function exitedEarly(sup: Supervisor, code: number | null, configFile: string): KitError {
  const log = sup.logTail(LIVEKIT_SIP_CHILD, 40);
  const inUse = /([\d.]+):(\d+): bind: address already in use/.exec(log);
  if (inUse) return portTaken('livekit-sip', inUse[1], Number(inUse[2]), log);
  if (/could not parse config|yaml:|cannot unmarshal/i.test(log)) {
    return new KitError(`livekit-sip could not read its config ${configFile}:\n${log}`, { fix: 'fix the options passed to startLivekitSip' });
  }
  return new KitError(`livekit-sip exited (code ${code}) before it was ready:\n${log}`, { fix: `read ${sup.logsDir}/${LIVEKIT_SIP_CHILD}.log` });
}

