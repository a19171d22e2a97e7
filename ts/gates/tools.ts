/**
 * The gates' tools at upstream's pinned versions (config.ts GATE_TOOLS), installed once under
 * `.kit/tools/`: an npm project for agents-js's prettier / eslint / tsc / api-extractor, and a
 * uv venv for livekit-agents's ruff / mypy. Each is built in a scratch folder beside its final
 * path and renamed into place when complete, so a failed install leaves nothing behind.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATE_TOOLS, KIT_DIR } from '../config.js';
import { KitError } from '../errors.js';

const MARKER = '.closekit-complete.json';

const hashOf = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 12);

/**
 * Ensures the agents-js gate tools; returns the folder whose `node_modules/` holds them
 * (`node_modules/.bin/{prettier,eslint,tsc,api-extractor}`).
 * @throws KitError (exit 2) when npm cannot install the pinned versions.
 */
export async function ensureJsGateTools(log: (l: string) => void = () => {}): Promise<string> {
  const dir = join(KIT_DIR, 'tools', `gates-js-${hashOf(GATE_TOOLS.js)}`);
  if (existsSync(join(dir, MARKER))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'closekit-gates-js', private: true, type: 'module', devDependencies: GATE_TOOLS.js }, null, 2) + '\n');
    log(`npm install ${Object.entries(GATE_TOOLS.js).map(([n, v]) => `${n}@${v}`).join(' ')}`);
    const r = await execa('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: tmp, reject: false, all: true, timeout: 600_000 });
    if (r.exitCode !== 0) throw new KitError(`npm could not install the agents-js gate tools: ${(r.all ?? '').trim().split('\n').slice(-5).join('\n')}`, { fix: 'check npm registry access; versions are config.ts GATE_TOOLS.js' });
    writeFileSync(join(tmp, MARKER), JSON.stringify({ tools: GATE_TOOLS.js }, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Ensures the livekit-agents gate venv: ruff and mypy at upstream's pins, plus `extra`
 * requirements (the pydantic the checked venv has, for upstream's `pydantic.mypy` plugin, and
 * upstream's typing stubs). Keyed by everything installed.
 *
 * @param uv the kit's pinned uv (ts/runtimes/py/install.ts ensureUv).
 * @param python the interpreter to base the venv on (same minor as the checked venv).
 * @returns the venv's python.
 * @throws KitError (exit 2) when uv cannot install them.
 */
export async function ensurePyGateTools(uv: string, python: string, extra: string[], log: (l: string) => void = () => {}): Promise<string> {
  const reqs = [`ruff==${GATE_TOOLS.py.ruff}`, `mypy==${GATE_TOOLS.py.mypy}`, ...extra].sort();
  const dir = join(KIT_DIR, 'tools', `gates-py-${hashOf({ reqs, python })}`);
  const py = join(dir, 'bin', 'python');
  if (existsSync(join(dir, MARKER))) return py;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const v = await execa(uv, ['venv', '-q', '--relocatable', '--python', python, tmp], { reject: false, all: true });
    if (v.exitCode !== 0) throw new KitError(`uv could not create the gate venv: ${(v.all ?? '').trim()}`);
    log(`uv pip install ${reqs.join(' ')}`);
    const r = await execa(uv, ['pip', 'install', '-q', '--python', join(tmp, 'bin', 'python'), ...reqs], { reject: false, all: true, timeout: 600_000 });
    if (r.exitCode !== 0) throw new KitError(`uv could not install the livekit-agents gate tools: ${(r.all ?? '').trim().split('\n').slice(-5).join('\n')}`, { fix: 'check PyPI access; versions are config.ts GATE_TOOLS.py' });
    writeFileSync(join(tmp, MARKER), JSON.stringify({ reqs }, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return py;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
