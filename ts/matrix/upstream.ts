/**
 * The test half of `kit verify`: upstream's own agents-js voice tests on the unpatched and
 * the patched source side by side (no new failures allowed), and both regression tests
 * (vitest from patches/agents-js, pytest from patches/agents) failing unpatched and
 * passing patched. One function per runtime (each runtime's table entry calls its own);
 * `combineUpstreamChecks` folds them into results.json's `upstreamTests`.
 */
import type { Counts, GateRow, UpstreamChecks } from '../contract/results.js';
import { join } from 'node:path';
import type { FixSource } from '../fix/source.js';
import { gateProblems, jsGates, pyGates, renderGates } from '../gates/index.js';
import { runPyRegression } from '../patch/py-tests.js';
import { compareUpstreamTests } from '../patch/upstream-tests.js';

/** One runtime's part of UpstreamChecks, with the rules it broke. */
export type UpstreamPart = ({ jsVoiceTests: NonNullable<UpstreamChecks['jsVoiceTests']> } | { pyRegression: NonNullable<UpstreamChecks['pyRegression']> }) & { gates: GateRow[]; problems: string[] };

/** The patch files of a fix source (its gates check their non-code hunks, e.g. agents.api.md). */
function patchFilesOf(source: FixSource | undefined): string[] | undefined {
  if (!source) return undefined;
  if (source.kind === 'patches') return source.files;
  if (source.kind === 'patch') return [source.file];
  return undefined;
}


/**
 * agents-js: src/voice/*.test.ts (vitest, upstream's own, plus the patch's regression test)
 * on `unpatchedRoot` and `patchedRoot` (`kit where js [--patched]`). Slow: minutes.
 */
export async function jsUpstreamChecks(unpatchedRoot: string, patchedRoot: string, source?: FixSource, log?: (l: string) => void): Promise<UpstreamPart> {
  const problems: string[] = [];
  const c = await compareUpstreamTests({ unpatchedRoot, patchedRoot });
  const count = (cases: typeof c.unpatched.cases, pick: (f: string) => boolean): Counts => ({
    passed: cases.filter((x) => pick(x.file) && x.status === 'passed').length,
    failed: cases.filter((x) => pick(x.file) && x.status === 'failed').length,
    skipped: cases.filter((x) => pick(x.file) && x.status === 'skipped').length,
  });
  // the regression tests are the test files the fix adds (absent from the release)
  const regression = (f: string) => c.added.some((a) => f === a || f.endsWith(a));
  const upstream = (f: string) => !regression(f);
  const newFailures = c.changed.filter((x) => upstream(x.file) && x.unpatched === 'passed' && x.patched !== 'passed').map((x) => `${x.file} > ${x.name}`);
  const jsVoiceTests = {
    unpatched: count(c.unpatched.cases, upstream),
    patched: count(c.patched.cases, upstream),
    newFailures,
    regression: { unpatched: count(c.unpatched.cases, regression), patched: count(c.patched.cases, regression) },
  };
  if (newFailures.length) problems.push(`agents-js voice tests newly failing with the patch: ${newFailures.join('; ')}`);
  if (jsVoiceTests.regression.patched.failed > 0 || jsVoiceTests.regression.patched.passed === 0) problems.push('the agents-js regression test does not pass on the patched source');
  if (jsVoiceTests.regression.unpatched.failed === 0) problems.push('the agents-js regression test does not fail on the unpatched source');
  const apiReport = source?.kind === 'checkout' ? join(source.dir, 'agents', 'etc', 'agents.api.md') : undefined;
  const gates = await jsGates({ unpatchedRoot, patchedRoot, patches: patchFilesOf(source), apiReport, log });
  problems.push(...gateProblems(gates));
  return { jsVoiceTests, gates, problems };
}

/** livekit-agents: the regression test (pytest) on the unpatched and the patched venv pythons (`kit where py [--patched]`). */
export async function pyUpstreamChecks(unpatchedPython: string, patchedPython: string, source?: FixSource, log?: (l: string) => void): Promise<UpstreamPart> {
  const problems: string[] = [];
  const u = await runPyRegression(unpatchedPython);
  const p = await runPyRegression(patchedPython);
  // per test id: a case that failed and also errored on teardown is one failed case
  const counts = (r: typeof u): Counts => {
    const by = new Map<string, string>();
    for (const c of r.cases) if (by.get(c.id) !== 'failed') by.set(c.id, c.status === 'error' ? 'failed' : c.status);
    const n = (s: string) => [...by.values()].filter((x) => x === s).length;
    return { passed: n('passed'), failed: n('failed'), skipped: n('skipped') };
  };
  const pyRegression = { unpatched: counts(u), patched: counts(p), patchedTestsS: Math.round(p.cases.reduce((a, c) => a + c.durationS, 0) * 100) / 100, patchedWallMs: p.durationMs };
  if (pyRegression.patched.failed > 0 || pyRegression.patched.passed === 0) problems.push('the livekit-agents regression test does not pass on the patched venv');
  if (pyRegression.unpatched.failed === 0) problems.push('the livekit-agents regression test does not fail on the unpatched venv');
  const gates = await pyGates({ unpatchedPython, patchedPython, patches: patchFilesOf(source), log });
  problems.push(...gateProblems(gates));
  return { pyRegression, gates, problems };
}

/** Folds the runtimes' parts into results.json's `upstreamTests`. */
export function combineUpstreamChecks(parts: UpstreamPart[]): UpstreamChecks {
  const out: UpstreamChecks = { jsVoiceTests: null, pyRegression: null, gates: [], problems: [] };
  for (const p of parts) {
    out.gates!.push(...p.gates);
    if ('jsVoiceTests' in p) out.jsVoiceTests = p.jsVoiceTests;
    else out.pyRegression = p.pyRegression;
    out.problems.push(...p.problems);
  }
  return out;
}

/** The side-by-side table printed at the end of `kit verify`. */
export function renderUpstreamChecks(u: UpstreamChecks): string {
  const f = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
  const lines = ['suite                                   unpatched                            patched'];
  if (u.jsVoiceTests) {
    lines.push(`agents-js src/voice/*.test.ts           ${f(u.jsVoiceTests.unpatched).padEnd(37)}${f(u.jsVoiceTests.patched)}`);
    lines.push(`agents-js regression (vitest)           ${f(u.jsVoiceTests.regression.unpatched).padEnd(37)}${f(u.jsVoiceTests.regression.patched)}`);
  }
  if (u.pyRegression) {
    const t = u.pyRegression.patchedTestsS !== undefined ? ` (tests ${u.pyRegression.patchedTestsS} s, process ${((u.pyRegression.patchedWallMs ?? 0) / 1000).toFixed(1)} s)` : '';
    lines.push(`livekit-agents regression (pytest)      ${f(u.pyRegression.unpatched).padEnd(37)}${f(u.pyRegression.patched)}${t}`);
  }
  if (u.gates?.length) lines.push('', renderGates(u.gates), '');
  lines.push(u.problems.length ? `problems:\n  - ${u.problems.join('\n  - ')}` : 'no new failures; both regression tests fail unpatched and pass patched; every gate green on the patched trees');
  return lines.join('\n');
}
