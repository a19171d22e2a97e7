/**
 * The agents-js runtime on disk (docs/internals.md, "Runtimes on disk"):
 * `.kit/runtimes/js/<version>/` is a small npm project holding `@livekit/agents@<version>`
 * and the peers it declares (`@livekit/rtc-node`, `zod`). The worker imports agents from
 * there, never from the kit's own node_modules, so the version under test is exactly the
 * one the user named and `kit verify` can patch a copy without touching the kit.
 */
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIMES_DIR, VERSIONS } from '../../config.js';
import { KitError } from '../../errors.js';

/**
 * Provider plugins installed next to agents, each pinned to the agents version (agents-js
 * publishes its plugins with the framework, and the plugin's peer is `@livekit/agents`
 * at that exact version: `@livekit/agents-plugin-deepgram@1.9.0` peers `@livekit/agents 1.9.0`).
 * Used by `providers: deepgram` scenarios (docs/scenarios.md).
 */
export const JS_PLUGIN_PACKAGES = ['@livekit/agents-plugin-deepgram'] as const;
/** Written into a runtime dir once its plugins are settled: `{ version, plugins: [spec], unpublished: [spec] }`. */
export const JS_PLUGINS_MARKER = 'closekit-plugins.json';

interface JsPluginsMarker {
  version: string;
  /** Plugin specs installed (`<pkg>@<version>`). */
  plugins: string[];
  /** Plugin specs npm does not have for this version (that runtime cannot run `providers: deepgram`). */
  unpublished: string[];
}

export interface JsRuntime {
  /** The npm project, e.g. `.kit/runtimes/js/1.9.0`. */
  dir: string;
  /** The package root of `@livekit/agents` inside it (what `kit where js` prints). */
  agentsRoot: string;
}

const VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** `.kit/runtimes/js/<version>[-patched]`. Throws KitError on a malformed version. */
export function jsRuntimeDir(version: string, opts: { patched?: boolean } = {}): string {
  if (!VERSION_RE.test(version)) {
    throw new KitError(`agents-js version ${JSON.stringify(version)} is not an exact npm version`, {
      fix: `pass an exact version such as ${VERSIONS.agentsJs}`,
    });
  }
  return join(RUNTIMES_DIR, 'js', opts.patched ? `${version}-patched` : version);
}

/** The `@livekit/agents` package root inside a runtime dir. */
export function agentsRootOf(dir: string): string {
  return join(dir, 'node_modules', '@livekit', 'agents');
}

/**
 * True when `dir` holds a complete install of `@livekit/agents@version` with rtc-node
 * next to it. A dir is only ever renamed into place after `npm install` finished, so
 * this is the idempotence check, not a repair.
 */
export function isJsRuntimeComplete(dir: string, version: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(agentsRootOf(dir), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version === version && existsSync(join(dir, 'node_modules', '@livekit', 'rtc-node', 'package.json'));
  } catch {
    return false;
  }
}

/** The plugins marker of a runtime dir, when it is for `version` (null: plugins not settled yet). */
export function jsPluginsOf(dir: string, version: string): JsPluginsMarker | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, JS_PLUGINS_MARKER), 'utf8')) as JsPluginsMarker;
    if (m.version !== version || !Array.isArray(m.plugins)) return null;
    // the marker is written after npm finished; still, a plugin it names must be on disk
    for (const spec of m.plugins) {
      const name = spec.slice(0, spec.lastIndexOf('@'));
      const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')) as { version?: string };
      if (pkg.version !== version) return null;
    }
    return m;
  } catch {
    return null;
  }
}

/** `npm view <pkg>@<version> version`: true when published, false on E404; throws KitError when npm cannot answer. */
async function npmHas(pkg: string, version: string): Promise<boolean> {
  const r = await execa('npm', ['view', `${pkg}@${version}`, 'version', '--json'], { reject: false });
  if (r.exitCode === 0) return r.stdout.trim() !== '';
  if (/E404|No match found/.test(`${r.stdout}\n${r.stderr}`)) return false;
  throw new KitError(`npm view ${pkg}@${version} failed: ${r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr}`, { fix: 'check that npm can reach its registry (npm ping)' });
}

