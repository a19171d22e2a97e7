/**
 * `kit bisect -r js|py -s <scenario> [--from V] [--to V]`: over the published releases
 * between two versions, the first one whose verdict differs from the older end's (a
 * regression: first `hang` after `closed`; with the ends swapped in meaning, the first
 * release that fixed it). Bisection over the release list, each step a real run on a fresh
 * stack; releases the kit cannot drive (`unsupported`) are skipped and named, as
 * `git bisect skip` does. The steps land in results.json and the issue text.
 */
import { join } from 'node:path';
import { REPORTS_DIR, RUNS_DIR } from '../config.js';
import type { BisectResult, BisectStep, Runtime, RunResult, Verdict } from '../contract/results.js';
import { KitError } from '../errors.js';
import { environment, newRunId, pointLatest, readResults, writeResults } from '../report/results.js';
import { runOne } from '../run/index.js';
import { loadScenarios } from '../scenario/load.js';
import { RUNTIMES } from './runtimes.js';
import { compareVersions, expandVersions } from './versions.js';

export interface BisectOptions {
  runtime: Runtime;
  scenario: string;
  /** Older end (default: the oldest release). */
  from?: string;
  /** Newer end (default: the pinned version). */
  to?: string;
  watchdogMs?: number;
  reportsDir?: string;
  runsDir?: string;
  log?: (line: string) => void;
}

/**
 * Runs the bisection. Each step installs the release (unpatched) and runs the scenario.
 * @returns the answer and the run id whose results.json holds every step.
 * @throws KitError (exit 2) for an unknown scenario or a range end that is not a release.
 */
export async function bisect(o: BisectOptions): Promise<{ result: BisectResult; runId: string; results: string }> {
  const log = o.log ?? (() => {});
  const entry = RUNTIMES[o.runtime];
  const [scenario] = loadScenarios({ only: [o.scenario] });
  if (!scenario) throw new KitError(`unknown scenario ${o.scenario}`, { fix: 'see scenarios/*.yaml' });
  const releases = await entry.releases();
  const from = o.from ?? [...releases].sort(compareVersions)[0]!;
  const to = o.to ?? entry.defaultVersion;
  const versions = expandVersions(`${from}..${to}`, releases, `--${o.runtime}-version`);
  if (versions.length < 2) throw new KitError(`bisect needs at least two releases between ${from} and ${to}`, { fix: 'widen --from/--to' });
  const runId = newRunId();
  const runsDir = o.runsDir ?? RUNS_DIR;
  const reportsDir = o.reportsDir ?? REPORTS_DIR;
  const runDir = join(runsDir, runId);
  const startedAt = new Date().toISOString();
  const steps: BisectStep[] = [];
  const runs: RunResult[] = [];
  const seen = new Map<string, BisectStep>();

  const at = async (i: number): Promise<BisectStep> => {
    const version = versions[i]!;
    const hit = seen.get(version);
    if (hit) return hit;
    const t0 = Date.now();
    log(`bisect: ${entry.label} ${version} (${steps.length + 1}. run)`);
    let step: BisectStep | null = null;
    let install;
    try {
      install = await entry.install(version);
    } catch (e) {
      if (!(e instanceof KitError)) throw e;
      // The first line says which step failed, the last what failed (an ImportError, npm's error).
      const lines = e.message.split('\n').map((l) => l.trim()).filter(Boolean);
      install = null;
      step = { version, verdict: 'unsupported', reason: `does not install: ${lines[0]}${lines.length > 1 ? ` ... ${lines.at(-1)}` : ''}`, ms: Date.now() - t0 };
    }
    if (install) {
      // A stack that cannot start is the kit's failure (exit 2), never a verdict on a release.
      const r = await runOne({ scenario, install, worker: entry, runDir, watchdogMs: o.watchdogMs, onProgress: (l) => log(`  ${l}`) });
      runs.push(r);
      step = { version, verdict: r.verdict, reason: r.reason, ms: Date.now() - t0 };
    }
    if (!step) throw new Error('unreachable: a bisect step without a verdict');
    log(`  ${version}: ${step.verdict}${step.verdict === 'unsupported' ? ` (${step.reason})` : ''}`);
    steps.push(step);
    seen.set(version, step);
    return step;
  };

  const found = await searchReleases(versions.length, async (i) => (await at(i)).verdict);
  const skipped = steps.filter((x) => x.verdict === 'unsupported' || x.verdict === 'error').map((x) => ({ version: x.version, reason: `${x.verdict}: ${x.reason}` }));
  const base = { runtime: o.runtime, scenario: scenario.name, from, to, candidates: versions.length, skipped, steps };
  let result: BisectResult;
  if (found.kind === 'undrivable') {
    result = { ...base, goodVerdict: null, badVerdict: null, lastGood: null, firstBad: null, summary: `no two releases in ${from}..${to} can be driven (${skipped[0]?.reason ?? 'no release'})` };
  } else if (found.kind === 'same') {
    result = { ...base, goodVerdict: found.verdict, badVerdict: found.verdict, lastGood: versions[found.hi]!, firstBad: null, summary: `no change: ${found.verdict} at ${versions[found.lo]} and at ${versions[found.hi]}` };
  } else {
    const first = versions[found.hi]!;
    const gap = versions.slice(found.lo + 1, found.hi);
    const note = found.good === 'closed' && found.bad === 'hang' ? ` (regressed in ${first})` : found.good === 'hang' && found.bad === 'closed' ? ` (fixed in ${first})` : '';
    const summary = `last ${found.good}: ${versions[found.lo]}, first ${found.bad}: ${first}${note}${gap.length ? `; between them only releases the kit cannot drive: ${gap.join(', ')}` : ''}`;
    result = { ...base, goodVerdict: found.good, badVerdict: found.bad, lastGood: versions[found.lo]!, firstBad: first, summary };
  }
  const fixups = [...new Set(runs.flatMap((r) => r.installNotes ?? []))];
  if (fixups.length) {
    result.fixups = fixups;
    result.summary = `${result.summary}; fix-ups: ${fixups.join('; ')}`;
  }
  const olderEnd = found.kind !== 'undrivable' && found.lo > 0 ? seen.get(versions[0]!)?.reason : null;
  if (olderEnd && found.kind !== 'undrivable') result.summary = `${result.summary}; the older end ${from} cannot be driven (${olderEnd}), the first release that can is ${versions[found.lo]}`;
  writeResults(
    { runId, command: `bisect -r ${o.runtime} -s ${scenario.name} --from ${from} --to ${to}`, startedAt, finishedAt: new Date().toISOString(), env: environment({ network: runs[0]?.network ?? null }), runs, bisect: { [o.runtime]: result } },
    runsDir,
  );
  const { writeReports } = await import('../report/index.js');
  await writeReports(join(reportsDir, runId), readResults(runId, reportsDir, runsDir), { rawDir: runDir });
  pointLatest(reportsDir, runId);
  return { result, runId, results: join(reportsDir, runId, 'results.json') };
}

