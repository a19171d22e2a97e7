/**
 * issue-agents-js.md / issue-agents.md: GitHub-flavoured markdown an upstream maintainer can
 * read without the kit: summary, exact environment, the scenario × variant matrix, per hang
 * the timeline excerpt and the parked capture, the one command that reproduces it, the fix
 * (from the patch's own commit message) and the worker log tails in <details>.
 *
 * Every dynamic string goes through the redactor here, in the form its markdown context
 * needs (`<ip>` would vanish as an HTML tag in running text, so text cells get entities,
 * code spans and fences keep the brackets); index.ts then redacts the whole file once more.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { socketsOutlivedClose, type GateOutcome, type Runtime, type RunResult, type Variant } from '../contract/results.js';
import type { ResultsFile } from './results.js';
import type { Redactor } from './redact.js';
import {
  UPSTREAM,
  agentsTasks,
  closeSpans,
  fmtMs,
  idleEvidence,
  paragraphs,
  parkedAt,
  runSubdir,
  workerLogTail,
  type PatchInfo,
  type TimelineEntry,
} from './model.js';

export interface IssueContext {
  /** The run's raw dir (.kit/runs/<id>): where runs/<scenario>.<runtime>.<variant>/ live. */
  runDir: string;
  /** The fix patches for this upstream, parsed (model.ts readPatchInfo). */
  patches: PatchInfo[];
  redact: Redactor;
  /** The attachments a maintainer drags in (file names under attachments/), when written. */
  attachments?: { zip: string | null; pngs: Record<string, string> };
  /** Body budget, characters (default ISSUE_BODY_LIMIT). */
  limit?: number;
}

/** The matrix release a run stands for (older results: its runtime version). */
const baselineOf = (r: RunResult) => r.baselineVersion ?? r.runtimeVersion;

/** GitHub's issue/comment body limit is 65,536 characters; keep a margin for a maintainer's own words. */
export const ISSUE_BODY_LIMIT = 60_000;

export interface IssueParts {
  body: string;
  /** Markdown that did not fit the body (full hang sections), or null. */
  details: string | null;
}

/**
 * Places the hang sections into the body within the budget: all full; else all compact
 * (no log tails, no 2007 table); else the compact ones that fit, in order. The full
 * sections of everything shortened or left out go to the details, which the body names.
 * A head too long on its own is cut at the budget (the details then carry everything).
 */
function fitBudget(head: string, sections: Array<{ full: string; compact: string }>, fullFix: string, shortFix: string, ctx: IssueContext, detailsFile: string): IssueParts {
  const limit = ctx.limit ?? ISSUE_BODY_LIMIT;
  const join = (parts: string[]) => parts.filter(Boolean).join('\n') + '\n';
  const all = join([head, ...sections.map((x) => x.full), fullFix]);
  if (all.length <= limit) return { body: all, details: null };
  const where = ctx.attachments?.zip ? `\`${detailsFile}\` inside \`attachments/${ctx.attachments.zip}\`` : `\`${detailsFile}\` next to this file`;
  const pointer = (n: number, left: number) =>
    `> **Shortened to fit GitHub's limit.** ${left ? `${left} more hang section(s) and the` : 'The'} full sections (${n} in all, with the worker log tails and the 2007 evidence) are in ${where}.\n`;
  const details = `# Hang sections in full\n\n${sections.map((x) => x.full).join('\n')}\n`;
  for (const fix of [fullFix, shortFix]) {
    const compact = join([head, pointer(sections.length, 0), ...sections.map((x) => x.compact), fix]);
    if (compact.length <= limit) return { body: compact, details };
  }
  const kept: string[] = [];
  let size = join([head, pointer(sections.length, sections.length), shortFix]).length;
  for (const x of sections) {
    if (size + x.compact.length + 1 > limit) break;
    kept.push(x.compact);
    size += x.compact.length + 1;
  }
  const body = join([head, pointer(sections.length, sections.length - kept.length), ...kept, shortFix]);
  if (body.length <= limit) return { body, details };
  const cut = `\n\n> **Cut at ${limit} characters.** The whole text is in ${where}.\n`;
  return { body: body.slice(0, limit - cut.length) + cut, details: `${body}\n${details}` };
}

