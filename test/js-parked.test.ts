/**
 * The JS `parked` capture (ts/js-shim/parked.ts) on a real AgentSession without a room
 * (the runtime dir's @livekit/agents, upstream's FakeLLM, our WedgeAgent + instrumentation,
 * as in test/js-worker.test.ts): force-close with a wedge, call `captureParked()` directly
 * and check it names the task that never settles and the wedge's own frames.
 */
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS_DIR, VERSIONS } from '../ts/config.js';
import { loadScenarioFile } from '../ts/scenario/load.js';
import type { Scenario } from '../ts/scenario/spec.js';
import { isJsRuntimeComplete, jsRuntimeDir } from '../ts/runtimes/js/install.js';
import { createEmitter } from '../ts/js-shim/emit.js';

const runtimeDir = jsRuntimeDir(VERSIONS.agentsJs);
const haveRuntime = isJsRuntimeComplete(runtimeDir, VERSIONS.agentsJs);
const tmp = mkdtempSync(join(tmpdir(), 'ck-jsparked-'));

function evNames(file: string): Array<{ ev: string; data?: any }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 20));
}
async function settleLoop(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

describe.skipIf(!haveRuntime)(`captureParked on a real AgentSession (agents ${VERSIONS.agentsJs}, no room)`, () => {
  let rt: Awaited<ReturnType<typeof import('../ts/js-shim/runtime.js').loadRuntime>>;
  let WedgeAgent: typeof import('../ts/js-shim/agent.js').WedgeAgent;
  let captureParked: typeof import('../ts/js-shim/parked.js').captureParked;
  const file = join(tmp, 'events.jsonl');
  const emit = createEmitter(file, 'js');

  beforeAll(async () => {
    process.env.CLOSEKIT_AGENTS_DIR = runtimeDir;
    const load = await import('../ts/js-shim/runtime.js');
    rt = await load.loadRuntime(runtimeDir);
    rt.agents.initializeLogger({ pretty: false, level: 'silent' });
    const { instrument } = await import('../ts/js-shim/instrument.js');
    await instrument(emit);
    ({ WedgeAgent } = await import('../ts/js-shim/agent.js'));
    ({ captureParked } = await import('../ts/js-shim/parked.js'));
  });

  async function startSession(scenario: Scenario) {
    const { FakeLLM } = rt.agents.voice.testing as any;
    const userText = scenario.gateway.stt.transcripts[0]?.text ?? 'hello';
    const first = scenario.gateway.llm[0]!;
    const llm = new FakeLLM([
      'toolCall' in first ? { input: userText, toolCalls: [{ name: first.toolCall.name, args: first.toolCall.arguments }] } : { input: userText, content: first.text },
    ]);
    const session = new rt.agents.voice.AgentSession({ llm, vad: null, turnHandling: { turnDetection: null } } as any);
    await session.start({ agent: new WedgeAgent(scenario, emit) });
    return { session, userText };
  }

  it('onExit wedge: the report names _onExitTask pending in WedgeAgent.onExit → parkForever, and the close waiting on it', async () => {
    const mark = evNames(file).length;
    const { session } = await startSession(loadScenarioFile(join(SCENARIOS_DIR, 'hangup-on-exit-wedge.yaml')));
    let settled = false;
    void session.close().finally(() => (settled = true));
    await until(() => evNames(file).slice(mark).some((e) => e.ev === 'wedge.entered'));
    await settleLoop();
    expect(settled).toBe(false);

    const r = captureParked();
    expect(r.inspector).toBe('ok');
    expect(r.open).toContain('drain');
    expect(r.closeStep).toBe('drain');
    const onExit = r.tasks.find((t) => t.kind === 'onExitTask');
    expect(onExit).toMatchObject({ name: '_onExitTask (AgentActivity_onExit)', state: 'pending' });
    // The wedge's own frames, innermost first: the never-settling promise in parkForever,
    // awaited by WedgeAgent.onExit.
    expect(onExit!.stack?.[0]).toMatch(/^parkForever \(.*wedge\.ts:\d+\)$/);
    expect(onExit!.stack?.[1]).toMatch(/^WedgeAgent\.onExit \(.*agent\.ts:\d+\)$/);
    expect(onExit!.awaits).toMatch(/parkForever.*awaited by WedgeAgent\.onExit/);
    // Created by the forced close's drain (agent_activity.ts _drainImpl → createSpeechTask).
    expect(onExit!.createdAt?.join('\n')).toMatch(/createSpeechTask[\s\S]*_drainImpl/);
    const close = r.tasks.find((t) => t.kind === 'close');
    expect(close).toMatchObject({ name: 'AgentSession.close', state: 'pending' });
    expect(close!.awaits).toMatch(/_onExitTask\.result/);
    expect(r.waits).toEqual(['AgentSession.close', '_onExitTask (AgentActivity_onExit)']);
    expect(r.stack).toEqual(onExit!.stack);
    // The report survives JSON (it is written to the timeline as-is).
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('tool wedge: the report names the running non-cancellable tool, its definition in makeTools and parkForever', async () => {
    const mark = evNames(file).length;
    const { session, userText } = await startSession(loadScenarioFile(join(SCENARIOS_DIR, 'hangup-tool-wedge.yaml')));
    session.generateReply({ userInput: userText });
    await until(() => evNames(file).slice(mark).some((e) => e.ev === 'wedge.entered'));
    void session.close();
    await until(() => evNames(file).slice(mark).some((e) => e.ev === 'activity.step.start' && e.data?.step === 'toolExecutor.drain'));
    await settleLoop();

    const r = captureParked();
    expect(r.closeStep).toBe('toolExecutor.drain');
    const tool = r.tasks.find((t) => t.kind === 'tool' && t.tool?.name === 'lookup_order' && t.state === 'pending');
    expect(tool?.tool).toMatchObject({ cancellable: false });
    expect(tool!.tool!.definedAt).toMatch(/agent\.ts:\d+/);
    expect(tool!.stack?.[0]).toMatch(/^parkForever /);
    expect(tool!.stack?.join('\n')).toMatch(/execute .*agent\.ts/);
    expect(r.waits).toEqual(['AgentSession.close', 'tool lookup_order']);
  });
});
