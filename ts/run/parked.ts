/**
 * Phase 5, where it is parked: at a hang, ask the live job process. Both workers answer
 * SIGUSR2 with a `parked` event (ts/contract/parked.ts): the open close steps and every
 * task with what it awaits (JS: ts/js-shim/parked.ts; Python: closekit_shim/parked.py).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readEvents } from '../observe/events.js';

/** How long (ms) to wait for the job process to answer SIGUSR2 with its `parked` event. */
export const PARKED_CAPTURE_MS = 1500;

/**
 * Sends SIGUSR2 to the job process (the `pid` of `job.started`) and waits up to
 * PARKED_CAPTURE_MS for a `parked` event at or after `sinceMs` (monotonic ms).
 * @returns true when one arrived; false when there is no job process or it did not answer.
 */
export async function captureParkedAt(eventsFile: string, sinceMs: number): Promise<boolean> {
  const job = readEvents(eventsFile).find((e) => e.ev === 'job.started');
  if (!job?.pid) return false;
  try {
    process.kill(job.pid, 'SIGUSR2');
  } catch {
    return false; // the job process is gone: nothing to capture
  }
  const until = Date.now() + PARKED_CAPTURE_MS;
  while (Date.now() < until) {
    if (readEvents(eventsFile).some((e) => e.ev === 'parked' && e.t >= sinceMs)) return true;
    await sleep(50);
  }
  return false;
}
