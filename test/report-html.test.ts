/**
 * report.html in a real browser: headless Debian Chromium driven by playwright-core opens the
 * page rendered from the fixture run (test/fixtures/report/run/), checks the matrix and one
 * timeline SVG per scenario are laid out (non-zero boxes, four panels each), that the page
 * asks for nothing but itself, and takes a full-page screenshot (path printed; kept when
 * CLOSEKIT_REPORT_SCREENSHOT names a file) for a human to judge.
 *
 * Without Chromium the test is reported as SKIPPED with the reason and the fix (never a
 * silent pass): `kit setup` (feature 'report') or `apt-get install -y chromium`.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReports } from '../ts/report/index.js';
import { chromiumPath, chromiumVersion } from '../ts/report/steps.js';
import { readResultsFile, type ResultsFile } from '../ts/report/results.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/report/run');
const CHROMIUM = chromiumPath();
const version = await chromiumVersion(CHROMIUM);
const skipReason = version ? null : `${CHROMIUM} ${existsSync(CHROMIUM) ? 'does not run' : 'is missing'}: install it with \`apt-get update && apt-get install -y chromium\` (or \`kit setup\`, feature report)`;
if (skipReason) console.warn(`report-html.test.ts SKIPPED: ${skipReason}`);

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(!!skipReason)(`report.html in headless Chromium${skipReason ? ` (SKIPPED: ${skipReason})` : ` (${version})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'closekit-report-html-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the matrix and one timeline per scenario, self-contained, and screenshots', async () => {
    cpSync(FIXTURE, dir, { recursive: true });
    const res = readResultsFile(join(dir, 'results.json'));
    await writeReports(dir, res);
    const scenarios = [...new Set(res.runs.map((r) => r.scenario))];

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1320, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(join(dir, 'report.html')).href;
      await page.goto(url);

      // The matrix: a row per scenario, a column per runtime × variant present.
      await expect(page.locator('table.matrix tbody tr').count()).resolves.toBe(scenarios.length);
      await expect(page.locator('table.matrix thead th').count()).resolves.toBe(1 + 4);
      await expect(page.locator('table.matrix td.v-hang').count()).resolves.toBe(res.runs.filter((r) => r.verdict === 'hang').length);

      // One laid-out SVG per scenario, four panels (JS|Python × unpatched/patched) each.
      const svgs = page.locator('svg.timeline');
      await expect(svgs.count()).resolves.toBe(scenarios.length);
      for (const s of scenarios) {
        const svg = page.locator(`svg.timeline[data-scenario="${s}"]`);
        const box = await svg.boundingBox();
        expect(box, s).not.toBeNull();
        expect(box!.width).toBeGreaterThan(1000);
        expect(box!.height).toBeGreaterThan(300);
        const text = await svg.textContent();
        for (const h of ['agents-js 1.9.0 · unpatched', 'agents-js 1.9.0 · patched', 'Python livekit-agents 1.8.9 · unpatched', 'Python livekit-agents 1.8.9 · patched']) expect(text, `${s}: ${h}`).toContain(h);
        // hang panels draw the lock that is never released; closed panels the close
        const wedge = res.runs.some((r) => r.scenario === s && r.verdict === 'hang');
        if (wedge) expect(text).toContain('never released');
      }

      // Self-contained: the page loaded nothing but itself.
      expect(requests).toEqual([url]);

      // attachments/: one PNG per scenario that hung, the same SVG, looked at here: it is a
      // PNG of the SVG's size, and not blank (the panels' colours are in it).
      const hung = [...new Set(res.runs.filter((r) => r.verdict === 'hang').map((r) => r.scenario))];
      expect(hung.length).toBeGreaterThan(0);
      for (const s of hung) {
        const png = join(dir, 'attachments', `timeline-${s}.png`);
        expect(existsSync(png), png).toBe(true);
        const bytes = readFileSync(png);
        expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
        expect(bytes.length).toBeLessThan(10 * 1024 * 1024);
        const svgSize = await page.locator(`svg.timeline[data-scenario="${s}"]`).evaluate((el) => [Number(el.getAttribute('width')), Number(el.getAttribute('height'))]);
        const seen = await page.evaluate(async (b64) => {
          const img = new Image();
          img.src = `data:image/png;base64,${b64}`;
          await img.decode();
          const c = document.createElement('canvas');
          c.width = img.naturalWidth;
          c.height = img.naturalHeight;
          const g = c.getContext('2d')!;
          g.drawImage(img, 0, 0);
          const px = g.getImageData(0, 0, c.width, c.height).data;
          const colours = new Set<string>();
          for (let i = 0; i < px.length; i += 4 * 97) colours.add(`${px[i]},${px[i + 1]},${px[i + 2]}`);
          return { w: img.naturalWidth, h: img.naturalHeight, colours: colours.size };
        }, bytes.toString('base64'));
        expect([seen.w, seen.h], s).toEqual(svgSize);
        expect(seen.colours, `${s}: distinct colours sampled`).toBeGreaterThan(8);
      }
      // and the issue text names each picture and the zip
      const md = readFileSync(join(dir, 'issue-agents-js.md'), 'utf8') + readFileSync(join(dir, 'issue-agents.md'), 'utf8');
      for (const s of hung) expect(md).toContain(`timeline-${s}.png`);
      expect(md).toContain(`closekit-${res.runId}.zip`);

      const shot = process.env.CLOSEKIT_REPORT_SCREENSHOT ?? join(tmpdir(), `closekit-report-html-${process.pid}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      console.log(`report.html screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  });
});
