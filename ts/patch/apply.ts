/**
 * Apply the project's fix patches (patches/agents-js, patches/agents) to an installed package,
 * all or nothing (docs/internals.md, "Runtimes on disk").
 *
 * How: every file the patches touch is copied from `targetDir` into a scratch directory outside
 * any git work tree, the patches are applied there in order with `git apply` (so a later patch
 * may build on an earlier one), and only when every hunk of every patch applied are the results
 * written back, each file by write-to-temp + rename. A failure names the patch file, the file in
 * it and the hunk, and leaves `targetDir` untouched.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { KitError } from '../errors.js';

export interface ApplyOptions {
  /** Patch files (git format-patch / git diff output), applied in this order. Absolute or cwd-relative paths. */
  patches: string[];
  /** Directory the stripped patch paths are relative to, e.g. the `@livekit/agents` package root. */
  targetDir: string;
  /**
   * Leading path components to strip, as `git apply -p<n>`: 1 strips `a/`; 2 strips `a/agents/`,
   * which maps upstream agents-js paths (`agents/src/voice/x.ts`) onto the npm package root.
   */
  strip: number;
  /**
   * Only apply the file diffs whose path (after `a/` / `b/`) starts with this prefix, e.g.
   * `agents/` to skip `.changeset/*.md` when patching the npm package. Default: every file.
   */
  include?: string;
}

export interface ApplyResult {
  /** Paths relative to `targetDir` that the patches created, modified or deleted, sorted. */
  changedFiles: string[];
}

/** One `diff --git` section of a patch. */
interface FileDiff {
  /** Path as written in the patch, without the `a/`/`b/` prefix (post-image; pre-image for deletions). */
  path: string;
  oldPath: string | null;
  newPath: string | null;
  text: string;
}

const DIFF_HEADER = /^diff --git a\/(\S+) b\/(\S+)$/;