/** What the search over releases found, by index into the release list. */
export type SearchResult =
  | { kind: 'undrivable' }
  | { kind: 'same'; lo: number; hi: number; verdict: Verdict }
  | { kind: 'changed'; lo: number; hi: number; good: Verdict; bad: Verdict };

/**
 * The search itself, over releases 0..n-1 (oldest first), asking `verdictAt(i)` (a real run;
 * each index asked at most once by the caller's cache):
 *  1. the newer end, walking back past releases that cannot be driven;
 *  2. the older end; when it cannot be driven, the first drivable release by bisection
 *     (drivability comes with newer releases);
 *  3. when the ends differ, bisection for the first release whose verdict differs from the
 *     older end's, skipping undrivable midpoints (`git bisect skip`). Then `lo` is the last
 *     release with the older end's verdict and `hi` the first without it, with only
 *     undrivable releases between them. Only `hang` and `closed` count as driven.
 */
export async function searchReleases(n: number, verdictAt: (i: number) => Promise<Verdict>): Promise<SearchResult> {
  // Only a verdict on the bug moves the search; `unsupported` and `error` runs are skipped.
  const ok = (v: Verdict) => v === 'hang' || v === 'closed';
  let hi = n - 1;
  while (hi > 0 && !ok(await verdictAt(hi))) hi--;
  if (hi <= 0) return { kind: 'undrivable' };
  // Drivability (not `unsupported`) is what grows with newer releases; an `error` run is
  // drivable but skipped by the search below, so it must not move this boundary.
  const drivable = (v: Verdict) => v !== 'unsupported';
  let lo = 0;
  if (!drivable(await verdictAt(0))) {
    let l = 0;
    let h = hi;
    while (h - l > 1) {
      const m = Math.floor((l + h) / 2);
      if (drivable(await verdictAt(m))) h = m;
      else l = m;
    }
    lo = h;
  }
  // The older end: the first drivable release that gave a verdict on the bug.
  while (lo < hi && !ok(await verdictAt(lo))) lo++;
  if (lo >= hi) return { kind: 'undrivable' };
  const good = await verdictAt(lo);
  const bad = await verdictAt(hi);
  if (good === bad) return { kind: 'same', lo, hi, verdict: good };
  const untried = new Set<number>();
  for (let i = lo + 1; i < hi; i++) untried.add(i);
  for (;;) {
    const open = [...untried].filter((i) => i > lo && i < hi).sort((a, b) => a - b);
    if (!open.length) break;
    const mid = open[Math.floor((open.length - 1) / 2)]!;
    untried.delete(mid);
    const v = await verdictAt(mid);
    if (!ok(v)) continue;
    if (v === good) lo = mid;
    else hi = mid;
  }
  return { kind: 'changed', lo, hi, good, bad: await verdictAt(hi) };
}
