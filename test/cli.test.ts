import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../ts/config.js';

const kit = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

describe('kit CLI contracts', () => {
  it('bad input exits 2 with the reason and the fix', () => {
    const s = kit('repro', '-s', 'no-such-scenario');
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/unknown scenario\(s\): no-such-scenario/);
    expect(s.stderr).toMatch(/fix: choose from: .*hangup-tool-wedge/);
    const r = kit('repro', '-r', 'rust');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"rust" is not one of: js, py/);
    const rep = kit('report', '--run', 'no-such-run');
    expect(rep.status).toBe(2);
    expect(rep.stderr).toMatch(/no results for run "no-such-run"/);
    const w = kit('where', 'ruby');
    expect(w.status).toBe(2);
  });

  it('kit where prints the package root and the venv python the workers use', () => {
    const js = kit('where', 'js');
    expect(js.status, js.stderr).toBe(0);
    const root = js.stdout.trim();
    expect(root).toMatch(/\.kit\/runtimes\/js\/[\d.]+\/node_modules\/@livekit\/agents$/);
    expect(existsSync(join(root, 'package.json'))).toBe(true);
    const py = kit('where', 'py');
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout.trim()).toMatch(/\.kit\/runtimes\/py\/[\d.]+\/bin\/python$/);
    expect(existsSync(py.stdout.trim())).toBe(true);
  });
});
