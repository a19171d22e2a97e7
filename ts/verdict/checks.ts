/**
 * The rules `kit verify` adds to the verdict, and whether a run matched its scenario.
 * Pure, like the verdict itself: a results.json can be re-checked without re-running.
 */
import type { RunResult, UpstreamChecks, Variant, Verdict } from '../contract/results.js';

export interface CheckInput {
  variant: Variant;
  /** The scenario's wedge (`none` = the control). */
  wedgeWhere: string;
  verdict: Verdict;
  /** ms hangup → close event, null when it never fired. */
  closeMs: number | null;
  /** A shutdown callback of the job ran between the hangup and the verdict. */
  shutdownCallbackRan: boolean;
  /** The fix's forced-close bound, ms (config.ts FORCED_CLOSE_BOUND_MS). */
  boundMs: number;
}

/** How much past the bound (ms) a patched close may end: the STT/TTS teardown after the cut. */
export const TEARDOWN_ALLOWANCE_MS = 1000;

/**
 * The checks a run failed, in words (empty when none apply or all held). A patched run with
 * a wedge that closed must close within the bound + 1 s and run the job's shutdown
 * callbacks: a fix that closes the session but leaves the job hanging is not a fix.
 */
export function verifyChecks(c: CheckInput): string[] {
  const failed: string[] = [];
  if (c.variant !== 'patched' || c.wedgeWhere === 'none' || c.verdict !== 'closed') return failed;
  if (c.closeMs !== null && c.closeMs > c.boundMs + TEARDOWN_ALLOWANCE_MS) failed.push(`closed in ${c.closeMs} ms, over the ${c.boundMs} ms bound + ${TEARDOWN_ALLOWANCE_MS / 1000} s`);
  if (!c.shutdownCallbackRan) failed.push("the job's shutdown callbacks did not run");
  return failed;
}

/** A run matched when its verdict is the scenario's expectation for its variant and no check failed. */
export function matches(verdict: Verdict, expected: Verdict, failedChecks: string[]): boolean {
  return verdict === expected && failedChecks.length === 0;
}

/**
 * The kit's exit code for a set of runs (0 pass, 1 fail): unpatched releases the kit cannot
 * drive are listed, not failed; a candidate that cannot be driven is a failed candidate; a
 * set with nothing drivable is not a pass; an upstream-test problem fails it.
 */
export function exitCodeOf(runs: RunResult[], upstream?: UpstreamChecks): 0 | 1 {
  const drivable = runs.filter((r) => !(r.verdict === 'unsupported' && r.variant === 'unpatched'));
  return drivable.length > 0 && drivable.every((r) => r.matched) && !upstream?.problems.length ? 0 : 1;
}