async function pluginPlan(version: string): Promise<{ specs: string[]; unpublished: string[] }> {
  const specs: string[] = [];
  const unpublished: string[] = [];
  for (const pkg of JS_PLUGIN_PACKAGES) ((await npmHas(pkg, version)) ? specs : unpublished).push(`${pkg}@${version}`);
  return { specs, unpublished };
}

function writeJsPluginsMarker(dir: string, m: JsPluginsMarker): void {
  const tmp = join(dir, `${JS_PLUGINS_MARKER}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n');
  renameSync(tmp, join(dir, JS_PLUGINS_MARKER));
}

async function npmInstall(cwd: string, specs: string[], log?: (line: string) => void): Promise<void> {
  log?.(`npm install ${specs.join(' ')} (in ${cwd})`);
  const r = await execa('npm', ['install', '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd, reject: false, all: true });
  if (r.exitCode !== 0) {
    throw new KitError(`npm install of ${specs.join(' ')} failed:\n${(r.all ?? '').split('\n').slice(-15).join('\n')}`, {
      fix: 'check network access to the npm registry, then run kit setup again',
    });
  }
}

/**
 * Adds the provider plugins to a complete runtime that predates them, without ever
 * leaving `dir` half-written: the project is copied beside it, `npm install`ed there, and
 * swapped in (the old copy moved aside first, then removed). A worker already running from
 * `dir` keeps its open files; anything it loads later finds the same files plus the plugin.
 * When npm has no plugin for this version, only the marker is written (in place, by rename).
 */
async function addJsPlugins(dir: string, version: string, log?: (line: string) => void): Promise<void> {
  const plan = await pluginPlan(version);
  if (plan.specs.length === 0) {
    writeJsPluginsMarker(dir, { version, plugins: [], unpublished: plan.unpublished });
    return;
  }
  const parent = join(dir, '..');
  const tmp = join(parent, `.tmp-plugins-${version}-${process.pid}`);
  const old = join(parent, `.old-plugins-${version}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    log?.(`adding ${plan.specs.join(' ')} to ${dir} (built in ${tmp}, then swapped in)`);
    cpSync(dir, tmp, { recursive: true, verbatimSymlinks: true });
    await npmInstall(tmp, plan.specs, log);
    if (!isJsRuntimeComplete(tmp, version)) throw new KitError(`npm install of ${plan.specs.join(' ')} changed @livekit/agents in ${tmp}`, { fix: 'remove .kit/runtimes/js and run kit setup again' });
    writeJsPluginsMarker(tmp, { version, plugins: plan.specs, unpublished: plan.unpublished });
    if (!jsPluginsOf(tmp, version)) throw new KitError(`npm install finished but ${tmp} lacks ${plan.specs.join(' ')}`, { fix: 'remove .kit/runtimes/js and run kit setup again' });
    // another process may have added them first; theirs is as good as ours
    if (jsPluginsOf(dir, version)) {
      rmSync(tmp, { recursive: true, force: true });
      return;
    }
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir) && existsSync(old)) renameSync(old, dir);
    throw e;
  }
}

interface NpmViewResult {
  version: string;
  peerDependencies?: Record<string, string>;
}

/**
 * `npm view @livekit/agents@<version> version peerDependencies`.
 * @throws KitError (exit 2) when npm says the version does not exist, or npm cannot run.
 */
async function npmView(version: string): Promise<NpmViewResult> {
  const r = await execa('npm', ['view', `@livekit/agents@${version}`, 'version', 'peerDependencies', '--json'], { reject: false });
  if (r.exitCode !== 0 || !r.stdout.trim()) {
    const notFound = /E404|No match found/.test(`${r.stdout}\n${r.stderr}`);
    throw new KitError(
      notFound ? `@livekit/agents@${version} does not exist on npm` : `npm view @livekit/agents@${version} failed: ${r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr}`,
      { fix: notFound ? `choose a published version (npm view @livekit/agents versions); the pin is ${VERSIONS.agentsJs}` : 'check that npm can reach its registry (npm ping)' },
    );
  }
  const parsed = JSON.parse(r.stdout) as NpmViewResult | string;
  // `npm view` prints a bare string when the package has no peerDependencies field.
  return typeof parsed === 'string' ? { version: parsed } : parsed;
}

/**
 * The peer specs to install next to agents. For the pinned agents version we install the
 * pinned rtc-node (VERSIONS.rtcNode, which satisfies its `^0.13.34` peer range) so runs
 * are reproducible; for any other version we let npm pick from the declared peer range.
 */
