/**
 * livekit-agents's own gates on a venv's installed `livekit/agents` (docs/gates.md), as
 * upstream's CI runs them (.github/workflows/ci.yml):
 *
 *   ruff check           `ruff check .` with the root pyproject.toml [tool.ruff]
 *   ruff format --check  `ruff format --check .`
 *   mypy                 scripts/check_types.py for `livekit.agents`: strict, the
 *                        pydantic.mypy plugin, `--platform linux`, upstream's overrides
 *
 * Config from upstream at config.ts UPSTREAM_COMMITS.agentsPy, tools at its uv.lock versions
 * (GATE_TOOLS.py). The tree is `.kit/gates/py/<variant>/`: pyproject.toml, the venv's package
 * at `livekit-agents/livekit/agents/`, and the patch's `tests/` files on the patched side.
 * mypy checks the checked venv's installed `livekit.agents` (the same files as the tree) with
 * every import resolved from that venv and upstream's stubs (mypyEnv).
 */
import { execa } from 'execa';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATE_TOOLS, KIT_DIR, UPSTREAM_COMMITS } from '../config.js';
import type { GateOutcome, GateRow } from '../contract/results.js';
import { KitError } from '../errors.js';
import { applyPatchesAtomic } from '../patch/apply.js';
import { ensureUv, findBasePython } from '../runtimes/py/install.js';
import { cachedOutcomes, withoutFindings, type Judged, countSummary, execGate, judgeAgainstRelease, outcome, treeChecksum } from './exec.js';
import { ensurePyGateTools } from './tools.js';
import { upstreamFiles } from './upstream-files.js';

interface Tree {
  root: string;
  hide: Record<string, string>;
}