/** Splits a patch file into its per-file diffs (headers and e-mail preamble dropped). */
function splitPatch(text: string): FileDiff[] {
  const lines = text.split('\n');
  const out: FileDiff[] = [];
  let cur: string[] | null = null;
  const flush = () => {
    if (!cur) return;
    const m = DIFF_HEADER.exec(cur[0]!)!;
    let oldPath: string | null = m[1]!;
    let newPath: string | null = m[2]!;
    for (const l of cur) {
      if (l.startsWith('--- ')) oldPath = l === '--- /dev/null' ? null : l.slice(4).replace(/^a\//, '');
      if (l.startsWith('+++ ')) {
        newPath = l === '+++ /dev/null' ? null : l.slice(4).replace(/^b\//, '');
        break;
      }
    }
    // format-patch ends with a "-- \n<version>" signature; keep it out of the last hunk.
    let end = cur.length;
    for (let i = cur.length - 1; i > 0; i--) {
      if (cur[i] === '-- ') {
        end = i;
        break;
      }
    }
    out.push({ path: (newPath ?? oldPath)!, oldPath, newPath, text: cur.slice(0, end).join('\n').replace(/\n*$/, '\n') });
    cur = null;
  };
  for (const line of lines) {
    if (DIFF_HEADER.test(line)) {
      flush();
      cur = [line];
    } else if (cur) {
      cur.push(line);
    }
  }
  flush();
  return out;
}

/** Drops `strip` leading components (counting the `a/`/`b/` prefix as one, like `git apply -p`). */
function stripPath(path: string, strip: number): string {
  const parts = ['a', ...path.split('/')];
  if (parts.length <= strip) throw new KitError(`cannot strip ${strip} components from ${path}`, { fix: 'check the strip count' });
  return parts.slice(strip).join('/');
}

/** The hunk header (`@@ -l,s +l,s @@ context`) that `git apply` reported at `line` of `file`. */
function findHunk(diff: FileDiff, reportedLine: number | null): { index: number; header: string } | null {
  const headers = diff.text.split('\n').filter((l) => l.startsWith('@@ '));
  if (headers.length === 0) return null;
  if (reportedLine === null) return { index: 1, header: headers[0]! };
  // git reports the hunk's pre-image start line ("patch failed: file:LINE").
  const idx = headers.findIndex((h) => Number(/^@@ -(\d+)/.exec(h)?.[1]) === reportedLine);
  return idx >= 0 ? { index: idx + 1, header: headers[idx]! } : null;
}

interface Staged {
  scratch: string;
  /** target-relative path → { staged file, existed before } */
  files: Map<string, { existed: boolean }>;
  changed: string[];
}

/** Stages, applies and returns the scratch dir; throws KitError naming the failing hunk. */
async function stageAndApply(opts: ApplyOptions): Promise<Staged> {
  const { targetDir, strip } = opts;
  if (!Number.isInteger(strip) || strip < 1) throw new KitError(`strip must be an integer >= 1, got ${strip}`);
  if (!existsSync(targetDir) || !statSync(targetDir).isDirectory()) {
    throw new KitError(`patch target ${targetDir} is not a directory`, { fix: 'install the runtime first (kit setup)' });
  }
  if (opts.patches.length === 0) throw new KitError('no patches given', { fix: 'check the patches/ directory' });

  const scratch = mkdtempSync(join(tmpdir(), 'closekit-apply-'));
  const files = new Map<string, { existed: boolean }>();
  const plan: { patch: string; diffs: FileDiff[]; file: string }[] = [];
  try {
    for (const [i, patch] of opts.patches.entries()) {
      const abs = resolve(patch);
      if (!existsSync(abs)) throw new KitError(`patch ${patch} does not exist`, { fix: 'check the patches/ directory' });
      const diffs = splitPatch(readFileSync(abs, 'utf8')).filter((d) => !opts.include || d.path.startsWith(opts.include));
      if (diffs.length === 0) continue;
      for (const d of diffs) {
        for (const p of [d.oldPath, d.newPath]) {
          if (p === null) continue;
          const rel = stripPath(p, strip + 0);
          if (rel.split('/').includes('..')) throw new KitError(`patch ${basename(abs)} touches ${p}, outside the target`);
          if (files.has(rel)) continue;
          const src = join(targetDir, rel);
          const existed = existsSync(src);
          files.set(rel, { existed });
          if (existed) {
            mkdirSync(dirname(join(scratch, 'tree', rel)), { recursive: true });
            copyFileSync(src, join(scratch, 'tree', rel));
          }
        }
      }
      const file = join(scratch, `${String(i).padStart(4, '0')}.patch`);
      writeFileSync(file, diffs.map((d) => d.text).join(''));
      plan.push({ patch: abs, diffs, file });
    }
    mkdirSync(join(scratch, 'tree'), { recursive: true });

    for (const step of plan) {
      // GIT_CEILING_DIRECTORIES keeps git from looking for a repository above the scratch dir.
      const r = await execa('git', ['apply', '--verbose', `-p${strip}`, step.file], {
        cwd: join(scratch, 'tree'),
        reject: false,
        all: true,
        env: { GIT_CEILING_DIRECTORIES: dirname(scratch) },
      });
      if (r.exitCode !== 0) throw describeFailure(step.patch, step.diffs, r.all ?? '');
    }

    const changed: string[] = [];
    for (const [rel, { existed }] of files) {
      const after = join(scratch, 'tree', rel);
      const now = existsSync(after);
      if (now !== existed || (now && hash(after) !== hash(join(targetDir, rel)))) changed.push(rel);
    }
    changed.sort();
    return { scratch, files, changed };
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}

function hash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Turns `git apply --verbose` output into a KitError naming the patch, file and hunk. */
function describeFailure(patch: string, diffs: FileDiff[], output: string): KitError {
  const failed = /error: patch failed: (.+):(\d+)/.exec(output);
  const missing = /error: (.+): No such file or directory/.exec(output) ?? /error: (.+): does not exist in index/.exec(output);
  const exists = /error: (.+): already exists/.exec(output);
  let where: string;
  if (failed) {
    const file = failed[1]!;
    const line = Number(failed[2]);
    const diff = diffs.find((d) => d.path.endsWith(file) || file.endsWith(stripTail(d.path))) ?? null;
    const hunk = diff ? findHunk(diff, line) : null;
    where = `${diff?.path ?? file}, hunk #${hunk?.index ?? '?'} ${hunk?.header ?? `at line ${line}`}`;
  } else if (missing) {
    where = `${missing[1]}: the file to patch does not exist in the target`;
  } else if (exists) {
    where = `${exists[1]}: the file the patch creates already exists`;
  } else {
    where = output.split('\n').filter((l) => l.startsWith('error')).join('; ') || 'unknown error';
  }
  return new KitError(`patch ${basename(patch)} does not apply: ${where}\n${output.trim()}`, {
    fix: 'the installed version differs from the one the patch was written for; rebase the patch (see docs/fix-agents-js.md)',
  });
}

function stripTail(path: string): string {
  return path.split('/').slice(1).join('/');
}

/**
 * Checks that `patches` apply, in order, to `targetDir`, without changing it.
 *
 * @returns `{ changedFiles }`: target-relative paths the patches would change.
 * @throws KitError (exit 2) naming the patch file, the file and the hunk that does not apply;
 *   also for a missing target, patch file, or an invalid `strip`.
 */
export async function checkPatches(opts: ApplyOptions): Promise<ApplyResult> {
  const staged = await stageAndApply(opts);
  rmSync(staged.scratch, { recursive: true, force: true });
  return { changedFiles: staged.changed };
}

/**
 * Applies `patches`, in order, to `targetDir`, all or nothing (docs/internals.md).
 * Every hunk of every patch is applied in a scratch copy first; `targetDir` is only written
 * once all of them applied, each file by temp-file + rename (a reader never sees half a file).
 *
 * @returns `{ changedFiles }`: target-relative paths created, modified or deleted, sorted.
 * @throws KitError (exit 2) naming the patch file, the file and the hunk that does not apply
 *   (`targetDir` untouched); also for a missing target, patch file, or an invalid `strip`.
 */
export async function applyPatchesAtomic(opts: ApplyOptions): Promise<ApplyResult> {
  const staged = await stageAndApply(opts);
  try {
    for (const rel of staged.changed) {
      const after = join(staged.scratch, 'tree', rel);
      const dest = join(opts.targetDir, rel);
      if (existsSync(after)) {
        mkdirSync(dirname(dest), { recursive: true });
        const tmp = `${dest}.closekit-tmp-${process.pid}`;
        copyFileSync(after, tmp);
        renameSync(tmp, dest);
      } else {
        rmSync(dest, { force: true });
      }
    }
  } finally {
    rmSync(staged.scratch, { recursive: true, force: true });
  }
  return { changedFiles: staged.changed };
}
