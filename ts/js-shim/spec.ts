/**
 * The scenario as the job process reads it: the JSON file CLOSEKIT_SCENARIO names
 * (written by the kit's writeScenarioJson), checked against the same zod schema the kit
 * loads scenarios/*.yaml with. Python mirror: python-shim/closekit_shim/spec.py `load_scenario`.
 */
import { readFileSync } from 'node:fs';
import { WORKER_ENV } from '../contract/env.js';
import { KitError } from '../errors.js';
import { ScenarioSchema, type Scenario } from '../scenario/spec.js';

/**
 * Reads and validates the scenario at `file` (default `$CLOSEKIT_SCENARIO`).
 * @throws KitError when unset, unreadable or not a valid scenario.
 */
export function loadScenario(file: string | undefined = process.env[WORKER_ENV.scenario]): Scenario {
  if (!file) throw new KitError(`${WORKER_ENV.scenario} is not set`, { fix: 'start the worker through startJsWorker' });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new KitError(`cannot read scenario ${file}: ${(e as Error).message}`, { fix: 'pass a scenario written as JSON' });
  }
  const r = ScenarioSchema.safeParse(raw);
  if (!r.success) throw new KitError(`${file}: not a valid scenario: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { fix: 'write the scenario with ScenarioSchema.parse()' });
  return r.data;
}
