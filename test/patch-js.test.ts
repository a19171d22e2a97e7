/**
 * The agents-js fix patch: applies atomically, builds a loadable patched runtime, and its
 * regression test fails on the unpatched package and passes on the patched one.
 * Real files, real git apply, real esbuild, real vitest runs of the package's own src/.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCED_CLOSE_BOUND_MS, VERSIONS } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { applyPatchesAtomic, checkPatches } from '../ts/patch/apply.js';
import { agentsJsPatches, buildPatchedJsRuntime } from '../ts/patch/js.js';
import { runUpstreamTests } from '../ts/patch/upstream-tests.js';
import { ensureJsRuntime } from '../ts/runtimes/js/install.js';

const PATCH = agentsJsPatches().find((p) => p.includes('0001-'))!;
const REGRESSION = 'src/voice/agent_session_forced_close.test.ts';
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

let unpatchedRoot: string;
let scratch: string;

beforeAll(async () => {
  unpatchedRoot = (await ensureJsRuntime(VERSIONS.agentsJs)).agentsRoot;
  scratch = mkdtempSync(join(tmpdir(), 'closekit-patch-js-'));
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A small target: the two voice files the patch edits, copied from the unpatched package. */
function makeTarget(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'src', 'voice'), { recursive: true });
  for (const f of ['agent_session.ts', 'agent_activity.ts', 'audio_recognition.ts', 'tool_executor.ts']) copyFileSync(join(unpatchedRoot, 'src', 'voice', f), join(dir, 'src', 'voice', f));
  return dir;
}

/** The patch with one context line of agent_session.ts changed so that hunk cannot apply. */
function brokenPatch(): string {
  const text = readFileSync(PATCH, 'utf8');
  const broken = text.replace("\n const SIP_RULE_ID_ATTR = 'sip.ruleID';\n", "\n const SIP_RULE_ID_ATTR = 'sip.ruleID.changed';\n");
  expect(broken).not.toBe(text);
  const file = join(scratch, 'broken.patch');
  writeFileSync(file, broken);
  return file;
}

