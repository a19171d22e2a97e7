/**
 * What the report writers (issue.ts, html.ts, junit.ts) read out of a RunResult: the close
 * steps as spans, the activity-lock period, the Python parked capture trimmed, the 2007
 * evidence, the fix patches' commit messages. Pure functions over the results.json data;
 * only `readPatchInfo`/`workerLogTail` touch the disk.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ParkedReport, ParkedTask } from '../contract/parked.js';
import { RUNTIME_NAMES, type Runtime, type RunResult, type TimelineEntry } from '../contract/results.js';

export type { TimelineEntry } from '../contract/results.js';

/** A close step that started at `start` ms (relative to the hangup) and ended at `end` (null: never ended). */
export interface Span {
  name: string;
  start: number;
  end: number | null;
  error?: string;
}

const AGENTS_FRAME = /(^|\/)livekit\/agents\//;
// Decorator/instrumentation frames that say nothing about where a task waits.
const NOISE_FRAME = /(livekit\/agents\/utils\/log\.py:\d+ in async_fn_logs|closekit_shim\/instrument\.py|opentelemetry\/)/;
// Tasks that idle by design (queues, health checks, metrics): listed only by count.
const IDLE_TASK = /(utils\/aio\/channel\.py:\d+ in recv|proc_client\.py:\d+ in _self_health_check|stt\.py:\d+ in _metrics_monitor_task|tts\.py:\d+ in _metrics_monitor_task)$/;
const CLOSE_PATH = /(agent_session\.py:\d+ in (aclose|_aclose_impl|_aclose_locked|_teardown_activity)|agent_activity\.py:\d+ in (drain|_pause_scheduling_task|aclose|_drain_impl))/;

/** A frame line shortened for humans: stdlib paths from `pythonX.Y/`, the kit's agent shim from `closekit_shim/`. */
function shortFrame(line: string): string {
  const m = /(?:lib\/python\d+\.\d+\/|python-shim\/)(.*)$/.exec(line);
  return m ? m[1]! : line;
}

/**
 * The tasks of a Python capture that matter for the hang, each stack trimmed to the
 * livekit-agents frames, plus the agent code under test (the kit's shim: where the wedge
 * parks, marked `(agent code)`) and the innermost frame when it is outside the package
 * (what the task finally awaits). Decorator and instrumentation frames are dropped.
 * Order: the close path (AgentSession.aclose → drain → _pause_scheduling_task) first, then
 * tasks parked in agent code, then the other voice tasks; tasks idling on a queue/health
 * check are left out (count them with `p.tasks.length`).
 */
export function agentsTasks(p: ParkedReport, max = 8): ParkedTask[] {
  const rank = (t: ParkedTask) =>
    (t.stack ?? []).some((l) => CLOSE_PATH.test(l)) ? 0 : (t.stack ?? []).some((l) => l.includes('closekit_shim/') && !NOISE_FRAME.test(l)) ? 1 : (t.stack ?? []).some((l) => l.includes('livekit/agents/voice/')) ? 2 : 3;
  return p.tasks
    .filter((t) => (t.stack ?? []).some((l) => AGENTS_FRAME.test(l)) && !IDLE_TASK.test(t.stack?.at(-1) ?? ''))
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, max)
    .map((t) => {
      const frames: string[] = [];
      const stack = t.stack ?? [];
      stack.forEach((l, i) => {
        if (NOISE_FRAME.test(l)) return;
        if (AGENTS_FRAME.test(l)) frames.push(l.replace(/^.*?(livekit\/agents\/)/, '$1'));
        else if (l.includes('closekit_shim/')) frames.push(`${shortFrame(l)}  (agent code)`);
        else if (i === stack.length - 1) frames.push(`${shortFrame(l)}  (awaits)`);
      });
      return { ...t, stack: frames };
    });
}

/**
 * The run's close steps as spans: `drain`, `activity.close` and every `activity.step.*`
 * (by `data.step`), paired start→end in order. A start without an end is a span with
 * `end: null` (the close is parked inside it).
 */
