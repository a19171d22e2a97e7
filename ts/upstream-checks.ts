/**
 * The test half of `kit verify`: upstream's own agents-js voice tests on the unpatched and
 * the patched source side by side (no new failures allowed), and both regression tests
 * (vitest from patches/agents-js, pytest from patches/agents) failing unpatched and
 * passing patched.
 */
import { compareUpstreamTests } from './patch/upstream-tests.js';
import { runPyRegression } from './patch/py-tests.js';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface UpstreamChecks {
  /** agents-js src/voice/*.test.ts (the patch's regression test included on both sides). */
  jsVoiceTests: { unpatched: Counts; patched: Counts; newFailures: string[]; regression: { unpatched: Counts; patched: Counts } } | null;
  /** tests/test_forced_close.py from patches/agents. */
  pyRegression: { unpatched: Counts; patched: Counts } | null;
  /** Human-readable failures of the rules above; empty when every rule held. */
  problems: string[];
}

const REGRESSION_FILE = /forced_close/;

/**
 * Run the checks against the roots `kit where js [--patched]` and the venv pythons
 * `kit where py [--patched]` print. Either side may be skipped (null). Slow: minutes.
 */
export async function upstreamChecks(o: { js?: { unpatchedRoot: string; patchedRoot: string }; py?: { unpatched: string; patched: string } }): Promise<UpstreamChecks> {
  const problems: string[] = [];
  let jsVoiceTests: UpstreamChecks['jsVoiceTests'] = null;
  if (o.js) {
    const c = await compareUpstreamTests({ unpatchedRoot: o.js.unpatchedRoot, patchedRoot: o.js.patchedRoot });
    const count = (cases: typeof c.unpatched.cases, pick: (f: string) => boolean): Counts => ({
      passed: cases.filter((x) => pick(x.file) && x.status === 'passed').length,
      failed: cases.filter((x) => pick(x.file) && x.status === 'failed').length,
      skipped: cases.filter((x) => pick(x.file) && x.status === 'skipped').length,
    });
    const upstream = (f: string) => !REGRESSION_FILE.test(f);
    const regression = (f: string) => REGRESSION_FILE.test(f);
    const newFailures = c.changed.filter((x) => upstream(x.file) && x.unpatched === 'passed' && x.patched !== 'passed').map((x) => `${x.file} > ${x.name}`);
    jsVoiceTests = {
      unpatched: count(c.unpatched.cases, upstream),
      patched: count(c.patched.cases, upstream),
      newFailures,
      regression: { unpatched: count(c.unpatched.cases, regression), patched: count(c.patched.cases, regression) },
    };
    if (newFailures.length) problems.push(`agents-js voice tests newly failing with the patch: ${newFailures.join('; ')}`);
    if (jsVoiceTests.regression.patched.failed > 0 || jsVoiceTests.regression.patched.passed === 0) problems.push('the agents-js regression test does not pass on the patched source');
    if (jsVoiceTests.regression.unpatched.failed === 0) problems.push('the agents-js regression test does not fail on the unpatched source');
  }
  let pyRegression: UpstreamChecks['pyRegression'] = null;
  if (o.py) {
    const u = await runPyRegression(o.py.unpatched);
    const p = await runPyRegression(o.py.patched);
    const counts = (r: typeof u): Counts => ({ passed: r.passed, failed: r.failed + r.errors, skipped: r.skipped });
    pyRegression = { unpatched: counts(u), patched: counts(p) };
    if (pyRegression.patched.failed > 0 || pyRegression.patched.passed === 0) problems.push('the livekit-agents regression test does not pass on the patched venv');
    if (pyRegression.unpatched.failed === 0) problems.push('the livekit-agents regression test does not fail on the unpatched venv');
  }
  return { jsVoiceTests, pyRegression, problems };
}

/** The side-by-side table printed at the end of `kit verify`. */
export function renderUpstreamChecks(u: UpstreamChecks): string {
  const f = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
  const lines = ['suite                                   unpatched                            patched'];
  if (u.jsVoiceTests) {
    lines.push(`agents-js src/voice/*.test.ts           ${f(u.jsVoiceTests.unpatched).padEnd(37)}${f(u.jsVoiceTests.patched)}`);
    lines.push(`agents-js regression (vitest)           ${f(u.jsVoiceTests.regression.unpatched).padEnd(37)}${f(u.jsVoiceTests.regression.patched)}`);
  }
  if (u.pyRegression) lines.push(`livekit-agents regression (pytest)      ${f(u.pyRegression.unpatched).padEnd(37)}${f(u.pyRegression.patched)}`);
  lines.push(u.problems.length ? `problems:\n  - ${u.problems.join('\n  - ')}` : 'no new failures; both regression tests fail unpatched and pass patched');
  return lines.join('\n');
}
