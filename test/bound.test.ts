import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORCED_CLOSE_BOUND_MS, PATCHES_DIR } from '../ts/config.js';
import { loadScenarios } from '../ts/scenario/load.js';

const patchText = (dir: string) =>
  readdirSync(join(PATCHES_DIR, dir))
    .filter((f) => f.endsWith('.patch'))
    .map((f) => readFileSync(join(PATCHES_DIR, dir, f), 'utf8'))
    .join('\n');

describe('the forced-close bound', () => {
  it('is the same default in both patches and in the kit that verifies them', () => {
    const js = patchText('agents-js').match(/^\+export const DEFAULT_FORCED_CLOSE_TIMEOUT = ([\d_]+);/m);
    // livekit-agents: the default of the AgentSession(forced_close_timeout=...) parameter
    const py = patchText('agents').match(/^\+\s+forced_close_timeout: float \| None = ([\d.]+),$/m);
    expect(js, 'agents-js patch defines DEFAULT_FORCED_CLOSE_TIMEOUT').not.toBeNull();
    expect(py, 'livekit-agents patch gives AgentSession(forced_close_timeout=...) a default').not.toBeNull();
    expect(Number(js![1]!.replace(/_/g, ''))).toBe(FORCED_CLOSE_BOUND_MS);
    expect(Number(py![1]) * 1000).toBe(FORCED_CLOSE_BOUND_MS);
  });

  it('leaves every scenario watchdog room for a patched close (bound + 1 s) and keeps the STT socket open at the verdict', () => {
    for (const s of loadScenarios()) {
      expect(s.watchdogMs, s.name).toBeGreaterThan(FORCED_CLOSE_BOUND_MS + 1000);
      // The 2007 idle close must come after the verdict, or an orphaned socket would look closed.
      expect(s.gateway.stt.idleCloseMs, s.name).toBeGreaterThan(s.watchdogMs);
    }
  });
});
