/**
 * The SIP caller: real `sipp` (Debian sip-tester, SIPp 3.6) driven by the kit's scenario
 * XML in ./sipp/, inside the run's namespace.
 *
 * - `mode: 'uac'` (inbound call, the phone calls the agent): INVITE to livekit-sip for the
 *   inbound trunk's number, ACK the 200, stream PCMU audio, BYE on the kit's cue.
 * - `mode: 'uas'` (outbound call, the agent calls the phone): answer livekit-sip's INVITE
 *   (CreateSIPParticipant on an outbound trunk pointing here), stream PCMU, BYE on the cue.
 *
 * The hang-up cue (docs/sip.md): sipp has no "send the next message now" command on its
 * control port or keyboard, so the scenarios wait in a `<recvCmd>`. With `-3pcc
 * <host:port>` and a scenario that has a recvCmd but no sendCmd, sipp runs as "3PCC
 * controller B" and listens on that TCP address for its twin (SIPp src/scenario.cpp
 * computeSippMode, src/socket.cpp). The kit plays the twin: it connects, and `hangup()`
 * writes `Call-ID: <id>\r\n\r\n` terminated by ESC (0x1b, sipp's twin-message delimiter);
 * sipp hands it to the call with that Call-ID, which leaves the recvCmd and sends BYE.
 * Closing the twin socket makes sipp exit ("3PCC controller A has ended"), which `stop()`
 * relies on.
 *
 * Events come from the scenario's `<log message="closekit <event> call_id=...">` actions
 * (`-trace_logs`), tailed from `<logsDir>/<name>.events.log`. sipp's statistics go to
 * `<logsDir>/<name>.stats.csv` (`-trace_stat -stf`, every second and at exit), SIP messages
 * to `<name>.messages.log`, unexpected ones to `<name>.errors.log`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { KitError } from '../errors.js';
import { readWav, speechLike, tone, type Pcm } from './audio.js';

/** The scenario files; the kit copies none of them, sipp reads them in place. */
export const SIPP_DIR = fileURLToPath(new URL('./sipp/', import.meta.url));
export const SIPP_UAC_XML = join(SIPP_DIR, 'uac.xml');
export const SIPP_UAS_XML = join(SIPP_DIR, 'uas.xml');
/** The scenarios' rtp_stream file name (relative to sipp's cwd: SIPp parses it at load time). */
export const SIPP_AUDIO_FILE = 'closekit-audio.ulaw';
export const SIPP_BIN = 'sipp';

/** Default ports inside the namespace; uac and uas differ so both can run in one namespace. */
export const SIPP_PORTS = {
  uac: { sip: 5080, media: 6000, twin: 5090, control: 8888 },
  uas: { sip: 5070, media: 6100, twin: 5091, control: 8889 },
} as const;

/**
 * The part of ts/stack/supervisor.ts Supervisor this module uses (callers/ may not import
 * stack/, docs/internals.md); a Supervisor satisfies it.
 */