async function packageDir(python: string): Promise<{ dir: string; pydantic: string }> {
  const r = await execa(python, ['-c', 'import os, livekit.agents, pydantic; print(os.path.dirname(livekit.agents.__file__)); print(pydantic.VERSION)'], { reject: false, all: true, env: { PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.exitCode !== 0) throw new KitError(`${python} cannot import livekit.agents: ${(r.all ?? '').trim().split('\n').pop()}`, { fix: 'rebuild it: kit setup --patched' });
  const [dir, pydantic] = r.stdout.trim().split('\n');
  return { dir: dir!, pydantic: pydantic! };
}

function layTree(dest: string, pkg: string, configs: string): Tree {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, 'livekit-agents', 'livekit'), { recursive: true });
  cpSync(join(configs, 'pyproject.toml'), join(dest, 'pyproject.toml'));
  cpSync(pkg, join(dest, 'livekit-agents', 'livekit', 'agents'), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  return { root: dest, hide: { [dest]: '.', [KIT_DIR]: '<.kit>' } };
}


async function ruff(gatePy: string, t: Tree, format: boolean): Promise<Judged> {
  const args = format ? ['-m', 'ruff', 'format', '--check', '--no-cache', '.'] : ['-m', 'ruff', 'check', '--no-cache', '--output-format', 'concise', '.'];
  const x = await execGate(gatePy, args, { cwd: t.root, hide: t.hide });
  if (format) {
    const findings = x.output.split('\n').filter((l) => l.startsWith('Would reformat'));
    return { ...outcome(x, { errors: findings.length, summary: findings.length ? `${findings.length} file${findings.length === 1 ? '' : 's'} would be reformatted` : 'formatted' }), findings };
  }
  const findings = x.output.split('\n').filter((l) => /:\d+:\d+: [A-Z]+\d+/.test(l));
  return { ...outcome(x, { errors: findings.length, summary: countSummary(findings.length) }), findings };
}

/**
 * An empty venv whose search path is the checked venv's site-packages, then the gate venv's
 * (a .pth file): mypy's `--python-executable` then sees the checked code and its dependencies
 * first and upstream's stub packages after them, as `uv run --group typing` gives upstream.
 */
async function mypyEnv(uv: string, dest: string, checked: string, gatePy: string): Promise<{ python: string; sitePackages: string }> {
  const sp = async (py: string) => (await execa(py, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'])).stdout.trim();
  const [checkedSp, gateSp] = [await sp(checked), await sp(gatePy)];
  rmSync(dest, { recursive: true, force: true });
  await execa(uv, ['venv', '-q', '--python', checked, dest]);
  const py = join(dest, 'bin', 'python');
  writeFileSync(join(await sp(py), 'closekit-gates.pth'), `${checkedSp}\n${gateSp}\n`);
  return { python: py, sitePackages: checkedSp };
}

async function mypy(gatePy: string, t: Tree, env: { python: string; sitePackages: string }, cacheDir: string): Promise<Judged> {
  // reached only when the outcome is not cached: start mypy's own cache afresh, so entries of
  // another tree at the same paths (the patched venv is rebuilt in place) cannot leak in
  rmSync(cacheDir, { recursive: true, force: true });
  const x = await execGate(
    gatePy,
    ['-m', 'mypy', '--config-file', '../pyproject.toml', '--cache-dir', cacheDir, '--python-executable', env.python, '--untyped-calls-exclude=smithy_aws_core', '--platform', 'linux', '-p', 'livekit.agents'],
    // the venv's path differs between unpatched and patched: one label, so findings compare
    { cwd: join(t.root, 'livekit-agents'), hide: { ...t.hide, [env.sitePackages]: '<site-packages>' }, timeoutMs: 900_000 },
  );
  const findings = x.output.split('\n').filter((l) => l.includes(': error:'));
  return { ...outcome(x, { errors: findings.length, summary: x.exitCode === 0 ? 'no issues' : countSummary(findings.length) }), findings };
}

export interface PyGateInput {
  /** Venv pythons (`kit where py [--patched]`); only read. */
  unpatchedPython: string;
  patchedPython: string;
  /** The candidate's patch files: their `tests/` files join the patched tree. */
  patches?: string[];
  log?: (l: string) => void;
}

/**
 * Runs the three gates on the unpatched and the patched tree.
 * @returns one row per gate.
 * @throws KitError (exit 2) when the config or the tools cannot be had; a failing gate is a row.
 */
export async function pyGates(o: PyGateInput): Promise<GateRow[]> {
  const log = o.log ?? (() => {});
  const configs = await upstreamFiles(UPSTREAM_COMMITS.agentsPy, ['pyproject.toml']);
  const u = await packageDir(o.unpatchedPython);
  const p = await packageDir(o.patchedPython);
  const base = await findBasePython();
  const uv = await ensureUv(base.python, log);
  if (!uv) throw new KitError('the pinned uv is not installed', { fix: 'kit setup' });
  const gatePy = await ensurePyGateTools(uv, base.python, [`pydantic==${u.pydantic}`, ...GATE_TOOLS.py.stubs], log);
  const dir = join(KIT_DIR, 'gates', 'py');

  const ut = layTree(join(dir, 'unpatched'), u.dir, configs);
  const pt = layTree(join(dir, 'patched'), p.dir, configs);
  if (o.patches?.length) {
    const tests = o.patches.filter((f) => readFileSync(f, 'utf8').includes('\ndiff --git a/tests/'));
    if (tests.length) await applyPatchesAtomic({ patches: tests, targetDir: pt.root, strip: 1, include: 'tests/' });
  }
  log('gates (livekit-agents): ruff check, ruff format --check, mypy (unpatched, patched)');
  const row = (gate: string, command: string, u: Judged, p: Judged): GateRow => ({ runtime: 'py', gate, command, unpatched: withoutFindings(u), patched: withoutFindings(judgeAgainstRelease(u, p)) });
  // cached per tree checksum (.kit/gates/py/cache/): an unchanged release or patch is not re-checked
  const check = (t: Tree, python: string, variant: string) =>
    cachedOutcomes(join(dir, 'cache'), `${variant}-${treeChecksum(t.root, ['livekit-agents', 'tests'], { tools: GATE_TOOLS.py, configs: UPSTREAM_COMMITS.agentsPy.commit, pydantic: u.pydantic, python })}`, async () => ({
      ruff: await ruff(gatePy, t, false),
      format: await ruff(gatePy, t, true),
      mypy: await mypy(gatePy, t, await mypyEnv(uv, join(dir, `env-${variant}`), python, gatePy), join(dir, `mypy-cache-${variant}`)),
    }));
  const ur = await check(ut, o.unpatchedPython, 'unpatched');
  const pr = await check(pt, o.patchedPython, 'patched');
  const rows: GateRow[] = [
    row('ruff check', 'ruff check .', ur.ruff, pr.ruff),
    row('ruff format --check', 'ruff format --check .', ur.format, pr.format),
    row('mypy', 'mypy --platform linux -p livekit.agents (scripts/check_types.py)', ur.mypy, pr.mypy),
  ];
  return rows;
}
