import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../ts/config.js';

const kitEnv = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'bin/kit.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
const kit = (...args: string[]) => kitEnv({}, ...args);

/** Every path under `dir` with its mtime and size: what "changes no file" compares. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      out.set(p, `${st.mtimeMs}:${st.size}`);
      if (n.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

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

  it('kit where only reads: twice in a row changes no file of the install', () => {
    const py = kit('where', 'py');
    expect(py.status, py.stderr).toBe(0);
    const venv = join(py.stdout.trim(), '..', '..');
    const before = snapshot(venv);
    expect(before.size).toBeGreaterThan(100);
    expect(kit('where', 'py').status).toBe(0);
    expect(kit('where', 'js').status).toBe(0);
    expect(snapshot(venv)).toEqual(before);
  });

  it('kit where on an install that does not exist: exit 2 naming the command that builds it, nothing created', () => {
    const kitDir = mkdtempSync(join(tmpdir(), 'ck-where-'));
    for (const [args, build] of [
      [['where', 'py', '--patched'], 'kit setup --patched'],
      [['where', 'js'], 'kit setup'],
      [['where', 'js', '--js-version', '1.8.0'], 'kit repro -r js --js-version 1.8.0'],
    ] as const) {
      const r = kitEnv({ CLOSEKIT_KIT_DIR: kitDir }, ...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is not built/);
      expect(r.stderr).toContain(`fix: run \`${build}\``);
    }
    expect(readdirSync(kitDir)).toEqual([]);
  });
});
