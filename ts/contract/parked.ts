/**
 * Where a hung close is parked, as the live job process reports it when the kit sends it
 * SIGUSR2 at a hang verdict: the `parked` event's payload, and `RunResult.parked`.
 * JS: `ts/js-shim/parked.ts captureParked`; Python: `python-shim/closekit_shim/parked.py
 * capture_parked`. One shape for both: fields only one runtime can fill are optional.
 */

/** One task of the live session (an asyncio task; a JS mainTask/onEnter/onExit/speech task, tool run or the close). */
export interface ParkedTask {
  /** JS: `_onExitTask (AgentActivity_onExit)`, `tool lookup_order`, `AgentSession.close`; Python: the asyncio task name. */
  name: string;
  /** Python: the coroutine's qualified name. */
  coro?: string;
  /** JS: which kind of task it is. */
  kind?: 'mainTask' | 'onEnterTask' | 'onExitTask' | 'speechTask' | 'speech' | 'tool' | 'close';
  /** JS: its state at the capture. */
  state?: 'pending' | 'done' | 'cancelled';
  /** JS: what it waits on, in words. */
  awaits?: string;
  /** JS: creation call sites, innermost first. */
  createdAt?: string[];
  /** Where it is suspended. Python: the await chain, outermost frame first; JS: suspension call sites, innermost first (deep-tracked bodies only). */
  stack?: string[];
  speech?: { id?: string; interrupted?: boolean; done?: boolean; allowInterruptions?: boolean };
  tool?: { name?: string; callId?: string; cancellable?: boolean; definedAt?: string };
  agent?: string;
  /** Index of the live session, only when more than one is live. */
  session?: number;
}

export interface ParkedReport {
  /** The instrumented close steps started and not ended, outermost first (e.g. `['activity.close', 'toolExecutor.drain']`). */
  open: string[];
  tasks: ParkedTask[];
  /** ms since the close was requested, when the worker knows it (the half-watchdog capture). */
  sinceCloseMs?: number | null;
  /** JS: the innermost open close step and what it waits on. */
  closeStep?: string;
  waits?: string[];
  /** JS: suspension frames of the last task in `waits` (the wedge). */
  stack?: string[];
  /** JS: number of live AgentSessions. */
  sessions?: number;
  /** JS: whether the in-process inspector answered ('ok' or why not). */
  inspector?: string;
}

/**
 * A `parked` payload (or what older results stored: an array of them) as a ParkedReport, or
 * null when it holds nothing. The boundary check: workers write JSON, this is what the kit
 * trusts of it.
 */
export function toParkedReport(p: unknown): ParkedReport | null {
  const obj = Array.isArray(p) ? p.at(-1) : p;
  if (!obj || typeof obj !== 'object') return null;
  const o = obj as Record<string, unknown>;
  const open = Array.isArray(o.open) ? o.open.map(String) : [];
  const tasks: ParkedTask[] = Array.isArray(o.tasks)
    ? o.tasks
        .filter((t): t is Record<string, unknown> => !!t && typeof t === 'object')
        .map((t) => ({ ...(t as object), name: String(t.name ?? ''), ...(Array.isArray(t.stack) ? { stack: t.stack.map(String) } : {}) }) as ParkedTask)
    : [];
  if (!open.length && !tasks.length) return null;
  const out: ParkedReport = { open, tasks };
  if (typeof o.sinceCloseMs === 'number') out.sinceCloseMs = o.sinceCloseMs;
  if (typeof o.closeStep === 'string') out.closeStep = o.closeStep;
  if (Array.isArray(o.waits)) out.waits = o.waits.map(String);
  if (Array.isArray(o.stack)) out.stack = o.stack.map(String);
  if (typeof o.sessions === 'number') out.sessions = o.sessions;
  if (typeof o.inspector === 'string') out.inspector = o.inspector;
  return out;
}
