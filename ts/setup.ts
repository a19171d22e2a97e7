/**
 * `kit setup` and `kit doctor`: every SetupStep the folders contribute, installed in order
 * (idempotent: a step whose check passes is skipped) or reported as a table.
 */
import { Listr } from 'listr2';
import { KitError } from './errors.js';
import type { SetupStep, StepStatus } from './steps.js';

type Feature = SetupStep['feature'];

/**
 * All known steps in install order (stack first: the runtimes' own checks need nothing of
 * it, but a newcomer sees the slow Go builds up front), optionally only some features.
 */
export async function allSteps(features?: Feature[]): Promise<SetupStep[]> {
  const { stackSteps } = await import('./stack/steps.js');
  const { sipSteps } = await import('./stack/sip-steps.js');
  const { jsRuntimeStep } = await import('./runtimes/js/steps.js');
  const { pySteps } = await import('./runtimes/py/steps.js');
  const { reportSteps } = await import('./report/steps.js');
  const { containerEngineStep } = await import('./stack/container-steps.js');
  // The engine before the Python steps: the worker image step builds with it.
  const steps = [...stackSteps(), jsRuntimeStep(), containerEngineStep(), ...pySteps(), ...sipSteps(), ...reportSteps()];
  return steps.filter((s) => !features || features.includes(s.feature));
}

/**
 * Install every missing step, printing one progress line per step with its time.
 * Throws KitError (exit 2) from the first step that cannot install.
 */
export async function setup(opts: { features?: Feature[] } = {}): Promise<void> {
  const steps = await allSteps(opts.features);
  const tasks = new Listr(
    steps.map((s) => ({
      title: s.name,
      task: async (_ctx: unknown, task: { title: string; output: string }) => {
        const t0 = Date.now();
        const st = await s.check();
        if (st.ok) {
          task.title = `${s.name}: ${st.found ?? 'ok'} (cached, ${Date.now() - t0} ms)`;
          return;
        }
        await s.install((line) => (task.output = line));
        const after = await s.check();
        if (!after.ok) throw new KitError(`${s.name}: installed but still not usable: ${after.detail ?? 'unknown reason'}`, { fix: s.fix });
        task.title = `${s.name}: ${after.found ?? 'ok'} (installed in ${((Date.now() - t0) / 1000).toFixed(1)} s)`;
      },
    })),
    { concurrent: false, exitOnError: true, registerSignalListeners: false, renderer: process.stdout.isTTY ? 'default' : 'simple', rendererOptions: {} },
  );
  await tasks.run();
}

export interface DoctorRow extends StepStatus {
  name: string;
  pinned: string;
  required: boolean;
  feature: Feature;
  fix: string;
}

/** Check every step; exit code 2 is the caller's job when a required one is missing. */
export async function doctor(): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  for (const s of await allSteps()) {
    let st: StepStatus;
    try {
      st = await s.check();
    } catch (e) {
      st = { ok: false, found: null, detail: (e as Error).message };
    }
    rows.push({ name: s.name, pinned: s.pinned, required: s.required, feature: s.feature, fix: s.fix, ...st });
  }
  return rows;
}
