/**
 * Reading the timeline (the protocol itself is ts/contract/events.ts): workers append one
 * JSON object per line to the file named by CLOSEKIT_EVENTS; `t` is CLOCK_MONOTONIC in ms,
 * so events from the JS job process, the Python job process and the kit line up.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TimelineEvent } from '../contract/events.js';

export { EVENT_NAMES, WORKER_EVENT_NAMES, KIT_EVENT_NAMES, DERIVED_EVENT_NAMES, isEventName, type EventName, type TimelineEvent } from '../contract/events.js';

/** Now on CLOCK_MONOTONIC in ms (Node's hrtime is CLOCK_MONOTONIC on Linux). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Read every complete event line from `file` (a partly written last line is skipped, so
 * reading while a worker writes is safe), sorted by `t`. Returns [] when the file does not
 * exist yet.
 */
export function readEvents(file: string): TimelineEvent[] {
  if (!existsSync(file)) return [];
  const out: TimelineEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as TimelineEvent;
      if (typeof e.t === 'number' && typeof e.ev === 'string') out.push(e);
    } catch {
      // a line still being written
    }
  }
  return out.sort((a, b) => a.t - b.t);
}
