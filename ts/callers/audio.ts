/**
 * Caller audio: PCM16 mono signals made in code (so no TTS engine is needed) and a small
 * WAV reader for recorded speech. Frames are 10 ms, the size libwebrtc's audio device
 * module works in (rtc-node AudioSource accepts any size, but 10 ms keeps pacing even).
 */
import { readFileSync } from 'node:fs';
import { KitError } from '../errors.js';

export interface Pcm {
  /** Samples per second, e.g. 48000 or 16000. */
  sampleRate: number;
  /** Mono PCM16 samples. */
  samples: Int16Array;
}

/** Samples per 10 ms frame at `sampleRate`. */
export function frameSize(sampleRate: number): number {
  return Math.round(sampleRate / 100);
}

/** A steady sine, `freqHz` at `amplitude` (0..1), `ms` long. */
export function tone(opts: { sampleRate?: number; ms?: number; freqHz?: number; amplitude?: number } = {}): Pcm {
  const sampleRate = opts.sampleRate ?? 48000;
  const n = Math.round((sampleRate * (opts.ms ?? 1000)) / 1000);
  const freq = opts.freqHz ?? 440;
  const amp = (opts.amplitude ?? 0.3) * 32767;
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) samples[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / sampleRate));
  return { sampleRate, samples };
}

/**
 * A speech-like signal: a glottal-pulse-ish harmonic series (f0 gliding 110-150 Hz) shaped
 * by two moving formants, chopped into ~200 ms syllables with ~80 ms gaps and a pause at the
 * end. It has the energy envelope and spectrum of voiced speech, which is what energy and
 * neural VADs key on; it is not intelligible.
 */
export function speechLike(opts: { sampleRate?: number; ms?: number; amplitude?: number } = {}): Pcm {
  const sampleRate = opts.sampleRate ?? 48000;
  const total = Math.round((sampleRate * (opts.ms ?? 3000)) / 1000);
  const amp = (opts.amplitude ?? 0.3) * 32767;
  const samples = new Int16Array(total);
  const syllable = Math.round(sampleRate * 0.2);
  const gap = Math.round(sampleRate * 0.08);
  const speechEnd = Math.round(total * 0.8);
  let phase = 0;
  for (let i = 0; i < speechEnd; i++) {
    const pos = i % (syllable + gap);
    if (pos >= syllable) continue;
    const t = i / sampleRate;
    const f0 = 130 + 20 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += (2 * Math.PI * f0) / sampleRate;
    const f1 = 500 + 300 * Math.sin(2 * Math.PI * 3 * t);
    const f2 = 1500 + 600 * Math.sin(2 * Math.PI * 2.1 * t + 1);
    let v = 0;
    for (let h = 1; h * f0 < 4000; h++) {
      const f = h * f0;
      const gain = 1 / h + 1.5 / (1 + ((f - f1) / 120) ** 2) + 0.8 / (1 + ((f - f2) / 180) ** 2);
      v += gain * Math.sin(h * phase);
    }
    const env = Math.sin((Math.PI * pos) / syllable); // syllable attack and decay
    samples[i] = Math.max(-32767, Math.min(32767, Math.round((amp * env * v) / 4)));
  }
  return { sampleRate, samples };
}

/**
 * Reads a RIFF/WAVE file with PCM16 data (mono, or stereo downmixed to mono).
 * @throws KitError when the file is missing or not PCM16 WAV.
 */
export function readWav(file: string): Pcm {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new KitError(`cannot read audio file ${file}: ${(err as Error).message}`, { fix: 'pass an existing .wav, or --audio tone|speech' });
  }
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new KitError(`${file} is not a RIFF/WAVE file`, { fix: 'convert it: sox in.x -r 48000 -c 1 -b 16 out.wav' });
  }
  let off = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16 || fmt.channels < 1 || fmt.channels > 2) {
        throw new KitError(`${file}: only PCM16 mono/stereo WAV is supported (got ${JSON.stringify(fmt)})`, { fix: 'convert it: sox in.wav -b 16 -c 1 out.wav' });
      }
      const frames = Math.floor(Math.min(size, buf.length - body) / (2 * fmt.channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < fmt.channels; c++) s += buf.readInt16LE(body + 2 * (i * fmt.channels + c));
        samples[i] = Math.round(s / fmt.channels);
      }
      return { sampleRate: fmt.sampleRate, samples };
    }
    off = body + size + (size % 2);
  }
  throw new KitError(`${file} has no data chunk`, { fix: 'pass a complete .wav file' });
}

/** PCM16 mono → a WAV file's bytes (for fixtures and for sipp's RTP source). */
export function toWav(pcm: Pcm): Buffer {
  const data = Buffer.from(pcm.samples.buffer, pcm.samples.byteOffset, pcm.samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(pcm.sampleRate, 24);
  h.writeUInt32LE(pcm.sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Root-mean-square of PCM16 samples, 0..32767; used to tell a tone from silence. */
export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}