export function closeSpans(timeline: TimelineEntry[]): Span[] {
  const open = new Map<string, Span[]>();
  const spans: Span[] = [];
  const startOf = (name: string, t: number) => {
    const s: Span = { name, start: t, end: null };
    spans.push(s);
    open.set(name, [...(open.get(name) ?? []), s]);
  };
  const endOf = (name: string, t: number, error?: unknown) => {
    const list = open.get(name) ?? [];
    const s = list.shift();
    if (s) {
      s.end = t;
      if (error) s.error = String(error);
    } else {
      spans.push({ name, start: t, end: t, ...(error ? { error: String(error) } : {}) });
    }
  };
  for (const e of timeline) {
    if (e.runtime === 'gateway' || e.runtime === 'kit') continue;
    const step = typeof e.data?.step === 'string' ? e.data.step : null;
    if (e.ev === 'drain.start') startOf('drain', e.t);
    else if (e.ev === 'drain.end') endOf('drain', e.t, e.data?.error);
    else if (e.ev === 'activity.close.start') startOf('activity.close', e.t);
    else if (e.ev === 'activity.close.end') endOf('activity.close', e.t, e.data?.error);
    else if (e.ev === 'activity.step.start' && step) startOf(step, e.t);
    else if (e.ev === 'activity.step.end' && step) endOf(step, e.t, e.data?.error);
  }
  return spans;
}

/**
 * When the activity lock is held during the close: drain.start → drain.end (the drain runs
 * under the lock; activity.close queues behind it). `end: null` = never released before
 * the run ended.
 */
export function lockSpans(timeline: TimelineEntry[]): Span[] {
  return closeSpans(timeline).filter((s) => s.name === 'drain').map((s) => ({ ...s, name: 'activity lock' }));
}

/** Events that carry the 2007 idle-close story after the hangup: stt.error/stt.reconnect and gateway closes that sent 2007. */
export function idleEvidence(r: RunResult): TimelineEntry[] {
  return r.timeline.filter(
    (e) =>
      e.t >= 0 &&
      (e.ev === 'stt.error' ||
        e.ev === 'stt.reconnect' ||
        (e.ev === 'socket.close' && Array.isArray(e.data?.errorsSent) && (e.data.errorsSent as unknown[]).includes(2007)) ||
        (e.ev === 'socket.open' && e.data?.kind === 'stt')),
  );
}

/** The time (ms after hangup) of the latest `parked` event, or null. */
export function parkedAt(r: RunResult): number | null {
  return r.timeline.filter((e) => e.ev === 'parked').at(-1)?.t ?? null;
}

/** Run dir of one run inside a run's report dir: runs/<scenario>.<runtime>.<variant>. */
export function runSubdir(runDir: string, r: RunResult): string {
  const withVersion = join(runDir, 'runs', `${r.scenario}.${r.runtime}-${r.runtimeVersion}.${r.variant}`);
  // Results written before the version axis named the folder without the version.
  return existsSync(withVersion) ? withVersion : join(runDir, 'runs', `${r.scenario}.${r.runtime}.${r.variant}`);
}

/**
 * Last `lines` lines of the run's worker log (`js-worker.log` / `py-worker.log`), compacted:
 * JSON log lines become `LEVEL message key=value…` without pid/time/host noise, each line cut
 * at `width` chars. Null when the log is not on disk. Not redacted: the caller redacts.
 */
export function workerLogTail(runDir: string, r: RunResult, lines = 40, width = 320): string | null {
  const candidates = [join(runSubdir(runDir, r), 'logs', `${r.runtime}-worker.log`), join(r.logsDir ?? '', `${r.runtime}-worker.log`)];
  const file = candidates.find((f) => f && existsSync(f));
  if (!file) return null;
  const all: string[] = [];
  let inDump = false;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    // The worker's own SIGUSR2 task dump (python-shim instrument.py) repeats the parked
    // capture the report already shows; leave it out of the tail.
    if (l.startsWith('[closekit] task ')) {
      inDump = true;
      continue;
    }
    if (inDump && /^\s/.test(l)) continue;
    inDump = false;
    all.push(l);
  }
  return all
    .slice(-lines)
    .map((l) => compactLogLine(l))
    .map((l) => (l.length > width ? l.slice(0, width) + ' …' : l))
    .join('\n');
}

const PINO_LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const NOISE_KEYS = new Set(['exc_info', 'level', 'time', 'timestamp', 'pid', 'hostname', 'msg', 'message', 'name', 'jobID', 'job_id', 'room_id', 'agent_name', 'v']);

