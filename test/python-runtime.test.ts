/**
 * ts/runtimes/py/install.ts against the real venv and PyPI: idempotent ensure, bad versions,
 * the worker environment. The first ensure builds the venv when missing (~15 s with uv).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSIONS } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { ensurePyRuntime, isPyRuntimeComplete, PY_MARKER, PY_SHIM_DIR, pyRuntimeDir, pyWorkerEnv, wherePy } from '../ts/runtimes/py/index.js';

describe('ensurePyRuntime', () => {
  it('builds (or finds) the pinned venv, then a second call is a cheap marker check', async () => {
    const a = await ensurePyRuntime(VERSIONS.agentsPy);
    expect(a.dir).toBe(pyRuntimeDir(VERSIONS.agentsPy));
    expect(a.python).toBe(wherePy(VERSIONS.agentsPy));
    expect(existsSync(join(a.sitePackages, 'livekit', 'agents', 'voice', 'agent_activity.py'))).toBe(true);
    expect(existsSync(join(a.dir, PY_MARKER))).toBe(true);
    const t0 = performance.now();
    const b = await ensurePyRuntime(VERSIONS.agentsPy);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(b).toEqual(a);
  });

  it('rejects a version that is not on PyPI with KitError exit 2, leaving nothing behind', async () => {
    const dir = join(pyRuntimeDir('0.0.0'), '..', 'closekit-test-999.99.99');
    const err = await ensurePyRuntime('999.99.99', { dir }).catch((e) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect(String(err.message)).toMatch(/999\.99\.99 does not exist on PyPI/);
    expect(existsSync(dir)).toBe(false);
  });

  it('rejects a malformed version before touching the network', async () => {
    await expect(ensurePyRuntime('latest; rm -rf /')).rejects.toThrow(/not a livekit-agents version/);
  });

  it('treats a dir without the completion marker as incomplete', () => {
    expect(isPyRuntimeComplete(VERSIONS.agentsPy, '/nonexistent')).toBe(false);
  });
});

describe('pyWorkerEnv', () => {
  it('sets the worker environment of docs/internals.md and the run keys for inference', () => {
    const env = pyWorkerEnv({
      python: '/x/bin/python',
      livekit: { wsUrl: 'ws://198.18.1.2:7880', apiKey: 'k', apiSecret: 's' },
      inferenceUrl: 'http://198.18.1.2:7900/v1',
      agentName: 'closekit-py',
      scenarioFile: '/r/scenario.json',
      eventsFile: '/r/events.jsonl',
    });
    expect(env).toMatchObject({
      CLOSEKIT_EVENTS: '/r/events.jsonl',
      CLOSEKIT_SCENARIO: '/r/scenario.json',
      CLOSEKIT_AGENT_NAME: 'closekit-py',
      LIVEKIT_URL: 'ws://198.18.1.2:7880',
      LIVEKIT_API_KEY: 'k',
      LIVEKIT_API_SECRET: 's',
      LIVEKIT_INFERENCE_URL: 'http://198.18.1.2:7900/v1',
      // not '': Python's os.getenv(name, fallback) would return the empty value
      LIVEKIT_INFERENCE_API_KEY: 'k',
      LIVEKIT_INFERENCE_API_SECRET: 's',
      PYTHONPATH: PY_SHIM_DIR,
    });
  });
});
