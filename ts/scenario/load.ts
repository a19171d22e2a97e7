/**
 * Loads and validates `scenarios/*.yaml`.
 * Errors: KitError (exit 2) naming the file, the field path and the allowed values.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { ZodError } from 'zod';
import { SCENARIOS_DIR } from '../config.js';
import { KitError } from '../errors.js';
import { ScenarioSchema, type Scenario } from './spec.js';

function describeZod(file: string, err: ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path.join('.') || '(root)';
      let extra = '';
      if (i.code === 'invalid_enum_value') extra = ` (allowed: ${i.options.join(', ')})`;
      if (i.code === 'unrecognized_keys') extra = ` (unknown: ${i.keys.join(', ')})`;
      return `${file}: ${path}: ${i.message}${extra}`;
    })
    .join('\n');
}

/** Parse one scenario file. Throws KitError on unreadable YAML or an invalid spec. */
export function loadScenarioFile(file: string): Scenario {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new KitError(`${file}: cannot read scenario: ${(e as Error).message}`, { fix: 'fix the YAML syntax' });
  }
  const r = ScenarioSchema.safeParse(raw);
  if (!r.success) throw new KitError(describeZod(file, r.error), { fix: 'see docs/scenarios.md for the spec' });
  if (r.data.name !== basename(file).replace(/\.ya?ml$/, '')) {
    throw new KitError(`${file}: name: "${r.data.name}" must match the file name`, { fix: `rename the file or set name: ${basename(file).replace(/\.ya?ml$/, '')}` });
  }
  return r.data;
}

/** All scenarios in `dir`, sorted by name; `only` filters by name (unknown names are an error). */
export function loadScenarios(opts: { dir?: string; only?: string[] } = {}): Scenario[] {
  const dir = opts.dir ?? SCENARIOS_DIR;
  if (!existsSync(dir)) throw new KitError(`scenario folder ${dir} does not exist`);
  const all = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => loadScenarioFile(join(dir, f)));
  if (!opts.only?.length) return all;
  const names = new Set(all.map((s) => s.name));
  const unknown = opts.only.filter((n) => !names.has(n));
  if (unknown.length) throw new KitError(`unknown scenario(s): ${unknown.join(', ')}`, { fix: `choose from: ${[...names].join(', ')}` });
  return all.filter((s) => opts.only!.includes(s.name));
}
