import { describe, expect, it } from 'vitest';
import { CLOSE_WAITS_ON_REQUESTER, type GateRow, type RunResult } from '../ts/contract/results.js';
import { gateProblems } from '../ts/gates/index.js';
import { judgeAgainstRelease, newFindings } from '../ts/gates/exec.js';
import { BOUND_SLACK_MS, applyCrossRuntimeChecks, forceStopAtMs, verifyChecks } from '../ts/verdict/checks.js';
import { judge } from '../ts/verdict/index.js';

const base = { variant: 'patched' as const, wedgeWhere: 'on_exit', verdict: 'closed' as const, closeMs: 3200, shutdownCallbackRan: true, boundMs: 5000 };

describe('the bound, measured close requested → close event', () => {
  it('judge measures closeRequestMs from close.requested, not from the hangup', () => {
    const v = judge({ events: [{ t: 0, ev: 'caller.hangup', runtime: 'kit' }, { t: 150, ev: 'close.requested', runtime: 'js' }, { t: 3150, ev: 'session.closed', runtime: 'js' }], sockets: [], hangupAt: 0 });
    expect(v.closeMs).toBe(3150);
    expect(v.closeRequestMs).toBe(3000);
  });

  it('a patched wedge close past bound + slack fails; within it passes', () => {
    expect(verifyChecks({ ...base, closeRequestMs: 5000 + BOUND_SLACK_MS })).toEqual([]);
    expect(verifyChecks({ ...base, closeRequestMs: 5000 + BOUND_SLACK_MS + 1 })[0]).toMatch(/over the 5000 ms bound/);
  });

  it('a patched wedge close with no close request on the timeline cannot be measured, so it fails', () => {
    expect(verifyChecks({ ...base, closeRequestMs: null })[0]).toMatch(/no close request/);
  });

  it('a close only its requester holds up must end before the force-stop point, not merely within the bound', () => {
    const requester = { ...base, wedgeWhere: CLOSE_WAITS_ON_REQUESTER };
    expect(forceStopAtMs(5000)).toBe(3000);
    expect(verifyChecks({ ...requester, closeRequestMs: 2999 })).toEqual([]);
    expect(verifyChecks({ ...requester, closeRequestMs: 3000 })[0]).toMatch(/waited for the tool that requested it/);
    // the other wedges may use the whole bound
    expect(verifyChecks({ ...base, closeRequestMs: 3000 })).toEqual([]);
  });

  it('marks both runtimes when their patched closes are more than 500 ms apart, and only then', () => {
    const run = (runtime: 'js' | 'py', ms: number, scenario = 's'): RunResult => ({ scenario, runtime, variant: 'patched', verdict: 'closed', closeRequestMs: ms, failedChecks: [], matched: true, reason: 'closed' }) as unknown as RunResult;
    const near = [run('js', 3000), run('py', 3450)];
    applyCrossRuntimeChecks(near, () => 'on_exit');
    expect(near.every((r) => r.matched)).toBe(true);
    const far = [run('js', 3000), run('py', 5100), run('js', 3000, 'control'), run('py', 4000, 'control')];
    applyCrossRuntimeChecks(far, (s) => (s === 'control' ? 'none' : 'on_exit'));
    expect(far.map((r) => r.matched)).toEqual([false, false, true, true]);
    expect(far[0]!.failedChecks[0]).toMatch(/2100 ms apart/);
    // a requester-only close is not cut, so it is not compared across runtimes
    const selfWait = [run('js', 500), run('py', 2100)];
    applyCrossRuntimeChecks(selfWait, () => CLOSE_WAITS_ON_REQUESTER);
    expect(selfWait.every((r) => r.matched)).toBe(true);
  });
});

describe('gates', () => {
  const g = (status: GateRow['patched']['status'], summary = ''): GateRow['patched'] => ({ status, summary, output: '', ms: 1 });

  it('a patched finding the release also has (at another line) is not new; a new one is', () => {
    const u = ['src/a.ts:10:3: Unexpected any. [Warning/@typescript-eslint/no-explicit-any]'];
    expect(newFindings(u, ['src/a.ts:42:3: Unexpected any. [Warning/@typescript-eslint/no-explicit-any]'])).toEqual([]);
    expect(newFindings(u, [u[0]!, u[0]!])).toHaveLength(1);
  });

  it('judges the patched tree by what it adds to the release', () => {
    const u = { ...g('fail', '1 error'), findings: ['x.ts(1,1): error TS1: no'] };
    expect(judgeAgainstRelease(u, { ...g('fail', '1 error'), findings: ['x.ts(9,1): error TS1: no'] }).status).toBe('pass');
    expect(judgeAgainstRelease(u, { ...g('fail', '2 errors'), findings: ['x.ts(9,1): error TS1: no', 'y.ts(2,2): error TS2: new'] }).status).toBe('fail');
  });

  it('every patched cell that is not pass is a problem (a baseline or unsupported cell counts as not green)', () => {
    const row = (gate: string, patched: GateRow['patched']): GateRow => ({ runtime: 'js', gate, command: '', unpatched: g('pass'), patched });
    const problems = gateProblems([row('tsc', g('pass')), row('eslint', g('fail', '1 new')), row('api-extractor', g('unsupported', 'no report'))]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/eslint is red/);
    expect(problems[1]).toMatch(/api-extractor is unsupported/);
  });
});
