/**
 * Fix sources: what `kit verify --js-fix/--py-fix <source>` judges instead of patches/.
 * A source is one of
 *   - a patch file (git format, upstream paths: `agents/src/...` / `livekit-agents/livekit/...`);
 *   - a local checkout of livekit/agents-js or livekit/agents (uncommitted edits included);
 *   - a git URL or path with `#ref` (a PR branch, a tag, a commit), cloned into .kit/;
 *   - a published version (`1.9.1`), to see whether a release fixed it.
 * Resolving only reads and names; building is ts/fix/build.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { execa } from 'execa';
import type { Candidate, Runtime } from '../contract/results.js';
import { KitError } from '../errors.js';

/** A source, resolved: where it is and what identifies it (the candidate's cache key and report name). */
export type FixSource =
  | { kind: 'patches'; files: string[] }
  | { kind: 'patch'; file: string; sha256: string }
  | { kind: 'checkout'; dir: string; commit: string | null; dirty: boolean; key: string }
  | { kind: 'git'; url: string; ref: string }
  | { kind: 'version'; version: string };

/** What each upstream's tree looks like, and the paths its patches touch. */
export const UPSTREAM_LAYOUT: Record<Runtime, { repo: string; pkgDir: string; patchPrefix: string; describe: string; isCheckout: (dir: string) => boolean }> = {
  js: {
    repo: 'livekit/agents-js',
    pkgDir: 'agents',
    patchPrefix: 'agents/',
    describe: 'agents/package.json (name @livekit/agents) and pnpm-workspace.yaml at its root',
    isCheckout: (dir) => existsSync(resolve(dir, 'pnpm-workspace.yaml')) && existsSync(resolve(dir, 'agents/package.json')) && /"name":\s*"@livekit\/agents"/.test(readFileSync(resolve(dir, 'agents/package.json'), 'utf8')),
  },
  py: {
    repo: 'livekit/agents',
    pkgDir: 'livekit-agents',
    patchPrefix: 'livekit-agents/livekit/',
    describe: 'livekit-agents/pyproject.toml and livekit-agents/livekit/agents/ at its root',
    isCheckout: (dir) => existsSync(resolve(dir, 'livekit-agents/pyproject.toml')) && existsSync(resolve(dir, 'livekit-agents/livekit/agents/__init__.py')),
  },
};

const VERSION_RE = /^\d+\.\d+\.\d+(?:[-.]?[a-z0-9.]+)?$/i;

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Files a patch touches (`diff --git a/X b/Y` lines, else `+++ b/Y`). */
export function patchedPaths(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)) out.add(m[2]!);
  if (!out.size) for (const m of text.matchAll(/^\+\+\+ b\/(\S+)$/gm)) out.add(m[1]!);
  return [...out];
}

/**
 * Resolves `spec` for `runtime`.
 * @throws KitError (exit 2) naming the cause and the fix: nothing at that path and not a
 *   version; a file that is not a patch or touches no upstream path of this runtime; a
 *   directory that is not this upstream's layout.
 */
export async function resolveFixSource(runtime: Runtime, spec: string, cwd = process.cwd()): Promise<FixSource> {
  const layout = UPSTREAM_LAYOUT[runtime];
  const hash = spec.lastIndexOf('#');
  if (hash > 0) {
    const url = spec.slice(0, hash);
    const ref = spec.slice(hash + 1);
    if (!ref) throw new KitError(`fix source ${JSON.stringify(spec)} has an empty #ref`, { fix: 'name a branch, tag or commit after #, e.g. ../agents-js#my-fix' });
    const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^[\w.-]+@[\w.-]+:/.test(url);
    return { kind: 'git', url: local ? resolve(cwd, url) : url, ref };
  }
  const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) return resolveCheckout(runtime, path);
    const text = readFileSync(path, 'utf8');
    const files = patchedPaths(text);
    if (!files.length) throw new KitError(`${spec} is not a patch (no "diff --git" or "+++ b/" lines)`, { fix: 'pass a git-format patch (git format-patch / git diff), a checkout, a git URL#ref or a version' });
    if (!files.some((f) => f.startsWith(layout.patchPrefix))) {
      throw new KitError(`${spec} touches no ${layout.repo} path under ${layout.patchPrefix} (it touches ${files.slice(0, 3).join(', ')})`, {
        fix: `write the patch with upstream paths (${layout.patchPrefix}...), e.g. git format-patch in a ${layout.repo} checkout`,
      });
    }
    return { kind: 'patch', file: path, sha256: sha256(text) };
  }
  if (VERSION_RE.test(spec)) return { kind: 'version', version: spec };
  throw new KitError(`fix source ${JSON.stringify(spec)}: no such file or directory, and not a version`, {
    fix: `pass a patch file, a ${layout.repo} checkout, a git URL or path with #ref, or a published version`,
  });
}