function peerSpecs(version: string, peers: Record<string, string>): string[] {
  const specs: string[] = [];
  const rtc = peers['@livekit/rtc-node'];
  if (version === VERSIONS.agentsJs) specs.push(`@livekit/rtc-node@${VERSIONS.rtcNode}`);
  else specs.push(`@livekit/rtc-node@${rtc ?? VERSIONS.rtcNode}`);
  for (const [name, range] of Object.entries(peers)) {
    if (name === '@livekit/rtc-node') continue;
    // Only the peers agents actually imports at run time; zod is one (llm/tool_context).
    if (name === 'zod') specs.push(`zod@${range.split('||')[0]!.trim()}`);
  }
  return specs;
}

/**
 * Makes sure the agents-js runtime for `version` exists and returns where it is.
 *
 * - unpatched: installs into `.kit/runtimes/js/.tmp-<version>-<pid>/` with
 *   `npm install --save-exact @livekit/agents@<version> <peers>` and renames the temp dir
 *   to `.kit/runtimes/js/<version>/` only when npm succeeded (atomic; a killed install
 *   leaves only a temp dir, which the next call removes). A second call is a no-op check.
 * - patched: returns `.kit/runtimes/js/<version>-patched/` if a complete copy exists; it
 *   is built from patches/ by ts/patch/js.ts (`kit verify`, `kit where js --patched`), never here.
 *
 * Provider plugins (JS_PLUGIN_PACKAGES, each `@<version>`) are part of the install when npm
 * has them for this version; a complete runtime that predates them gets them added by
 * `addJsPlugins` (copy, install, swap: additive and atomic). `closekit-plugins.json` in the
 * dir records what was installed and what npm does not publish for this version.
 *
 * Peer versions come from `npm view @livekit/agents@<version> peerDependencies`
 * (agents-js package.json: `@livekit/rtc-node ^0.13.34`, `zod` for 1.9.0).
 *
 * @returns `{ dir, agentsRoot }`: absolute paths of the npm project and of the package root.
 * @throws KitError exit 2: malformed or unpublished version (checked with `npm view` before
 *   anything is written), npm install failure (temp dir removed), or a missing patched copy.
 */
export async function ensureJsRuntime(version: string, opts: { patched?: boolean; log?: (line: string) => void } = {}): Promise<JsRuntime> {
  const dir = jsRuntimeDir(version, opts);
  if (opts.patched) {
    if (!isJsRuntimeComplete(dir, version)) {
      throw new KitError(`the patched agents-js runtime ${dir} does not exist: build it from patches/ with kit verify or kit where js --patched`, {
        fix: 'build it from patches/ with `kit where js --patched` (or run `kit verify`)',
      });
    }
    return { dir, agentsRoot: agentsRootOf(dir) };
  }
  if (isJsRuntimeComplete(dir, version)) {
    if (!jsPluginsOf(dir, version)) await addJsPlugins(dir, version, opts.log);
    return { dir, agentsRoot: agentsRootOf(dir) };
  }

  const view = await npmView(version);
  const plan = await pluginPlan(version);
  const specs = [`@livekit/agents@${version}`, ...peerSpecs(version, view.peerDependencies ?? {}), ...plan.specs];

  const parent = join(RUNTIMES_DIR, 'js');
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${version}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(
      join(tmp, 'package.json'),
      JSON.stringify({ name: `closekit-agents-js-${version}`, private: true, type: 'module', description: 'closekit agents-js runtime (generated)' }, null, 2) + '\n',
    );
    await npmInstall(tmp, specs, opts.log);
    writeJsPluginsMarker(tmp, { version, plugins: plan.specs, unpublished: plan.unpublished });
    if (!isJsRuntimeComplete(tmp, version) || !jsPluginsOf(tmp, version)) {
      throw new KitError(`npm install finished but ${agentsRootOf(tmp)} is not @livekit/agents@${version}`, { fix: 'remove .kit/runtimes/js and run kit setup again' });
    }
    // Another process may have finished the same install first; theirs is as good as ours.
    if (isJsRuntimeComplete(dir, version) && jsPluginsOf(dir, version)) {
      rmSync(tmp, { recursive: true, force: true });
    } else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, agentsRoot: agentsRootOf(dir) };
}
