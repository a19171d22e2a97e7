/**
 * The Python fix end to end: patches/agents/*.patch applied atomically to a copy of the real
 * livekit-agents venv (ts/patch/py.ts), and its regression test (from the patch) failing on the
 * unpatched venv and passing on the patched one (ts/patch/py-tests.ts).
 *
 * Needs the unpatched venv (`ensurePyRuntime`, built once into .kit/, PyPI on first run) and
 * ~2 minutes: every wedge case waits out the 5 s default bound.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSIONS } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { agentsPyPatches, buildPatchedPyRuntime, PY_PATCHED_MARKER, type PatchedPyRuntime } from '../ts/patch/py.js';
import { parseJunit, runPyRegression } from '../ts/patch/py-tests.js';
import { ensurePyRuntime, type PyRuntime } from '../ts/runtimes/py/install.js';

const version = VERSIONS.agentsPy;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

let base: PyRuntime;
let scratch: string;

beforeAll(async () => {
  base = await ensurePyRuntime(version);
  scratch = mkdtempSync(join(tmpdir(), 'closekit-patch-py-'));
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('buildPatchedPyRuntime', () => {
  it('a hunk that does not apply throws a KitError naming file and hunk, and leaves nothing behind', async () => {
    const [patch] = agentsPyPatches();
    expect(patch).toBeDefined();
    // corrupt one context line of the agent_session.py hunk that adds the dataclass field
    const text = readFileSync(patch!, 'utf8');
    const broken = text.replace('     session_close_transcript_timeout: float\n     recording_options: RecordingOptions\n', '     session_close_transcript_timeout: float\n     recording_options: NotTheRecordingOptions\n');
    expect(broken).not.toBe(text);
    const brokenPatch = join(scratch, '0001-broken.patch');
    writeFileSync(brokenPatch, broken);

    const session = join(base.sitePackages, 'livekit', 'agents', 'voice', 'agent_session.py');
    const before = sha(session);
    const dest = join(scratch, 'patched-venv');

    const err = await buildPatchedPyRuntime(version, { base, dest, patches: [brokenPatch] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toMatch(/0001-broken\.patch/);
    expect((err as KitError).message).toMatch(/livekit-agents\/livekit\/agents\/voice\/agent_session\.py, hunk #\d+/);

    expect(existsSync(dest)).toBe(false);
    expect(sha(session)).toBe(before);
    // no scratch copy of the venv left beside the destination
    expect(existsSync(join(scratch, `.tmp-${version}-patched-${process.pid}`))).toBe(false);
  }, 120_000);

  let patched: PatchedPyRuntime;
  it('applies the patches to a copy of the venv, import-checked, unpatched venv untouched', async () => {
    const session = join(base.sitePackages, 'livekit', 'agents', 'voice', 'agent_session.py');
    const before = sha(session);
    patched = await buildPatchedPyRuntime(version, { base, dest: join(scratch, 'patched-venv') });
    expect(patched.changedFiles).toEqual([
      'livekit/agents/voice/agent_activity.py',
      'livekit/agents/voice/agent_session.py',
      'livekit/agents/voice/tool_executor.py',
    ]);
    expect(readFileSync(join(patched.sitePackages, 'livekit/agents/voice/agent_session.py'), 'utf8')).toContain('forced_close_timeout');
    expect(existsSync(join(patched.dir, PY_PATCHED_MARKER))).toBe(true);
    expect(sha(session)).toBe(before);
  }, 120_000);

  it('the regression test fails (bounded) on the unpatched venv and passes on the patched one', async () => {
    const [unpatchedRun, patchedRun] = await Promise.all([runPyRegression(base.python), runPyRegression(patched.python)]);

    expect(patchedRun).toMatchObject({ failed: 0, errors: 0, passed: 14 });

    const status = (id: string) => unpatchedRun.cases.find((c) => c.id.endsWith(id) && c.status !== 'error')?.status;
    for (const id of ['test_on_exit_never_returns', 'test_on_enter_never_returns', 'test_tool_ignores_cancellation', 'test_close_awaited_by_the_agent[True-tool]', 'test_abandoned_close_does_not_touch_a_restarted_session']) {
      expect(status(id), id).toBe('failed');
    }
    const hang = unpatchedRun.cases.find((c) => c.id.endsWith('test_on_exit_never_returns'))!;
    expect(hang.message).toMatch(/did not complete within/);
    // bounded: the failing run does not hang on the wedges
    expect(unpatchedRun.durationMs).toBeLessThan(150_000);
  }, 400_000);
});

describe('parseJunit', () => {
  it('reads pytest junit cases, statuses and first failure line', () => {
    const xml = `<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_forced_close" name="test_a[x]" time="5.01" />
<testcase classname="tests.test_forced_close" name="test_b" time="6.5"><failure message="Failed: forced aclose() did not return within 6.5s&#10;more">tb</failure></testcase>
<testcase classname="tests.test_forced_close" name="test_c" time="0"><skipped type="pytest.skip" message="no" /></testcase>
</testsuite></testsuites>`;
    expect(parseJunit(xml)).toEqual([
      { id: 'tests/test_forced_close.py::test_a[x]', status: 'passed', durationS: 5.01 },
      { id: 'tests/test_forced_close.py::test_b', status: 'failed', durationS: 6.5, message: 'Failed: forced aclose() did not return within 6.5s' },
      { id: 'tests/test_forced_close.py::test_c', status: 'skipped', durationS: 0, message: 'no' },
    ]);
  });
});