/** The file the overflow of issue-<upstream>.md goes to (next to it, and inside the attachments zip). */
export function detailsFileOf(runtime: Runtime): string {
  return UPSTREAM[runtime].issueFile.replace(/\.md$/, '-details.md');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A code span that survives backticks inside. */
function code(s: string): string {
  const ticks = s.includes('`') ? '``' : '`';
  return `${ticks}${ticks === '``' ? ' ' : ''}${s}${ticks === '``' ? ' ' : ''}${ticks}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
function fence(body: string, lang = 'text'): string {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${body}\n${f}`;
}

/** Table cell: redacted, HTML-escaped, pipes escaped, one line. */
function cell(r: Redactor, s: string): string {
  return esc(r(s)).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * Join a commit message paragraph's hard-wrapped lines (GitHub renders every newline of an
 * issue body as a break); list items stay on their own lines.
 */
export function unwrap(para: string): string {
  return para.split('\n').reduce((acc, line) => {
    const l = line.trim();
    if (!acc) return l;
    return /^([-*+]|\d+[.)])\s/.test(l) ? `${acc}\n${l}` : `${acc} ${l}`;
  }, '');
}

/** Compact `k=v` rendering of an event's data for a table cell. */
export function eventDetail(data: Record<string, unknown> | undefined, width = 110): string {
  if (!data) return '';
  const s = Object.entries(data)
    .filter(([k]) => !['agentsDir', 'agentsRoot', 'metadata'].includes(k))
    // A Python parked capture carries every task's stack: the section below shows them.
    .map(([k, v]) => (k === 'tasks' && Array.isArray(v) ? `tasks=${v.length} captured` : `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`))
    .join(' ');
  return s.length > width ? s.slice(0, width) + '…' : s;
}

const arrow = (a: string | undefined, b: string | undefined) => (a === undefined ? (b ?? '-') : b === undefined ? a : a === b ? a : `${a} → ${b}`);

function sttErrors(r: RunResult): string {
  const codes = r.sttErrorsAfterHangup.map((e) => (e.code === null || e.code === undefined ? (e.aborted ? 'aborted' : 'no code') : String(e.code)));
  return codes.length ? `${codes.length} (${codes.join(', ')})` : '0';
}

function scenarioSpec(runDir: string, r: RunResult): { description?: string; gateway?: { stt?: { idleCloseMs?: number } }; caller?: { kind?: string }; close?: { trigger?: string } } | null {
  const f = join(runSubdir(runDir, r), 'scenario.json');
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8'));
  } catch {
    return null;
  }
}

/** What requested the closes of `runs`, in words: the caller's hangup, the agent's own end-call tool, or both. */
function closeCauses(runs: RunResult[], ctx: IssueContext): string {
  const byTool = runs.filter((r) => scenarioSpec(ctx.runDir, r)?.close?.trigger === 'agent-tool').length;
  const hangup = 'the caller hangs up and `closeOnDisconnect` fires';
  const tool = "the agent's own end-call tool closes the session, deletes the room or shuts the job down";
  return byTool === 0 ? hangup : byTool === runs.length ? tool : `${hangup}, or ${tool}`;
}

/** Where a hung close is parked, from the run's own capture: `parked.open` innermost, else `parkedAfter`. */
export function parkedStep(r: RunResult): string | null {
  const p = r.parked;
  return p?.open.at(-1) ?? r.parkedAfter ?? null;
}

function timelineTable(red: Redactor, events: TimelineEntry[]): string {
  const rows = events.map((e) => `| ${e.t.toFixed(1)} | ${cell(red, e.runtime ?? '')} | ${code(red(e.ev))} | ${cell(red, eventDetail(e.data))} |`);
  return ['| t (ms after hangup) | from | event | data |', '|---:|---|---|---|', ...rows].join('\n');
}

/**
 * The markdown for one upstream. `runtime` picks the runs ('js' → livekit/agents-js,
 * 'py' → livekit/agents). Never throws for missing optional data (logs, scenario.json,
 * parked capture): those sections say what is missing instead.
 */
/**
 * One hang's section: verdict, open steps, the timeline to the parked capture, where it is
 * parked, and (unless `compact`) the 2007 evidence and the worker log tail.
 */
