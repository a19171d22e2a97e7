/**
 * The matrix: scenarios × runtimes × variants in, verdicts out. Installs (or builds) each
 * runtime once, runs every combination on a fresh stack, writes results.json, prints the
 * table and returns the exit code (0 all matched, 1 one did not).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import { REPORTS_DIR, RUNS_DIR } from '../config.js';
import { RUNTIME_IDS, socketsOutlivedClose, type Candidate, type Runtime, type RunResult, type RuntimeInstall, type UpstreamChecks, type Variant } from '../contract/results.js';
import { resolveFixSource, type FixSource } from '../fix/source.js';
import { KitError } from '../errors.js';
import { parity, renderParity } from '../report/parity.js';
import { environment, newRunId, pointLatest, readResults, writeResults } from '../report/results.js';
import { renderTable } from '../report/table.js';
import { runOne } from '../run/index.js';
import { applyCrossRuntimeChecks, exitCodeOf } from '../verdict/index.js';
import { loadScenarios } from '../scenario/load.js';
import { closeWaitsOn, expectedVerdict, type Providers, type Scenario } from '../scenario/spec.js';
import { RUNTIMES } from './runtimes.js';
import { combineUpstreamChecks, renderUpstreamChecks } from './upstream.js';
import { preflightUpstream } from '../gates/upstream-files.js';
import { expandVersions, needsReleaseList } from './versions.js';

export { RUNTIMES, resolveInstall, type RuntimeEntry } from './runtimes.js';

export interface MatrixOptions {
  scenario?: string[];
  runtime?: Runtime[];
  variants: Variant[];
  /** The version spec per runtime: `1.9.0`, `1.8.0,1.9.0`, `1.5.0..1.9.0`, `latest` (default: each entry's defaultVersion). */
  versions?: Partial<Record<Runtime, string>>;
  /** kit verify: a fix source per runtime for the patched variant (ts/fix/source.ts; default patches/). */
  fixes?: Partial<Record<Runtime, string>>;
  /** How each runtime's worker runs: from the install (default) or in a container (`--py-worker container`). */
  workers?: Partial<Record<Runtime, 'host' | 'container'>>;
  /** Runs at once (-j), each on its own stack (default 1). */
  jobs?: number;
  /** Run only slice `index` of `total` (1-based) of the plan (--shard i/n); upstream tests run in shard 1. */
  shard?: { index: number; total: number };
  caller?: string[];
  watchdogMs?: number;
  /** `--providers`: run every scenario on this STT/TTS path instead of its own `providers` (the expectations stay the scenario's). */
  providers?: Providers;
  command: string;
  /** Where reports go (tests use a temp dir). */
  reportsDir?: string;
  /** Where the raw runs go (default .kit/runs). */
  runsDir?: string;
  /** kit verify: also run upstream's voice tests and both regression tests, unpatched vs patched. */
  upstreamTests?: boolean;
  /** Print nothing (tests): no progress, no table. */
  quiet?: boolean;
  /** The summary as JSON on stdout (MatrixSummary); progress and the tables go to stderr. */
  json?: boolean;
}

/**
 * `kit where`: the package root (js) or the venv python (py) the workers use. Reads only.
 * @throws KitError (exit 2) naming the command that builds it when it does not exist.
 */
export function where(runtime: Runtime, o: { patched: boolean; version: string }): string {
  return RUNTIMES[runtime].where(o.version, o.patched ? 'patched' : 'unpatched');
}

function selectScenarios(o: MatrixOptions): Scenario[] {
  let all = loadScenarios({ only: o.scenario });
  if (o.caller?.length) {
    const kinds = new Set(o.caller.flatMap((c) => (c === 'sip' ? ['sip-inbound', 'sip-outbound'] : [c])));
    all = all.filter((s) => kinds.has(s.caller.kind));
  }
  if (!all.length) throw new KitError('no scenario matches the filters', { fix: 'check --scenario / --caller against scenarios/*.yaml' });
  if (o.providers) all = all.map((s) => ({ ...s, providers: o.providers! }));
  return all;
}

