/**
 * Seed 002: what a job's shutdown callback leaves holding the job process (scenario
 * `lifecycle.shutdownCallback`, spec.ts JOB_HOLDS). Python mirror: closekit_shim/hold.py.
 */
import { Worker } from 'node:worker_threads';
import type { JobHold } from '../scenario/spec.js';
import type { Emit } from './emit.js';
import { captureParked } from './parked.js';

/** The construct each hold uses in agents-js, as `job.hold.construct` names it. */
export const JS_HOLD_CONSTRUCTS: Record<JobHold, string> = {
  'blocked-loop': 'Atomics.wait(int32, 0, 0, holdMs) on the job process main thread (a synchronous call: the event loop, and with it the IPC ping handler, does not run)',
  'running-thread': 'new Worker(<a holdMs timer>, { eval: true }) (a worker thread left running after the callback returns)',
};

/**
 * blocked-loop: how long (ms) the callback yields first, so the job's other shutdown work
 * (the session's provider sockets) is done before the loop is blocked: what is measured is
 * the process after its shutdown work, as in the seed ("the shutdown callback completes").
 */
export const HOLD_DELAY_MS = 300;

/**
 * Holds the job process as `hold.leaves` says, for `hold.holdMs` ms, after emitting
 * `job.hold {kind, construct, holdMs, capture}`. `capture` is taken in-process just before
 * (`activeResources`: process.getActiveResourcesInfo(); `parked`: captureParked()): a
 * blocked isolate answers no signal, so this is the only look inside it the kit gets.
 * blocked-loop waits HOLD_DELAY_MS, blocks, and resolves only after the block;
 * running-thread resolves at once.
 */
export async function holdJobProcess(hold: { leaves: JobHold; holdMs: number }, emit: Emit): Promise<void> {
  if (hold.leaves === 'blocked-loop') await new Promise((r) => setTimeout(r, HOLD_DELAY_MS));
  const capture = { activeResources: process.getActiveResourcesInfo(), parked: captureParked() };
  emit('job.hold', { kind: hold.leaves, construct: JS_HOLD_CONSTRUCTS[hold.leaves], holdMs: hold.holdMs, capture });
  if (hold.leaves === 'blocked-loop') {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, hold.holdMs);
    return;
  }
  new Worker(`setTimeout(() => {}, ${Number(hold.holdMs)});`, { eval: true });
}
