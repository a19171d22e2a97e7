/**
 * Runtime instrumentation of agents-js: wraps prototype methods of the classes that run a
 * forced close, so the timeline shows how far the close got. The package's files are never
 * edited (only `kit verify` does that, through patches/).
 *
 * Upstream close path (agents 1.9.0, voice/agent_session.ts `closeImplInner`):
 *   closeImpl → activity.interrupt({force:true}).await → activity.drain()
 *   (agent_activity.ts `_drainImpl`: lock, onExit task, `_pauseSchedulingTask` → mainTask)
 *   → activity.close() (lock, cancel speech tasks, `ToolExecutor.drain()`,
 *   `_closeSessionResources()` = STT/TTS teardown) → emit('close').
 * Each of those steps gets a start/end pair; a step with a start and no end is where a
 * wedged close parks.
 */
import type { WorkerEventName } from '../contract/events.js';
import type { Emit } from './emit.js';
import { loadRuntime, type LoadedRuntime } from './runtime.js';
import { captureParked, installParkedCapture, trackSession } from './parked.js';

type AnyFn = (this: any, ...args: any[]) => any;

/** Steps started and not yet ended in this process, oldest first (for the `parked` event). */
const openSteps = new Map<number, { step: string; since: number }>();
let stepSeq = 0;

function wrapMethod(proto: any, name: string, make: (orig: AnyFn) => AnyFn): void {
  const orig = proto?.[name];
  if (typeof orig !== 'function') throw new Error(`closekit instrument: ${proto?.constructor?.name}.prototype.${name} is not a function in this agents version`);
  if ((orig as any).__closekit) return;
  const wrapped = make(orig);
  (wrapped as any).__closekit = true;
  proto[name] = wrapped;
}

/**
 * Wraps an async method so it emits `<start>` / `<end>` (with `ms`, and `error` when it
 * threw) and is tracked in openSteps while running.
 */
function wrapSpan(proto: any, name: string, emit: Emit, ev: { start: WorkerEventName; end: WorkerEventName; step: string }, data: (self: any, args: any[]) => Record<string, unknown> = () => ({})): void {
  wrapMethod(proto, name, (orig) =>
    async function (this: any, ...args: any[]) {
      const id = ++stepSeq;
      const t0 = performance.now();
      const d = data(this, args);
      openSteps.set(id, { step: ev.step, since: t0 });
      emit(ev.start, { step: ev.step, ...d });
      try {
        const r = await orig.apply(this, args);
        emit(ev.end, { step: ev.step, ms: Math.round(performance.now() - t0), ...d });
        return r;
      } catch (e) {
        emit(ev.end, { step: ev.step, ms: Math.round(performance.now() - t0), error: String((e as Error)?.message ?? e), ...d });
        throw e;
      } finally {
        openSteps.delete(id);
      }
    },
  );
}

/** The instrumented steps still open in this process, e.g. `['drain', 'activity.pauseSchedulingTask']`. */
export function openInstrumentedSteps(): string[] {
  return [...openSteps.values()].map((s) => s.step);
}

const CLOSE_HOOK = Symbol('closekit.onCloseRequested');

/** Calls `fn` (once per close request) when `session`'s closeImpl starts (the `close.requested` moment). */
export function onCloseRequested(session: object, fn: () => void): void {
  (session as any)[CLOSE_HOOK] = fn;
}

let installed: Promise<LoadedRuntime> | undefined;

/**
 * Installs the wrappers on the agents runtime loaded by `loadRuntime()` (CLOSEKIT_AGENTS_DIR).
 * Idempotent per process. Events (docs/internals.md "Timeline events"):
 * - `close.requested {reason, drain, error}`: AgentSession.closeImpl (reached from
 *   `_closeSoon` — closeOnDisconnect, close(), shutdown() — and from `_onError`).
 * - `interrupt.done {force}`: the future of AgentActivity.interrupt({force:true}) settled.
 * - `drain.start/end`: AgentActivity.drain; `activity.close.start/end`: AgentActivity.close.
 * - `activity.step.start/end {step}`: finer steps, `activity.pauseSchedulingTask`,
 *   `toolExecutor.drain`, `activity.closeSessionResources` (the STT/TTS teardown).
 * - `session.started`, `session.closed {reason, error}` (AgentSession 'close' event),
 *   `session.error {type, recoverable, code}` (AgentSession 'error' event; not for
 *   stt_error, which stt.error already records).
 * - `stt.connect {n}` / `stt.reconnect {n}`: inference STT.connectWs calls (n per STT instance).
 * - `stt.error {code, retryable, message}`: an error thrown out of one inference
 *   SpeechStream.run() attempt (stt/stt.ts mainTask retries or gives up after it), e.g. 2007.
 * - `parked {open, closeStep, waits, stack, tasks, sessions, inspector}` on SIGUSR2: the open
 *   steps and every live session task with what it awaits (parked.ts `captureParked`), for
 *   the kit's hang report.
 * @returns the loaded runtime.
 * @throws Error when a wrapped method does not exist (an agents version this kit does not know).
 */
