/**
 * Timeline emitter for the agents-js worker (docs/internals.md, "Timeline events").
 * Appends one JSON line per event with appendFileSync: the write is done before emit()
 * returns, so events survive a wedged event loop, a SIGKILL or process.exit().
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { monotonicMs, type EventName } from '../../observe/events.js';
import { KitError } from '../../errors.js';

/** `emit(ev, data)`: appends `{ t, ev, runtime, pid, data }`; never throws. */
export type Emit = (ev: EventName | string, data?: Record<string, unknown>) => void;

/**
 * Makes the emitter for `file` (usually `CLOSEKIT_EVENTS`).
 * `t` is CLOCK_MONOTONIC in ms (`process.hrtime.bigint() / 1e6`), shared with the
 * Python worker and the orchestrator.
 * @throws KitError when `file` is empty (the worker was started without CLOSEKIT_EVENTS).
 */
export function createEmitter(file: string | undefined, runtime: 'js' | 'py' | 'kit' = 'js'): Emit {
  if (!file) throw new KitError('no events file given (CLOSEKIT_EVENTS is empty)', { fix: 'start the worker through startJsWorker, which sets CLOSEKIT_EVENTS' });
  mkdirSync(dirname(file), { recursive: true });
  return (ev, data) => {
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
