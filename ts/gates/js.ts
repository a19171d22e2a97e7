/**
 * agents-js's own gates on a source tree laid out as upstream's monorepo (docs/gates.md):
 *
 *   tsc             `pnpm build:types` (tsc --declaration --emitDeclarationOnly: type-checks
 *                   every src file) and `pnpm typecheck` (tsc -p tsconfig.typecheck.json)
 *   eslint          `pnpm lint` (eslint -f unix "src/**\/*.ts") with the root .eslintrc
 *   prettier        `format:check` (prettier --check) over agents/src, root .prettierrc
 *                   (import order via @trivago/prettier-plugin-sort-imports)
 *   api-extractor   `pnpm api:check` against agents/etc/agents.api.md
 *
 * The configs are upstream's at config.ts UPSTREAM_COMMITS.agentsJs, the tools the versions
 * its pnpm-lock.yaml pins (GATE_TOOLS.js); the scripts are agents-js `agents/package.json`'s.
 *
 * The API report: upstream commits `agents/etc/agents.api.md`, but neither the npm package nor
 * the reachable history has it at the release, so the unpatched column generates it from the
 * release (`api:update`, marked `baseline`) and the patched tree is checked against that report
 * with the patch's own `agents/etc/agents.api.md` hunks applied: exactly what upstream's
 * `api:check` asks of a PR.
 *
 * Outcomes are cached per tree checksum (sources, report, tool versions, config commit) in
 * `.kit/gates/js/cache/`: an unchanged release or patch is not re-checked, and the table says
 * `(cached)`.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GATE_TOOLS, KIT_DIR, UPSTREAM_COMMITS } from '../config.js';
import type { Candidate, GateOutcome, GateRow } from '../contract/results.js';
import { applyPatchesAtomic } from '../patch/apply.js';
import { cachedOutcomes, withoutFindings, type Judged, countSummary, execGate, judgeAgainstRelease, newFindings, outcome, tailOutput, treeChecksum, unsupported, type GateExec } from './exec.js';
import { ensureJsGateTools } from './tools.js';
import { upstreamFiles } from './upstream-files.js';

/** Upstream files a gate tree needs, at the pinned commit. */
export const JS_GATE_CONFIG_FILES = [
  'package.json',
  '.prettierrc',
  '.prettierignore',
  '.eslintrc',
  'tsconfig.json',
  'globals.d.ts',
  'api-extractor-shared.json',
  'turbo.json',
  'agents/tsconfig.json',
  'agents/tsconfig.typecheck.json',
  'agents/api-extractor.json',
] as const;

const API_REPORT = 'agents/etc/agents.api.md';

interface Tree {
  root: string;
  agents: string;
  hide: Record<string, string>;
}

/**
 * Lays out a gate tree at `dest`: upstream's configs, the package's `src/` and `package.json`,
 * `agents/node_modules` → the runtime's dependencies, root `node_modules` → the gate tools.
 */
function layTree(dest: string, o: { configs: string; agentsRoot: string; tools: string; apiReport?: string }): Tree {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, 'agents'), { recursive: true });
  for (const f of JS_GATE_CONFIG_FILES) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(o.configs, f), join(dest, f));
  }
  cpSync(join(o.agentsRoot, 'src'), join(dest, 'agents', 'src'), { recursive: true });
  cpSync(join(o.agentsRoot, 'package.json'), join(dest, 'agents', 'package.json'));
  // the runtime project's node_modules holds @livekit/agents' own dependencies
  symlinkSync(join(o.agentsRoot, '..', '..'), join(dest, 'agents', 'node_modules'));
  symlinkSync(join(o.tools, 'node_modules'), join(dest, 'node_modules'));
  if (o.apiReport) {
    mkdirSync(join(dest, 'agents', 'etc'), { recursive: true });
    cpSync(o.apiReport, join(dest, API_REPORT));
  }
  return { root: dest, agents: join(dest, 'agents'), hide: { [dest]: '.', [o.tools]: '<gate-tools>', [join(o.agentsRoot, '..', '..')]: '<runtime>/node_modules', [KIT_DIR]: '<.kit>' } };
}

const bin = (t: Tree, name: string) => join(t.root, 'node_modules', '.bin', name);


