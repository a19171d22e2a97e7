/**
 * Parity: the JS and Python close paths of one scenario, aligned event by event. The
 * runtimes' own step names differ (toolExecutor.drain vs tool_executor.drain), so parity
 * compares the milestones both workers emit under the same names (docs/internals.md,
 * "Timeline events"), from the hangup to the verdict.
 */
import type { ParityRow, RunResult } from '../contract/results.js';

/** Close-path milestones both workers emit with the same meaning. */
export const MILESTONES = [
  'participant.disconnected',
  'close.requested',
  'interrupt.done',
  'drain.start',
  'wedge.entered',
  'drain.end',
  'activity.close.start',
  'activity.close.end',
  'session.closed',
  'shutdown.callback',
] as const;

export type { ParityRow } from '../contract/results.js';

/** The run's milestones between the hangup (t = 0) and the verdict, first occurrence each. */
export function milestones(r: RunResult): Array<{ ev: string; t: number }> {
  const end = r.hangupToVerdictMs ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  const out: Array<{ ev: string; t: number }> = [];
  for (const e of r.timeline) {
    if (e.runtime !== r.runtime || e.t < 0 || e.t > end) continue;
    if (!(MILESTONES as readonly string[]).includes(e.ev) || seen.has(e.ev)) continue;
    seen.add(e.ev);
    out.push({ ev: e.ev, t: e.t });
  }
  return out;
}

/** Align two runs' milestones by position (both follow the same upstream close order). */
export function compareRuns(js: RunResult, py: RunResult): ParityRow {
  const a = milestones(js);
  const b = milestones(py);
  const n = Math.max(a.length, b.length);
  const aligned = Array.from({ length: n }, (_, i) => ({ js: a[i] ?? null, py: b[i] ?? null }));
  const first = aligned.findIndex((p) => p.js?.ev !== p.py?.ev);
  const verdicts = { js: js.verdict, py: py.verdict };
  if (first === -1 && js.verdict === py.verdict) {
    return { scenario: js.scenario, variant: js.variant, status: 'same', verdicts, firstDivergence: null, summary: `same ${n} milestones, both ${js.verdict}`, aligned };
  }
  const at = first === -1 ? n : first;
  const side = (x: { ev: string } | null | undefined, v: string) => x?.ev ?? (v === 'hang' ? '(nothing: still parked)' : '(nothing)');
  const summary = first === -1 ? `same milestones, verdicts differ: js ${js.verdict}, py ${py.verdict}` : `#${at + 1}: js ${side(aligned[at]?.js, js.verdict)}, py ${side(aligned[at]?.py, py.verdict)}`;
  return { scenario: js.scenario, variant: js.variant, status: 'diverge', verdicts, firstDivergence: at, summary, aligned };
}

/** One row per scenario × variant that ran on both runtimes; 'incomplete' where one side is missing. */
export function parity(runs: RunResult[]): ParityRow[] {
  const keys = [...new Set(runs.map((r) => `${r.scenario}\u0000${r.variant}`))];
  const rows: ParityRow[] = [];
  for (const k of keys) {
    const [scenario, variant] = k.split('\u0000') as [string, string];
    const pair = Object.fromEntries(runs.filter((r) => r.scenario === scenario && r.variant === variant).map((r) => [r.runtime, r])) as Partial<Record<RunResult['runtime'], RunResult>>;
    const { js, py } = pair;
    if (js && py) rows.push(compareRuns(js, py));
    else rows.push({ scenario, variant, status: 'incomplete', verdicts: { js: js?.verdict ?? '-', py: py?.verdict ?? '-' }, firstDivergence: null, summary: `only ${js ? 'js' : 'py'} ran`, aligned: [] });
  }
  return rows;
}

/** The parity table printed after the verdict table. */
export function renderParity(rows: ParityRow[]): string {
  const body = rows.filter((r) => r.status !== 'incomplete').map((r) => [r.scenario, r.variant, `${r.verdicts.js}/${r.verdicts.py}`, r.status === 'same' ? 'same' : r.summary]);
  if (!body.length) return '';
  const head = ['scenario', 'variant', 'js/py', 'parity (close milestones, hangup → verdict)'];
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
