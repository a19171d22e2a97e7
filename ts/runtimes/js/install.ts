/**
 * The agents-js runtime on disk (docs/internals.md, "Runtimes on disk"):
 * `.kit/runtimes/js/<version>/` is a small npm project holding `@livekit/agents@<version>`
 * and the peers it declares (`@livekit/rtc-node`, `zod`). The worker imports agents from
 * there, never from the kit's own node_modules, so the version under test is exactly the
 * one the user named and `kit verify` can patch a copy without touching the kit.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIMES_DIR, VERSIONS } from '../../config.js';
import { KitError } from '../../errors.js';

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
  if (isJsRuntimeComplete(dir, version)) return { dir, agentsRoot: agentsRootOf(dir) };

  const view = await npmView(version);
  const specs = [`@livekit/agents@${version}`, ...peerSpecs(version, view.peerDependencies ?? {})];

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
    opts.log?.(`npm install ${specs.join(' ')} (in ${tmp})`);
    const r = await execa('npm', ['install', '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: tmp, reject: false, all: true });
    if (r.exitCode !== 0) {
      throw new KitError(`npm install of ${specs.join(' ')} failed:\n${(r.all ?? '').split('\n').slice(-15).join('\n')}`, {
        fix: 'check network access to the npm registry, then run kit setup again',
      });
    }
    if (!isJsRuntimeComplete(tmp, version)) {
      throw new KitError(`npm install finished but ${agentsRootOf(tmp)} is not @livekit/agents@${version}`, { fix: 'remove .kit/runtimes/js and run kit setup again' });
    }
    // Another process may have finished the same install first; theirs is as good as ours.
    if (isJsRuntimeComplete(dir, version)) {
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
