/**
 * Loads `@livekit/agents` and `@livekit/rtc-node` from the runtime dir (env
 * CLOSEKIT_AGENTS_DIR = `.kit/runtimes/js/<version>[-patched]`), never from the kit's own
 * node_modules: the kit's copy is a devDependency for types only, and the patched and
 * unpatched runs must load different files.
 *
 * Both packages are ESM with `exports: { import: ./dist/index.js }`; we import the file
 * URL so Node's module cache gives the worker, the forked job process and our
 * instrumentation the very same module instances as the package's own relative imports
 * (e.g. `dist/voice/agent_activity.js`, which the package does not export by name).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KitError } from '../errors.js';

export type Agents = typeof import('@livekit/agents');
export type Rtc = typeof import('@livekit/rtc-node');

export interface LoadedRuntime {
  /** The npm project dir. */
  dir: string;
  /** `<dir>/node_modules/@livekit/agents`. */
  agentsRoot: string;
  /** Its package.json version. */
  version: string;
  agents: Agents;
  rtc: Rtc;
  /** `import()` of a file inside the agents package, e.g. `dist/voice/agent_activity.js`. */
  importInternal<T = any>(rel: string): Promise<T>;
}

function esmEntry(pkgRoot: string): string {
  const pkg = JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8')) as {
    exports?: { import?: { default?: string } | string };
    module?: string;
    main?: string;
  };
  const imp = pkg.exports?.import;
  const rel = (typeof imp === 'string' ? imp : imp?.default) ?? pkg.module ?? pkg.main;
  if (!rel) throw new KitError(`${pkgRoot}/package.json names no ESM entry`, { fix: 'reinstall the runtime (rm -rf it, then kit setup)' });
  return join(pkgRoot, rel);
}

let cached: Promise<LoadedRuntime> | undefined;

/**
 * Imports agents + rtc-node from `dir` (default `process.env.CLOSEKIT_AGENTS_DIR`).
 * Memoised per process: every caller shares one module instance.
 * @throws KitError when the dir is unset or holds no agents install.
 */
export function loadRuntime(dir: string | undefined = process.env.CLOSEKIT_AGENTS_DIR): Promise<LoadedRuntime> {
  if (cached) return cached;
  if (!dir) throw new KitError('CLOSEKIT_AGENTS_DIR is not set', { fix: 'start the worker through startJsWorker, or set CLOSEKIT_AGENTS_DIR to .kit/runtimes/js/<version>' });
  const agentsRoot = join(dir, 'node_modules', '@livekit', 'agents');
  const rtcRoot = join(dir, 'node_modules', '@livekit', 'rtc-node');
  if (!existsSync(join(agentsRoot, 'package.json')) || !existsSync(join(rtcRoot, 'package.json'))) {
    throw new KitError(`${dir} holds no @livekit/agents + @livekit/rtc-node install`, { fix: 'run kit setup (ensureJsRuntime)' });
  }
  cached = (async () => {
    const version = (JSON.parse(readFileSync(join(agentsRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const agents = (await import(pathToFileURL(esmEntry(agentsRoot)).href)) as Agents;
    const rtc = (await import(pathToFileURL(esmEntry(rtcRoot)).href)) as Rtc;
    return {
      dir,
      agentsRoot,
      version,
      agents,
      rtc,
      importInternal: (rel: string) => import(pathToFileURL(join(agentsRoot, rel)).href),
    };
  })();
  return cached;
}
