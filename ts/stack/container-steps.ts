/**
 * Setup step of the container engine (`--py-worker container`): Debian's podman with runc
 * (crun fails on setrlimit on these machines) and debootstrap, which builds the local base
 * image where no image registry is reachable. Optional: the default worker is a venv.
 */
import type { SetupStep } from '../steps.js';
import { aptStep, type AptOptions } from './sip-steps.js';

export const CONTAINER_PACKAGES = ['podman', 'runc', 'debootstrap'];

/** podman + runc + debootstrap (apt), feature `container`, not required. */
export function containerEngineStep(opts: AptOptions = {}): SetupStep {
  return { ...aptStep({ name: 'podman + runc + debootstrap (container worker)', packages: CONTAINER_PACKAGES, feature: 'container', ...opts }), required: false };
}