function hangSection(r: RunResult, runtime: Runtime, ctx: IssueContext, get: (s: string, v: Variant, version?: string) => RunResult | undefined, compact: boolean, reproCmd: (r: RunResult) => string): string {
  const red = ctx.redact;
  const out: string[] = [];
  const step = parkedStep(r);
  const outlived = socketsOutlivedClose(r);
  const open = r.sockets.filter((s) => s.closedAt === null);
  const openKinds = [...new Set(open.map((s) => s.kind))].join(', ');
  out.push(
    outlived
      ? `## Hang: ${code(r.scenario)}${r.variant === 'patched' ? ' (patched)' : ''}: the session closed, but ${r.openSocketsAfterClose} provider socket(s) (${openKinds}) outlived the close`
      : `## Hang: ${code(r.scenario)}${r.variant === 'patched' ? ' (patched!)' : ''}: parked in ${step ? code(red(step)) : 'an unknown step'}`,
  );
  out.push('');
  const spec = scenarioSpec(ctx.runDir, r);
  if (spec?.description) {
    out.push(`> ${esc(red(spec.description.trim())).replace(/\n/g, '\n> ')}`);
    out.push('');
  }
  out.push(fence(reproCmd(r), 'sh'));
  out.push('');
  out.push(`Verdict: **${r.verdict}** (${cell(red, r.reason)}), taken ${fmtMs(r.hangupToVerdictMs)} after the hangup (for an agent-initiated close: after its close request); ${r.openSocketsAfterClose} provider socket(s) open at that point.`);
  out.push('');
  const spans = closeSpans(r.timeline).filter((s) => s.start >= 0);
  const never = spans.filter((s) => s.end === null);
  if (never.length) {
    out.push(`Close steps started and never finished: ${never.map((s) => `${code(red(s.name))} (since ${s.start.toFixed(0)} ms)`).join(', ')}.`);
    out.push('');
  }
  const pAt = parkedAt(r);
  const until = pAt ?? r.hangupToVerdictMs ?? Infinity;
  const excerpt = r.timeline.filter((e) => e.t >= 0 && e.t <= until && !(e.ev === 'parked' && e.t !== pAt));
  out.push(`### Timeline: hangup → ${pAt !== null ? 'parked capture' : 'verdict'}`);
  out.push('');
  const png = ctx.attachments?.pngs[r.scenario];
  if (png) {
    out.push(`_Picture of this scenario's timelines (unpatched and patched, both runtimes): \`${png}\` in \`attachments/\`; drag it into the issue._`);
    out.push('');
  }
  out.push(timelineTable(red, excerpt));
  out.push('');
  const parked = r.parked;
  out.push(outlived ? '### What is still open' : '### Where it is parked');
  out.push('');
  if (outlived) {
    out.push(`The close event fired ${fmtMs(r.closeMs)} after the ${r.closeRequestMs !== null && r.closeMs === r.closeRequestMs ? 'close request' : 'hangup'}; at the verdict these provider sockets of the worker were still open (the gateway's ledger):`);
    out.push('');
    out.push('| socket | kind | opened (ms after the hangup) |');
    out.push('|---|---|---|');
    for (const so of open) out.push(`| ${code(red(so.id))} | ${so.kind} | ${Math.round(so.openedAt)} |`);
  } else if (!parked) {
    out.push(`No live capture (the job process did not answer SIGUSR2 before the verdict). The last worker event/open step: ${code(red(r.parkedAfter ?? 'unknown'))}.`);
  } else {
    out.push(`Captured from the live job process${parked.sinceCloseMs !== null ? ` ${parked.sinceCloseMs} ms after the close was requested` : ''} (SIGUSR2).`);
    out.push(`Open close steps, outermost first: ${parked.open.length ? parked.open.map((s) => code(red(s))).join(' → ') : '_none reported_'}.`);
    const tasks = agentsTasks(parked);
    if (tasks.length) {
      out.push('');
      out.push(`asyncio tasks that matter (${tasks.length} of ${parked.tasks.length} live tasks; tasks idling on a queue left out; stacks trimmed to the \`livekit/agents\` frames plus the agent code under test, outermost first):`);
      out.push('');
      out.push(fence(tasks.map((t) => `task ${t.name} (${t.coro})\n${(t.stack ?? []).map((l) => '    ' + l).join('\n')}`).map(red).join('\n\n')));
    }
  }
  out.push('');
  const after = compact ? [] : idleEvidence(r).filter((e) => e.t > until);
  if (after.length) {
    out.push('### After the verdict: the orphaned STT socket and code 2007');
    out.push('');
    out.push(timelineTable(red, after));
    out.push('');
  }
  const p = r.variant === 'unpatched' ? get(r.scenario, 'patched', baselineOf(r)) : undefined;
  if (p) {
    out.push(
      `**Patched:** ${p.verdict}${p.closeMs !== null ? ` in ${Math.round(p.closeMs)} ms` : ''}, ${p.openSocketsAfterClose} socket(s) open after close, ` +
        `${p.sockets.filter((s) => s.closedBy === 'client' && (s.closedAt ?? -1) >= 0).length} socket(s) closed by the worker itself after the hangup.`,
    );
    out.push('');
  }
  const tail = compact ? null : workerLogTail(ctx.runDir, r);
  if (tail) {
    out.push(`<details><summary>${runtime}-worker.log, last ${tail.split('\n').length} lines (compacted, redacted)</summary>`);
    out.push('');
    out.push(fence(red(tail)));
    out.push('');
    out.push('</details>');
    out.push('');
  }
  return out.join('\n');
}

