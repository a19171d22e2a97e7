/**
 * patches/ in the report dir: the exact fix patches the run used (copies of
 * patches/agents-js/*.patch and patches/agents/*.patch, byte for byte), a SHA256SUMS a
 * reviewer checks with `cd patches && sha256sum -c SHA256SUMS`, and a README saying which
 * package versions they were written and verified against.
 *
 * Patches are the one thing the reports do not rewrite: a redacted patch would no longer
 * apply. Instead each is checked: if redaction would change it (it carries something that
 * looks like a key, address, path or number), writing stops with a KitError naming it.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_IDS } from '../contract/results.js';
import { KitError } from '../errors.js';
import type { ResultsFile } from './results.js';
import type { Redactor } from './redact.js';
import { UPSTREAM, parsePatch } from './model.js';

export interface BundleOptions {
  /** The kit's patches/ dir (default PATCHES_DIR). */
  patchesDir: string;
  redact: Redactor;
}

/** sha256 hex of a file's bytes. */
export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Write `<runDir>/patches/{agents-js,agents}/*.patch`, `SHA256SUMS` and `README.md`.
 * Returns the written paths relative to runDir. Throws KitError (exit 2) when a patch would
 * leak something redaction catches.
 */
export function writePatchBundle(runDir: string, res: ResultsFile, opts: BundleOptions): string[] {
  const out = join(runDir, 'patches');
  const written: string[] = [];
  const sums: string[] = [];
  const readme: string[] = [
    '# Fix patches',
    '',
    `The exact patches closekit applied to the installed packages for the \`patched\` variant of run \`${res.runId}\`.`,
    'They are `git format-patch` files in upstream paths (`git am` from the upstream repository root); verify them with:',
    '',
    '```sh',
    'cd patches && sha256sum -c SHA256SUMS',
    '```',
    '',
  ];
  for (const rt of RUNTIME_IDS) {
    const up = UPSTREAM[rt];
    const src = join(opts.patchesDir, up.patches);
    const files = existsSync(src) ? readdirSync(src).filter((f) => f.endsWith('.patch')).sort() : [];
    const version = res.env[up.envKey] ?? res.runs.find((r) => r.runtime === rt)?.runtimeVersion ?? 'unknown';
    readme.push(`## ${up.patches}/ → ${up.repo}`);
    readme.push('');
    if (!files.length) {
      readme.push('No patch.');
      readme.push('');
      continue;
    }
    readme.push(up.applyNote(version));
    readme.push('');
    mkdirSync(join(out, up.patches), { recursive: true });
    for (const f of files) {
      const from = join(src, f);
      const text = readFileSync(from, 'utf8');
      if (opts.redact(text) !== text) {
        throw new KitError(`patch ${up.patches}/${f} contains text the report redaction would change (a key, address, home path or phone number)`, {
          fix: `remove it from patches/${up.patches}/${f}; reports copy patches byte for byte`,
        });
      }
      const to = join(out, up.patches, f);
      copyFileSync(from, to);
      written.push(`patches/${up.patches}/${f}`);
      sums.push(`${sha256File(to)}  ${up.patches}/${f}`);
      readme.push(`- [\`${up.patches}/${f}\`](${up.patches}/${f}): ${parsePatch(text).subject}`);
    }
    readme.push('');
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'SHA256SUMS'), sums.join('\n') + (sums.length ? '\n' : ''));
  writeFileSync(join(out, 'README.md'), opts.redact(readme.join('\n')));
  written.push('patches/SHA256SUMS', 'patches/README.md');
  return written;
}