export function instrument(emit: Emit): Promise<LoadedRuntime> {
  if (installed) return installed;
  installed = (async () => {
    const rt = await loadRuntime();
    const { AgentSession } = rt.agents.voice;
    const { AgentActivity } = await rt.importInternal('dist/voice/agent_activity.js');
    // Releases before the ToolExecutor (agents-js < 1.5) run tools inside the activity: the
    // tool drain is then not a step of its own, and the rest of the close is observed as usual.
    const { ToolExecutor } = await rt.importInternal('dist/voice/tool_executor.js').catch(() => ({ ToolExecutor: null }));
    const inferenceStt = rt.agents.inference.stt as any;
    // Before any session exists: Task.from must be wrapped before the first task is created.
    await installParkedCapture(rt, { ToolExecutor, cancellableFlag: (rt.agents.llm as any)?.ToolFlag?.CANCELLABLE }, openInstrumentedSteps);

    wrapMethod(AgentSession.prototype, 'start', (orig) =>
      async function (this: any, ...args: any[]) {
        trackSession(this);
        if (!this.__closekitListeners) {
          this.__closekitListeners = true;
          this.on('close', (ev: any) =>
            emit('session.closed', { reason: ev?.reason ?? null, error: ev?.error ? String(ev.error?.error?.message ?? ev.error?.message ?? ev.error) : null }),
          );
          this.on('error', (ev: any) => {
            const err = ev?.error;
            // STT errors are already on the timeline as stt.error (SpeechStream.run wrapper),
            // one per failed attempt; a second line per error would double-count them.
            if (err?.type === 'stt_error') return;
            emit('session.error', { type: err?.type ?? null, recoverable: err?.recoverable ?? null, code: err?.error?.statusCode ?? null, message: String(err?.error?.message ?? '') });
          });
        }
        const r = await orig.apply(this, args);
        emit('session.started', { agent: args[0]?.agent?.constructor?.name ?? null, room: args[0]?.room?.name ?? null });
        return r;
      },
    );

    wrapMethod(AgentSession.prototype, 'closeImpl', (orig) =>
      function (this: any, reason: unknown, error: any = null, drain = false, ...rest: any[]) {
        emit('close.requested', { reason, drain, error: error ? String(error?.error?.message ?? error?.message ?? error) : null });
        try {
          this[CLOSE_HOOK]?.();
        } catch {
          // a timeline hook must not change the close
        }
        return orig.call(this, reason, error, drain, ...rest);
      },
    );

    wrapMethod(AgentActivity.prototype, 'interrupt', (orig) =>
      function (this: any, options: { force?: boolean } = {}) {
        const fut = orig.call(this, options);
        // Only the forced interrupt belongs to the close timeline; user barge-ins would be noise.
        if (options?.force) {
          const t0 = performance.now();
          void Promise.resolve(fut?.await).then(
            () => emit('interrupt.done', { force: true, ms: Math.round(performance.now() - t0) }),
            (e: unknown) => emit('interrupt.done', { force: true, error: String(e) }),
          );
        }
        return fut;
      },
    );

    const agentId = (self: any) => ({ agent: self?.agent?.id ?? null });
    wrapSpan(AgentActivity.prototype, 'drain', emit, { start: 'drain.start', end: 'drain.end', step: 'drain' }, agentId);
    wrapSpan(AgentActivity.prototype, 'close', emit, { start: 'activity.close.start', end: 'activity.close.end', step: 'activity.close' }, agentId);
    const step = (s: string) => ({ start: 'activity.step.start', end: 'activity.step.end', step: s }) as const;
    // The inner steps are evidence of where the close waits, not what the verdict rests on:
    // a release without one of them is still driven (the outer steps above are required).
    const inner = (proto: any, name: string, ev: ReturnType<typeof step>, data?: (self: any, args: any[]) => Record<string, unknown>) => {
      if (typeof proto?.[name] === 'function') wrapSpan(proto, name, emit, ev, data);
    };
    inner(AgentActivity.prototype, '_pauseSchedulingTask', step('activity.pauseSchedulingTask'));
    inner(AgentActivity.prototype, '_closeSessionResources', step('activity.closeSessionResources'));
    inner(ToolExecutor?.prototype, 'drain', step('toolExecutor.drain'), (self: any) => ({
      tools: [...(self?.runningTasks?.values?.() ?? [])].map((t: any) => ({ name: t?.ctx?.functionCall?.name, cancellable: t?.allowCancellation })),
    }));

    const connects = new WeakMap<object, number>();
    wrapMethod(inferenceStt.STT.prototype, 'connectWs', (orig) =>
      async function (this: any, ...args: any[]) {
        const n = (connects.get(this) ?? 0) + 1;
        connects.set(this, n);
        emit(n === 1 ? 'stt.connect' : 'stt.reconnect', { n, model: this?.model ?? null });
        return orig.apply(this, args);
      },
    );
    wrapMethod(inferenceStt.SpeechStream.prototype, 'run', (orig) =>
      async function (this: any, ...args: any[]) {
        try {
          return await orig.apply(this, args);
        } catch (e: any) {
          emit('stt.error', {
            code: e?.statusCode ?? e?.body?.code ?? null,
            retryable: e?.retryable ?? null,
            aborted: this?.abortController?.signal?.aborted ?? null,
            message: String(e?.message ?? e),
          });
          throw e;
        }
      },
    );

    process.on('SIGUSR2', () => {
      // The task report must never cost the open steps: fall back to them on any failure.
      let report: Record<string, unknown>;
      try {
        report = { ...captureParked() };
      } catch (e) {
        report = { open: openInstrumentedSteps(), error: String((e as Error)?.message ?? e) };
      }
      emit('parked', report);
    });
    return rt;
  })();
  return installed;
}
