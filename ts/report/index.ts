/**
 * The reports of one run (reports/<run-id>/), everything in it safe to attach to a public
 * issue. The raw run (keys, configs, unredacted logs and results) stays in the run's raw
 * folder (`.kit/runs/<run-id>/`); what lands in reports/ is:
 * - results.json: a redacted copy
 * - runs/<scenario>.<runtime>.<variant>/: redacted copies of the timeline, the result, the
 *   scenario and the logs (never the key files or the generated configs)
 * - issue-agents-js.md, issue-agents.md: upstream issue text (issue.ts)
 * - report.html: the self-contained visual report (html.ts)
 * - junit.xml: one testcase per run (junit.ts)
 * - patches/: the exact fix patches + SHA256SUMS + README (bundle.ts)
 * - attachments/: the zip of all the above and one timeline PNG per hang scenario
 *   (attachments.ts), what a maintainer drags into the issue
 * Everything but the patch copies is redacted (redact.ts) on the way out.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATCHES_DIR, ROOT } from '../config.js';
import { RUNTIME_IDS } from '../contract/results.js';
import type { ResultsFile } from './results.js';
import { makeRedactor, type Redactor } from './redact.js';
import { attachmentNames, writeReportZip, writeTimelinePngs } from './attachments.js';
import { detailsFileOf, renderIssueParts } from './issue.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { writePatchBundle } from './bundle.js';
import { UPSTREAM, readPatchInfo } from './model.js';

export { redact, redactJson, makeRedactor } from './redact.js';

export interface WriteReportsOptions {
  /** Source of the fix patches (default: the kit's patches/). */
  patchesDir?: string;
  /** Kit checkout path to replace with `<kit>` (default: this checkout). */
  root?: string;
  /** Host name to redact (default: os.hostname()). */
  hostname?: string;
  /**
   * The raw run folder (`.kit/runs/<run-id>/`: keys, logs, per-run files) the reports are
   * made from. Default: the reports folder itself (a folder that already holds only
   * redacted copies); when it differs, redacted copies are written into the reports folder.
   */
  rawDir?: string;
  /** false: no attachments/ (no PNGs, no zip). Default: write them. */
  attachments?: boolean;
  /** The issue body budget, characters (default ISSUE_BODY_LIMIT; tests shrink it). */
  issueLimit?: number;
}

/** Per-run files that never leave the raw folder: the run's keys and the generated server configs. */
const RAW_ONLY = /^(gateway-keys\.json|.*\.ya?ml|.*\.pem|.*\.key)$/i;

/**
 * Redacted copies of the raw run into the reports folder: results.json (deep JSON
 * redaction, then the string rules) and, per run, every text file but RAW_ONLY. Returns
 * the written files relative to `reportDir`.
 */
function writeRedactedArtifacts(rawDir: string, reportDir: string, res: ResultsFile, red: Redactor): string[] {
  const out: string[] = [];
  writeAtomic(join(reportDir, 'results.json'), red(JSON.stringify(red.json(res), null, 2)));
  out.push('results.json');
  const runs = join(rawDir, 'runs');
  if (!existsSync(runs)) return out;
  const copy = (rel: string) => {
    const from = join(runs, rel);
    for (const e of readdirSync(from, { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) copy(r);
      else if (e.isFile() && !RAW_ONLY.test(e.name)) {
        const text = readFileSync(join(from, e.name), 'utf8');
        if (text.includes('\u0000')) continue; // binary (a capture): not for a public issue
        mkdirSync(join(reportDir, 'runs', rel), { recursive: true });
        writeAtomic(join(reportDir, 'runs', r), red(text));
        out.push(join('runs', r));
      }
    }
  };
  copy('');
  return out;
}

/**
 * The run's own API secrets, from runs/<id>/gateway-keys.json, so the redactor removes them
 * by value too (belt and braces on top of the shape rules). Missing/garbled files: none.
 */
function runSecrets(runDir: string): string[] {
  const dir = join(runDir, 'runs');
  if (!existsSync(dir)) return [];
  const out = new Set<string>();
  for (const d of readdirSync(dir)) {
    const f = join(dir, d, 'gateway-keys.json');
    if (!existsSync(f)) continue;
    try {
      const keys = JSON.parse(readFileSync(f, 'utf8')) as Record<string, { apiKey?: string; apiSecret?: string }>;
      for (const k of Object.values(keys)) {
        if (k?.apiKey) out.add(k.apiKey);
        if (k?.apiSecret) out.add(k.apiSecret);
      }
    } catch {
      // not ours to judge: the shape rules still apply
    }
  }
  return [...out];
}

function writeAtomic(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

/**
 * Write every report of a run into `runDir` (reports/<res.runId>/). `res` is the parsed
 * results.json; run logs and scenario specs are read from
 * `<rawDir>/runs/<scenario>.<runtime>.<variant>/` when present (optional: reports say what
 * is missing). Returns the written files relative to runDir: the redacted copies (when
 * `rawDir` is another folder), `issue-agents-js.md`, `issue-agents.md`, `report.html`,
 * `junit.xml`, `patches/<upstream>/*.patch`, `patches/SHA256SUMS`, `patches/README.md`.
 * Throws KitError (exit 2) when a patch would leak something the redaction catches;
 * fs errors propagate.
 */
export async function writeReports(runDir: string, res: ResultsFile, opts: WriteReportsOptions = {}): Promise<{ files: string[]; pngsSkipped: string | null }> {
  mkdirSync(runDir, { recursive: true });
  const rawDir = opts.rawDir ?? runDir;
  const patchesDir = opts.patchesDir ?? PATCHES_DIR;
  const red: Redactor = makeRedactor({ root: opts.root ?? ROOT, hostname: opts.hostname, secrets: runSecrets(rawDir) });
  const files: string[] = [];
  if (rawDir !== runDir) files.push(...writeRedactedArtifacts(rawDir, runDir, res, red));
  // Patches first: a patch that would leak stops everything before any report is written.
  const bundle = writePatchBundle(runDir, res, { patchesDir, redact: red });
  // Pictures first: the issue text names only the ones that exist.
  const names = attachmentNames(res);
  const pngs = opts.attachments === false ? { files: [], skipped: 'not asked for' } : await writeTimelinePngs(runDir, res, names.pngs, red);
  const drawn = pngs.skipped ? {} : names.pngs;
  const attachments = opts.attachments === false ? undefined : { zip: names.zip, pngs: drawn };
  for (const rt of RUNTIME_IDS) {
    // A maintainer's candidate is not closekit's patch: its Fix section must not show ours.
    const foreign = res.candidates?.[rt] && res.candidates[rt]!.kind !== 'patches';
    const patches = foreign ? [] : readPatchInfo(patchesDir, UPSTREAM[rt].patches);
    const { body, details } = renderIssueParts(rt, res, { runDir: rawDir, patches, redact: red, attachments, limit: opts.issueLimit });
    writeAtomic(join(runDir, UPSTREAM[rt].issueFile), red(body));
    files.push(UPSTREAM[rt].issueFile);
    if (details) {
      writeAtomic(join(runDir, detailsFileOf(rt)), red(details));
      files.push(detailsFileOf(rt));
    }
  }
  writeAtomic(join(runDir, 'report.html'), red(renderHtml(res, red)));
  files.push('report.html');
  writeAtomic(join(runDir, 'junit.xml'), red(renderJunit(res, red)));
  files.push('junit.xml');
  files.push(...bundle);
  files.push(...pngs.files);
  if (attachments) files.push(writeReportZip(runDir, names.zip).file);
  return { files, pngsSkipped: pngs.skipped };
}
