/**
 * livekit-server inside the run's namespace (internals.md, "livekit-server"): a generated
 * YAML config bound to the namespace address, started by the supervisor, ready only when
 * the RoomService API answers with the run's own keys.
 */
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { portTaken, tcpOpen } from './probe.js';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { stringify } from 'yaml';
import { LIVEKIT_SERVER_BIN, PORTS } from '../config.js';
import { KitError } from '../errors.js';
import type { Supervisor } from './supervisor.js';

/** Supervisor child name; its log is `<logsDir>/livekit-server.log`. */
export const LIVEKIT_CHILD = 'livekit-server';
/** Default bound on the readiness wait, ms. A warm start here takes well under 1 s. */
export const READY_TIMEOUT_MS = 30_000;
/** 100 ms upstream sleep before `running` is set (see startLivekitServer) plus margin. */
const RUNNING_FLAG_DELAY_MS = 200;

export interface LivekitPorts {
  /** HTTP + WebSocket signalling (`port`). */
  http: number;
  /** ICE over TCP (`rtc.tcp_port`). */
  rtcTcp: number;
  /** ICE over UDP range (`rtc.port_range_start/end`), inclusive. */
  udpStart: number;
  udpEnd: number;
}

export interface LivekitOptions {
  /** `{ apiKey: apiSecret }` (see keys.ts `keysMap`); at least one pair. */
  keys: Record<string, string>;
  /** Redis (needed by livekit-sip); host:port reachable inside the namespace. */
  redis?: { addr: string };
  /** Defaults: PORTS.livekitHttp / livekitRtcTcp / livekitUdpStart..livekitUdpEnd from config.ts. */
  ports?: Partial<LivekitPorts>;
  /** Use this config file as is instead of generating one (it must match `ports`). */
  configFile?: string;
  /** Readiness deadline, ms (default READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
}

export interface LivekitServer {
  /** `ws://<nsAddr>:<http>`, for rtc clients and agent workers. */
  wsUrl: string;
  /** `http://<nsAddr>:<http>`, for livekit-server-sdk service clients. */
  httpUrl: string;
  keys: Record<string, string>;
  ports: LivekitPorts;
  configFile: string;
  pid: number;
}

/**
 * The YAML config livekit-server reads (`--config`). Field names are from
 * livekit-server pkg/config/config.go (Config) and mediatransportutil pkg/rtcconfig
 * (RTCConfig). `use_external_ip: false` keeps it from asking a STUN server for the
 * machine's public address; `node_ip` makes it advertise the namespace address as its
 * ICE candidate.
 */
export function livekitConfig(o: { nsAddr: string; keys: Record<string, string>; ports: LivekitPorts; redis?: { addr: string } }): string {
  const conf: Record<string, unknown> = {
    port: o.ports.http,
    bind_addresses: [o.nsAddr],
    rtc: {
      tcp_port: o.ports.rtcTcp,
      port_range_start: o.ports.udpStart,
      port_range_end: o.ports.udpEnd,
      node_ip: o.nsAddr,
      use_external_ip: false,
    },
    keys: o.keys,
    logging: { level: 'info', json: false },
  };
  if (o.redis) conf.redis = { address: o.redis.addr };
  return stringify(conf);
}

/**
 * Writes the config to `<sup.runDir>/livekit.yaml`, starts `.kit/bin/livekit-server
 * --config <file>` in the namespace, and waits until `RoomServiceClient.listRooms()`
 * answers (backoff 50 ms → 1 s, bounded by `readyTimeoutMs`).
 * @returns `{ wsUrl, httpUrl, keys, ports, configFile, pid }`.
 * @throws KitError (exit 2): the binary is missing (fix: `kit setup`); a port is already
 *   taken (names the port); the config file is unreadable; the process exits before it is
 *   ready (with the log tail); not ready by the deadline (with the log tail). On any throw
 *   the server process has been stopped.
 */
