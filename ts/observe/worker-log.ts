/**
 * The worker's own log lines about its job processes (its supervisor), as timeline events.
 * Both workers log JSON lines: livekit-agents `{"message", "level": "ERROR", "timestamp":
 * ISO, "pid", ...}`, agents-js (pino) `{"level": 40, "time": <epoch ms>, "pid", "msg", ...}`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TimelineEvent } from './events.js';

/**
 * The supervisor and shutdown lines kept (matched on the message): livekit-agents
 * ipc/supervised_proc.py "process is unresponsive, killing process", "process is
 * unresponsive" (a late pong), "killing process", "process did not exit in time, killing
 * process", "process did not ack shutdown in time…", "process exiting"; job_proc_lazy_main.py
 * "non-daemon thread `…` may prevent the process from exiting"; worker.py "draining
 * worker", "shutting down worker", cli "drain timed out, forcing shutdown"; agents-js
 * ipc/supervised_proc.ts "job is unresponsive" (then SIGKILL), "job executor is
 * unresponsive" (a late pong), cli.ts "SIGTERM received in CLI.", "worker closed due to
 * SIGTERM.", worker.ts "draining worker", "timed out draining", "Job process shutdown".
 */
export const SUPERVISOR_LINE = /unresponsive|killing process|did not exit in time|did not ack shutdown|process exiting|non-daemon thread|draining worker|shutting down worker|drain timed out|timed out draining|SIGTERM|job process shutdown|process exited with non-zero/i;

const PINO_LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One parsed worker log line: wall-clock ms, level name, message, fields. Null for a line that is not a JSON log record. */
export function parseWorkerLogLine(line: string): { wallMs: number; level: string; msg: string; pid: number | null; fields: Record<string, unknown> } | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(t) as Record<string, unknown>;
  } catch {
    return null;
  }
  const pid = typeof o.pid === 'number' ? o.pid : null;
  if (typeof o.message === 'string' && typeof o.timestamp === 'string') {
    const wallMs = Date.parse(o.timestamp);
    if (Number.isNaN(wallMs)) return null;
    return { wallMs, level: String(o.level ?? 'INFO').toUpperCase(), msg: o.message, pid, fields: o };
  }
  if (typeof o.msg === 'string' && typeof o.time === 'number') {
    const level = typeof o.level === 'number' ? (PINO_LEVELS[o.level] ?? String(o.level)) : String(o.level ?? 'INFO').toUpperCase();
    return { wallMs: o.time, level, msg: o.msg, pid, fields: o };
  }
  return null;
}

/**
 * The worker log's supervisor lines (SUPERVISOR_LINE) as `supervisor.log {level, msg, pid,
 * delayMs}` events (runtime `kit`) on the CLOCK_MONOTONIC ms scale; `wallMinusMonoMs` is
 * `Date.now() - monotonicMs()` taken in the kit. `delayMs` is a late pong's delay when the
 * line carries one. Missing file: [].
 */
export function supervisorLogEvents(logFile: string, wallMinusMonoMs: number): TimelineEvent[] {
  if (!existsSync(logFile)) return [];
  const out: TimelineEvent[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const r = parseWorkerLogLine(line);
    if (!r || !SUPERVISOR_LINE.test(r.msg)) continue;
    const delay = r.fields.delay;
    out.push({ t: r.wallMs - wallMinusMonoMs, ev: 'supervisor.log', runtime: 'kit', pid: r.pid ?? undefined, data: { level: r.level, msg: r.msg.slice(0, 300), pid: r.pid, delayMs: typeof delay === 'number' ? Math.round(delay) : null } });
  }
  return out;
}