/**
 * The upstream issue body for one runtime, at most ISSUE_BODY_LIMIT characters (GitHub
 * refuses bodies over 65,536): the summary, environment, results and reproduce sections,
 * the hang sections that fit, and the fix. What does not fit goes to `issueDetails` (the
 * details file in the attachments zip) and the body names that file.
 */
export function renderIssue(runtime: Runtime, res: ResultsFile, ctx: IssueContext): string {
  return renderIssueParts(runtime, res, ctx).body;
}

/** renderIssue, plus the details that did not fit the body (null when everything did). */
export function renderIssueParts(runtime: Runtime, res: ResultsFile, ctx: IssueContext): IssueParts {
  const up = UPSTREAM[runtime];
  const red = ctx.redact;
  const runs = res.runs.filter((r) => r.runtime === runtime);
  const version = runs[0]?.runtimeVersion ?? res.env[up.envKey] ?? '?';
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  // Runs pair by the matrix release they stand for: a candidate checkout's own version differs.
  const primary = runs[0] ? baselineOf(runs[0]) : version;
  const get = (s: string, v: 'unpatched' | 'patched', ver: string = primary) =>
    runs.find((r) => r.scenario === s && r.variant === v && baselineOf(r) === ver) ??
    // a scenario this run has only at other releases: its first (the Versions table has the rest)
    (ver === primary ? runs.find((r) => r.scenario === s && r.variant === v) : undefined);
  const pinned = res.env[up.envKey];
  const reproCmd = (r: RunResult) => `node bin/kit.mjs repro -r ${runtime} -s ${r.scenario}${baselineOf(r) !== pinned ? ` --${runtime}-version ${baselineOf(r)}` : ''}`;
  const hangs = runs.filter((r) => r.verdict === 'hang');
  const unpatchedHangs = hangs.filter((r) => r.variant === 'unpatched');
  const patchedRuns = runs.filter((r) => r.variant === 'patched');
  const out: string[] = [];

  out.push(`# Forced \`AgentSession\` close can wait forever after the caller hangs up, leaving the inference STT/TTS websockets open (${up.pkg} ${esc(version)})`);
  out.push('');
  out.push(`_Generated by closekit from run ${code(red(res.runId))} (${esc(res.command)}, ${esc(res.finishedAt)}). Every figure below comes from that run's results.json._`);
  out.push('');
  if (ctx.attachments?.zip) {
    const n = Object.keys(ctx.attachments.pngs).length;
    out.push(`_Attachments (in \`attachments/\`, drag them in): \`${ctx.attachments.zip}\`, the redacted report folder (report.html, results.json, timelines, logs)${n ? `, and ${n} timeline picture(s) named in the hang sections` : ''}._`);
    out.push('');
  }

  // ---- summary
  out.push('## Summary');
  out.push('');
  if (!runs.length) {
    out.push(`This run has no ${up.label} runs. Run \`node bin/kit.mjs verify -r ${runtime}\` to produce them.`);
    return { body: out.join('\n') + '\n', details: null };
  }
  const unpatched = runs.filter((r) => r.variant === 'unpatched');
  const neverClosed = unpatchedHangs.filter((r) => !socketsOutlivedClose(r));
  const outlived = unpatchedHangs.filter(socketsOutlivedClose);
  if (neverClosed.length) {
    const where = [...new Set(neverClosed.map((r) => parkedStep(r) ?? 'unknown'))].map((w) => code(red(w))).join(', ');
    const sockets = Math.max(...neverClosed.map((r) => r.openSocketsAfterClose));
    const idle = neverClosed.reduce((n, r) => n + r.idleErrorsAfterHangup, 0);
    const reconnects = neverClosed.reduce((n, r) => n + r.gatewayReconnects, 0);
    out.push(
      `On ${code(`${up.pkg}@${version}`)}, a forced \`AgentSession\` close (${closeCauses(neverClosed, ctx)}) never completes in ` +
        `**${neverClosed.length} of ${unpatched.length}** scenarios: ${neverClosed.map((r) => code(r.scenario)).join(', ')}. ` +
        `The session's close event is never emitted; the close is parked in ${where}, so the activity's STT/TTS teardown never runs and ` +
        `up to ${sockets} inference websocket(s) stay open after the hangup. When the gateway then closes the idle STT socket with code 2007 ` +
        `(${idle} such close(s) in these runs), the STT stream ${reconnects ? `reconnects (${reconnects} new STT socket(s) after the hangup)` : 'reports the error but no session is left to act on it'}.`,
    );
  }
  if (outlived.length) {
    if (neverClosed.length) out.push('');
    out.push(
      `In **${outlived.length} of ${unpatched.length}** scenarios (${outlived.map((r) => code(r.scenario)).join(', ')}) the session's close event fires, ` +
        `but provider sockets outlive the close: ${outlived.map((r) => `${code(r.scenario)}: ${cell(red, r.reason)}`).join('; ')}.`,
    );
  }
  if (!unpatchedHangs.length) {
    out.push(`No unpatched ${up.label} run hung in this run (${unpatched.length} unpatched run(s)).`);
  }
  out.push('');
  if (patchedRuns.length) {
    const closed = patchedRuns.filter((r) => r.verdict === 'closed');
    // the span the fix bounds: close requested → close event (the hangup is not the zero of an agent-initiated close)
    const ms = closed.map((r) => r.closeRequestMs ?? r.closeMs).filter((x): x is number => x != null);
    const range = ms.length ? `${Math.round(Math.min(...ms))}–${Math.round(Math.max(...ms))} ms` : '-';
    const left = patchedRuns.reduce((n, r) => n + r.openSocketsAfterClose, 0);
    const cand = res.candidates?.[runtime];
    const foreign = cand && cand.kind !== 'patches';
    const what = foreign ? `With the candidate fix (${esc(red(cand.label))})` : 'With the fix below applied to the same installed package';
    out.push(
      `${what}, **${closed.length} of ${patchedRuns.length}** scenarios close ` +
        `(close event ${range} after the close request) and ${left === 0 ? 'no provider socket stays open' : `${left} provider socket(s) still stay open`}.`,
    );
    out.push('');
    const uncured = patchedRuns.filter((r) => r.matched && r.verdict === 'hang');
    if (uncured.length) {
      out.push(
        `**Not cured by this fix (expected, and what else is needed):** ` +
          uncured.map((r) => `${code(r.scenario)} stays hang (${cell(red, r.reason)})${r.uncured ? `: ${cell(red, r.uncured.replace(/\.\s*$/, ''))}` : ''}`).join('; ') + '.',
      );
      out.push('');
    }
    const missed = patchedRuns.filter((r) => !r.matched);
    if (missed.length) {
      out.push(
        `**The ${foreign ? 'candidate' : 'fix'} did not fix ${missed.length === patchedRuns.length ? 'it' : `${missed.length} of them`}:** ` +
          missed.map((r) => `${code(r.scenario)} is ${r.verdict}${r.verdict === 'hang' ? ` (parked in ${code(red(parkedStep(r) ?? '?'))})` : ''}, expected ${r.expected}`).join('; ') + '.',
      );
      out.push('');
    }
  }

  // ---- environment
  out.push('## Environment');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  const envRows: Array<[string, string | null | undefined]> = [
    [up.pkg, version],
    ['patched variant', res.candidates?.[runtime] ? red(res.candidates[runtime]!.label) : null],
    ['worker', (() => {
      const w = runs.find((r) => r.worker)?.worker;
      return w ? (w.mode === 'container' ? `container ${w.image} (image ${w.imageId?.slice(0, 12)})` : `${w.mode} on the host`) : null;
    })()],
    ['closekit commit', res.env.kitCommit],
    ['livekit-server', res.env.livekitServer],
    ['livekit-sip', res.env.livekitSip],
    ['Node.js', res.env.node],
    ['Python', res.env.python ?? res.env.py ?? null],
    ['OS', res.env.os],
    ['network', res.env.network ?? runs[0]?.network],
  ];
  for (const [k, v] of envRows) if (v) out.push(`| ${cell(red, k)} | ${code(red(String(v)))} |`);
  for (const [k, v] of Object.entries(res.env)) {
    if (v && !['kitCommit', 'livekitServer', 'livekitSip', 'agentsJs', 'agentsPy', 'node', 'python', 'py', 'os', 'network'].includes(k)) out.push(`| ${cell(red, k)} | ${code(red(String(v)))} |`);
  }
  out.push('');
  const spec0 = scenarioSpec(ctx.runDir, runs[0]!);
  const idleMs = spec0?.gateway?.stt?.idleCloseMs;
  out.push(
    `The stack is real and local: livekit-server, a ${up.label} worker on the pinned package, a WebRTC (or SIP via livekit-sip) caller, ` +
      `and closekit's stand-in for the LiveKit Inference gateway, which speaks the STT/TTS/LLM wire protocol the package's own clients use and sends the idle close (code 2007)` +
      `${idleMs ? ` after ${Math.round(idleMs / 1000)} s instead of ~30 min` : ''}. The worker's hooks are wrapped at runtime to emit the timeline; the package files are only changed by the fix patch in the patched variant.`,
  );
  out.push('');

  // ---- matrix
  out.push('## Results');
  out.push('');
  out.push('Verdicts are unpatched → patched. "sockets open" counts the worker\'s provider websockets still open when the verdict was taken; the 2007 columns show what happened to the orphaned STT socket afterwards.');
  out.push('');
  out.push('| scenario | caller | expected | verdict | close (ms after hangup) | sockets open after close | 2007 idle closes | STT reconnects after hangup | STT errors after hangup |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of scenarios) {
    const u = get(s, 'unpatched');
    const p = get(s, 'patched');
    const any = (u ?? p)!;
    const mark = (r: RunResult | undefined) => (r ? (r.matched ? r.verdict : `${r.verdict} (expected ${r.expected})`) : undefined);
    const verdict = arrow(u && (u.verdict === 'hang' ? `**${mark(u)}**` : mark(u)), p && mark(p));
    out.push(
      `| ${code(s)} | ${cell(red, any.caller)} | ${arrow(u?.expected, p?.expected)} | ${verdict} | ${arrow(u && (u.closeMs === null ? 'never' : String(Math.round(u.closeMs))), p && (p.closeMs === null ? 'never' : String(Math.round(p.closeMs))))} | ` +
        `${arrow(u && String(u.openSocketsAfterClose), p && String(p.openSocketsAfterClose))} | ${arrow(u && String(u.idleErrorsAfterHangup), p && String(p.idleErrorsAfterHangup))} | ` +
        `${arrow(u && String(u.gatewayReconnects), p && String(p.gatewayReconnects))} | ${arrow(u && sttErrors(u), p && sttErrors(p))} |`,
    );
  }
  out.push('');

  // ---- the version axis: one row per release when the run covered several
  const versions = [...new Set(runs.map((r) => r.runtimeVersion))];
  if (versions.length > 1) {
    out.push('## Versions');
    out.push('');
    out.push(`Unpatched verdicts per release (\`unsupported\`: the kit cannot drive that release, with the reason in results.json; never a verdict on the bug).`);
    out.push('');
    out.push(`| ${up.pkg} | ${scenarios.map((s) => code(s)).join(' | ')} |`);
    out.push(`|---|${scenarios.map(() => '---').join('|')}|`);
    for (const v of versions) {
      const cells = scenarios.map((s) => runs.find((r) => r.scenario === s && r.runtimeVersion === v && r.variant === 'unpatched')?.verdict ?? '-');
      out.push(`| ${esc(v)} | ${cells.map((c) => (c === 'hang' ? '**hang**' : c)).join(' | ')} |`);
    }
    out.push('');
    const fixups = [...new Set(runs.flatMap((r) => r.installNotes ?? []))];
    if (fixups.length) {
      out.push(`Fix-ups the kit applied to drive these releases: ${fixups.map((f) => esc(red(f))).join('; ')}.`);
      out.push('');
    }
  }
  if (res.bisect?.[runtime]) {
    const b = res.bisect[runtime]!;
    out.push(`**Bisect** (${code(b.scenario)}, ${b.steps.length} runs over ${b.candidates} releases): ${esc(b.summary)}`);
    out.push('');
  }

  // ---- reproduce
  out.push('## Reproduce');
  out.push('');
  out.push('From a closekit checkout (`make setup` once; it installs livekit-server, the pinned package and the rest into `.kit/`):');
  out.push('');
  const cmds = [...new Set((unpatchedHangs.length ? unpatchedHangs : unpatched).map(reproCmd))];
  if (cmds.length) out.push(fence([...new Set(cmds)].join('\n'), 'sh'));
  out.push('');
  out.push(`\`node bin/kit.mjs verify -r ${runtime} -s <scenario>\` runs the same scenario unpatched and with the patch below.`);
  out.push('');

  // ---- per hang: placed by fitBudget below
  // ---- fix
  const fix: string[] = [];
  const fixOut = fix;
  fixOut.push('## Fix');
  fixOut.push('');
  if (!ctx.patches.length) {
    const cand = res.candidates?.[runtime];
    fix.push(cand && cand.kind !== 'patches' ? `The patched variant ran a maintainer's candidate, not closekit's patch: ${esc(red(cand.label))}.` : `No patch in \`patches/${up.patches}/\`.`);
  }
  for (const pt of ctx.patches) {
    fix.push(`### [${esc(pt.subject)}](${pt.rel})`);
    fix.push('');
    const paras = paragraphs(pt.body);
    // The problem statement and the fix: the first paragraph plus the ones that start the
    // "Fix:" and "Invariant:" sections (with their bullet lists); the rest in <details>.
    const keyIdx = new Set<number>([0]);
    paras.forEach((p, i) => {
      if (/^(Root cause|Fix|Invariant)\b/i.test(p)) keyIdx.add(i);
      if (i > 0 && /^(Root cause|Fix)\b/i.test(paras[i - 1]!) && /^\s*- /.test(p)) keyIdx.add(i);
    });
    if (keyIdx.size === 1 && paras[1]) keyIdx.add(1);
    for (const i of [...keyIdx].sort((a, b) => a - b)) {
      fix.push(esc(red(unwrap(paras[i]!))));
      fix.push('');
    }
    fix.push(`Patch: [\`${pt.rel}\`](${pt.rel}) (\`git am\` ready, upstream paths; checksums in \`patches/SHA256SUMS\`).`);
    if (pt.diffstat.length) {
      fix.push('');
      fix.push(fence(pt.diffstat.join('\n')));
    }
    fix.push('');
    fix.push('<details><summary>Full commit message</summary>');
    fix.push('');
    fix.push(fence(red(pt.body)));
    fix.push('');
    fix.push('</details>');
    fix.push('');
  }
  const gates = res.upstreamTests?.gates?.filter((g) => g.runtime === runtime) ?? [];
  if (gates.length) {
    fix.push(`### Upstream's own gates on the patched tree`);
    fix.push('');
    fix.push(`Configs from ${up.repo} at the pinned commit, tools at its lockfile's versions (closekit docs/gates.md).`);
    fix.push('');
    fix.push('| gate | command | unpatched | patched |');
    fix.push('|---|---|---|---|');
    const c = (g: GateOutcome) => `${g.status === 'fail' ? '**FAIL**' : g.status}: ${esc(red(g.summary))}`;
    for (const g of gates) fix.push(`| ${g.gate} | ${code(g.command)} | ${c(g.unpatched)} | ${c(g.patched)} |`);
    fix.push('');
    for (const g of gates.filter((x) => x.patched.status === 'fail' && x.patched.output)) {
      fix.push(`<details><summary>${esc(g.gate)} on the patched tree</summary>`);
      fix.push('');
      fix.push(fence(red(g.patched.output)));
      fix.push('');
      fix.push('</details>');
      fix.push('');
    }
  }
  const fullFix = fix.join('\n');
  // The fix without the full commit messages (each patch is in the bundle anyway).
  const shortFix = fullFix.replace(/<details><summary>Full commit message<\/summary>[\s\S]*?<\/details>\n?/g, '');
  // Hangs of the patched variant first: they say the fix did not hold.
  const ordered = [...hangs.filter((r) => r.variant === 'patched'), ...hangs.filter((r) => r.variant === 'unpatched')];
  const sections = ordered.map((r) => ({ full: hangSection(r, runtime, ctx, get, false, reproCmd), compact: hangSection(r, runtime, ctx, get, true, reproCmd) }));
  return fitBudget(out.join('\n'), sections, fullFix, shortFix, ctx, detailsFileOf(runtime));
}