async function tsc(t: Tree): Promise<Judged> {
  const build = await execGate(bin(t, 'tsc'), ['--declaration', '--emitDeclarationOnly'], { cwd: t.agents, hide: t.hide });
  const check = await execGate(bin(t, 'tsc'), ['-p', 'tsconfig.typecheck.json'], { cwd: t.agents, hide: t.hide });
  const both: GateExec = { exitCode: build.exitCode || check.exitCode, output: [build.output, check.output].filter(Boolean).join('\n'), ms: build.ms + check.ms };
  const findings = both.output.split('\n').filter((l) => /error TS\d+/.test(l));
  return { ...outcome(both, { errors: findings.length, summary: countSummary(findings.length) }), findings };
}

async function eslint(t: Tree): Promise<Judged> {
  const x = await execGate(bin(t, 'eslint'), ['-f', 'unix', 'src/**/*.ts'], { cwd: t.agents, hide: t.hide });
  const findings = x.output.split('\n').filter((l) => /\[(Error|Warning)\//.test(l));
  const errors = findings.filter((l) => l.includes('[Error/')).length;
  const warnings = findings.length - errors;
  return { ...outcome(x, { errors, warnings, summary: countSummary(errors, warnings) }), findings };
}

async function prettier(t: Tree): Promise<Judged> {
  const x = await execGate(bin(t, 'prettier'), ['--check', 'agents/src/**/*.{ts,tsx,md,json}'], { cwd: t.root, hide: t.hide });
  const findings = x.output.split('\n').filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'));
  const files = findings.length;
  return { ...outcome(x, { errors: files, summary: files ? `${files} file${files === 1 ? '' : 's'} not formatted` : 'formatted' }), findings };
}

async function apiExtractor(t: Tree, local: boolean): Promise<GateExec> {
  mkdirSync(join(t.agents, 'etc'), { recursive: true });
  mkdirSync(join(t.agents, 'temp'), { recursive: true });
  return execGate(bin(t, 'api-extractor'), ['run', ...(local ? ['--local'] : []), '--typescript-compiler-folder', '../node_modules/typescript'], { cwd: t.agents, hide: t.hide });
}

export interface JsGateInput {
  /** `@livekit/agents` package roots (`kit where js [--patched]`); only read. */
  unpatchedRoot: string;
  patchedRoot: string;
  /** What the patched side is: its `agents/etc/agents.api.md` hunks come from `files`/`file`. */
  candidate?: Candidate | null;
  /** The patch files of the candidate (closekit's patches/ or the maintainer's file). */
  patches?: string[];
  /** A checkout candidate's own `agents/etc/agents.api.md`: checked as is (upstream's api:check in that checkout). */
  apiReport?: string;
  log?: (l: string) => void;
}

/**
 * Runs the four gates on the unpatched and the patched tree (`.kit/gates/js/{unpatched,patched}/`,
 * rebuilt each call and left for inspection).
 *
 * @returns one row per gate.
 * @throws KitError (exit 2) when the configs or the tools cannot be had (see upstream-files.ts,
 *   tools.ts); a gate that fails is a row, not a throw.
 */
export async function jsGates(o: JsGateInput): Promise<GateRow[]> {
  const log = o.log ?? (() => {});
  const tools = await ensureJsGateTools(log);
  const configs = await upstreamFiles(UPSTREAM_COMMITS.agentsJs, JS_GATE_CONFIG_FILES);
  const base = join(KIT_DIR, 'gates', 'js');

  const keyExtra = { tools: GATE_TOOLS.js, configs: UPSTREAM_COMMITS.agentsJs.commit };
  const cache = join(base, 'cache');

  const u = layTree(join(base, 'unpatched'), { configs, agentsRoot: o.unpatchedRoot, tools });
  const uKey = treeChecksum(u.root, ['agents/src', 'agents/package.json'], keyExtra);
  // the release's generated report is kept beside its cached outcomes
  const baseline = join(cache, `${uKey}.agents.api.md`);
  log('gates (agents-js, unpatched): tsc, eslint, prettier, api-extractor');
  const uRes = await cachedOutcomes(cache, `u-${uKey}`, async () => {
    const tscOut = await tsc(u);
    const gen = existsSync(join(u.agents, 'dist', 'index.d.ts')) ? await apiExtractor(u, true) : null;
    if (gen && existsSync(join(u.root, API_REPORT))) {
      mkdirSync(cache, { recursive: true });
      cpSync(join(u.root, API_REPORT), baseline);
    }
    const api: GateOutcome =
      gen && existsSync(baseline)
        ? { status: 'baseline', summary: 'generated from the release (api:update): upstream has not published its report for it', output: '', ms: gen.ms }
        : unsupported(gen ? `api-extractor could not generate the release's report: ${gen.output.trim().split('\n').pop()}` : 'no declarations: tsc emitted none for the release');
    return { tsc: tscOut, api, eslint: await eslint(u), prettier: await prettier(u) };
  });
  const { tsc: uTsc, api: uApi, eslint: uLint, prettier: uFmt } = uRes;
  if (uApi.status === 'baseline' && !existsSync(baseline)) uApi.status = 'unsupported';

  let pApiNote: string | null = null;
  const own = o.apiReport && existsSync(o.apiReport) ? o.apiReport : undefined;
  const p = layTree(join(base, 'patched'), { configs, agentsRoot: o.patchedRoot, tools, apiReport: own ?? (existsSync(baseline) ? baseline : undefined) });
  if (own) {
    // checked against its own committed report
  } else if (o.patches?.length && existsSync(baseline)) {
    const touches = o.patches.some((f) => readFileSync(f, 'utf8').includes(`diff --git a/${API_REPORT} `));
    if (touches) await applyPatchesAtomic({ patches: o.patches, targetDir: p.root, strip: 1, include: 'agents/etc/' });
  } else if (!o.patches?.length) {
    pApiNote = `a ${o.candidate?.kind ?? 'non-patch'} candidate carries no agents.api.md hunk to check against the release's report`;
  }
  const pKey = treeChecksum(p.root, ['agents/src', 'agents/package.json', 'agents/etc'], { ...keyExtra, pApiNote });
  log('gates (agents-js, patched): tsc, eslint, prettier, api-extractor');
  const pRes = await cachedOutcomes(cache, `p-${pKey}`, async () => {
    const tscOut = await tsc(p);
    let api: GateOutcome;
    if (pApiNote) api = unsupported(pApiNote);
    else if (!own && !existsSync(baseline)) api = unsupported('no API report of the release to check against');
    else if (!existsSync(join(p.agents, 'dist', 'index.d.ts'))) api = unsupported('no declarations: tsc emitted none on the patched tree');
    else {
      const x = await apiExtractor(p, false);
      const stale = /changed the public API signature|API report.*(differ|out of date)|Warning: You have changed/i.test(x.output);
      api = outcome(x, { summary: x.exitCode === 0 ? 'agents.api.md up to date' : stale ? 'agents.api.md is stale: the patch changes the public API without updating the report' : 'api-extractor failed' });
    }
    return { tsc: tscOut, api, eslint: await eslint(p), prettier: await prettier(p) };
  });
  const pTsc = pRes.tsc;
  const pApi = pRes.api;
  let pLint = pRes.eslint;
  // upstream's CI passes on warnings, but a review asks for none new
  const addedLint = newFindings(uLint.findings ?? [], pLint.findings ?? []);
  if (addedLint.length) pLint = { ...pLint, status: 'fail', summary: `${pLint.summary}; ${addedLint.length} new`, output: tailOutput(addedLint.join('\n')) };
  else pLint = judgeAgainstRelease(uLint, pLint);
  const pFmt = judgeAgainstRelease(uFmt, pRes.prettier);
  const pTscJ = judgeAgainstRelease(uTsc, pTsc);

  return [
    { runtime: 'js', gate: 'tsc', command: 'pnpm build:types && pnpm typecheck (agents/)', unpatched: withoutFindings(uTsc), patched: withoutFindings(pTscJ) },
    { runtime: 'js', gate: 'eslint', command: 'pnpm lint (agents/: eslint -f unix "src/**/*.ts")', unpatched: withoutFindings(uLint), patched: withoutFindings(pLint) },
    { runtime: 'js', gate: 'prettier --check', command: 'prettier --check "agents/src/**/*.{ts,tsx,md,json}"', unpatched: withoutFindings(uFmt), patched: withoutFindings(pFmt) },
    { runtime: 'js', gate: 'api-extractor', command: 'pnpm api:check (agents/)', unpatched: uApi, patched: pApi },
  ];
}
