/**
 * The rules `kit verify` adds to the verdict, and whether a run matched its scenario.
 * Pure, like the verdict itself: a results.json can be re-checked without re-running.
 */
import { CLOSE_WAITS_ON_REQUESTER, type RunResult, type UpstreamChecks, type Variant, type Verdict } from '../contract/results.js';

export interface CheckInput {
  variant: Variant;
  /** What the scenario's close waits on (`none` = the control; CLOSE_WAITS_ON_REQUESTER = only the requester). */
  wedgeWhere: string;
  verdict: Verdict;
  /** ms hangup → close event, null when it never fired. */
  closeMs: number | null;
  /** ms close requested → close event (what the bound limits), null when either is missing. */
  closeRequestMs: number | null;
  /** A shutdown callback of the job ran between the hangup and the verdict. */
  shutdownCallbackRan: boolean;
  /** The fix's forced-close bound, ms (config.ts FORCED_CLOSE_BOUND_MS). */
  boundMs: number;
}

/**
 * How far past the bound (ms) a patched close may end, measured close requested → close event:
 * timer and event-loop latency only. The fixes themselves promise the close within the bound
 * (docs/fix-semantics.md).
 */
export const BOUND_SLACK_MS = 300;

/** How far apart (ms) the two runtimes' patched closes of one wedge scenario may be. */
export const CROSS_RUNTIME_SPREAD_MS = 500;

/**
 * Where (ms after the close request) both fixes cut user work short: `bound - min(2 s, bound / 2)`
 * (docs/fix-semantics.md; agents-js agent_session.ts and livekit-agents agent_session.py
 * `_ForcedCloseDeadline` in patches/).
 */
export function forceStopAtMs(boundMs: number): number {
  return boundMs - Math.min(2_000, boundMs / 2);
}

/**
 * The checks a run failed, in words (empty when none apply or all held). A patched run with
 * a wedge that closed must close within the bound + 300 ms of the close request and run the
 * job's shutdown callbacks: a fix that closes the session but leaves the job hanging is not a fix.
 */
export function verifyChecks(c: CheckInput): string[] {
  const failed: string[] = [];
  if (c.variant !== 'patched' || c.wedgeWhere === 'none' || c.verdict !== 'closed') return failed;
  if (c.closeRequestMs === null) failed.push('no close request on the timeline to measure the bound from');
  // Nothing but the requester holds this close up, and the fix must never wait on its requester:
  // reaching the force-stop point means it did.
  else if (c.wedgeWhere === CLOSE_WAITS_ON_REQUESTER && c.closeRequestMs >= forceStopAtMs(c.boundMs)) failed.push(`closed ${c.closeRequestMs} ms after the close request, at or past the force-stop point (${forceStopAtMs(c.boundMs)} ms): the close waited for the tool that requested it`);
  else if (c.closeRequestMs > c.boundMs + BOUND_SLACK_MS) failed.push(`closed ${c.closeRequestMs} ms after the close request, over the ${c.boundMs} ms bound + ${BOUND_SLACK_MS} ms`);
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

/**
 * One bound, one meaning: the patched closes of a wedge scenario in the two runtimes must end
 * within CROSS_RUNTIME_SPREAD_MS of each other (close requested → close event). Returns, per
 * run index, the check it failed (both runs of a pair that is too far apart).
 *
 * Not for controls, nor for a close only its requester holds up (CLOSE_WAITS_ON_REQUESTER):
 * neither is cut, so they time each runtime's healthy close, and those differ upstream
 * (livekit-agents waits up to `session_close_transcript_timeout`, 2 s, for a final transcript;
 * agents-js commits the user turn without waiting). The requester case has the force-stop
 * check in verifyChecks instead.
 */
export function crossRuntimeChecks(runs: Array<Pick<RunResult, 'scenario' | 'runtime' | 'variant' | 'verdict' | 'closeRequestMs'>>, wedgeOf: (scenario: string) => string): Map<number, string> {
  const out = new Map<number, string>();
  const key = (r: (typeof runs)[number]) => `${r.scenario}|${r.variant}`;
  const byKey = new Map<string, number[]>();
  runs.forEach((r, i) => {
    const waitsOn = wedgeOf(r.scenario);
    if (r.variant !== 'patched' || waitsOn === 'none' || waitsOn === CLOSE_WAITS_ON_REQUESTER || r.verdict !== 'closed' || r.closeRequestMs == null) return;
    byKey.set(key(r), [...(byKey.get(key(r)) ?? []), i]);
  });
  for (const idx of byKey.values()) {
    const js = idx.filter((i) => runs[i]!.runtime === 'js');
    const py = idx.filter((i) => runs[i]!.runtime === 'py');
    for (const a of js)
      for (const b of py) {
        const d = Math.abs(runs[a]!.closeRequestMs! - runs[b]!.closeRequestMs!);
        if (d <= CROSS_RUNTIME_SPREAD_MS) continue;
        const msg = `js closed in ${runs[a]!.closeRequestMs} ms and py in ${runs[b]!.closeRequestMs} ms after the close request: ${d} ms apart, over ${CROSS_RUNTIME_SPREAD_MS} ms (one bound must mean one thing)`;
        out.set(a, msg);
        out.set(b, msg);
      }
  }
  return out;
}

/**
 * Marks the patched wedge runs whose two runtimes closed too far apart (verdict/checks.ts
 * crossRuntimeChecks) as not matched, in place; `kit merge` calls it again on the merged runs (shards split the runtimes).
 */
export function applyCrossRuntimeChecks(runs: RunResult[], wedgeOf: (scenario: string) => string): void {
  for (const [i, msg] of crossRuntimeChecks(runs, wedgeOf)) {
    const r = runs[i]!;
    if (r.failedChecks.includes(msg)) continue;
    r.failedChecks.push(msg);
    r.matched = false;
    r.reason += `; but ${msg}`;
  }
}
