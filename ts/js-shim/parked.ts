/**
 * What every task of a live AgentSession is waiting on, from inside the job process: the
 * JS side of the `parked` event (shape: ts/contract/parked.ts). Python mirror: python-shim/closekit_shim/
 * parked.py `capture_parked` (there an asyncio task's await chain can be walked; here it
 * cannot, see "Limits").
 *
 * Report shape (`captureParked()`, emitted as `parked` on SIGUSR2 by instrument.ts):
 *   { open: string[],                       instrumented steps still open (instrument.ts)
 *     closeStep?: string,                   innermost open step of a close, e.g. 'toolExecutor.drain'
 *     waits?: string[],                     the chain the close waits along, e.g.
 *                                           ['AgentSession.close', '_mainTask', '_onEnterTask']
 *     stack?: string[],                     suspension frames of the last task in `waits` (the wedge)
 *     tasks: ParkedTask[],                  see ParkedTask
 *     sessions: number, inspector: 'ok' | string }
 *
 * How the fields are obtained (agents 1.9.0 names; every access is guarded, so another
 * version gives fewer fields, never a throw):
 * - sessions: `trackSession()` keeps a WeakRef per AgentSession when `start()` runs
 *   (instrument.ts); the activity is `session._activity` (agent_session.ts getter) or
 *   `session.activity`.
 * - tasks: `_mainTask`, `_onEnterTask`, `_onExitTask`, `speechTasks`, `_currentSpeech`,
 *   `_toolExecutor.runningTasks` (voice/agent_activity.ts, voice/tool_executor.ts); task
 *   state from `Task.done` / `Task.cancelled` (utils.ts); speech handle per task from
 *   `_getActivityTaskInfo` (voice/agent.ts).
 * - createdAt: `Task.from` (utils.ts, the static factory every upstream task goes through)
 *   is wrapped to record the creation call sites; tool runs record theirs in a wrapper of
 *   `ToolExecutor.prototype.runTool` (called from `execute`).
 * - stack (suspension point): a `v8.promiseHooks.onInit` hook records the call sites of
 *   every promise created while a *deep-tracked* body runs (the onEnter/onExit hook tasks
 *   and tool `execute()` runs: user code, where wedges live). With promise hooks on, V8
 *   materialises the promise of each `await`, so the deepest capture of the body's last
 *   resumption is where it is suspended (e.g. `parkForever ← WedgeAgent.onExit`).
 * - the inspector (`node:inspector` Session, in-process, only during a capture): a tool's
 *   `execute` definition site (`[[FunctionLocation]]`, via Debugger.scriptParsed for the
 *   URL) and the state of the session's `closingTask` promise (`[[PromiseState]]`).
 *
 * Limits: V8 exposes no suspension point of a pending async function (not through the
 * inspector either: async-function objects are not reachable by Runtime.queryObjects,
 * `[[GeneratorLocation]]` exists for generator objects only, and a promise's reactions are
 * not exposed; `Debugger.setAsyncCallStackDepth` only adds async frames to a *paused*
 * stack, and a parked function never runs again to be paused in). Hence the hook above;
 * tasks that are not deep-tracked (mainTask, reply tasks: they stream audio and would be
 * costly) report state, createdAt and a structural `awaits` only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Session } from 'node:inspector';
import { findSourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promiseHooks } from 'node:v8';
import type { ParkedReport, ParkedTask } from '../contract/parked.js';

export type { ParkedReport, ParkedTask } from '../contract/parked.js';

interface RawFrame {
  fn: string | null;
  type: string | null;
  file: string | null;
  line: number | null;
  col: number | null;
  async: boolean;
}

/** Per tracked task or tool run. */
interface Rec {
  deep: boolean;
  createdAt: RawFrame[];
  /** Deepest capture of the latest promise-reaction turn that had any kept frame. */
  turn: number;
  deepest: RawFrame[];
  captures: number;
  // tool runs only
  tool?: { name?: string; callId?: string; cancellable?: boolean; execute?: unknown; settled: boolean };
}

const THIS_FILE = fileURLToPath(import.meta.url);
/** Deep-tracked task names: the Agent hooks, i.e. user code (agent_activity.ts createSpeechTask names). */
const DEEP_TASK = /onenter|onexit|on_enter|on_exit/i;
/** Captures per record before the hook stops recording it (a chatty hook must not cost forever). */
const MAX_CAPTURES = 5000;

