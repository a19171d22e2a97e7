/**
 * Where one run's files go: `<runDir>/runs/<scenario>.<runtime>-<version>.<variant>/` with the
 * scenario as JSON (CLOSEKIT_SCENARIO), the events file (CLOSEKIT_EVENTS), `logs/` and
 * `result.json`.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KitEventName } from '../contract/events.js';
import type { RuntimeInstall } from '../contract/results.js';
import { monotonicMs } from '../observe/events.js';
import { writeScenarioJson } from '../runtimes/worker.js';
import type { Scenario } from '../scenario/spec.js';

export interface RunLayout {
  /** `<scenario>.<runtime>-<version>.<variant>`. */
  id: string;
  dir: string;
  logsDir: string;
  eventsFile: string;
  scenarioFile: string;
  /** Appends a kit event (runtime `kit`) to the events file. */
  kitEmit(ev: KitEventName, data?: Record<string, unknown>): void;
}

/** Makes the run's folder, writes the scenario JSON and an empty events file. */
export function prepareRunDir(runDir: string, scenario: Scenario, install: RuntimeInstall): RunLayout {
  // The matrix's release, not the candidate's own version: one folder per plan entry.
  const id = `${scenario.name}.${install.runtime}-${install.baseVersion ?? install.version}.${install.variant}`;
  const dir = join(runDir, 'runs', id);
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const eventsFile = join(dir, 'events.jsonl');
  const scenarioFile = writeScenarioJson(scenario, join(dir, 'scenario.json'));
  writeFileSync(eventsFile, '');
  const kitEmit = (ev: KitEventName, data?: Record<string, unknown>) =>
    appendFileSync(eventsFile, JSON.stringify({ t: monotonicMs(), ev, runtime: 'kit', pid: process.pid, data }) + '\n');
  return { id, dir, logsDir, eventsFile, scenarioFile, kitEmit };
}
