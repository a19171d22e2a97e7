/**
 * `kit merge <dirs...>`: shards (`--shard i/n`, one results.json each, raw or from reports/)
 * into one run with all the reports, the way Playwright merges its blob reports. The merged
 * run gets a new id; its raw folder holds every shard's per-run folders, so the reports
 * read the same logs as the shards did.
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPORTS_DIR, RUNS_DIR } from '../config.js';
import type { ResultsFile, RunResult } from '../contract/results.js';
import { KitError } from '../errors.js';
import { parity } from '../report/parity.js';
import { loadScenarios } from '../scenario/load.js';
import { closeWaitsOn } from '../scenario/spec.js';
import { applyCrossRuntimeChecks } from '../verdict/index.js';
import { environment, newRunId, pointLatest, readResults, readResultsFile, writeResults } from '../report/results.js';

const runKey = (r: RunResult) => `${r.scenario}|${r.runtime}|${r.runtimeVersion}|${r.variant}`;

/**
 * Merges the results.json of each dir (a run folder, or a folder holding results.json).
 * @returns the merged run's id and its reports folder.
 * @throws KitError (exit 2): a dir without results.json, shards of different commands or
 *   shard counts, a shard given twice, or the same run in two shards.
 */
export async function mergeShards(dirs: string[], o: { reportsDir?: string; runsDir?: string } = {}): Promise<{ runId: string; reportDir: string; res: ResultsFile }> {
  if (dirs.length < 2) throw new KitError('kit merge needs at least two shard folders', { fix: 'pass the folders each `--shard i/n` run wrote (reports/<run-id> or .kit/runs/<run-id>)' });
  const shards = dirs.map((d) => {
    const file = join(resolve(d), 'results.json');
    if (!existsSync(file)) throw new KitError(`${d} holds no results.json`, { fix: 'pass the folder a `--shard i/n` run wrote' });
    return { dir: resolve(d), res: readResultsFile(file) };
  });
  const command = shards[0]!.res.command;
  const total = shards[0]!.res.shard?.total;
  // One CI job is one runtime × version split n ways: shards are checked per such matrix.
  const matrixOf = (res: ResultsFile) => res.shard?.plan ?? [...new Set(res.runs.map((r) => `${r.runtime}@${r.baselineVersion ?? r.runtimeVersion}`))].sort().join(',');
  const seen = new Map<string, Set<number>>();
  for (const s of shards) {
    if (s.res.command !== command) throw new KitError(`shards of different commands: "${command}" and "${s.res.command}"`, { fix: 'merge shards of one matrix' });
    if (s.res.shard?.total !== total) throw new KitError(`shards of different splits: ${total ?? 'unsharded'} and ${s.res.shard?.total ?? 'unsharded'}`, { fix: 'merge the shards of one --shard i/n split' });
    if (!s.res.shard) continue;
    const m = matrixOf(s.res);
    const idx = seen.get(m) ?? new Set<number>();
    if (idx.has(s.res.shard.index)) throw new KitError(`shard ${s.res.shard.index}/${total} of ${m} given twice`, { fix: 'pass each shard once' });
    idx.add(s.res.shard.index);
    seen.set(m, idx);
  }
  for (const [m, idx] of seen) {
    const absent = Array.from({ length: total! }, (_, i) => i + 1).filter((i) => !idx.has(i));
    if (absent.length) throw new KitError(`shard(s) ${absent.map((i) => `${i}/${total}`).join(', ')} of ${m} missing: the merge would look complete and is not`, { fix: 'pass every shard of the split (a crashed shard job: rerun it)' });
  }
  const runs: RunResult[] = [];
  const keys = new Set<string>();
  for (const s of shards) {
    for (const r of s.res.runs) {
      if (keys.has(runKey(r))) throw new KitError(`the run ${runKey(r)} is in two shards`, { fix: 'merge the shards of one split' });
      keys.add(runKey(r));
      runs.push(r);
    }
  }
  // each shard holds one runtime of a scenario: only the merged set can compare them
  const wedges = new Map(loadScenarios().map((s) => [s.name, closeWaitsOn(s)]));
  applyCrossRuntimeChecks(runs, (name) => wedges.get(name) ?? 'none');
  const runId = newRunId();
  const runsDir = o.runsDir ?? RUNS_DIR;
  const reportsDir = o.reportsDir ?? REPORTS_DIR;
  const rawDir = join(runsDir, runId);
  mkdirSync(join(rawDir, 'runs'), { recursive: true });
  for (const s of shards) {
    const from = join(s.dir, 'runs');
    if (existsSync(from)) for (const d of readdirSync(from)) cpSync(join(from, d), join(rawDir, 'runs', d), { recursive: true });
  }
  const res: ResultsFile = {
    runId,
    command,
    startedAt: shards.map((s) => s.res.startedAt).sort()[0]!,
    finishedAt: shards.map((s) => s.res.finishedAt).sort().at(-1)!,
    env: { ...environment({ network: runs[0]?.network ?? null }), shards: String(shards.length) },
    runs,
    parity: parity(runs),
    // Each runtime's upstream tests ran in one shard: put the parts together.
    ...(shards.some((s) => s.res.upstreamTests)
      ? {
          upstreamTests: {
            jsVoiceTests: shards.find((s) => s.res.upstreamTests?.jsVoiceTests)?.res.upstreamTests?.jsVoiceTests ?? null,
            pyRegression: shards.find((s) => s.res.upstreamTests?.pyRegression)?.res.upstreamTests?.pyRegression ?? null,
            gates: shards.flatMap((s) => s.res.upstreamTests?.gates ?? []),
            problems: shards.flatMap((s) => s.res.upstreamTests?.problems ?? []),
          },
        }
      : {}),
    ...(shards.some((s) => s.res.candidates) ? { candidates: Object.assign({}, ...shards.map((s) => s.res.candidates ?? {})) } : {}),
    mergedFrom: shards.map((s) => s.res.runId),
  };
  writeResults(res, runsDir);
  const { writeReports } = await import('../report/index.js');
  const reportDir = join(reportsDir, runId);
  await writeReports(reportDir, readResults(runId, reportsDir, runsDir), { rawDir });
  pointLatest(reportsDir, runId);
  return { runId, reportDir, res };
}
