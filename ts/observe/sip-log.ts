/**
 * livekit-sip's log lines for one call, as timeline events. livekit-sip logs with zap's
 * console encoder: `<ISO time>\t<LEVEL>\tsip\t<file:line>\t<message>\t<JSON fields>`; the
 * call's lines carry `"callID": "SCL_..."` (livekit-sip pkg/sip/inbound.go, outbound.go).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TimelineEvent } from './events.js';

/**
 * Every INFO/WARN/ERROR line of `logFile` about a call, as `sip.log` events on the
 * CLOCK_MONOTONIC ms scale. `wallMinusMonoMs` is `Date.now() - monotonicMs()` taken in the
 * kit (both clocks read in one process). `callId` filters to one call (livekit-sip's
 * SCL_ id); null keeps every call's lines.
 */
export function sipLogEvents(logFile: string, wallMinusMonoMs: number, callId: string | null): TimelineEvent[] {
  if (!existsSync(logFile)) return [];
  const out: TimelineEvent[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const m = /^(\S+)\t(INFO|WARN|ERROR)\t\S+\t(\S+)\t([^\t]+)\t(\{.*\})\s*$/.exec(line);
    if (!m) continue;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(m[5]!) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof fields.callID !== 'string' || (callId && fields.callID !== callId)) continue;
    const wall = Date.parse(m[1]!);
    if (Number.isNaN(wall)) continue;
    const data: Record<string, unknown> = { level: m[2], msg: m[4]!.trim(), at: m[3], callID: fields.callID };
    for (const k of ['reason', 'sipCallID', 'status', 'error']) if (fields[k] !== undefined) data[k] = fields[k];
    out.push({ t: wall - wallMinusMonoMs, ev: 'sip.log', runtime: 'kit', data });
  }
  return out;
}