export async function startLivekitServer(sup: Supervisor, opts: LivekitOptions): Promise<LivekitServer> {
  const entries = Object.entries(opts.keys);
  if (entries.length === 0) throw new KitError('startLivekitServer needs at least one API key pair', { fix: 'pass keys: keysMap([newKeyPair("kit")])' });
  if (!existsSync(LIVEKIT_SERVER_BIN)) {
    throw new KitError(`livekit-server is not installed at ${LIVEKIT_SERVER_BIN}`, { fix: 'run `make setup` (kit setup builds it with go install)' });
  }
  const ports: LivekitPorts = {
    http: opts.ports?.http ?? PORTS.livekitHttp,
    rtcTcp: opts.ports?.rtcTcp ?? PORTS.livekitRtcTcp,
    udpStart: opts.ports?.udpStart ?? PORTS.livekitUdpStart,
    udpEnd: opts.ports?.udpEnd ?? PORTS.livekitUdpEnd,
  };
  const addr = sup.net.nsAddr;
  for (const [what, port] of [['HTTP/WebSocket (port)', ports.http], ['ICE/TCP (rtc.tcp_port)', ports.rtcTcp]] as const) {
    if (await tcpOpen(addr, port)) throw portTaken(what, addr, port);
  }

  let configFile = opts.configFile;
  if (configFile) {
    try {
      accessSync(configFile, constants.R_OK);
    } catch (err) {
      throw new KitError(`livekit-server config ${configFile} is not readable: ${(err as Error).message}`, { fix: 'check the path and its permissions' });
    }
  } else {
    configFile = join(sup.runDir, 'livekit.yaml');
    writeFileSync(configFile, livekitConfig({ nsAddr: addr, keys: opts.keys, ports, redis: opts.redis }), { mode: 0o600 });
  }

  // A run's teardown must not wait for participants that are being killed alongside: the
  // repeated signal makes livekit-server's Stop(force) skip that wait.
  const child = sup.spawn(LIVEKIT_CHILD, LIVEKIT_SERVER_BIN, ['--config', configFile], { repeatSignalAfterMs: 1000 });
  const httpUrl = `http://${addr}:${ports.http}`;
  const [apiKey, apiSecret] = entries[0];
  const rooms = new RoomServiceClient(httpUrl, apiKey, apiSecret);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
  let delay = 50;
  let lastErr = '';
  try {
    for (;;) {
      if (child.done) throw exitedEarly(sup, configFile, ports, await child.exited);
      try {
        await rooms.listRooms();
        break;
      } catch (err) {
        lastErr = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new KitError(`livekit-server did not answer at ${httpUrl} within ${opts.readyTimeoutMs ?? READY_TIMEOUT_MS} ms (last error: ${lastErr})\n${sup.logTail(LIVEKIT_CHILD)}`, {
          fix: `read ${child.logFile}`,
        });
      }
      // Wake early on exit so a crash is reported at once rather than at the deadline.
      await Promise.race([sleep(delay), child.exited]);
      delay = Math.min(delay * 2, 1000);
    }
    // upstream pkg/service/server.go LivekitServer.Start serves HTTP, sleeps 100 ms, and only
    // then sets `running`; a SIGTERM before that makes Stop() return early and the first
    // signal is lost (the process then runs until a second signal). Waiting the window out
    // keeps "ready" meaning "stoppable too".
    await sleep(RUNNING_FLAG_DELAY_MS);
  } catch (err) {
    await sup.stop(LIVEKIT_CHILD, 'SIGTERM', 2000);
    throw err;
  }
  return { wsUrl: `ws://${addr}:${ports.http}`, httpUrl, keys: opts.keys, ports, configFile, pid: child.pid };
}

function exitedEarly(sup: Supervisor, configFile: string, ports: LivekitPorts, code: number | null): KitError {
  const log = sup.logTail(LIVEKIT_CHILD);
  const inUse = /listen (?:tcp|udp)4? ([\d.]+):(\d+): bind: address already in use/.exec(log) ?? /([\d.]+):(\d+): bind: address already in use/.exec(log);
  if (inUse) return portTaken('livekit-server', inUse[1], Number(inUse[2]));
  if (/could not parse config|yaml:/.test(log)) {
    return new KitError(`livekit-server could not read its config ${configFile}:\n${log}`, { fix: 'fix the YAML (or let the kit generate it: omit configFile)' });
  }
  return new KitError(`livekit-server exited (code ${code}) before it was ready (ports ${JSON.stringify(ports)}):\n${log}`, {
    fix: `read ${sup.logsDir}/${LIVEKIT_CHILD}.log`,
  });
}