/** Run the matrix; returns the exit code. */
export async function runMatrix(o: MatrixOptions): Promise<number> {
  const scenarios = selectScenarios(o);
  const runtimes: Runtime[] = o.runtime?.length ? o.runtime : [...RUNTIME_IDS];
  const runId = newRunId();
  const reportsDir = o.reportsDir ?? REPORTS_DIR;
  const runsDir = o.runsDir ?? RUNS_DIR;
  // The raw run (keys, configs, logs) stays in .kit/runs/<id>; reports/<id> gets redacted copies.
  const runDir = join(runsDir, runId);
  const reportDir = join(reportsDir, runId);
  const startedAt = new Date().toISOString();
  const log = o.quiet ? () => {} : (l: string) => console.error(l);

  // Sources, then installs, all of them: bad input is exit 2 before anything runs.
  const sources: Partial<Record<Runtime, FixSource>> = {};
  for (const [rt, spec] of Object.entries(o.fixes ?? {}) as Array<[Runtime, string]>) {
    if (!runtimes.includes(rt)) throw new KitError(`--${rt}-fix given, but ${rt} is not among the runtimes of this run (${runtimes.join(', ')})`, { fix: `add -r ${rt}, or drop --${rt}-fix` });
    if (!o.variants.includes('patched')) throw new KitError(`--${rt}-fix is for kit verify (the patched variant)`, { fix: 'use kit verify' });
    sources[rt] = await resolveFixSource(rt, spec);
  }
  // The plan: scenario × runtime × version × variant, in one fixed order, so a shard is a
  // deterministic slice of it (round robin: shards stay balanced) and results sort by it.
  const versionsOf = new Map<Runtime, string[]>();
  for (const rt of runtimes) versionsOf.set(rt, await versionList(rt, o.versions?.[rt]));
  const plan = scenarios.flatMap((s) => runtimes.flatMap((rt) => versionsOf.get(rt)!.flatMap((version) => o.variants.map((variant) => ({ s, rt, version, variant })))));
  const keyOf = (p: { rt: Runtime; version: string; variant: Variant }) => `${p.rt}|${p.version}|${p.variant}`;
  // Slices by scenario × runtime × version, both variants of one together (a shard judges
  // hang → closed side by side, and holds both installs the upstream tests compare).
  const groupOf = (p: (typeof plan)[number]) => `${p.s.name}|${p.rt}|${p.version}`;
  const groups = [...new Set(plan.map(groupOf))];
  const mine = o.shard ? plan.filter((p) => groups.indexOf(groupOf(p)) % o.shard!.total === o.shard!.index - 1) : plan;
  if (!mine.length) throw new KitError(`shard ${o.shard!.index}/${o.shard!.total} has no runs (the matrix has ${plan.length})`, { fix: 'use fewer shards' });
  const needed = new Set(mine.map(keyOf));

  // Sharded: each runtime's upstream tests run once, in the shard that owns its first group.
  const ownsUpstream = (rt: Runtime) => !o.shard || groups.findIndex((g) => g.split('|')[1] === rt) % o.shard.total === o.shard.index - 1;
  // The gates need upstream's configs at the pinned commits: find out now, not after the matrix.
  if (o.upstreamTests && o.variants.includes('patched')) await preflightUpstream(runtimes.filter(ownsUpstream));

  const installs = new Map<string, RuntimeInstall>();
  const candidates: Partial<Record<Runtime, Candidate>> = {};
  // A version of a multi-version matrix that does not install is `unsupported`, not the end of the matrix.
  const unsupported = new Map<string, string>();
  for (const rt of runtimes) {
    const versions = versionsOf.get(rt)!;
    for (const version of versions) {
      for (const v of o.variants) {
        const key = keyOf({ rt, version, variant: v });
        if (!needed.has(key)) continue;
        log(`preparing ${rt} ${version} ${v}...`);
        try {
          const inContainer = async (i: RuntimeInstall) => {
            if (o.workers?.[rt] !== 'container') return i;
            const containerize = RUNTIMES[rt].containerize;
            if (!containerize) throw new KitError(`${RUNTIMES[rt].label} has no container worker`, { fix: `drop the container option for ${rt}` });
            return containerize(i, log);
          };
          if (v === 'unpatched') {
            installs.set(key, await inContainer(await RUNTIMES[rt].install(version)));
            continue;
          }
          const c = await RUNTIMES[rt].candidate(version, sources[rt] ?? RUNTIMES[rt].ownPatches(), log);
          installs.set(key, await inContainer(c.install));
          candidates[rt] = c.candidate;
          if (sources[rt]) log(`${rt} candidate: ${c.candidate.label}`);
        } catch (e) {
          // In a version sweep a release that does not install (or a patch that does not apply
          // to it) is `unsupported` there; a patched one then fails the exit code (see below).
          if (versions.length === 1 || !(e instanceof KitError)) throw e;
          unsupported.set(key, `${RUNTIMES[rt].label} ${version}${v === 'patched' ? ' (patched)' : ''} does not install: ${e.message.split('\n').slice(0, 3).join(' ')}`);
          log(`  ${rt} ${version} ${v}: unsupported (${e.message.split('\n')[0]})`);
        }
      }
    }
  }

  const jobs = Math.max(1, o.jobs ?? 1);
  // Finished in any order (-j): kept with their place in the plan, reported in plan order.
  const done: Array<{ at: number; r: RunResult }> = [];
  const tasks = new Listr(
    mine
      .map((p, at) => ({ p, at }))
      .filter(({ p }) => installs.has(keyOf(p)))
      .map(({ p, at }) => {
        const inst = installs.get(keyOf(p))!;
        const s = p.s;
        return {
          title: `${s.name} · ${inst.runtime} ${inst.version} · ${inst.variant}`,
          task: async (_: unknown, task: { title: string; output: string }) => {
            const r = await runOne({ scenario: s, install: inst, worker: RUNTIMES[inst.runtime], runDir, watchdogMs: o.watchdogMs, onProgress: (l) => (task.output = l) });
            done.push({ at, r });
            task.title = `${s.name} · ${inst.runtime} ${inst.version} · ${inst.variant}: ${verdictTitle(r)}${lifecycleTitle(r)}`;
          },
        };
      }),
    {
      // -j N: N runs at once, each on its own stack in its own namespace (every lane shows).
      concurrent: jobs > 1 ? jobs : false,
      exitOnError: true,
      registerSignalListeners: false,
      // Progress is for people, on stderr; with --json stdout carries only the summary.
      renderer: o.quiet ? 'silent' : process.stderr.isTTY && !o.json ? 'default' : 'simple',
      rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }) },
    },
  );
  await tasks.run();
  mine.forEach((p, at) => {
    const why = unsupported.get(keyOf(p));
    if (why) done.push({ at, r: unsupportedRun(p.s, { runtime: p.rt, variant: p.variant, version: p.version, reason: why }) });
  });
  const runs = done.sort((a, b) => a.at - b.at).map((x) => x.r);
  applyCrossRuntimeChecks(runs, (name) => {
    const s = scenarios.find((x) => x.name === name);
    return s ? closeWaitsOn(s) : 'none';
  });

  const par = parity(runs);
  let upstream: UpstreamChecks | undefined;
  // Sharded: each runtime's upstream tests run once, in the shard that owns its first group.
  if (o.upstreamTests && o.variants.includes('patched') && runtimes.some(ownsUpstream)) {
    log('running upstream tests and regression tests, unpatched vs patched (minutes)...');
    const parts = [];
    const missing: string[] = [];
    for (const rt of runtimes.filter(ownsUpstream)) {
      // The first version with both installs (the pin, unless a sweep): the same baseline on both sides.
      const version = versionsOf.get(rt)!.find((v) => installs.has(keyOf({ rt, version: v, variant: 'unpatched' })) && installs.has(keyOf({ rt, version: v, variant: 'patched' })));
      if (!version) {
        missing.push(`upstream tests for ${RUNTIMES[rt].label} were asked for, but this run has no unpatched and patched install of one version to compare`);
        continue;
      }
      parts.push(await RUNTIMES[rt].upstreamTests(installs.get(keyOf({ rt, version, variant: 'unpatched' }))!, installs.get(keyOf({ rt, version, variant: 'patched' }))!, sources[rt] ?? RUNTIMES[rt].ownPatches(), log));
    }
    upstream = combineUpstreamChecks(parts);
    upstream.problems.push(...missing);
  }
  const file = writeResults(
    { runId, command: o.command, startedAt, finishedAt: new Date().toISOString(), env: environment({ network: runs[0]?.network ?? null }), runs, parity: par, upstreamTests: upstream, ...(Object.keys(candidates).length ? { candidates } : {}), ...(o.shard ? { shard: { ...o.shard, plan: createHash('sha256').update(groups.join('\n')).digest('hex').slice(0, 12) } } : {}) },
    runsDir,
  );
  const { writeReports } = await import('../report/index.js');
  const { files } = await writeReports(reportDir, readResults(runId, reportsDir, runsDir), { rawDir: runDir });
  pointLatest(reportsDir, runId);
  const exitCode = exitCodeOf(runs, upstream);
  if (!o.quiet) {
    const out = o.json ? (l: string) => console.error(l) : (l: string) => console.log(l);
    for (const c of Object.values(candidates)) out(`patched ${RUNTIMES[c.runtime].label} = ${c.label}`);
    out(renderTable(runs));
    const pt = renderParity(par);
    if (pt) out(`\n${pt}`);
    if (upstream) out(`\n${renderUpstreamChecks(upstream)}`);
    out(`\nresults: ${join(reportDir, 'results.json')} (raw run: ${file})`);
    out(`reports: ${files.filter((f) => !f.startsWith('patches/') && !f.startsWith('runs/')).map((f) => join(reportDir, f)).join(', ')}`);
  }
  if (o.json) console.log(JSON.stringify({ ...summarize(runId, o.command, exitCode, join(reportDir, 'results.json'), runs, upstream), candidates }, null, 2));
  return exitCode;
}

