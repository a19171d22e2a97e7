/**
 * SetupStep for the pinned agents-js runtime (ts/steps.ts contract): `kit doctor` reports
 * it, `kit setup` installs it into `.kit/runtimes/js/<VERSIONS.agentsJs>/`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSIONS } from '../../config.js';
import type { SetupStep, StepStatus } from '../../steps.js';
import { agentsRootOf, ensureJsRuntime, isJsRuntimeComplete, jsRuntimeDir } from './install.js';

/** The step for `@livekit/agents@version` (default: the pin) with its rtc-node peer. */
export function jsRuntimeStep(version: string = VERSIONS.agentsJs): SetupStep {
  return {
    name: `agents-js ${version}`,
    pinned: version,
    required: true,
    fix: 'kit setup',
    feature: 'core',
    async check(): Promise<StepStatus> {
      const dir = jsRuntimeDir(version);
      if (!isJsRuntimeComplete(dir, version)) return { ok: false, found: null, detail: `${dir} missing or incomplete` };
      const rtc = JSON.parse(readFileSync(join(dir, 'node_modules', '@livekit', 'rtc-node', 'package.json'), 'utf8')) as { version: string };
      return { ok: true, found: version, detail: `${agentsRootOf(dir)} (rtc-node ${rtc.version})` };
    },
    async install(log) {
      await ensureJsRuntime(version, { log });
    },
  };
}