/** One JSON log line (pino or livekit-agents' JSON formatter) as `LEVEL message k=v`. */
export function compactLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof o.level === 'number' ? (PINO_LEVELS[o.level] ?? String(o.level)) : String(o.level ?? '');
  const raw = String(o.msg ?? o.message ?? '');
  // Tracebacks: keep the head and the exception line, which say what failed.
  const mlines = raw.split('\n');
  const msg = mlines.length > 4 ? `${mlines[0]} ⏎ … ${mlines.length - 2} traceback lines … ⏎ ${mlines.at(-1)}` : mlines.join(' ⏎ ');
  const rest = Object.entries(o)
    .filter(([k]) => !NOISE_KEYS.has(k) && !k.startsWith('code.'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${level.padEnd(5)} ${msg}${rest ? '  ' + rest : ''}`;
}

/** A fix patch as the reports present it. */
export interface PatchInfo {
  /** 'agents-js' | 'agents' (the folder under patches/). */
  upstream: string;
  /** File name, e.g. 0001-bound-forced-session-close.patch. */
  file: string;
  /** Path relative to the report dir: patches/<upstream>/<file>. */
  rel: string;
  subject: string;
  /** The commit message body (after the Subject, before the `---` diffstat). */
  body: string;
  /** The diffstat lines. */
  diffstat: string[];
}

/** Parse a `git format-patch` file's Subject, message body and diffstat. */
export function parsePatch(text: string): { subject: string; body: string; diffstat: string[] } {
  const lines = text.split('\n');
  const si = lines.findIndex((l) => l.startsWith('Subject:'));
  let subject = si >= 0 ? lines[si]!.replace(/^Subject:\s*/, '') : '';
  let i = si + 1;
  // RFC 822 folding: continuation lines start with whitespace.
  while (si >= 0 && i < lines.length && /^\s+\S/.test(lines[i]!)) subject += ' ' + lines[i++]!.trim();
  subject = subject.replace(/^\[PATCH[^\]]*\]\s*/, '');
  while (i < lines.length && lines[i]!.trim() === '') i++;
  const end = lines.findIndex((l, j) => j >= i && l === '---');
  const body = lines.slice(i, end < 0 ? undefined : end).join('\n').trim();
  const diffstat: string[] = [];
  if (end >= 0) for (let j = end + 1; j < lines.length && lines[j]!.startsWith(' '); j++) diffstat.push(lines[j]!.trim());
  return { subject, body, diffstat };
}

/** Every `*.patch` of patches/<upstream>/, sorted, parsed. Empty when the folder is missing. */
export function readPatchInfo(patchesDir: string, upstream: string): PatchInfo[] {
  const dir = join(patchesDir, upstream);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => ({ upstream, file: basename(f), rel: `patches/${upstream}/${f}`, ...parsePatch(readFileSync(join(dir, f), 'utf8')) }));
}

/** Split a commit message into paragraphs (blank-line separated). */
export function paragraphs(body: string): string[] {
  return body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
}

/** Upstream names per runtime. */
export const UPSTREAM = {
  js: {
    repo: 'livekit/agents-js',
    pkg: RUNTIME_NAMES.js.package,
    patches: 'agents-js',
    envKey: 'agentsJs',
    label: RUNTIME_NAMES.js.long,
    short: RUNTIME_NAMES.js.short,
    issueFile: 'issue-agents-js.md',
    /** How the bundle's README says to apply the patches. */
    applyNote: (version: string) =>
      `Written against \`@livekit/agents@${version}\` (npm). Paths are upstream's (\`agents/src/voice/...\`): \`git am\` at the livekit/agents-js root on the \`@livekit/agents@${version}\` tag. closekit applies them to the installed package with \`git apply -p2 --include='agents/src/*'\` and rebuilds the touched dist files.`,
  },
  py: {
    repo: 'livekit/agents',
    pkg: RUNTIME_NAMES.py.package,
    patches: 'agents',
    envKey: 'agentsPy',
    label: RUNTIME_NAMES.py.long,
    short: RUNTIME_NAMES.py.short,
    issueFile: 'issue-agents.md',
    applyNote: (version: string) =>
      `Written against \`livekit-agents==${version}\` (PyPI). Paths are upstream's (\`livekit-agents/livekit/agents/voice/...\`): \`git am\` at the livekit/agents root on the \`livekit-agents@${version}\` tag. closekit applies them to the venv's site-packages with \`git apply -p2 --include='livekit-agents/livekit/*'\`.`,
  },
} as const satisfies Record<Runtime, unknown>;

/** Format ms as `1234 ms` or `-`. */
export const fmtMs = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : `${Math.round(ms)} ms`);
