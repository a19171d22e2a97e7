/**
 * Shards and merge: two `--shard i/2` runs side by side (each its own stacks and
 * namespaces) merged by `kit merge` equal one unsharded run of the same matrix: the same
 * runs, the same verdicts. And the committed GitHub workflow is what `kit ci --github` writes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../ts/config.js';
import { readResultsFile } from '../ts/report/results.js';

interface Summary {
  runId: string;
  exitCode: number;
  runs: Array<{ scenario: string; runtime: string; runtimeVersion: string; variant: string; verdict: string }>;
}

/** `bin/kit.mjs <args> --json` with its own reports and raw-runs folders; resolves with the JSON summary. */
function kit(args: string[], dirs: { reports: string; runs: string }): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/kit.mjs'), ...args], { cwd: ROOT, env: { ...process.env, CLOSEKIT_REPORTS_DIR: dirs.reports, CLOSEKIT_RUNS_DIR: dirs.runs } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}
const dirs = () => ({ reports: mkdtempSync(join(tmpdir(), 'ck-shard-r-')), runs: mkdtempSync(join(tmpdir(), 'ck-shard-w-')) });
const key = (r: Summary['runs'][number]) => `${r.scenario} ${r.runtime} ${r.runtimeVersion} ${r.variant}: ${r.verdict}`;

describe('kit repro --shard i/n and kit merge', () => {
  it('two shards run in parallel and merged give the same runs and verdicts as one unsharded run', async () => {
    const matrix = ['repro', '-r', 'js', '-s', 'hangup-clean,hangup-tool-wedge', '--json'];
    const whole = dirs();
    const one = await kit(matrix, whole);
    expect(one.code, one.err.slice(-2000)).toBe(0);
    const unsharded = JSON.parse(one.out) as Summary;

    const d1 = dirs();
    const d2 = dirs();
    const [s1, s2] = await Promise.all([kit([...matrix, '--shard', '1/2'], d1), kit([...matrix, '--shard', '2/2'], d2)]);
    expect(s1.code, s1.err.slice(-2000)).toBe(0);
    expect(s2.code, s2.err.slice(-2000)).toBe(0);
    const a = JSON.parse(s1.out) as Summary;
    const b = JSON.parse(s2.out) as Summary;
    // Each shard ran its own slice: together all of it, no run twice.
    expect(a.runs).toHaveLength(1);
    expect(b.runs).toHaveLength(1);

    const out = dirs();
    const m = spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'merge', join(d1.runs, a.runId), join(d2.runs, b.runId), '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CLOSEKIT_REPORTS_DIR: out.reports, CLOSEKIT_RUNS_DIR: out.runs },
    });
    expect(m.status, m.stderr).toBe(0);
    const merged = JSON.parse(m.stdout) as { runId: string; reports: string; mergedFrom: string[] };
    expect(merged.mergedFrom).toEqual([a.runId, b.runId]);
    const res = readResultsFile(join(merged.reports, 'results.json'));
    expect(res.runs.map(key).sort()).toEqual(unsharded.runs.map(key).sort());
    // All the reports, from the merged run, with both shards' runs in them.
    const md = readFileSync(join(merged.reports, 'issue-agents-js.md'), 'utf8');
    expect(md).toContain('`hangup-clean`');
    expect(md).toContain('`hangup-tool-wedge`');
    expect(readFileSync(join(merged.reports, 'junit.xml'), 'utf8').match(/<testcase /g)).toHaveLength(2);
  }, 600_000);

  it('bad input: a shard outside 1..n, merging one folder, or shards of different splits', async () => {
    const d = dirs();
    const bad = await kit(['repro', '--shard', '3/2'], d);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/i\/n with 1 <= i <= n/);
    const one = spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'merge', d.runs], { cwd: ROOT, encoding: 'utf8' });
    expect(one.status).toBe(2);
    expect(one.stderr).toMatch(/needs at least two shard folders/);
  });
});

describe('kit ci --github', () => {
  it('the committed workflow is what the command writes, and its matrix is the kit\'s', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'ci', '--github'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'docs/ci/github-closekit.yml'), 'utf8'));
    for (const row of ['{ runtime: js, version: "1.9.0", shard: 1 }', '{ runtime: js, version: "1.9.0", shard: 2 }', '{ runtime: py, version: "1.8.9", shard: 2 }']) expect(r.stdout).toContain(row);
    expect(r.stdout).toContain('node bin/kit.mjs merge shards/*/*/');
    const three = spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'ci', '--github', '--shards', '3', '-r', 'py', '--py-version', '1.7.0,1.8.9'], { cwd: ROOT, encoding: 'utf8' });
    expect(three.stdout.match(/- \{ runtime: py/g)).toHaveLength(6);
    expect(three.stdout).toContain('--shard ${{ matrix.shard }}/3');
  });
});

describe('kit compose', () => {
  it('the committed docker/ files are what the command writes, from the config a run uses', async () => {
    const { composeFiles, COMPOSE_ADDR } = await import('../ts/compose/index.js');
    const files = composeFiles();
    for (const [f, text] of Object.entries(files)) expect(readFileSync(join(ROOT, 'docker', f), 'utf8'), f).toBe(text);
    // livekit-server's config is livekitConfig's, bound to the shared address, with redis (for livekit-sip)
    expect(files['livekit.yaml']).toContain(`- ${COMPOSE_ADDR}`);
    expect(files['livekit.yaml']).toMatch(/redis:\n\s+address: 172\.28\.0\.2:6379/);
    expect(files['compose.yml']).toContain('network_mode: service:livekit-server');
  });
});
