/**
 * Runs one gate command in a gate tree and turns its exit code and output into a GateOutcome.
 * Output keeps tree-relative paths (the tree's own path and the tools folder are replaced), so
 * it can go into a public report as it is.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GateOutcome } from '../contract/results.js';

const OUTPUT_CHARS = 4_000;

export interface GateExec {
  exitCode: number;
  output: string;
  ms: number;
}

/**
 * Runs `cmd args` in `cwd`, killed after `timeoutMs` (default 10 min).
 * @param hide absolute paths to replace in the output, each with the label given.
 */
export async function execGate(cmd: string, args: string[], o: { cwd: string; env?: Record<string, string>; timeoutMs?: number; hide: Record<string, string> }): Promise<GateExec> {
  const t0 = Date.now();
  const r = await execa(cmd, args, { cwd: o.cwd, env: o.env, reject: false, all: true, timeout: o.timeoutMs ?? 600_000 });
  let output = r.all ?? '';
  for (const [path, label] of Object.entries(o.hide).sort((a, b) => b[0].length - a[0].length)) output = output.split(path).join(label);
  if (r.timedOut) output += `\n(killed after ${Math.round((o.timeoutMs ?? 600_000) / 1000)} s)`;
  return { exitCode: r.timedOut ? 124 : (r.exitCode ?? 1), output, ms: Date.now() - t0 };
}

/** The last OUTPUT_CHARS characters, cut at a line start. */
export function tailOutput(text: string): string {
  const t = text.trim();
  if (t.length <= OUTPUT_CHARS) return t;
  const cut = t.slice(-OUTPUT_CHARS);
  return `…${cut.slice(cut.indexOf('\n') + 1)}`;
}

/** A gate outcome with the tool's finding lines, kept while the two trees are compared. */
export type Judged = GateOutcome & { findings?: string[] };

/** The outcome as results.json keeps it: the finding lines dropped (the output tail has them). */
export function withoutFindings({ findings: _f, ...g }: Judged): GateOutcome {
  return g;
}

/** Outcome from an exit code: pass iff 0, with counts the caller parsed from the output. */
export function outcome(x: GateExec, counts: { errors?: number; warnings?: number; summary: string }): GateOutcome {
  return { status: x.exitCode === 0 ? 'pass' : 'fail', summary: counts.summary, errors: counts.errors, warnings: counts.warnings, output: tailOutput(x.output), ms: x.ms };
}

/** A gate that could not run on this tree, and why. */
export function unsupported(reason: string): GateOutcome {
  return { status: 'unsupported', summary: reason, output: '', ms: 0 };
}

/** `N errors, M warnings` (omitting a part that is undefined). */
export function countSummary(errors: number | undefined, warnings?: number): string {
  const parts: string[] = [];
  if (errors !== undefined) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings !== undefined) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.join(', ') || 'clean';
}

/**
 * Findings of the patched tree that the unpatched tree does not have (multiset difference),
 * each finding a tool's line with its line:column removed so code moved by the patch still
 * matches. Why: the pinned configs are older than the release, so a release can carry findings
 * of its own (e.g. env vars turbo.json does not declare yet); the patch is judged on what it adds.
 */
export function newFindings(unpatched: string[], patched: string[]): string[] {
  const norm = (l: string) => l.replace(/:\d+:\d+:?/g, ':').replace(/\(\d+,\d+\)/g, '');
  const left = new Map<string, number>();
  for (const l of unpatched) left.set(norm(l), (left.get(norm(l)) ?? 0) + 1);
  const out: string[] = [];
  for (const l of patched) {
    const n = left.get(norm(l)) ?? 0;
    if (n > 0) left.set(norm(l), n - 1);
    else out.push(l);
  }
  return out;
}

/**
 * The patched outcome judged against the release: red only for findings the patch adds. A
 * release finding the patch leaves alone keeps the cell green, with the count said.
 */
export function judgeAgainstRelease(u: Judged, p: Judged): GateOutcome {
  if (p.status !== 'fail' || !u.findings || !p.findings || p.findings.length === 0) return p;
  const added = newFindings(u.findings, p.findings);
  if (added.length > 0) return { ...p, summary: `${p.summary}; ${added.length} new: ${added.slice(0, 3).join(' | ')}${added.length > 3 ? ' ...' : ''}`, output: tailOutput(added.join('\n')) };
  return { ...p, status: 'pass', summary: `${p.summary}, none new (the release has the same under the pinned config)` };
}

/**
 * Content hash of a tree's files under `dirs` (relative paths and bytes, sorted), plus `extra`
 * (tool versions, config commit): the key gate outcomes are cached under, so an unchanged
 * release or patch is not re-checked on the next verify.
 */
export function treeChecksum(root: string, dirs: string[], extra: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(extra));
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const n of readdirSync(abs).sort()) if (n !== '__pycache__' && n !== 'node_modules') walk(join(rel, n));
    } else if (st.isFile()) h.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
  };
  for (const d of dirs) walk(d);
  return h.digest('hex').slice(0, 16);
}

/**
 * `fn()`'s result, cached as JSON in `<dir>/<key>.json` (written whole, via rename). A cached
 * outcome is marked in its summary, so the table says it was not re-run.
 */
export async function cachedOutcomes<T extends Record<string, Judged>>(dir: string, key: string, fn: () => Promise<T>): Promise<T> {
  const file = join(dir, `${key}.json`);
  if (existsSync(file)) {
    const hit = JSON.parse(readFileSync(file, 'utf8')) as T;
    for (const g of Object.values(hit)) g.summary = g.summary.endsWith(' (cached)') ? g.summary : `${g.summary} (cached)`;
    return hit;
  }
  const out = await fn();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp-${process.pid}`, JSON.stringify(out));
  renameSync(`${file}.tmp-${process.pid}`, file);
  return out;
}
