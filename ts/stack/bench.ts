/**
 * Benchmark: time to a ready livekit-server (RoomService answers), cold and warm.
 * cold = new namespace + veth + first livekit-server start; warm = livekit-server restart
 * in a namespace that already exists. Prints figures; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keysMap, newKeyPair } from './keys.js';
import { LIVEKIT_CHILD, startLivekitServer } from './livekit-server.js';
import { createRunNetwork } from './netns.js';
import { Supervisor } from './supervisor.js';

export interface StackBench {
  /** ms per cold start, one per round. */
  coldMs: number[];
  /** ms per warm restart, one per round. */
  warmMs: number[];
  /** ms to stop livekit-server and delete the namespace, one per round. */
  teardownMs: number[];
  mode: 'netns' | 'host';
}

/**
 * Runs `rounds` (default 3) cold start + warm restart + teardown cycles and prints the
 * figures (ms) and their medians to `print` (default console.log).
 */
export async function benchStack(opts: { rounds?: number; print?: (line: string) => void } = {}): Promise<StackBench> {
  const rounds = opts.rounds ?? 3;
  const print = opts.print ?? ((l: string) => console.log(l));
  const out: StackBench = { coldMs: [], warmMs: [], teardownMs: [], mode: 'netns' };
  for (let i = 0; i < rounds; i++) {
    const runDir = mkdtempSync(join(tmpdir(), 'closekit-bench-'));
    const keys = keysMap([newKeyPair('kit')]);
    let t = performance.now();
    const net = await createRunNetwork(`bench${process.pid.toString(36)}${i}`);
    out.mode = net.mode;
    const sup = new Supervisor({ runId: `bench-${i}`, logsDir: join(runDir, 'logs'), net });
    try {
      await startLivekitServer(sup, { keys });
      out.coldMs.push(performance.now() - t);
      await sup.stop(LIVEKIT_CHILD);
      t = performance.now();
      await startLivekitServer(sup, { keys });
      out.warmMs.push(performance.now() - t);
    } finally {
      t = performance.now();
      await sup.teardown();
      out.teardownMs.push(performance.now() - t);
      rmSync(runDir, { recursive: true, force: true });
    }
    print(`round ${i + 1}: cold ${fmt(out.coldMs[i])} ms, warm ${fmt(out.warmMs[i])} ms, teardown ${fmt(out.teardownMs[i])} ms`);
  }
  print(`livekit-server ready (${out.mode}, median of ${rounds}): cold ${fmt(median(out.coldMs))} ms, warm ${fmt(median(out.warmMs))} ms, teardown ${fmt(median(out.teardownMs))} ms`);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '-' : ms.toFixed(0);
}

// `tsx ts/stack/bench.ts` runs it directly.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await benchStack();
}
