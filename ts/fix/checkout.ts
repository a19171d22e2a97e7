/**
 * Getting a candidate's tree into .kit/ without touching the user's: a copy of a checkout
 * (tracked and untracked, non-ignored files: uncommitted edits included, build outputs and
 * node_modules not), and a clone of a git URL or path at a ref.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { KIT_DIR } from '../config.js';
import { KitError } from '../errors.js';

/** Where candidate trees live: `.kit/fix-src/`. */
export const FIX_SRC_DIR = join(KIT_DIR, 'fix-src');

/**
 * Copies the files `git ls-files -co --exclude-standard` lists under `dir` (everything but
 * node_modules/.git when it is not a git repository) into `dest` (replaced).
 */
export async function copyCheckout(dir: string, dest: string): Promise<void> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const r = await execa('git', ['-C', dir, 'ls-files', '-co', '--exclude-standard', '-z'], { reject: false });
  if (r.exitCode !== 0) {
    cpSync(dir, dest, { recursive: true, filter: (src) => !/\/(node_modules|\.git)(\/|$)/.test(src.slice(dir.length)) });
    return;
  }
  for (const f of r.stdout.split('\0').filter(Boolean)) {
    const from = join(dir, f);
    if (!existsSync(from)) continue; // deleted in the working tree: the copy must not have it either
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(from, join(dest, f), { verbatimSymlinks: true });
  }
}

/**
 * Clones `url` (a URL or a local path) and checks out `ref` detached, into
 * `.kit/fix-src/git-<hash>/` (reused when already there at the same commit).
 * @returns the tree and the commit `ref` resolved to.
 * @throws KitError (exit 2) when the clone fails or `ref` does not resolve; nothing is left behind.
 */
export async function cloneAtRef(url: string, ref: string, log: (l: string) => void = () => {}): Promise<{ dir: string; commit: string }> {
  const key = createHash('sha256').update(`${url}#${ref}`).digest('hex').slice(0, 16);
  const dir = join(FIX_SRC_DIR, `git-${key}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(FIX_SRC_DIR, { recursive: true });
  try {
    log(`git clone ${url} (then checkout ${ref})`);
    const c = await execa('git', ['clone', '--quiet', '--no-checkout', url, tmp], { reject: false, all: true });
    if (c.exitCode !== 0) throw new KitError(`cannot clone ${url}: ${(c.all ?? '').trim().split('\n').pop()}`, { fix: 'check the URL or path (a git repository) and that it is reachable' });
    const rev = await execa('git', ['-C', tmp, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { reject: false });
    const remote = rev.exitCode === 0 ? rev : await execa('git', ['-C', tmp, 'rev-parse', '--verify', '--quiet', `origin/${ref}^{commit}`], { reject: false });
    if (remote.exitCode !== 0) throw new KitError(`ref ${JSON.stringify(ref)} does not resolve in ${url}`, { fix: 'name an existing branch, tag or commit after #' });
    const commit = remote.stdout.trim();
    const co = await execa('git', ['-C', tmp, 'checkout', '--quiet', '--detach', commit], { reject: false, all: true });
    if (co.exitCode !== 0) throw new KitError(`cannot check out ${commit} of ${url}: ${(co.all ?? '').trim().split('\n').pop()}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { dir, commit };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
