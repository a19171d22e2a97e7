/**
 * results.json (its shape: ts/contract/results.ts), written and read:
 * `{ env: {...versions}, runs: [ { scenario, runtime, runtimeVersion, variant, verdict,
 * closeMs, closeEvent, openSocketsAfterClose, gatewayReconnects, timeline, ... } ] }`.
 * Every run writes reports/<run-id>/results.json and points reports/latest at it.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { REPORTS_DIR, ROOT, RUNS_DIR, VERSIONS } from '../config.js';
import { KitError } from '../errors.js';
import { toParkedReport } from '../contract/parked.js';
import type { ResultsFile } from '../contract/results.js';

export type { ResultsFile } from '../contract/results.js';

/** A new run id, sortable by time: `20261122-023512-3fa1`. */
export function newRunId(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${Math.random().toString(16).slice(2, 6)}`;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The environment block: versions of everything that shaped the verdicts. */
export function environment(extra: Record<string, string | null> = {}): Record<string, string | null> {
  return {
    kitCommit: gitCommit(),
    livekitServer: VERSIONS.livekitServer,
    livekitSip: VERSIONS.livekitSip,
    agentsJs: VERSIONS.agentsJs,
    agentsPy: VERSIONS.agentsPy,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    ...extra,
  };
}

/**
 * Write results.json atomically into `<dir>/<runId>/` (the raw run: `.kit/runs/`; the
 * reports get a redacted copy from writeReports) and repoint `<dir>/latest`.
 * @returns the file written.
 */
export function writeResults(res: ResultsFile, dir = RUNS_DIR): string {
  const runDir = join(dir, res.runId);
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, 'results.json');
  writeFileSync(file + '.tmp', JSON.stringify(res, null, 2));
  renameSync(file + '.tmp', file);
  pointLatest(dir, res.runId);
  return file;
}

/** Repoint `<dir>/latest` at `runId` (a relative symlink, so the folder can move). */
export function pointLatest(dir: string, runId: string): void {
  const latest = join(dir, 'latest');
  try {
    if (lstatSync(latest)) unlinkSync(latest);
  } catch {
    // no previous link
  }
  symlinkSync(runId, latest);
}

/** Where one run's files are: the raw folder when this machine still has it, and its reports folder. */
export interface RunLocation {
  runId: string;
  /** `.kit/runs/<run-id>/`, or null when only the reports exist (another machine's run). */
  rawDir: string | null;
  reportDir: string;
}

/**
 * Finds run `runId` ('latest' allowed: the newest of the reports).
 * @throws KitError (exit 2) when there are no results for it.
 */
export function locateRun(runId: string, reportsDir = REPORTS_DIR, runsDir = RUNS_DIR): RunLocation {
  let id = runId;
  if (runId === 'latest') {
    try {
      id = readlinkSync(join(reportsDir, 'latest'));
    } catch {
      throw new KitError(`no results for run "latest" (${join(reportsDir, 'latest')})`, { fix: 'run `make repro` first, or pass an id from reports/' });
    }
  }
  const rawDir = existsSync(join(runsDir, id, 'results.json')) ? join(runsDir, id) : null;
  const reportDir = join(reportsDir, id);
  if (!rawDir && !existsSync(join(reportDir, 'results.json'))) {
    throw new KitError(`no results for run "${runId}" (${join(reportDir, 'results.json')})`, { fix: 'run `make repro` first, or pass an id from reports/' });
  }
  return { runId: id, rawDir, reportDir };
}

/**
 * Read a run's results.json ('latest' allowed): the raw one when this machine has it, else
 * the redacted copy in reports/; each run's `parked` as one ParkedReport shape.
 * @throws KitError (exit 2) when missing.
 */
export function readResults(runId: string, reportsDir = REPORTS_DIR, runsDir = RUNS_DIR): ResultsFile {
  const loc = locateRun(runId, reportsDir, runsDir);
  return readResultsFile(join(loc.rawDir ?? loc.reportDir, 'results.json'));
}

/**
 * Read one results.json by path, each run's `parked` checked into the one ParkedReport
 * shape (results written before it had one shape stored an array of captures; a JS
 * capture may omit `tasks`). @throws SyntaxError when the file is not JSON.
 */
export function readResultsFile(file: string): ResultsFile {
  const res = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
  for (const r of res.runs) r.parked = toParkedReport(r.parked);
  return res;
}
