/**
 * Timeline event protocol shared by both workers (docs/internals.md, "Timeline events").
 * Workers append one JSON object per line to the file named by CLOSEKIT_EVENTS; `t` is
 * CLOCK_MONOTONIC in ms, so events from the JS job process, the Python job process and the
 * orchestrator line up.
 */
import { existsSync, readFileSync } from 'node:fs';

export const EVENT_NAMES = [
  'worker.registered',
  'job.started',
  'session.started',
  'agent.entered',
  'wedge.entered',
  'participant.disconnected',
  'close.requested',
  'interrupt.done',
  'drain.start',
  'drain.end',
  'activity.close.start',
  'activity.close.end',
  'session.closed',
  'shutdown.callback',
  'stt.error',
  'stt.reconnect',
  'job.exit',
  'parked',
  // Emitted by the orchestrator itself, not the workers.
  'caller.joined',
  'caller.hangup',
  'verdict',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export interface TimelineEvent {
  /** CLOCK_MONOTONIC, ms. */
  t: number;
  ev: EventName | string;
  runtime?: 'js' | 'py' | 'kit';
  pid?: number;
  data?: Record<string, unknown>;
}

/** Now on CLOCK_MONOTONIC in ms (Node's hrtime is CLOCK_MONOTONIC on Linux). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Read every complete event line from `file` (a partly written last line is skipped, so
 * reading while a worker writes is safe). Returns [] when the file does not exist yet.
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

/** First event named `ev` (optionally matching `pred`), or undefined. */
export function findEvent(events: TimelineEvent[], ev: string, pred?: (e: TimelineEvent) => boolean): TimelineEvent | undefined {
  return events.find((e) => e.ev === ev && (!pred || pred(e)));
}
