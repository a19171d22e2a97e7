/**
 * redis-server inside the run's namespace: the pub/sub bus livekit-server and livekit-sip
 * use for their psrpc calls (SIP trunk lookups, dispatch, CreateSIPParticipant). Nothing is
 * persisted (`--save ''`, `--appendonly no`), so a run leaves no dump file behind.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { portTaken, tcpOpen } from './probe.js';
import { execa } from 'execa';
import { PORTS } from '../config.js';
import { KitError } from '../errors.js';
import type { Supervisor } from './supervisor.js';

/** Supervisor child name; its log is `<logsDir>/redis.log`. */
export const REDIS_CHILD = 'redis';
export const REDIS_BIN = 'redis-server';
/** A warm start here answers PING within ~20 ms; 10 s covers a loaded 2-core machine. */
export const REDIS_READY_TIMEOUT_MS = 10_000;

export interface RedisOptions {
  /** Address to bind (default: the namespace address `sup.net.nsAddr`). */
  host?: string;
  /** TCP port (default PORTS.redis, 6379). */
  port?: number;
  /** Readiness deadline, ms (default REDIS_READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
  /** Binary (default `redis-server` on PATH; tests pass a missing one). */
  bin?: string;
}

export interface RedisServer {
  /** `host:port`, the form livekit-server's and livekit-sip's `redis.address` take. */
  addr: string;
  host: string;
  port: number;
  pid: number;
}

/**
 * Starts `redis-server --port <p> --bind <host> --save '' --appendonly no` in the
 * namespace and waits until a real RESP `PING` gets `+PONG`.
 * @throws KitError (exit 2): redis-server missing (fix: `apt-get install redis-server`);
 *   the port already answers PING or accepts TCP before we start (port taken); the process
 *   exits before it is ready (bind failure names the port, else the log tail); no PONG by
 *   the deadline. On any throw the process has been stopped.
 */
export async function startRedis(sup: Supervisor, opts: RedisOptions = {}): Promise<RedisServer> {
  const host = opts.host ?? sup.net.nsAddr;
  const port = opts.port ?? PORTS.redis;
  const bin = opts.bin ?? REDIS_BIN;
  const probe = await execa(bin, ['--version'], { reject: false, timeout: 5000 });
  if (probe.failed) {
    throw new KitError(`redis-server is not runnable (${bin}: ${probe.code ?? probe.shortMessage})`, { fix: 'apt-get install -y redis-server (as root), or run make setup' });
  }
  if (await tcpOpen(host, port)) throw portTaken('redis', host, port);

  // --daemonize no: the supervisor owns the process. --protected-mode no is harmless here
  // (it only matters for a default bind with no password) and keeps redis from refusing
  // connections from the veth peer.
  const child = sup.spawn(REDIS_CHILD, bin, [
    '--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--protected-mode', 'no', '--loglevel', 'notice',
  ]);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? REDIS_READY_TIMEOUT_MS);
  let delay = 20;
  let last = '';
  try {
    for (;;) {
      if (child.done) {
        const log = sup.logTail(REDIS_CHILD);
        if (/Address already in use|bind:|Could not create server TCP listening socket/i.test(log)) throw portTaken('redis', host, port, log);
        throw new KitError(`redis-server exited (code ${await child.exited}) before it was ready:\n${log}`, { fix: `read ${child.logFile}` });
      }
      try {
        if ((await redisPing(host, port, 1000)) === 'PONG') break;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new KitError(`redis-server at ${host}:${port} did not answer PING within ${opts.readyTimeoutMs ?? REDIS_READY_TIMEOUT_MS} ms (last error: ${last})\n${sup.logTail(REDIS_CHILD)}`, { fix: `read ${child.logFile}` });
      }
      await Promise.race([sleep(delay), child.exited]);
      delay = Math.min(delay * 2, 500);
    }
  } catch (err) {
    await sup.stop(REDIS_CHILD, 'SIGTERM', 2000);
    throw err;
  }
  return { addr: `${host}:${port}`, host, port, pid: child.pid };
}

/**
 * Sends one RESP command `PING` over a fresh TCP connection and resolves with the simple
 * string reply (`PONG`), bounded by `timeoutMs`.
 * @throws Error on connect failure, an error reply (`-ERR ...`) or the timeout.
 */
export function redisPing(host: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let buf = '';
    const timer = setTimeout(() => finish(new Error(`no PING reply within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, v?: string) => {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    s.once('error', (e) => finish(e));
    s.once('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      const line = buf.slice(0, end);
      if (line.startsWith('+')) finish(null, line.slice(1));
      else finish(new Error(`redis replied ${JSON.stringify(line)}`));
    });
  });
}

