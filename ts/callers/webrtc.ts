/**
 * Starts the WebRTC caller (webrtc-child.ts) as a supervised child inside the run's
 * namespace and follows its JSON-line events.
 */
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { AccessToken } from 'livekit-server-sdk';
import { ROOT } from '../config.js';
import { KitError } from '../errors.js';

/**
 * The part of ts/stack/supervisor.ts Supervisor this module uses. Declared here because
 * callers/ may not import stack/ (docs/internals.md); a Supervisor satisfies it.
 */
export interface CallerSpawner {
  spawn(name: string, cmd: string, args: string[], opts: { cwd?: string; stdin?: 'pipe'; stdout?: 'pipe' }): CallerChild;
  stop(name: string, signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  logTail(name: string, lines?: number): string;
}
export interface CallerChild {
  pid: number;
  proc: { stdin: NodeJS.WritableStream | null; stdout: NodeJS.ReadableStream | null };
  exited: Promise<number | null>;
  done: boolean;
  logFile: string;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./webrtc-child.js', import.meta.url)).replace(/\.js$/, '.ts');

export interface CallerEvent {
  ev: string;
  /** Wall clock, ms since epoch, stamped by the child. */
  t: number;
  [k: string]: unknown;
}

export interface WebrtcCaller {
  name: string;
  child: CallerChild;
  /** Every event so far, in order. */
  events: CallerEvent[];
  /**
   * Resolves with the first event named `ev` (already seen or future) that passes `match`.
   * @throws Error after `timeoutMs` (ms) or when the child exits first; the message carries the log tail.
   */
  waitFor(ev: string, timeoutMs: number, match?: (e: CallerEvent) => boolean): Promise<CallerEvent>;
  /**
   * Sends `hangup` (room.disconnect(), CLIENT_INITIATED on the server) and waits up to 10 s
   * for exit 0; SIGKILLs after that. No-op when the child already exited.
   * @throws Error on a timeout, a non-zero exit, or (expectAudio) exit 3: no audio received.
   */
  hangup(): Promise<void>;
}

export interface CallerOptions {
  /** Supervisor child name (log file `<name>.log`); also a good participant identity. */
  name: string;
  wsUrl: string;
  /** Join token (see `callerToken`). */
  token: string;
  /** 'tone' (default) | 'speech' | 'silence' | 'none' | path of a PCM16 WAV. */
  audio?: string;
  /** Hz of the generated signal (default 48000). */
  sampleRate?: number;
  /** The child exits 3 (and hangup() throws) when it never received a voiced frame. */
  expectAudio?: boolean;
}

/**
 * Spawns `node --import tsx ts/callers/webrtc-child.ts ...` through `sup` (so it runs in
 * the namespace and is torn down with the run) with stdin and stdout piped.
 */
export function startWebrtcCaller(sup: CallerSpawner, opts: CallerOptions): WebrtcCaller {
  const args = ['--import', 'tsx', CHILD_SCRIPT, '--url', opts.wsUrl, '--token', opts.token, '--audio', opts.audio ?? 'tone'];
  if (opts.sampleRate) args.push('--sample-rate', String(opts.sampleRate));
  if (opts.expectAudio) args.push('--expect-audio');
  const child = sup.spawn(opts.name, process.execPath, args, { cwd: ROOT, stdin: 'pipe', stdout: 'pipe' });
  const events: CallerEvent[] = [];
  const waiters = new Set<() => void>();
  const rl = createInterface({ input: child.proc.stdout! });
  rl.on('line', (line) => {
    try {
      events.push(JSON.parse(line) as CallerEvent);
    } catch {
      return; // a stray non-JSON line (e.g. a native library's print) is already in the log
    }
    for (const w of waiters) w();
  });
  void child.exited.then(() => { for (const w of waiters) w(); });

  function waitFor(ev: string, timeoutMs: number, match: (e: CallerEvent) => boolean = () => true): Promise<CallerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.find((e) => e.ev === ev && match(e));
        if (hit) return done(() => resolve(hit));
        if (child.done) return done(() => reject(new Error(`caller ${opts.name} exited before "${ev}":\n${sup.logTail(opts.name)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`caller ${opts.name}: no "${ev}" within ${timeoutMs} ms:\n${sup.logTail(opts.name)}`))), timeoutMs);
      const done = (f: () => void) => { clearTimeout(timer); waiters.delete(check); f(); };
      waiters.add(check);
      check();
    });
  }

  async function hangup(): Promise<void> {
    if (child.done) return;
    child.proc.stdin?.write('hangup\n');
    const code = await Promise.race([child.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref())]);
    if (code === 'timeout') {
      await sup.stop(opts.name, 'SIGKILL', 0);
      throw new Error(`caller ${opts.name} did not exit within 10 s of hangup:\n${sup.logTail(opts.name)}`);
    }
    if (code === 3) throw new Error(`caller ${opts.name} never received audio (--expect-audio)`);
    if (code !== 0) throw new Error(`caller ${opts.name} exited with ${code} on hangup:\n${sup.logTail(opts.name)}`);
  }

  return { name: opts.name, child, events, waitFor, hangup };
}

/**
 * A join token for `identity` in `room` (livekit-server-sdk AccessToken, grant roomJoin,
 * publish and subscribe), valid `ttl` (default '1h').
 * @throws KitError when the key pair is empty.
 */
export async function callerToken(o: { apiKey: string; apiSecret: string; room: string; identity: string; ttl?: string }): Promise<string> {
  if (!o.apiKey || !o.apiSecret) throw new KitError('callerToken needs an API key and secret', { fix: 'pass a pair from keys.ts newKeyPair()' });
  const at = new AccessToken(o.apiKey, o.apiSecret, { identity: o.identity, ttl: o.ttl ?? '1h' });
  at.addGrant({ roomJoin: true, room: o.room, canPublish: true, canSubscribe: true });
  return at.toJwt();
}
