/**
 * The reports of one run, written next to its results.json (reports/<run-id>/):
 * - issue-agents-js.md, issue-agents.md: upstream issue text (issue.ts)
 * - report.html: the self-contained visual report (html.ts)
 * - junit.xml: one testcase per run (junit.ts)
 * - patches/: the exact fix patches + SHA256SUMS + README (bundle.ts)
 * Everything but the patch copies is redacted (redact.ts) on the way out.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATCHES_DIR, ROOT } from '../config.js';
import { RUNTIME_IDS } from '../contract/results.js';
import type { ResultsFile } from './results.js';
import { makeRedactor, type Redactor } from './redact.js';
import { renderIssue } from './issue.js';
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
 * Write every report of a run into `runDir` (normally reports/<res.runId>/, next to
 * results.json). `res` is the parsed results.json; run logs and scenario specs are read
 * from `runDir/runs/<scenario>.<runtime>.<variant>/` when present (optional: reports say
 * what is missing). Returns the written files relative to runDir:
 * `issue-agents-js.md`, `issue-agents.md`, `report.html`, `junit.xml`,
 * `patches/<upstream>/*.patch`, `patches/SHA256SUMS`, `patches/README.md`.
 * Throws KitError (exit 2) when a patch would leak something the redaction catches;
 * fs errors propagate.
 */
export async function writeReports(runDir: string, res: ResultsFile, opts: WriteReportsOptions = {}): Promise<{ files: string[] }> {
  mkdirSync(runDir, { recursive: true });
  const patchesDir = opts.patchesDir ?? PATCHES_DIR;
  const red: Redactor = makeRedactor({ root: opts.root ?? ROOT, hostname: opts.hostname, secrets: runSecrets(runDir) });
  const files: string[] = [];
  // Patches first: a patch that would leak stops everything before any report is written.
  const bundle = writePatchBundle(runDir, res, { patchesDir, redact: red });
  for (const rt of RUNTIME_IDS) {
    const md = renderIssue(rt, res, { runDir, patches: readPatchInfo(patchesDir, UPSTREAM[rt].patches), redact: red });
    writeAtomic(join(runDir, UPSTREAM[rt].issueFile), red(md));
    files.push(UPSTREAM[rt].issueFile);
  }
  writeAtomic(join(runDir, 'report.html'), red(renderHtml(res, red)));
  files.push('report.html');
  writeAtomic(join(runDir, 'junit.xml'), red(renderJunit(res, red)));
  files.push('junit.xml');
  files.push(...bundle);
  return { files };
}