/** What `--json` prints: enough for a CI script to gate on, with the file that holds the rest. */
export interface MatrixSummary {
  runId: string;
  command: string;
  /** The kit's exit code: 0 every run matched, 1 one did not. */
  exitCode: number;
  /** results.json of the run (everything else: timelines, sockets, parked captures). */
  results: string;
  runs: Array<Pick<RunResult, 'scenario' | 'runtime' | 'runtimeVersion' | 'variant' | 'caller' | 'verdict' | 'expected' | 'matched' | 'closeMs' | 'openSocketsAfterClose' | 'reason'>>;
  /** kit verify: the upstream-test rules that failed (empty when all held or not run). */
  upstreamProblems: string[];
}

export function summarize(runId: string, command: string, exitCode: number, results: string, runs: RunResult[], upstream?: UpstreamChecks): MatrixSummary {
  return {
    runId,
    command,
    exitCode,
    results,
    runs: runs.map((r) => ({ scenario: r.scenario, runtime: r.runtime, runtimeVersion: r.runtimeVersion, variant: r.variant, caller: r.caller, verdict: r.verdict, expected: r.expected, matched: r.matched, closeMs: r.closeMs, openSocketsAfterClose: r.openSocketsAfterClose, reason: r.reason })),
    upstreamProblems: upstream?.problems ?? [],
  };
}