describe('applyPatchesAtomic', () => {
  it('applies the fix patch to the package layout (-p2, .changeset and agents/etc skipped)', async () => {
    const dir = makeTarget('good');
    expect((await checkPatches({ patches: [PATCH], targetDir: dir, strip: 2, include: 'agents/src/' })).changedFiles).toContain('src/voice/agent_session.ts');
    const { changedFiles } = await applyPatchesAtomic({ patches: [PATCH], targetDir: dir, strip: 2, include: 'agents/src/' });
    expect(changedFiles).toEqual(['src/voice/agent_activity.ts', 'src/voice/agent_session.ts', REGRESSION, 'src/voice/audio_recognition.ts', 'src/voice/tool_executor.ts'].sort());
    expect(readFileSync(join(dir, 'src/voice/agent_activity.ts'), 'utf8')).toContain('_forceClose(): void');
    expect(readFileSync(join(dir, 'src/voice/agent_session.ts'), 'utf8')).toContain('forcedCloseTimeout?: number | null');
    expect(existsSync(join(dir, 'bound-forced-session-close.md'))).toBe(false);
  });

  it('rejects a broken patch naming the hunk and leaves the target untouched', async () => {
    const dir = makeTarget('broken');
    const before = ['agent_session.ts', 'agent_activity.ts'].map((f) => sha(join(dir, 'src/voice', f)));
    // The good patch first, then the broken one: the failure of the second must undo nothing
    // because nothing was written.
    const err = await applyPatchesAtomic({ patches: [PATCH, brokenPatch()], targetDir: dir, strip: 2, include: 'agents/src/' }).catch((e) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    // On top of the good patch the broken one fails on its first file that no longer matches;
    // alone it fails on the changed context line. Either way the file and hunk are named.
    expect((err as KitError).message).toMatch(/broken\.patch does not apply: agents\/src\/voice\/agent_\w+\.ts, hunk #\d+ @@ -\d+/);
    const alone = await applyPatchesAtomic({ patches: [brokenPatch()], targetDir: dir, strip: 2, include: 'agents/src/' }).catch((e) => e);
    expect((alone as KitError).message).toMatch(/agents\/src\/voice\/agent_session\.ts, hunk #2 @@ -140,6 \+140,14 @@/);
    expect(['agent_session.ts', 'agent_activity.ts'].map((f) => sha(join(dir, 'src/voice', f)))).toEqual(before);
    expect(existsSync(join(dir, REGRESSION))).toBe(false);
  });
});

describe('buildPatchedJsRuntime', () => {
  it('refuses a patch that does not apply and creates no patched dir', async () => {
    const dest = join(unpatchedRoot, '..', '..', '..', '..', `${VERSIONS.agentsJs}-patched`);
    const stamp = existsSync(dest) ? statSync(join(dest, 'closekit-patched.json')).mtimeMs : null;
    const err = await buildPatchedJsRuntime(VERSIONS.agentsJs, { patches: [brokenPatch()] }).catch((e) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).message).toMatch(/hunk #2/);
    expect(existsSync(dest) ? statSync(join(dest, 'closekit-patched.json')).mtimeMs : null).toBe(stamp);
    expect(sha(join(unpatchedRoot, 'src/voice/agent_session.ts'))).not.toBe('');
    expect(readFileSync(join(unpatchedRoot, 'src/voice/agent_session.ts'), 'utf8')).not.toContain('forcedCloseTimeout');
  });

  let patchedRoot: string;

  it('builds a patched runtime that loads as ESM and CJS, unpatched untouched', async () => {
    const r = await buildPatchedJsRuntime(VERSIONS.agentsJs);
    patchedRoot = r.agentsRoot;
    expect(r.rebuilt).toEqual(expect.arrayContaining(['dist/voice/agent_session.js', 'dist/voice/agent_session.cjs', 'dist/voice/agent_activity.js', 'dist/voice/agent_activity.cjs']));
    const esm = await execa(process.execPath, ['--input-type=module', '-e', `const s = await import(${JSON.stringify(join(patchedRoot, 'dist/voice/agent_session.js'))}); const m = await import(${JSON.stringify(join(patchedRoot, 'dist/index.js'))}); console.log(s.DEFAULT_FORCED_CLOSE_TIMEOUT, typeof m.voice.AgentSession)`]);
    expect(esm.stdout.trim()).toBe(`${FORCED_CLOSE_BOUND_MS} function`);
    const cjs = await execa(process.execPath, ['-e', `const s = require(${JSON.stringify(join(patchedRoot, 'dist/voice/agent_session.cjs'))}); const m = require(${JSON.stringify(join(patchedRoot, 'dist/index.cjs'))}); console.log(s.DEFAULT_FORCED_CLOSE_TIMEOUT, typeof m.voice.AgentSession)`]);
    expect(cjs.stdout.trim()).toBe(`${FORCED_CLOSE_BOUND_MS} function`);
    expect(readFileSync(join(unpatchedRoot, 'dist/voice/agent_session.js'), 'utf8')).not.toContain('forcedCloseTimeout');
  }, 300_000);

  it('regression test: fails on the unpatched package, passes on the patched one', async () => {
    const include = [REGRESSION];
    const patched = await runUpstreamTests({ agentsRoot: patchedRoot, include });
    expect(patched.failed).toBe(0);
    expect(patched.passed).toBeGreaterThanOrEqual(6);
    const unpatched = await runUpstreamTests({ agentsRoot: unpatchedRoot, include, extraFiles: { [REGRESSION]: join(patchedRoot, REGRESSION) } });
    const failed = unpatched.cases.filter((c) => c.status === 'failed').map((c) => c.name);
    expect(failed).toEqual(
      expect.arrayContaining([
        'AgentSession forced close completes within forcedCloseTimeout when onExit never returns',
        'AgentSession forced close completes within forcedCloseTimeout when onEnter never returns',
        'AgentSession forced close completes within forcedCloseTimeout when a tool ignores its abort signal',
        'AgentSession forced close completes when a tool closes the session while onExit never returns',
      ]),
    );
  }, 600_000);
});
