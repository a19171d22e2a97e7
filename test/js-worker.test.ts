/**
 * The agents-js side in isolation: the real @livekit/agents from the kit's runtime dir
 * (.kit/runtimes/js/<pin>), a real AgentSession without a room and upstream's own FakeLLM
 * (voice/testing/fake_llm.ts, what upstream's voice tests use), our WedgeAgent and
 * instrumentation. Proves the emitted close timeline and where each wedge parks a forced
 * close. No timed assertions: "still parked" is checked after the step the close parks in
 * has started and the event loop has gone idle for many turns.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSIONS } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { loadScenarioFile } from '../ts/scenario/load.js';
import { SCENARIOS_DIR } from '../ts/config.js';
import type { Scenario } from '../ts/scenario/spec.js';
import { isJsRuntimeComplete, jsRuntimeDir, ensureJsRuntime } from '../ts/runtimes/js/install.js';
import { createEmitter } from '../ts/js-shim/emit.js';
import { jsWorkerEnv, startJsWorker, writeScenarioJson } from '../ts/runtimes/js/index.js';

const runtimeDir = jsRuntimeDir(VERSIONS.agentsJs);
const haveRuntime = isJsRuntimeComplete(runtimeDir, VERSIONS.agentsJs);
const tmp = mkdtempSync(join(tmpdir(), 'ck-jsworker-'));

interface Ev {
  ev: string;
  t: number;
  data?: Record<string, any>;
}
function events(file: string): Ev[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}
/** Resolves when `pred` holds on the events file; checks after every event-loop turn. */
async function until(file: string, pred: (evs: Ev[]) => boolean): Promise<Ev[]> {
  for (;;) {
    const evs = events(file);
    if (pred(evs)) return evs;
    await new Promise((r) => setTimeout(r, 20));
  }
}
/** Lets every already-runnable callback, microtask and immediate run, many times over. */
async function settleLoop(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
const names = (evs: Ev[]) => evs.map((e) => (e.ev.startsWith('activity.step') ? `${e.ev}:${e.data?.step}` : e.ev));

describe('ensureJsRuntime / startJsWorker input checks', () => {
  it('rejects a malformed version without touching disk', async () => {
    await expect(ensureJsRuntime('latest')).rejects.toBeInstanceOf(KitError);
  });
  // Asks the npm registry once; opt in with CLOSEKIT_NPM_TESTS=1 (tests stay offline by default).
  it.skipIf(!process.env.CLOSEKIT_NPM_TESTS)('an unpublished version is KitError exit 2 and leaves no dir behind', async () => {
    const err = await ensureJsRuntime('0.0.999').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toMatch(/does not exist on npm/);
    expect(existsSync(jsRuntimeDir('0.0.999'))).toBe(false);
  });
  it('patched: names the command that builds the copy when it is missing', async () => {
    await expect(ensureJsRuntime('0.0.1', { patched: true })).rejects.toThrow(/kit verify/);
  });
  it('startJsWorker refuses a dir without agents', () => {
    const sup = { spawn: () => { throw new Error('must not spawn'); } };
    expect(() =>
      startJsWorker(sup as any, { runtimeDir: tmp, livekit: { wsUrl: 'ws://x', apiKey: 'k', apiSecret: 's' }, inferenceUrl: 'http://x', agentName: 'a', scenarioFile: join(tmp, 'none.json'), eventsFile: join(tmp, 'e.jsonl') }),
    ).toThrow(KitError);
  });
  it('worker env carries the internals.md variables and the runtime dir', () => {
    const env = jsWorkerEnv({ runtimeDir: '/r', livekit: { wsUrl: 'ws://h:7880', apiKey: 'k', apiSecret: 's' }, inferenceUrl: 'http://h:7900', agentName: 'ck-js', scenarioFile: '/s.json', eventsFile: '/e.jsonl' });
    expect(env).toMatchObject({ CLOSEKIT_AGENTS_DIR: '/r', CLOSEKIT_EVENTS: '/e.jsonl', CLOSEKIT_SCENARIO: '/s.json', CLOSEKIT_AGENT_NAME: 'ck-js', LIVEKIT_URL: 'ws://h:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's', LIVEKIT_INFERENCE_URL: 'http://h:7900' });
  });
});

describe.skipIf(!haveRuntime)(`forced close on a real AgentSession (agents ${VERSIONS.agentsJs}, no room)`, () => {
  let rt: Awaited<ReturnType<typeof import('../ts/js-shim/runtime.js').loadRuntime>>;
  let WedgeAgent: typeof import('../ts/js-shim/agent.js').WedgeAgent;
  let instrument: typeof import('../ts/js-shim/instrument.js').instrument;
  const file = join(tmp, 'events.jsonl');
  // One emitter and one instrumentation per process, as in a job process; each test
  // reads only the lines written after it started.
  const emit = createEmitter(file, 'js');

  beforeAll(async () => {
    process.env.CLOSEKIT_AGENTS_DIR = runtimeDir;
    const load = await import('../ts/js-shim/runtime.js');
    rt = await load.loadRuntime(runtimeDir);
    rt.agents.initializeLogger({ pretty: false, level: 'silent' });
    ({ instrument } = await import('../ts/js-shim/instrument.js'));
    await instrument(emit);
    ({ WedgeAgent } = await import('../ts/js-shim/agent.js'));
  });

  async function startSession(scenario: Scenario) {
    const mark = events(file).length;
    const { FakeLLM } = rt.agents.voice.testing as any;
    const userText = scenario.gateway.stt.transcripts[0]?.text ?? 'hello';
    const first = scenario.gateway.llm[0]!;
    const llm = new FakeLLM([
      'toolCall' in first
        ? { input: userText, toolCalls: [{ name: first.toolCall.name, args: first.toolCall.arguments }] }
        : { input: userText, content: first.text },
    ]);
    const session = new rt.agents.voice.AgentSession({ llm, vad: null, turnHandling: { turnDetection: null } } as any);
    const closed = new Promise<any>((r) => session.on('close' as any, r));
    await session.start({ agent: new WedgeAgent(scenario, emit) });
    const since = () => events(file).slice(mark);
    return { session, closed, since, userText };
  }

  it('control (hangup-clean): the close runs drain, then activity.close with the STT/TTS teardown, then emits close', async () => {
    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-clean.yaml'));
    const { session, since, userText } = await startSession(scenario);
    session.generateReply({ userInput: userText });
    await session.close();
    const seq = names(since());
    expect(seq).toEqual(
      expect.arrayContaining(['session.started', 'agent.entered', 'close.requested', 'interrupt.done', 'drain.start', 'drain.end', 'activity.close.start', 'activity.step.start:activity.closeSessionResources', 'activity.close.end', 'session.closed']),
    );
    const at = (n: string) => seq.indexOf(n);
    expect(at('close.requested')).toBeLessThan(at('drain.start'));
    expect(at('drain.end')).toBeLessThan(at('activity.close.start'));
    expect(at('activity.step.end:activity.closeSessionResources')).toBeLessThan(at('activity.close.end'));
    expect(at('activity.close.end')).toBeLessThan(at('session.closed'));
    expect(since().find((e) => e.ev === 'close.requested')?.data).toMatchObject({ reason: 'user_initiated', drain: false });
  });

  it('tool wedge (hangup-tool-wedge): drain returns, activity.close parks in ToolExecutor.drain before the STT teardown', async () => {
    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-tool-wedge.yaml'));
    const { session, since, userText } = await startSession(scenario);
    session.generateReply({ userInput: userText });
    await until(file, () => since().some((e) => e.ev === 'wedge.entered'));
    expect(since().find((e) => e.ev === 'wedge.entered')?.data).toMatchObject({ where: 'tool', tool: 'lookup_order', args: { orderId: 'A-1001' } });
    let settled = false;
    void session.close().finally(() => (settled = true));
    await until(file, () => since().some((e) => e.ev === 'activity.step.start' && e.data?.step === 'toolExecutor.drain'));
    await settleLoop();
    const seq = names(since());
    expect(seq).toContain('drain.end');
    expect(seq.indexOf('drain.end')).toBeLessThan(seq.indexOf('activity.close.start'));
    expect(seq).not.toContain('activity.step.end:toolExecutor.drain');
    expect(seq).not.toContain('activity.step.start:activity.closeSessionResources');
    expect(seq).not.toContain('activity.close.end');
    expect(seq).not.toContain('session.closed');
    expect(settled).toBe(false);
    const { openInstrumentedSteps } = await import('../ts/js-shim/instrument.js');
    expect(openInstrumentedSteps()).toEqual(expect.arrayContaining(['activity.close', 'toolExecutor.drain']));
  });

  it('onExit wedge (hangup-on-exit-wedge): the close parks inside drain, before activity.close', async () => {
    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-on-exit-wedge.yaml'));
    const { session, since } = await startSession(scenario);
    let settled = false;
    void session.close().finally(() => (settled = true));
    await until(file, () => since().some((e) => e.ev === 'wedge.entered'));
    await settleLoop();
    const seq = names(since());
    expect(since().find((e) => e.ev === 'wedge.entered')?.data).toMatchObject({ where: 'on_exit' });
    expect(seq.indexOf('drain.start')).toBeLessThan(seq.indexOf('wedge.entered'));
    expect(seq).not.toContain('drain.end');
    expect(seq).not.toContain('activity.close.start');
    expect(seq).not.toContain('session.closed');
    expect(settled).toBe(false);
  });

  it('onEnter wedge (hangup-on-enter-wedge): the close parks in drain waiting for the scheduling task', async () => {
    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-on-enter-wedge.yaml'));
    const { session, since } = await startSession(scenario);
    await until(file, () => since().some((e) => e.ev === 'wedge.entered'));
    let settled = false;
    void session.close().finally(() => (settled = true));
    await until(file, () => since().some((e) => e.ev === 'activity.step.start' && e.data?.step === 'activity.pauseSchedulingTask'));
    await settleLoop();
    const seq = names(since());
    expect(since().find((e) => e.ev === 'wedge.entered')?.data).toMatchObject({ where: 'on_enter' });
    expect(seq).toContain('interrupt.done');
    expect(seq).not.toContain('activity.step.end:activity.pauseSchedulingTask');
    expect(seq).not.toContain('drain.end');
    expect(seq).not.toContain('activity.close.start');
    expect(settled).toBe(false);
  });

  it('writeScenarioJson round-trips through the worker-side reader', async () => {
    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-tool-wedge.yaml'));
    const f = writeScenarioJson(scenario, join(tmp, 's.json'));
    const { loadScenario } = await import('../ts/js-shim/spec.js');
    expect(loadScenario(f)).toEqual(scenario);
    writeFileSync(join(tmp, 'bad.json'), '{"name": 1}');
    expect(() => loadScenario(join(tmp, 'bad.json'))).toThrow(KitError);
  });
});