export interface SippSpawner {
  readonly logsDir: string;
  readonly runDir: string;
  spawn(name: string, cmd: string, args: string[], opts: { cwd?: string }): SippChild;
  stop(name: string, signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  logTail(name: string, lines?: number): string;
}
export interface SippChild {
  pid: number;
  exited: Promise<number | null>;
  done: boolean;
  logFile: string;
}

export interface SipCallerEvent {
  /**
   * sipp's own: `invite.sent`, `invite.received` (uas), `answered`, `media.started`,
   * `hangup.cue`, `bye.sent`, `bye.ok`, `remote.bye`, `ended`; plus aliases in the WebRTC
   * caller's vocabulary: `joined` (= answered), `published` (= media.started), `hungup`
   * (= bye.ok or remote.bye), and `exited` when sipp exits (data.code).
   */
  ev: string;
  /** Wall clock, ms since epoch, when the kit read the line (polled every 20 ms). */
  t: number;
  callId?: string;
  [k: string]: unknown;
}

export interface SipCallerOptions {
  /** Supervisor child name; log files are `<logsDir>/<name>.*`. Default 'sip-caller'. */
  name?: string;
  mode: 'uac' | 'uas';
  /** Namespace address sipp binds SIP (-i), RTP (-mi) and the twin socket to. */
  host: string;
  /** uac: livekit-sip `host:port` to call. */
  target?: string;
  /** uac: the number dialled (Request-URI / To user); must match the inbound trunk. */
  number?: string;
  /** uac: the caller's number (From user; livekit-sip's sip.phoneNumber attribute). */
  fromNumber?: string;
  /** Ports (defaults SIPP_PORTS[mode]). */
  ports?: Partial<{ sip: number; media: number; twin: number; control: number }>;
  /** 'speech' (default: speech-like syllables then a pause, looped), 'tone', 'silence', or a PCM16 WAV path. */
  audio?: string;
  /** Binary (default `sipp` on PATH). */
  bin?: string;
  /** Bound on sipp coming up (twin socket accepting), ms. Default 10 000. */
  readyTimeoutMs?: number;
}

export interface SipCaller {
  name: string;
  mode: 'uac' | 'uas';
  child: SippChild;
  /** `host:port` where this sipp takes SIP (the outbound trunk address, for uas). */
  sipAddr: string;
  /** Every event so far, in order. */
  events: SipCallerEvent[];
  /** The call's SIP Call-ID (uac: fixed by the kit; uas: livekit-sip's, known once invited). */
  callId(): string | null;
  /**
   * Resolves with the first event named `ev` (seen or future) that passes `match`.
   * @throws Error after `timeoutMs` or when sipp exits first (with the log tail).
   */
  waitFor(ev: string, timeoutMs?: number, match?: (e: SipCallerEvent) => boolean): Promise<SipCallerEvent>;
  /**
   * Sends the BYE cue and waits up to `timeoutMs` (default 10 000) for `bye.ok` (or
   * `remote.bye` when livekit-sip hung up first) and for sipp to exit. No-op when the call
   * already ended. @throws Error (with the log tail) when the call was never answered or
   * sipp does not finish in time (it is then killed).
   */
  hangup(timeoutMs?: number): Promise<void>;
  /** The last row of sipp's statistics CSV (`-stf`) as name → value, or null before the first dump. */
  stats(): Record<string, string> | null;
  /** Closes the twin socket (sipp then exits) and stops the child (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/**
 * Writes the audio, spawns sipp through `sup` (in the namespace; cwd `<runDir>/<name>/`),
 * connects the twin socket and returns at once after that; the call itself proceeds in
 * the background (use `waitFor('answered')`).
 * @throws KitError (exit 2): sipp missing or without RTP streaming; uac without target or
 *   number; sipp exits before its twin socket accepts (a bind failure names the port);
 *   not up within readyTimeoutMs. On any throw sipp has been stopped.
 */
export async function startSipCaller(sup: SippSpawner, opts: SipCallerOptions): Promise<SipCaller> {
  const name = opts.name ?? 'sip-caller';
  const mode = opts.mode;
  const bin = opts.bin ?? SIPP_BIN;
  const ports = { ...SIPP_PORTS[mode], ...opts.ports };
  if (mode === 'uac' && (!opts.target || !opts.number)) throw new KitError('a uac SIP caller needs target (livekit-sip host:port) and number (the inbound trunk number)', { fix: 'pass { target: sip.sipAddr, number }' });
  await checkSipp(bin);

  const workDir = join(sup.runDir, name);
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, SIPP_AUDIO_FILE), encodeMuLaw(to8k(callerAudio(opts.audio ?? 'speech'))));
  const files = {
    events: join(sup.logsDir, `${name}.events.log`),
    stats: join(sup.logsDir, `${name}.stats.csv`),
    messages: join(sup.logsDir, `${name}.messages.log`),
    errors: join(sup.logsDir, `${name}.errors.log`),
  };
  writeFileSync(files.events, '');
  // %u is the call number (1 with -m 1), so the uac's Call-ID is known before the call.
  const cidPrefix = `closekit-${name}-${Date.now().toString(36)}`;
  const args = [
    '-sf', mode === 'uac' ? SIPP_UAC_XML : SIPP_UAS_XML,
    '-i', opts.host, '-p', String(ports.sip),
    '-mi', opts.host, '-mp', String(ports.media),
    '-3pcc', `${opts.host}:${ports.twin}`,
    '-cp', String(ports.control),
    '-m', '1', '-nostdin',
    '-cid_str', `${cidPrefix}-%u`,
    '-trace_logs', '-log_file', files.events,
    '-trace_stat', '-stf', files.stats, '-fd', '1',
    '-trace_msg', '-message_file', files.messages,
    '-trace_err', '-error_file', files.errors,
  ];
  if (mode === 'uac') args.push('-s', opts.number!, '-key', 'from_user', opts.fromNumber ?? '+15550111', '-l', '1', '-r', '10', opts.target!);

