/**
 * `kit setup` and `kit doctor`: every SetupStep the folders contribute, installed in order
 * (idempotent: a step whose check passes is skipped) or reported as a table.
 */
import { Listr } from 'listr2';
import { KitError } from './errors.js';
import type { SetupStep, StepStatus } from './steps.js';

type Feature = SetupStep['feature'];

/** Modules that contribute steps; each exports an array or a factory of SetupStep. */
const STEP_MODULES = [
  './stack/steps.js',
  './stack/sip-steps.js',
  './runtimes/js/steps.js',
  './runtimes/python-steps.js',
];

function collect(mod: Record<string, unknown>): SetupStep[] {
  const out: SetupStep[] = [];
  for (const v of Object.values(mod)) {
    const items = typeof v === 'function' && v.length === 0 && /steps/i.test(v.name) ? (v as () => unknown)() : v;
    if (Array.isArray(items)) {
      for (const s of items) if (s && typeof s === 'object' && 'check' in s && 'install' in s) out.push(s as SetupStep);
    }
  }
  return out;
}

/** All known steps, optionally only those of the given features. */
export async function allSteps(features?: Feature[]): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  for (const m of STEP_MODULES) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(m)) as Record<string, unknown>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(m.replace('./', '').replace('.js', ''))) continue;
      throw e;
    }
    steps.push(...collect(mod));
  }
  const seen = new Set<string>();
  return steps.filter((s) => (!features || features.includes(s.feature)) && !seen.has(s.name) && seen.add(s.name));
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
