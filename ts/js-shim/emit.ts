/**
 * Timeline emitter for the agents-js worker and job processes (the protocol:
 * ts/contract/events.ts). Appends one JSON line per event with appendFileSync: the write
 * is done before emit() returns, so events survive a wedged event loop, a SIGKILL or
 * process.exit(). Python mirror: python-shim/closekit_shim/emit.py.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isEventName, type EventSource, type WorkerEventName } from '../contract/events.js';
import { WORKER_ENV } from '../contract/env.js';
import { KitError } from '../errors.js';
import { monotonicMs } from '../observe/events.js';

/**
 * `emit(ev, data)`: appends `{ t, ev, runtime, pid, data }`. A failed write is dropped
 * (losing one line must not change the behaviour under test).
 * @throws KitError when `ev` is not in the protocol: a typo would otherwise be a silent hole in the timeline.
 */
export type Emit = (ev: WorkerEventName, data?: Record<string, unknown>) => void;

/**
 * Makes the emitter for `file` (usually `CLOSEKIT_EVENTS`).
 * `t` is CLOCK_MONOTONIC in ms (`process.hrtime.bigint() / 1e6`), shared with the
 * Python worker and the kit.
 * @throws KitError when `file` is empty (the worker was started without CLOSEKIT_EVENTS).
 */
export function createEmitter(file: string | undefined, runtime: EventSource = 'js'): Emit {
  if (!file) throw new KitError(`no events file given (${WORKER_ENV.events} is empty)`, { fix: `start the worker through startJsWorker, which sets ${WORKER_ENV.events}` });
  mkdirSync(dirname(file), { recursive: true });
  return (ev, data) => {
    if (!isEventName(ev)) throw new KitError(`"${ev}" is not a timeline event`, { fix: 'add it to ts/contract/events.ts and python-shim/closekit_shim/emit.py EVENT_NAMES, or use a listed name' });
    const line = JSON.stringify({ t: monotonicMs(), ev, runtime, pid: process.pid, ...(data ? { data: safeData(data) } : {}) });
    try {
      appendFileSync(file, line + '\n');
    } catch {
      // Losing one timeline line must not change the behaviour under test.
    }
  };
}

function safeData(data: Record<string, unknown>): Record<string, unknown> {
  try {
    JSON.stringify(data);
    return data;
  } catch {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'object' ? String(v) : v]));
  }
}

let emitter: Emit | undefined;

/**
 * The process-wide emitter on CLOSEKIT_EVENTS (created on first use, then shared); it
 * emits `job.exit {code}` when the process exits ('exit' handlers run synchronously, and
 * appendFileSync makes it onto disk). Python: emit.py `default_emitter`.
 */
export function defaultEmitter(): Emit {
  if (!emitter) {
    const emit = createEmitter(process.env[WORKER_ENV.events], 'js');
    process.on('exit', (code) => emit('job.exit', { code }));
    emitter = emit;
  }
  return emitter;
}
