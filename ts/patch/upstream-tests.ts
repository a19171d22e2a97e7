/**
 * Run agents-js's own vitest tests (shipped in the npm package as `src/**\/*.test.ts`) against
 * an installed package root, unpatched or patched, and report pass/fail counts.
 *
 * Upstream runs them from the monorepo root (agents-js `vitest.config.ts`: `include
 * ['**\/*.test.ts']`, `define __PACKAGE_VERSION__`, `setupFiles ['./vitest.setup.ts']`, which
 * silences the logger with `initializeLogger({ pretty: false, level: 'silent' })`). The npm
 * package has neither config, nor vitest; so each run gets a sandbox in the OS temp dir:
 * a copy of the package's `src/` under `agents/src/` (the upstream layout, so `../..` imports and
 * vitest paths match), a `node_modules/` of symlinks to the runtime's dependencies plus the kit's
 * own `vitest`, and an equivalent config. The runtime itself is only read.
 */
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ROOT } from '../config.js';
import { KitError } from '../errors.js';

export interface TestCase {
  /** Package-relative test file, e.g. `src/voice/agent_session.test.ts`. */
  file: string;
  /** Full test name (describe blocks and title). */
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  durationMs: number | null;
  /** First failure message, when failed. */
  message?: string;
}

export interface TestRun {
  agentsRoot: string;
  passed: number;
  failed: number;
  skipped: number;
  /** Test files that failed to load or crashed (counted apart from test cases). */
  failedFiles: string[];
  cases: TestCase[];
  durationMs: number;
}

export interface RunOptions {
  /** The `@livekit/agents` package root to test (`kit where js [--patched]`). */
  agentsRoot: string;
  /** Package-relative globs to run. Default `['src/voice/*.test.ts']`. */
  include?: string[];
  /** Extra files copied into the sandbox: package-relative path → absolute source (e.g. a regression test for an unpatched tree). */
  extraFiles?: Record<string, string>;
  /** Filter by test name (vitest `-t`). */
  testNamePattern?: string;
  /** Whole-run budget in ms. Default 20 minutes. */
  timeoutMs?: number;
}

function linkNodeModules(runtimeNodeModules: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const entry of readdirSync(runtimeNodeModules)) {
    if (entry.startsWith('.')) continue;
    const src = join(runtimeNodeModules, entry);
    if (entry.startsWith('@')) {
      mkdirSync(join(dest, entry), { recursive: true });
      for (const sub of readdirSync(src)) symlinkSync(join(src, sub), join(dest, entry, sub));
    } else {
      symlinkSync(src, join(dest, entry));
    }
  }
  const vitest = join(ROOT, 'node_modules', 'vitest');
  if (!existsSync(vitest)) throw new KitError('vitest is not installed in the kit', { fix: 'npm ci' });
  rmSync(join(dest, 'vitest'), { force: true, recursive: true });
  symlinkSync(vitest, join(dest, 'vitest'));
}

interface VitestJson {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { fullName: string; status: string; duration?: number | null; failureMessages?: string[] }[];
  }[];
}

/**
 * Runs the package's vitest tests at `agentsRoot` in a temp sandbox.
 *
 * @returns counts and per-case results (`file` is package-relative, e.g. `src/voice/x.test.ts`).
 * @throws KitError (exit 2) when `agentsRoot` is not an `@livekit/agents` package root with
 *   `src/`, or vitest produced no report (crash or `timeoutMs` exceeded).
 */
