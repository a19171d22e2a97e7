/**
 * The containerized Python worker (`--py-worker container`): the image builds (cached by
 * content hash), a scenario runs in it on the run's own network with the same verdict as
 * the venv worker, results.json says so, and no container is left behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, VERSIONS } from '../ts/config.js';
import { containerEngine, engineEnv, ensureWorkerImage } from '../ts/runtimes/py/container.js';
import { readResultsFile } from '../ts/report/results.js';

const engine = await containerEngine();
const skip = engine ? null : 'no podman or docker (kit setup --only container installs podman)';
if (skip) console.warn(`container.test.ts SKIPPED: ${skip}`);

const leftovers = () =>
  execFileSync(engine!.bin, ['ps', '-a', '--filter', 'label=closekit', '--format', '{{.Names}}'], { encoding: 'utf8', env: engineEnv() }).split('\n').filter(Boolean);

describe.skipIf(!!skip)(`the container Python worker${skip ? ` (SKIPPED: ${skip})` : ` (${engine?.version})`}`, () => {
  it('the image is built once per content hash: a second ensure reuses the tag', async () => {
    const a = await ensureWorkerImage(VERSIONS.agentsPy);
    const t0 = Date.now();
    const b = await ensureWorkerImage(VERSIONS.agentsPy);
    expect(b).toEqual(a);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(a.image).toMatch(new RegExp(`closekit-py-worker:${VERSIONS.agentsPy.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
  }, 600_000);

  it('kit repro --py-worker container: the tool wedge hangs in the container as in the venv, results say container, nothing left', async () => {
    const dirs = { CLOSEKIT_REPORTS_DIR: mkdtempSync(join(tmpdir(), 'ck-ctr-r-')), CLOSEKIT_RUNS_DIR: mkdtempSync(join(tmpdir(), 'ck-ctr-w-')) };
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'repro', '-r', 'py', '--py-worker', 'container', '-s', 'hangup-tool-wedge', '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...dirs }, timeout: 300_000 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(r.stdout) as { runId: string };
    const res = readResultsFile(join(dirs.CLOSEKIT_RUNS_DIR, summary.runId, 'results.json'));
    const run = res.runs[0]!;
    expect(run.verdict, run.reason).toBe('hang');
    expect(run.openSocketsAfterClose).toBeGreaterThanOrEqual(1);
    expect(run.worker).toMatchObject({ mode: 'container' });
    expect(run.worker?.imageId).toMatch(/^[0-9a-f]{64}$/);
    // the kit's SIGUSR2 reached the job process inside the container: the parked capture came back
    expect(run.parked?.tasks.length ?? 0).toBeGreaterThan(0);
    expect(leftovers()).toEqual([]);
  }, 600_000);
});