const als = new AsyncLocalStorage<Rec>();
const taskRecs = new WeakMap<object, Rec>();
/** Tool runs whose execute() has not settled (strong: a wedged tool is exactly what we report). */
const pendingTools = new Set<Rec>();
const sessions = new Set<WeakRef<object>>();
const closedSessions = new WeakSet<object>();
let turn = 0;
let openSteps: () => string[] = () => [];
let getTaskInfo: ((t: object) => any) | undefined;

function captureFrames(skip: Function, limit = 40): RawFrame[] {
  const prevPrep = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  try {
    // Structured call sites, no string formatting and no source-map lookup here: this runs
    // per promise in deep-tracked bodies. Mapping happens at report time.
    Error.prepareStackTrace = (_e, cs) => cs;
    Error.stackTraceLimit = limit;
    const o: { stack?: unknown } = {};
    Error.captureStackTrace(o, skip);
    const cs = o.stack as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(cs)) return [];
    return cs.map((c) => ({
      fn: c.getFunctionName?.() ?? null,
      type: safe(() => c.getTypeName()) ?? null,
      file: c.getFileName?.() ?? null,
      line: c.getLineNumber?.() ?? null,
      col: c.getColumnNumber?.() ?? null,
      async: !!safe(() => c.isAsync()),
    }));
  } catch {
    return [];
  } finally {
    Error.prepareStackTrace = prevPrep;
    Error.stackTraceLimit = prevLimit;
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function filePath(file: string): string {
  return file.startsWith('file://') ? safe(() => fileURLToPath(file)) ?? file : file;
}

/** True for frames worth showing: @livekit/agents and agent/kit code, not node internals, other packages or this kit's wrappers. */
function keep(f: RawFrame): boolean {
  if (!f.file || f.file.startsWith('node:') || f.file.startsWith('internal/')) return false;
  const p = filePath(f.file);
  if (p === THIS_FILE || p.endsWith('/ts/js-shim/instrument.ts')) return false;
  if (p.includes('/node_modules/')) return p.includes('/node_modules/@livekit/agents/');
  return true;
}

/** Frames of the body itself: everything inner to the first frame in this file (the body/tool wrapper). */
function bodyFrames(frames: RawFrame[]): RawFrame[] {
  const cut = frames.findIndex((f) => f.file !== null && filePath(f.file) === THIS_FILE);
  return cut === -1 ? frames : frames.slice(0, cut);
}

function onPromiseInit(): void {
  const rec = als.getStore();
  if (!rec || !rec.deep || rec.captures >= MAX_CAPTURES) return;
  rec.captures++;
  const frames = bodyFrames(captureFrames(onPromiseInit));
  if (!frames.some(keep)) return; // e.g. a then-job of the runtime itself: says nothing about the body
  if (rec.turn !== turn || frames.length >= rec.deepest.length) {
    rec.turn = turn;
    rec.deepest = frames;
  }
}

/** `WedgeAgent.onExit (ts/js-shim/agent.ts:93)`, source-mapped when a map is loaded. */
function fmt(f: RawFrame): string {
  const fn = f.fn ?? '<anonymous>';
  const name = f.type && !['Object', 'global', 'undefined', 'null'].includes(f.type) && !fn.startsWith(`${f.type}.`) ? `${f.type}.${fn}` : fn;
  let file = f.file ? filePath(f.file) : '?';
  let line = f.line;
  const sm = f.file && f.line !== null && f.col !== null ? safe(() => findSourceMap(f.file!)) : undefined;
  const e: any = sm ? safe(() => sm.findEntry(f.line! - 1, f.col! - 1)) : undefined;
  if (e && typeof e.originalSource === 'string' && typeof e.originalLine === 'number') {
    const src = e.originalSource.startsWith('file://') ? filePath(e.originalSource) : safe(() => new URL(e.originalSource, `file://${file}`).pathname) ?? e.originalSource;
    file = src;
    line = e.originalLine + 1;
  }
  const nm = file.lastIndexOf('/node_modules/');
  const shown = nm !== -1 ? file.slice(nm + '/node_modules/'.length) : relative(process.cwd(), file) || file;
  return `${f.async ? 'async ' : ''}${name} (${shown}${line !== null ? `:${line}` : ''})`;
}

function fmtFrames(frames: RawFrame[], max = 12): string[] {
  return frames.filter(keep).slice(0, max).map(fmt);
}

function wrapOnce(obj: any, name: string, make: (orig: (...a: any[]) => any) => (...a: any[]) => any): boolean {
  const orig = obj?.[name];
  if (typeof orig !== 'function' || (orig as any).__closekitParked) return false;
  const w = make(orig);
  (w as any).__closekitParked = true;
  obj[name] = w;
  return true;
}

let installed = false;

/**
 * Installs the tracking on a loaded agents runtime (idempotent per process):
 * - `Task.from` (dist/utils.js) records creation sites and runs each body in our async
 *   context (deep-tracked when its name matches the Agent hooks);
 * - `ToolExecutor.prototype.runTool` (dist/voice/tool_executor.js) records each tool run;
 * - the promise hooks for suspension sites.
 * Missing pieces are skipped (fewer fields in the report).
 * @param openStepsFn the open instrumented steps (instrument.ts `openInstrumentedSteps`).
 */
export async function installParkedCapture(
  rt: { importInternal<T = any>(rel: string): Promise<T> },
  classes: { ToolExecutor?: any; /** llm.ToolFlag.CANCELLABLE (llm/tool_context.ts) */ cancellableFlag?: number },
  openStepsFn: () => string[],
): Promise<void> {
  openSteps = openStepsFn;
  if (installed) return;
  installed = true;
  const utils = await rt.importInternal('dist/utils.js').catch(() => undefined);
  const agentMod = await rt.importInternal('dist/voice/agent.js').catch(() => undefined);
  if (typeof agentMod?._getActivityTaskInfo === 'function') getTaskInfo = agentMod._getActivityTaskInfo;

  wrapOnce(utils?.Task, 'from', (orig) =>
    function closekitTaskFrom(this: any, fn: any, controller?: any, name?: string) {
      if (typeof fn !== 'function') return orig.call(this, fn, controller, name);
      const rec: Rec = { deep: typeof name === 'string' && DEEP_TASK.test(name), createdAt: captureFrames(closekitTaskFrom, 24), turn: -1, deepest: [], captures: 0 };
      // The body starts synchronously inside the Task constructor (utils.ts runTask), so the
      // record must exist before orig runs; a non-deep body runs with no store, so a deep
      // parent's promises do not absorb its children's.
      const body = function closekitTaskBody(this: any, ...a: any[]) {
        return als.run(rec, () => fn.apply(this, a));
      };
      const task = orig.call(this, body, controller, name);
      if (task && typeof task === 'object') taskRecs.set(task, rec);
      return task;
    },
  );

  wrapOnce(classes.ToolExecutor?.prototype, 'runTool', (orig) =>
    function closekitRunTool(this: any, opts: any, ...rest: any[]) {
      const call = opts?.runCtx?.functionCall;
      const rec: Rec = {
        deep: true,
        createdAt: captureFrames(closekitRunTool, 24),
        turn: -1,
        deepest: [],
        captures: 0,
        tool: { name: call?.name, callId: call?.callId, cancellable: typeof opts?.tool?.flags === 'number' && typeof classes.cancellableFlag === 'number' ? (opts.tool.flags & classes.cancellableFlag) !== 0 : undefined, execute: opts?.tool?.execute, settled: false },
      };
      const r = als.run(rec, () => orig.call(this, opts, ...rest));
      // runTool sets toolPromiseRef.promise (never rejects) synchronously, before its first await.
      const p: Promise<unknown> | undefined = opts?.toolPromiseRef?.promise ?? r;
      pendingTools.add(rec);
      void Promise.resolve(p).then(
        () => {
          rec.tool!.settled = true;
          pendingTools.delete(rec);
        },
        () => {
          rec.tool!.settled = true;
          pendingTools.delete(rec);
        },
      );
      return r;
    },
  );

  // onBefore runs before every promise reaction job: a resumed async body starts a new turn.
  promiseHooks.onBefore(() => {
    turn++;
  });
  promiseHooks.onInit(onPromiseInit);
}

/** Remembers `session` (WeakRef) for captureParked; called from the AgentSession.start wrapper. */
export function trackSession(session: object): void {
  for (const r of sessions) if (r.deref() === session) return;
  sessions.add(new WeakRef(session));
  safe(() => (session as any).on?.('close', () => closedSessions.add(session)));
}

function taskState(t: any): ParkedTask['state'] {
  if (!t?.done) return 'pending';
  const c = safe(() => t.cancelled);
  if (c === true) return 'cancelled';
  if (c === undefined && t.controller?.signal?.aborted) return 'cancelled';
  return 'done';
}

function speechOf(h: any): ParkedTask['speech'] | undefined {
  if (!h || typeof h !== 'object') return undefined;
  return { id: safe(() => h.id), interrupted: safe(() => h.interrupted), done: safe(() => (typeof h.done === 'function' ? h.done() : h.done)), allowInterruptions: safe(() => h.allowInterruptions) };
}

function awaitsFromStack(stack: string[]): string | undefined {
  if (!stack.length) return undefined;
  return stack.length > 1 ? `promise created in ${stack[0]}, awaited by ${stack[1]}` : `promise awaited in ${stack[0]}`;
}

/** In-process inspector for the few things only it can read; null when unavailable. */
class Inspector {
  private s: any;
  private urls = new Map<string, string>();
  status = 'ok';
  private constructor() {}
  static open(): Inspector {
    const i = new Inspector();
    try {
      i.s = new Session();
      i.s.connect();
      // Same-thread sessions answer synchronously; scriptParsed for every loaded script is
      // delivered during Debugger.enable.
      i.s.on('Debugger.scriptParsed', (m: any) => i.urls.set(m?.params?.scriptId, m?.params?.url));
      i.post('Debugger.enable');
    } catch (e) {
      i.status = `unavailable: ${(e as Error)?.message ?? e}`;
      i.s = undefined;
    }
    return i;
  }
  private post(method: string, params?: object): any {
    let out: any;
    let err: any;
    this.s.post(method, params, (e: any, r: any) => {
      err = e;
      out = r;
    });
    if (err) throw err;
    return out;
  }
  private internal(value: unknown): Array<{ name: string; value?: any }> | undefined {
    if (!this.s) return undefined;
    const key = Symbol.for('closekit.parked.inspect');
    (globalThis as any)[key] = value;
    try {
      const o = this.post('Runtime.evaluate', { expression: 'globalThis[Symbol.for("closekit.parked.inspect")]', objectGroup: 'closekit' })?.result;
      if (!o?.objectId) return undefined;
      return this.post('Runtime.getProperties', { objectId: o.objectId, ownProperties: true, objectGroup: 'closekit' })?.internalProperties;
    } catch {
      return undefined;
    } finally {
      delete (globalThis as any)[key];
    }
  }
  /** `[[PromiseState]]`: 'pending' | 'fulfilled' | 'rejected'. */
  promiseState(p: unknown): string | undefined {
    return this.internal(p)?.find((x) => x.name === '[[PromiseState]]')?.value?.value;
  }
  /** `[[FunctionLocation]]` of a function, as `file:line` (source-mapped when possible). */
  functionLocation(fn: unknown): string | undefined {
    const loc = this.internal(fn)?.find((x) => x.name === '[[FunctionLocation]]')?.value?.value;
    const url = loc ? this.urls.get(loc.scriptId) : undefined;
    if (!url) return undefined;
    return fmt({ fn: null, type: null, file: url, line: loc.lineNumber + 1, col: loc.columnNumber + 1, async: false }).replace(/^<anonymous> \((.*)\)$/, '$1');
  }
  close(): void {
    if (!this.s) return;
    safe(() => this.post('Runtime.releaseObjectGroup', { objectGroup: 'closekit' }));
    safe(() => this.post('Debugger.disable'));
    safe(() => this.s.disconnect());
  }
}

/** Structural description of what the close waits on, from the innermost open step (instrument.ts names). */
function closeAwaits(step: string | undefined, act: any, toolNames: string[]): { awaits: string; next?: string } {
  switch (step) {
    case 'toolExecutor.drain':
      return { awaits: `ToolExecutor.drain(): non-cancellable tool(s) ${toolNames.join(', ') || '?'} (toolPromiseRef.promise)`, next: 'tool' };
    case 'activity.pauseSchedulingTask':
      return { awaits: 'AgentActivity._pauseSchedulingTask(): _mainTask.result', next: '_mainTask' };
    case 'activity.closeSessionResources':
      return { awaits: 'AgentActivity._closeSessionResources(): STT/TTS teardown' };
    case 'drain':
      if (act?._onExitTask && !act._onExitTask.done) return { awaits: 'AgentActivity._drainImpl(): _onExitTask.result (under the activity lock)', next: '_onExitTask' };
      return { awaits: 'AgentActivity.drain(): the activity lock' };
    case 'activity.close':
      return { awaits: 'AgentActivity.close(): the activity lock or cancelAndWait(speechTasks)' };
    default:
      return { awaits: step ? step : 'no instrumented step open (interrupt or the session lock)' };
  }
}

/**
 * Snapshot of every live session's tasks and what they wait on (see the module doc for the
 * shape and sources). Synchronous (same-thread inspector calls answer in place); never
 * throws: a field that cannot be read is left out.
 */
export function captureParked(): ParkedReport {
  const insp = Inspector.open();
  try {
    return buildReport(insp);
  } finally {
    insp.close();
  }
}

function buildReport(insp: Inspector): ParkedReport {
  const open = safe(openSteps) ?? [];
  const tasks: ParkedTask[] = [];
  const live: object[] = [];
  for (const r of sessions) {
    const s = r.deref();
    if (s) live.push(s);
    else sessions.delete(r);
  }
  const report: ParkedReport & { sessions: number; inspector: string } = { open, tasks, sessions: live.length, inspector: insp.status };
  const push = (t: ParkedTask) => {
    tasks.push(t);
    return t;
  };
  // stack only for unsettled bodies: a settled body's last suspension is history, not a wait.
  const fromRec = (rec: Rec | undefined, pending = true): { createdAt?: string[]; stack?: string[] } => {
    if (!rec) return {};
    const stack = rec.deep && pending ? fmtFrames(rec.deepest) : [];
    return { createdAt: fmtFrames(rec.createdAt), ...(stack.length ? { stack } : {}) };
  };

  const seenToolCalls = new Set<string>();
  const toolEntries: ParkedTask[] = [];
  const toolEntry = (rec: Rec | undefined, running: any): ParkedTask => {
    const call = running?.ctx?.functionCall;
    const name = rec?.tool?.name ?? call?.name;
    const base = fromRec(rec, !rec?.tool?.settled);
    const e: ParkedTask = {
      name: `tool ${name ?? '?'}`,
      kind: 'tool',
      state: rec?.tool?.settled ? 'done' : 'pending',
      tool: {
        name,
        callId: rec?.tool?.callId ?? call?.callId,
        cancellable: typeof running?.allowCancellation === 'boolean' ? running.allowCancellation : rec?.tool?.cancellable,
        definedAt: rec?.tool?.execute ? insp.functionLocation(rec.tool.execute) : undefined,
      },
      ...base,
    };
    if (!rec && running?.toolPromiseRef?.promise) {
      const ps = insp.promiseState(running.toolPromiseRef.promise);
      if (ps) e.state = ps === 'pending' ? 'pending' : 'done';
    }
    const aw = base.stack ? awaitsFromStack(base.stack) : undefined;
    e.awaits = `execute() of ${name ?? '?'}${aw ? `: ${aw}` : ''}`;
    return e;
  };

  for (const s of live as any[]) {
    const first = tasks.length; // this session's entries are tasks.slice(first)
    const mine = () => tasks.slice(first);
    toolEntries.length = 0;
    const act = safe(() => s._activity) ?? safe(() => s.activity);
    const agent = safe(() => act?.agent?.constructor?.name) as string | undefined;
    const closing = safe(() => s._closing ?? s.closing) === true;
    const closed = closedSessions.has(s);

    // Tool runs: the executor's map (1.9.0 runningTasks) joined with our runTool records.
    const runningMap: Map<string, any> | undefined = safe(() => act?._toolExecutor?.runningTasks);
    const running = runningMap instanceof Map ? [...runningMap.values()] : [];
    for (const rt of running) {
      const rec = [...pendingTools].find((r) => r.tool?.callId && r.tool.callId === rt?.ctx?.functionCall?.callId);
      const e = toolEntry(rec, rt);
      if (e.tool?.callId) seenToolCalls.add(e.tool.callId);
      toolEntries.push(e);
    }

    let closeNext: string | undefined;
    if (closing || closed) {
      const step = open.length ? open[open.length - 1] : undefined;
      report.closeStep = step;
      const pendingToolNames = [...toolEntries, ...[...pendingTools].filter((r) => !seenToolCalls.has(r.tool?.callId ?? '')).map((r) => toolEntry(r, undefined))]
        .filter((t) => t.state === 'pending')
        .map((t) => t.tool?.name ?? '?');
      const ca = closeAwaits(step, act, pendingToolNames);
      closeNext = ca.next;
      const ct = safe(() => s.closingTask);
      const ps = ct ? insp.promiseState(ct) : undefined;
      push({ name: 'AgentSession.close', kind: 'close', state: closed ? 'done' : ps && ps !== 'pending' ? 'done' : 'pending', awaits: closed ? undefined : `${open.join(' → ') || 'closeImpl'}: ${ca.awaits}`, agent });
    }
    if (!act) continue;

    const listed = new Set<object>();
    const addTask = (t: any, field: string, kind: ParkedTask['kind']) => {
      if (!t || typeof t !== 'object' || listed.has(t)) return;
      listed.add(t);
      const rec = taskRecs.get(t);
      const info = getTaskInfo ? safe(() => getTaskInfo!(t)) : undefined;
      const state = taskState(t);
      const e: ParkedTask = { name: t.name ? `${field} (${t.name})` : field, kind, state, agent, ...fromRec(rec, state === 'pending') };
      const sp = speechOf(info?.speechHandle);
      if (sp) e.speech = sp;
      if (e.state === 'pending') {
        if (kind === 'mainTask') {
          const cur = safe(() => act._currentSpeech);
          const pending: any[] = safe(() => act.getDrainPendingSpeechTasks?.()) ?? [];
          if (cur && !safe(() => cur.done())) e.awaits = `generation of speech ${safe(() => cur.id) ?? '?'}${safe(() => cur.interrupted) ? ' (interrupted)' : ''}`;
          else if (safe(() => act.schedulingPaused) && pending.length) e.awaits = `drain-pending speech tasks: ${pending.map((p) => p?.name ?? '?').join(', ')}`;
          else e.awaits = 'q_updated (the next scheduled speech)';
        } else if (e.stack) e.awaits = awaitsFromStack(e.stack);
        else if (sp?.id) e.awaits = `speech ${sp.id}${sp.interrupted ? ' (interrupted)' : ''} (not deep-tracked)`;
      }
      push(e);
    };
    addTask(safe(() => act._mainTask), '_mainTask', 'mainTask');
    addTask(safe(() => act._onEnterTask), '_onEnterTask', 'onEnterTask');
    addTask(safe(() => act._onExitTask), '_onExitTask', 'onExitTask');
    const speechTasks = safe(() => act.speechTasks);
    if (speechTasks && typeof speechTasks[Symbol.iterator] === 'function') for (const t of speechTasks) addTask(t, 'speechTask', 'speechTask');
    const cur = safe(() => act._currentSpeech);
    if (cur) {
      const sp = speechOf(cur)!;
      push({ name: `_currentSpeech ${sp.id ?? '?'}`, kind: 'speech', state: sp.done ? (sp.interrupted ? 'cancelled' : 'done') : 'pending', speech: sp, agent });
    }
    for (const e of toolEntries) push({ ...e, agent });
    toolEntries.length = 0;
    if (live.length > 1) for (const t of mine()) t.session = live.indexOf(s);

    // The chain the close waits along, ending at the entry whose frames are the wedge.
    if (closing && !closed && closeNext) {
      const waits = ['AgentSession.close'];
      let last: ParkedTask | undefined;
      const ts = mine();
      if (closeNext === 'tool') last = ts.find((t) => t.kind === 'tool' && t.state === 'pending');
      else if (closeNext === '_onExitTask') last = ts.find((t) => t.kind === 'onExitTask');
      else if (closeNext === '_mainTask') {
        // mainTask exits once the drain-pending speech tasks are done (agent_activity.ts
        // mainTask); the one with suspension frames is user code that never returned.
        const main = ts.find((t) => t.kind === 'mainTask');
        if (main) waits.push(main.name);
        last = ts.find((t) => t.kind !== 'mainTask' && t.kind !== 'close' && t.kind !== 'speech' && t.state === 'pending' && t.stack) ?? ts.find((t) => t.kind === 'onEnterTask' && t.state === 'pending');
      }
      if (last) {
        waits.push(last.name);
        if (last.stack) report.stack = last.stack;
      }
      report.waits = waits;
    }
  }
  // Tool runs whose executor is gone (activity closed or unknown version): still pending work.
  for (const r of pendingTools) if (!seenToolCalls.has(r.tool?.callId ?? '') && !tasks.some((t) => t.tool?.callId && t.tool.callId === r.tool?.callId)) push(toolEntry(r, undefined));
  return report;
}
