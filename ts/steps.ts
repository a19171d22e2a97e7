/**
 * SetupStep: one installable component. `kit setup` runs `install()` for every step whose
 * `check()` says missing; `kit doctor` prints `check()` for all of them. Each folder
 * contributes its own steps (stack, runtimes); `ts/setup.ts` lists them.
 */
export interface StepStatus {
  /** true when the component is present at a usable version. */
  ok: boolean;
  /** Version found, or null when missing. */
  found: string | null;
  /** Extra detail for doctor (path, why it is unusable). */
  detail?: string;
}

export interface SetupStep {
  /** Short component name: 'livekit-server', 'redis-server', 'agents-js 1.9.0', ... */
  name: string;
  /** Pinned version or requirement, for doctor. */
  pinned: string;
  /** Required for `make repro`; optional ones (docker, podman) only warn. */
  required: boolean;
  /** The command a user runs to fix a missing component. */
  fix: string;
  /** Which features need it ('core', 'sip', 'py'). */
  feature: 'core' | 'sip' | 'py' | 'report' | 'container';
  check(): Promise<StepStatus>;
  /** Installs idempotently; throws KitError (exit 2) with the reason when it cannot. */
  install(log: (line: string) => void): Promise<void>;
}