export async function runUpstreamTests(opts: RunOptions): Promise<TestRun> {
  const agentsRoot = resolve(opts.agentsRoot);
  if (!existsSync(join(agentsRoot, 'src', 'index.ts')) || !existsSync(join(agentsRoot, 'package.json'))) {
    throw new KitError(`${agentsRoot} is not an @livekit/agents package root with src/`, { fix: 'pass the path printed by kit where js' });
  }
  const pkg = JSON.parse(readFileSync(join(agentsRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const sandbox = mkdtempSync(join(tmpdir(), 'closekit-upstream-tests-'));
  const started = performance.now();
  try {
    cpSync(join(agentsRoot, 'src'), join(sandbox, 'agents', 'src'), { recursive: true });
    for (const [rel, src] of Object.entries(opts.extraFiles ?? {})) {
      mkdirSync(dirname(join(sandbox, 'agents', rel)), { recursive: true });
      cpSync(src, join(sandbox, 'agents', rel));
    }
    // Some tests (e.g. amd_session_close.test.ts) import the built SDK at agents/dist/.
    symlinkSync(join(agentsRoot, 'dist'), join(sandbox, 'agents', 'dist'));
    writeFileSync(join(sandbox, 'agents', 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' }));
    writeFileSync(join(sandbox, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    linkNodeModules(join(agentsRoot, '..', '..'), join(sandbox, 'node_modules'));
    writeFileSync(
      join(sandbox, 'vitest.setup.ts'),
      "import { initializeLogger } from './agents/src/log.js';\ninitializeLogger({ pretty: false, level: 'silent' });\n",
    );
    const include = (opts.include ?? ['src/voice/*.test.ts']).map((g) => `agents/${g}`);
    writeFileSync(
      join(sandbox, 'vitest.config.mjs'),
      `export default ${JSON.stringify({
        define: { __PACKAGE_VERSION__: JSON.stringify(pkg.version), __PACKAGE_NAME__: JSON.stringify(pkg.name) },
        test: { include, environment: 'node', testTimeout: 5_000, setupFiles: ['./vitest.setup.ts'], reporters: ['json'], outputFile: 'report.json' },
      })};\n`,
    );
    const args = [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'vitest.config.mjs'];
    if (opts.testNamePattern) args.push('-t', opts.testNamePattern);
    await execa(process.execPath, args, { cwd: sandbox, reject: false, timeout: opts.timeoutMs ?? 20 * 60_000, all: true });
    const reportFile = join(sandbox, 'report.json');
    if (!existsSync(reportFile)) throw new KitError(`vitest wrote no report for ${agentsRoot} (crashed or timed out)`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestJson;
    const cases: TestCase[] = [];
    const failedFiles: string[] = [];
    for (const f of report.testResults) {
      const file = f.name.slice(f.name.indexOf('/agents/src/') + '/agents/'.length);
      if (f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed')) failedFiles.push(file);
      for (const a of f.assertionResults) {
        const status = a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped';
        cases.push({
          file,
          name: a.fullName,
          status,
          durationMs: a.duration ?? null,
          ...(status === 'failed' ? { message: (a.failureMessages?.[0] ?? '').split('\n')[0] } : {}),
        });
      }
    }
    return {
      agentsRoot,
      passed: cases.filter((c) => c.status === 'passed').length,
      failed: cases.filter((c) => c.status === 'failed').length,
      skipped: cases.filter((c) => c.status === 'skipped').length,
      failedFiles,
      cases,
      durationMs: performance.now() - started,
    };
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

export interface Comparison {
  unpatched: TestRun;
  patched: TestRun;
  /** Test cases whose status differs, as `{ file, name, unpatched, patched }`. */
  changed: { file: string; name: string; unpatched: TestCase["status"] | "absent"; patched: TestCase["status"] | "absent" }[];
  /** Package-relative test files only the patched tree has: the fix's regression tests. */
  added: string[];
}

/**
 * Runs the same tests against the unpatched and the patched package roots (one after the
 * other: 2-core machines) and lines the results up. Test files present only in the patched
 * tree (the fix's regression tests) are copied into the unpatched sandbox, so they must fail
 * there and pass on the patched tree.
 *
 * @returns both runs and the cases whose status differs.
 * @throws KitError as {@link runUpstreamTests}.
 */
export async function compareUpstreamTests(opts: {
  unpatchedRoot: string;
  patchedRoot: string;
  include?: string[];
  testNamePattern?: string;
  timeoutMs?: number;
}): Promise<Comparison> {
  // Test files the fix adds anywhere under src/ (its regression tests): copied into the
  // unpatched sandbox, and run on both sides whatever `include` says.
  const extraFiles: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(opts.patchedRoot, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.test.ts') && !existsSync(join(opts.unpatchedRoot, r))) extraFiles[r] = join(opts.patchedRoot, r);
    }
  };
  walk('src');
  const added = Object.keys(extraFiles).sort();
  const include = [...(opts.include ?? ['src/voice/*.test.ts']), ...added.filter((f) => !/^src\/voice\/[^/]+\.test\.ts$/.test(f))];
  const common = { include, testNamePattern: opts.testNamePattern, timeoutMs: opts.timeoutMs };
  const unpatched = await runUpstreamTests({ agentsRoot: opts.unpatchedRoot, extraFiles, ...common });
  const patched = await runUpstreamTests({ agentsRoot: opts.patchedRoot, ...common });
  const key = (c: TestCase) => `${c.file}\u0000${c.name}`;
  const before = new Map(unpatched.cases.map((c) => [key(c), c.status]));
  const changed: Comparison["changed"] = patched.cases
    .filter((c) => before.get(key(c)) !== c.status)
    .map((c) => ({ file: c.file, name: c.name, unpatched: before.get(key(c)) ?? ('absent' as const), patched: c.status }));
  for (const c of unpatched.cases) {
    if (!patched.cases.some((p) => key(p) === key(c))) changed.push({ file: c.file, name: c.name, unpatched: c.status, patched: 'absent' as const });
  }
  return { unpatched, patched, changed, added };
}
