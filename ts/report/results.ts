/**
 * results.json (its shape: ts/contract/results.ts), written and read:
 * `{ env: {...versions}, runs: [ { scenario, runtime, runtimeVersion, variant, verdict,
 * closeMs, closeEvent, openSocketsAfterClose, gatewayReconnects, timeline, ... } ] }`.
 * Every run writes reports/<run-id>/results.json and points reports/latest at it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { REPORTS_DIR, ROOT, VERSIONS } from '../config.js';
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

/** Write results.json atomically into reports/<runId>/ and repoint reports/latest. */
export function writeResults(res: ResultsFile, reportsDir = REPORTS_DIR): string {
  const dir = join(reportsDir, res.runId);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'results.json');
  writeFileSync(file + '.tmp', JSON.stringify(res, null, 2));
  renameSync(file + '.tmp', file);
  const latest = join(reportsDir, 'latest');
  try {
    if (lstatSync(latest)) unlinkSync(latest);
  } catch {
    // no previous link
  }
  symlinkSync(res.runId, latest);
  return file;
}

/** Read reports/<runId>/results.json ('latest' allowed), each run's `parked` as one ParkedReport shape. Throws KitError when missing. */
export function readResults(runId: string, reportsDir = REPORTS_DIR): ResultsFile {
  const file = join(reportsDir, runId, 'results.json');
  if (!existsSync(file)) throw new KitError(`no results for run "${runId}" (${file})`, { fix: 'run `make repro` first, or pass an id from reports/' });
  return readResultsFile(file);
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