/** The versions of one runtime a matrix runs: the spec expanded (the release list is asked only for ranges and `latest`). */
export async function versionList(rt: Runtime, spec: string | undefined): Promise<string[]> {
  if (!spec) return [RUNTIMES[rt].defaultVersion];
  const published = needsReleaseList(spec) ? await RUNTIMES[rt].releases() : spec.split(',').map((s) => s.trim());
  return expandVersions(spec, published, `--${rt}-version`);
}

/** A result for a run the kit could not start because its install failed. */
function unsupportedRun(s: Scenario, u: { runtime: Runtime; variant: Variant; version: string; reason: string }): RunResult {
  return {
    scenario: s.name,
    runtime: u.runtime,
    runtimeVersion: u.version,
    variant: u.variant,
    caller: s.caller.kind,
    verdict: 'unsupported',
    expected: expectedVerdict(s, u.runtime, u.variant),
    matched: false,
    reason: u.reason,
    closeMs: null,
    closeEvent: null,
    openSocketsAfterClose: 0,
    gatewayReconnects: 0,
    idleErrorsAfterHangup: 0,
    sttErrorsAfterHangup: [],
    shutdownCallbackRan: false,
    failedChecks: [],
    parkedAfter: null,
    parked: null,
    network: 'netns',
    sipCall: null,
    hangupToVerdictMs: null,
    timeline: [],
    sockets: [],
    logsDir: '',
  };
}

/** The verdict part of a run's progress line: `closed in 517 ms (517 ms after the close request), 0 socket(s) open`; a hang that did close says the sockets outlived it. */
function verdictTitle(r: RunResult): string {
  const head = `${r.verdict}${r.matched ? '' : ` (expected ${r.expected})`}`;
  if (r.closeMs === null) return `${head}, ${r.openSocketsAfterClose} socket(s) open`;
  const when = `${r.closeMs} ms${r.closeRequestMs != null ? ` (${r.closeRequestMs} ms after the close request)` : ''}`;
  return socketsOutlivedClose(r) ? `${head}: the session closed in ${when}, but ${r.openSocketsAfterClose} socket(s) outlived the close` : `${head} in ${when}, ${r.openSocketsAfterClose} socket(s) open`;
}

/**
 * The lifecycle part of a run's title (seeds 001/002), '' when none: e.g. `; worker exit
 * 18412 ms after SIGTERM (code 143, bound 18000 ms, 0 sockets open at exit)` or `; job
 * process killed 5210 ms after the room was gone`.
 */
export function lifecycleTitle(r: Pick<RunResult, 'workerExit' | 'jobEnd'>): string {
  let out = '';
  if (r.jobEnd) out += `; job process ${r.jobEnd.how}${r.jobEnd.afterRoomGoneMs !== null ? ` ${r.jobEnd.afterRoomGoneMs} ms after the room was gone` : ''}`;
  const w = r.workerExit;
  if (w) out += w.afterSigtermMs === null ? `; worker still running ${w.watchedMs} ms after SIGTERM` : `; worker exit ${w.afterSigtermMs} ms after SIGTERM (${w.signal ?? `code ${w.code}`}, bound ${w.boundMs} ms, ${w.socketsOpenAtExit} socket(s) open at exit)`;
  return out;
}