  let twin: Socket | null = null;
  const child = sup.spawn(name, bin, args, { cwd: workDir });
  const events: SipCallerEvent[] = [];
  const waiters = new Set<() => void>();
  const notify = () => { for (const w of waiters) w(); };
  let offset = 0;
  let partial = '';
  const readEvents = () => {
    let fd: number;
    try { fd = openSync(files.events, 'r'); } catch { return; }
    try {
      const size = statSync(files.events).size;
      if (size <= offset) return;
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      partial += buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /closekit (\S+)(?: call_id=(\S+))?/.exec(line);
      if (!m) continue;
      const e: SipCallerEvent = { ev: m[1], t: Date.now(), callId: m[2] };
      events.push(e);
      const alias = ({ answered: 'joined', 'media.started': 'published', 'bye.ok': 'hungup', 'remote.bye': 'hungup' } as Record<string, string>)[e.ev];
      if (alias) events.push({ ...e, ev: alias });
    }
    notify();
  };
  const poll = setInterval(readEvents, 20);
  void child.exited.then((code) => {
    clearInterval(poll);
    readEvents();
    events.push({ ev: 'exited', t: Date.now(), code });
    twin?.destroy();
    notify();
  });

  // Come-up: sipp binds the SIP, media and control sockets, then listens on the twin port.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  try {
    for (;;) {
      if (child.done) throw exitedEarly(sup, name, child.logFile, ports, await child.exited);
      twin = await tryConnect(opts.host, ports.twin);
      if (twin) break;
      if (Date.now() > deadline) throw new KitError(`sipp (${name}) did not listen on its 3PCC port ${opts.host}:${ports.twin} within ${opts.readyTimeoutMs ?? 10_000} ms:\n${sup.logTail(name)}`, { fix: `read ${child.logFile}` });
      await Promise.race([sleep(50), child.exited]);
    }
  } catch (err) {
    clearInterval(poll);
    await sup.stop(name, 'SIGKILL', 0);
    throw err;
  }
  twin.on('error', () => { /* sipp exited; the exit is reported through child.exited */ });

  const callId = (): string | null => (mode === 'uac' ? `${cidPrefix}-1` : events.find((e) => e.callId)?.callId ?? null);

  function waitFor(ev: string, timeoutMs = 30_000, match: (e: SipCallerEvent) => boolean = () => true): Promise<SipCallerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.find((e) => e.ev === ev && match(e));
        if (hit) return done(() => resolve(hit));
        if (child.done && events.some((e) => e.ev === 'exited')) return done(() => reject(new Error(`sipp (${name}) exited before "${ev}" (events: ${events.map((e) => e.ev).join(',')}):\n${tails()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`sipp (${name}): no "${ev}" within ${timeoutMs} ms (events: ${events.map((e) => e.ev).join(',')}):\n${tails()}`))), timeoutMs);
      const done = (f: () => void) => { clearTimeout(timer); waiters.delete(check); f(); };
      waiters.add(check);
      check();
    });
  }

  function tails(): string {
    return [sup.logTail(name, 15), tailFile(files.errors, 15)].filter(Boolean).join('\n');
  }

  async function hangup(timeoutMs = 10_000): Promise<void> {
    if (events.some((e) => e.ev === 'hungup')) return;
    const id = callId();
    if (!id || !events.some((e) => e.ev === 'media.started')) {
      throw new Error(`sipp (${name}): hangup before the call was up (events: ${events.map((e) => e.ev).join(',')}):\n${tails()}`);
    }
    if (!child.done) twin!.write(`Call-ID: ${id}\r\nX-Closekit: hangup\r\n\r\n\x1b`);
    try {
      await waitFor('hungup', timeoutMs);
      const code = await Promise.race([child.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
      if (code === 'timeout') throw new Error(`sipp (${name}) did not exit within ${timeoutMs} ms of the BYE`);
    } catch (err) {
      await sup.stop(name, 'SIGKILL', 0);
      throw new Error(`${(err as Error).message}\n${tails()}`);
    }
  }

  function stats(): Record<string, string> | null {
    if (!existsSync(files.stats)) return null;
    const rows = readFileSync(files.stats, 'utf8').trim().split('\n').filter(Boolean);
    if (rows.length < 2) return null;
    const head = rows[0].split(';');
    const last = rows.at(-1)!.split(';');
    return Object.fromEntries(head.map((h, i) => [h, last[i] ?? '']).filter(([h]) => h));
  }

  async function stop(): Promise<void> {
    clearInterval(poll);
    twin?.destroy();
    await sup.stop(name, 'SIGTERM', 2000);
  }

  return { name, mode, child, sipAddr: `${opts.host}:${ports.sip}`, events, callId, waitFor, hangup, stats, stop };
}

/** sipp present and built with RTP streaming (its `-v` banner names RTPSTREAM). */
async function checkSipp(bin: string): Promise<void> {
  const r = await execa(bin, ['-v'], { reject: false, timeout: 5000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code === 'ENOENT' || !/SIPp v/.test(out)) {
    throw new KitError(`sipp is not runnable (${bin}: ${r.code ?? r.shortMessage})`, { fix: 'apt-get install -y sip-tester (as root), or run make setup' });
  }
  if (!/RTPSTREAM/.test(out)) {
    throw new KitError(`${bin} was built without RTP streaming (${out.trim().split('\n')[0]})`, { fix: "install Debian's sip-tester, which is built with RTPSTREAM" });
  }
}

function exitedEarly(sup: SippSpawner, name: string, logFile: string, ports: Record<string, number>, code: number | null): KitError {
  // sipp prints its fatal error on stderr and then its final screens on stdout, so the
  // error is not at the end of the log: search the whole (small) log for it.
  const log = tailFile(logFile, 400);
  const errors = [...new Set(log.split('\n').filter((l) => /^\d{4}-\d\d-\d\d\s.*?:\s/.test(l)).map((l) => l.replace(/^.*?\d+\.\d+:\s*/, '')))];
  const bind = errors.find((l) => /Unable to bind|Address already in use|errno = 98/i.test(l));
  if (bind) {
    const which = /main socket/i.test(bind) ? `SIP ${ports.sip}` : /twin|3pcc|local twin/i.test(bind) ? `3PCC ${ports.twin}` : /rtp|media|audio|video/i.test(bind) ? `media ${ports.media}` : /control|ctrl/i.test(bind) ? `control ${ports.control}` : 'one of its ports';
    return new KitError(`sipp (${name}) could not bind ${which}: the port is already taken (${bind})`, { fix: 'stop whatever holds it inside the run namespace (ip netns exec <ns> ss -lunpt), or pass other ports (opts.ports)' });
  }
  return new KitError(`sipp (${name}) exited (code ${code}) before it was up: ${errors.join('; ') || 'no error line'}\n${sup.logTail(name, 20)}`, { fix: `read ${sup.logsDir}/${name}.log` });
}

function tryConnect(host: string, port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => { s.destroy(); resolve(null); }, 1000);
    s.once('connect', () => { clearTimeout(t); s.setNoDelay(true); resolve(s); });
    s.once('error', () => { clearTimeout(t); s.destroy(); resolve(null); });
  });
}

/** PCM for the caller: 'speech' (3 s speech-like + 2 s silence), 'tone', 'silence', or a WAV path. */
export function callerAudio(spec: string): Pcm {
  switch (spec) {
    case 'speech': {
      const s = speechLike({ sampleRate: 8000, ms: 3000, amplitude: 0.5 });
      const out = new Int16Array(8000 * 5);
      out.set(s.samples);
      return { sampleRate: 8000, samples: out };
    }
    case 'tone': return tone({ sampleRate: 8000, ms: 1000 });
    case 'silence': return { sampleRate: 8000, samples: new Int16Array(8000) };
    default: return readWav(spec);
  }
}

/** Linear-interpolation resample to 8 kHz (telephone band; PCMU is 8 kHz only). */
export function to8k(pcm: Pcm): Pcm {
  if (pcm.sampleRate === 8000) return pcm;
  const ratio = pcm.sampleRate / 8000;
  const n = Math.floor(pcm.samples.length / ratio);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const x = i * ratio;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, pcm.samples.length - 1);
    out[i] = Math.round(pcm.samples[i0] + (pcm.samples[i1] - pcm.samples[i0]) * (x - i0));
  }
  return { sampleRate: 8000, samples: out };
}

/**
 * G.711 mu-law (ITU-T G.711, the classic Sun g711.c linear2ulaw: bias 0x84, clip 32635),
 * one byte per sample, padded to whole 20 ms packets (160 bytes): sipp 3.6's rtp_stream
 * sends the file's raw bytes and cannot wrap a file shorter than one packet.
 */
export function encodeMuLaw(pcm: Pcm): Buffer {
  if (pcm.sampleRate !== 8000) throw new KitError(`mu-law needs 8 kHz audio, got ${pcm.sampleRate} Hz`, { fix: 'resample with to8k()' });
  const n = Math.max(160, Math.ceil(pcm.samples.length / 160) * 160);
  const out = Buffer.alloc(n, 0xff); // 0xff is mu-law silence
  for (let i = 0; i < pcm.samples.length; i++) out[i] = linearToMuLaw(pcm.samples[i]);
  return out;
}

function linearToMuLaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function tailFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