async function git(dir: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await execa('git', ['-C', dir, ...args], { reject: false, encoding: 'buffer' });
  return { ok: r.exitCode === 0, out: Buffer.from(r.stdout as Uint8Array).toString('utf8') };
}

/**
 * A directory as an upstream checkout: its commit, whether it has uncommitted edits, and a
 * key that changes with any edit (commit + `git diff HEAD` + untracked files' contents).
 * @throws KitError (exit 2) when it is not this upstream's layout.
 */
export async function resolveCheckout(runtime: Runtime, dir: string): Promise<FixSource & { kind: 'checkout' }> {
  const layout = UPSTREAM_LAYOUT[runtime];
  if (!layout.isCheckout(dir)) throw new KitError(`${dir} is not a ${layout.repo} checkout (expected ${layout.describe})`, { fix: `pass the root of a ${layout.repo} clone` });
  const head = await git(dir, ['rev-parse', 'HEAD']);
  if (!head.ok) return { kind: 'checkout', dir, commit: null, dirty: true, key: sha256(`${dir}:${Date.now()}`).slice(0, 16) };
  const commit = head.out.trim();
  const diff = (await git(dir, ['diff', 'HEAD', '--binary', '--', layout.pkgDir])).out;
  const untracked = (await git(dir, ['ls-files', '--others', '--exclude-standard', '-z', '--', layout.pkgDir])).out.split('\0').filter(Boolean).sort();
  const h = createHash('sha256').update(commit).update(diff);
  for (const f of untracked) h.update(f).update(readFileSync(resolve(dir, f)));
  return { kind: 'checkout', dir, commit, dirty: diff.length > 0 || untracked.length > 0, key: h.digest('hex').slice(0, 16) };
}

/** How results.json and the reports name a candidate. */
export function describeCandidate(runtime: Runtime, s: FixSource, extra: { builtVersion?: string; commit?: string | null } = {}): Candidate {
  switch (s.kind) {
    case 'patches':
      return { runtime, kind: 'patches', label: `closekit's patches/ (${s.files.length} patch(es))`, files: s.files.map((f) => f.split('/').slice(-2).join('/')) };
    case 'patch':
      return { runtime, kind: 'patch', label: `patch ${s.file.split('/').pop()} (sha256 ${s.sha256.slice(0, 12)})`, sha256: s.sha256, file: s.file.split('/').pop()! };
    case 'checkout':
      return { runtime, kind: 'checkout', label: `checkout at ${s.commit ? s.commit.slice(0, 12) : 'no git commit'}${s.dirty ? ' + uncommitted edits' : ''}${extra.builtVersion ? ` (${UPSTREAM_LAYOUT[runtime].pkgDir} ${extra.builtVersion})` : ''}`, commit: s.commit, dirty: s.dirty, version: extra.builtVersion ?? null };
    case 'git':
      return { runtime, kind: 'git', label: `${s.url.split('/').slice(-1)[0]}#${s.ref} at ${extra.commit ? extra.commit.slice(0, 12) : '?'}`, url: s.url, ref: s.ref, commit: extra.commit ?? null, version: extra.builtVersion ?? null };
    case 'version':
      return { runtime, kind: 'version', label: `published ${s.version}`, version: s.version };
  }
}
