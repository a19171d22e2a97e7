/**
 * SetupStep for the report's browser check: test/report-html.test.ts opens report.html in
 * headless Chromium (Debian `chromium`, driven by playwright-core). Optional: the reports
 * themselves need no browser; without it that test skips and says why.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { KitError } from '../errors.js';
import type { SetupStep } from '../steps.js';

/** Where the kit looks for Chromium: CLOSEKIT_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.CLOSEKIT_CHROMIUM ?? '/usr/bin/chromium';
}

/** Chromium's version line (e.g. "Chromium 156.0.8078.79 built on Debian ..."), or null when it does not run. */
export async function chromiumVersion(bin = chromiumPath()): Promise<string | null> {
  if (!existsSync(bin)) return null;
  const r = await execa(bin, ['--version'], { reject: false, timeout: 20_000 });
  const m = /Chromium\s+[\d.]+/.exec(r.stdout ?? '');
  return m ? m[0] : null;
}

/** The report folder's setup steps, for ts/setup.ts. */
export function reportSteps(): SetupStep[] {
  const fix = 'apt-get update && apt-get install -y chromium (as root)';
  return [
    {
      name: 'chromium (report.html check)',
      pinned: 'Debian chromium (any; driven by playwright-core)',
      required: false,
      feature: 'report',
      fix,
      async check() {
        const bin = chromiumPath();
        const v = await chromiumVersion(bin);
        return v ? { ok: true, found: v, detail: bin } : { ok: false, found: null, detail: existsSync(bin) ? `${bin} does not run` : `${bin} missing` };
      },
      async install(log) {
        if (process.getuid?.() !== 0) throw new KitError('chromium is missing and the kit is not root', { fix: `sudo ${fix}` });
        const env = { DEBIAN_FRONTEND: 'noninteractive' };
        log('apt-get install -y chromium');
        let r = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { all: true, reject: false, env });
        if (r.failed) {
          // A fresh machine often has no package lists yet.
          await execa('apt-get', ['update'], { reject: false, env });
          r = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { all: true, reject: false, env });
        }
        if (r.failed) throw new KitError(`apt-get install chromium failed:\n${String(r.all ?? r.message).split('\n').slice(-10).join('\n')}`, { fix });
      },
    },
  ];
}
