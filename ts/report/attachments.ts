/**
 * `attachments/`: what a maintainer drags into the GitHub issue, since GitHub takes neither
 * .html attachments nor bodies over 65,536 characters:
 * - `closekit-<run-id>.zip`: the redacted report folder (report.html, results.json, the
 *   run copies, the issue texts and their details files, the patch bundle);
 * - `timeline-<scenario>.png`: one picture per scenario that hung, the same SVG report.html
 *   draws, rendered in headless Chromium (Debian `chromium`, driven by playwright-core).
 * Without Chromium there are no PNGs and the caller says so; the zip needs nothing.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import type { ResultsFile } from '../contract/results.js';
import { scenarioSvg } from './html.js';
import type { Redactor } from './redact.js';
import { chromiumPath, chromiumVersion } from './steps.js';

export const ATTACHMENTS_DIR = 'attachments';

/** GitHub's attachment limits (bytes): 25 MB for a file, 10 MB for an image. */
export const GITHUB_FILE_LIMIT = 25 * 1024 * 1024;
export const GITHUB_IMAGE_LIMIT = 10 * 1024 * 1024;

/** The names the issue text refers to, known before anything is rendered. */
export function attachmentNames(res: ResultsFile): { zip: string; pngs: Record<string, string> } {
  const hung = [...new Set(res.runs.filter((r) => r.verdict === 'hang').map((r) => r.scenario))];
  return { zip: `closekit-${res.runId}.zip`, pngs: Object.fromEntries(hung.map((s) => [s, `timeline-${s}.png`])) };
}

/**
 * Renders one PNG per entry of `pngs` (scenario → file name) into `<reportDir>/attachments/`.
 * @returns the files written (relative to reportDir), or `skipped` with the reason when
 *   Chromium is not there (nothing written then).
 */
export async function writeTimelinePngs(reportDir: string, res: ResultsFile, pngs: Record<string, string>, red: Redactor): Promise<{ files: string[]; skipped: string | null }> {
  const scenarios = Object.keys(pngs);
  if (!scenarios.length) return { files: [], skipped: null };
  const bin = chromiumPath();
  if (!(await chromiumVersion(bin))) return { files: [], skipped: `${bin} is missing or does not run (apt-get install -y chromium, or kit setup)` };
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    browser = await chromium.launch({ executablePath: bin, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  } catch (e) {
    // The reports do not need the pictures: say why there are none and write the rest.
    return { files: [], skipped: `${bin} does not start headless: ${(e as Error).message.split('\n')[0]}` };
  }
  const dir = join(reportDir, ATTACHMENTS_DIR);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
    // Nothing but the SVG: no network, no fonts from anywhere.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    for (const s of scenarios) {
      const svg = scenarioSvg(s, res.runs, red);
      await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff;font-family:sans-serif">${svg}</body></html>`);
      const el = page.locator('svg.timeline');
      const file = join(dir, pngs[s]!);
      await el.screenshot({ path: `${file}.tmp.png` });
      renameSync(`${file}.tmp.png`, file);
      files.push(relative(reportDir, file));
    }
  } finally {
    await browser.close();
  }
  return { files, skipped: null };
}

/**
 * Zips every file of `reportDir` except `attachments/` into `attachments/<zip>`.
 * @returns the zip's path relative to reportDir and its size (bytes).
 */
export function writeReportZip(reportDir: string, zip: string): { file: string; bytes: number } {
  const entries: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(reportDir, p);
      if (rel === ATTACHMENTS_DIR) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) entries[`closekit-report/${rel}`] = readFileSync(p);
    }
  };
  walk(reportDir);
  const dir = join(reportDir, ATTACHMENTS_DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, zip);
  // Fixed timestamps: the same reports give the same zip.
  const data = zipSync(Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [v, { mtime: new Date('2000-01-01T00:00:00Z') }]])), { level: 9 });
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
  return { file: relative(reportDir, file), bytes: statSync(file).size };
}
