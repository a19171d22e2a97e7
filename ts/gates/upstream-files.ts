/**
 * Files from upstream's own repository at a pinned commit (config.ts UPSTREAM_COMMITS): the
 * configs the gates run with, and the test support files the Python regression test imports.
 * Only the paths asked for are copied, into `.kit/upstream/<owner>+<name>@<commit12>/`, never
 * into the repository.
 *
 * Where the commit comes from, first that has it:
 *   1. a local mirror `$CLOSEKIT_MIRRORS/<owner>+<name>/repo` (default `/work/.mirror`, the
 *      layout this machine's mirror tool writes), read with `git --git-dir`;
 *   2. `.kit/upstream/<owner>+<name>.git`, a bare repository the kit fills with
 *      `git fetch --depth 1 https://github.com/<owner>/<name>.git <commit>`.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KIT_DIR, UPSTREAM_COMMITS } from '../config.js';
import type { Runtime } from '../contract/results.js';
import { KitError } from '../errors.js';

/** Which pinned upstream repository each runtime's gates and regression tests read (data, not branches). */
export const UPSTREAM_PIN_OF: Record<Runtime, UpstreamPin> = { js: UPSTREAM_COMMITS.agentsJs, py: UPSTREAM_COMMITS.agentsPy };

/**
 * Fails before any run when a runtime's pinned upstream commit cannot be read, so `kit verify`
 * does not run its whole matrix (minutes) only to stop at the gates with nothing written.
 * @throws KitError (exit 2) from `upstreamGitDir`, naming the mirror to set.
 */
export async function preflightUpstream(runtimes: readonly Runtime[]): Promise<void> {
  for (const rt of runtimes) await upstreamGitDir(UPSTREAM_PIN_OF[rt]);
}

export interface UpstreamPin {
  /** `owner/name` on GitHub. */
  repo: string;
  /** 40-hex commit. */
  commit: string;
}

const MARKER = '.closekit-files.json';

function mirrorsRoot(): string {
  return process.env.CLOSEKIT_MIRRORS ?? '/work/.mirror';
}

async function hasCommit(gitDir: string, commit: string): Promise<boolean> {
  const r = await execa('git', ['--git-dir', gitDir, 'cat-file', '-e', `${commit}^{commit}`], { reject: false });
  return r.exitCode === 0;
}

/**
 * The git dir holding `pin.commit`: a local mirror, else a shallow fetch into `.kit/upstream/`.
 * @throws KitError (exit 2) when neither has it (no mirror and no network to GitHub).
 */
export async function upstreamGitDir(pin: UpstreamPin): Promise<string> {
  const slug = pin.repo.replace('/', '+');
  const mirror = join(mirrorsRoot(), slug, 'repo');
  if (existsSync(mirror) && (await hasCommit(mirror, pin.commit))) return mirror;
  const own = join(KIT_DIR, 'upstream', `${slug}.git`);
  if (existsSync(own) && (await hasCommit(own, pin.commit))) return own;
  mkdirSync(own, { recursive: true });
  await execa('git', ['init', '--bare', '-q', own], { reject: false });
  const f = await execa('git', ['--git-dir', own, 'fetch', '--depth', '1', '-q', `https://github.com/${pin.repo}.git`, pin.commit], { reject: false, all: true, timeout: 300_000 });
  if (f.exitCode === 0 && (await hasCommit(own, pin.commit))) return own;
  throw new KitError(`cannot read ${pin.repo} at ${pin.commit.slice(0, 12)}: no mirror at ${mirror} has it and fetching from GitHub failed (${(f.all ?? '').trim().split('\n').pop()})`, {
    fix: `set CLOSEKIT_MIRRORS to a folder holding ${slug}/repo (a clone of ${pin.repo} with that commit), or allow access to github.com`,
  });
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Copies `paths` of `pin.repo` at `pin.commit` into `.kit/upstream/<slug>@<commit12>/` (once;
 * a marker lists what is there, so asking for more paths later adds them).
 *
 * @param paths repository-relative file paths, e.g. `.prettierrc`, `tests/virtual_time.py`.
 * @returns the folder the files are under, at their repository paths.
 * @throws KitError (exit 2) when the commit cannot be read or a path is not in it (nothing is
 *   written then: files are staged in a scratch folder and moved in together).
 */
export async function upstreamFiles(pin: UpstreamPin, paths: readonly string[]): Promise<string> {
  // one copy at a time per commit in this process: two callers asking at once share a stage
  const key = `${pin.repo}@${pin.commit}`;
  const prev = inFlight.get(key) ?? Promise.resolve('');
  const next = prev.catch(() => '').then(() => copyUpstreamFiles(pin, paths));
  inFlight.set(key, next);
  try {
    return await next;
  } finally {
    if (inFlight.get(key) === next) inFlight.delete(key);
  }
}

async function copyUpstreamFiles(pin: UpstreamPin, paths: readonly string[]): Promise<string> {
  const dir = join(KIT_DIR, 'upstream', `${pin.repo.replace('/', '+')}@${pin.commit.slice(0, 12)}`);
  const have: string[] = existsSync(join(dir, MARKER)) ? JSON.parse(readFileSync(join(dir, MARKER), 'utf8')).files : [];
  const missing = paths.filter((p) => !have.includes(p));
  if (missing.length === 0) return dir;
  const gitDir = await upstreamGitDir(pin);
  const stage = `${dir}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  rmSync(stage, { recursive: true, force: true });
  try {
    for (const p of missing) {
      const r = await execa('git', ['--git-dir', gitDir, 'show', `${pin.commit}:${p}`], { reject: false, encoding: 'buffer' });
      if (r.exitCode !== 0) throw new KitError(`${pin.repo} at ${pin.commit.slice(0, 12)} has no readable ${p}: ${Buffer.from(r.stderr).toString().trim()}`, { fix: 'update the pin in ts/config.ts UPSTREAM_COMMITS or the file list that asks for it' });
      mkdirSync(dirname(join(stage, p)), { recursive: true });
      writeFileSync(join(stage, p), r.stdout);
    }
    mkdirSync(dir, { recursive: true });
    for (const p of missing) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      // another process may have put the same file there: the content is the commit's either way
      if (!existsSync(join(dir, p))) renameSync(join(stage, p), join(dir, p));
    }
    writeFileSync(join(dir, MARKER), JSON.stringify({ repo: pin.repo, commit: pin.commit, files: [...have, ...missing].sort() }, null, 2) + '\n');
    return dir;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
