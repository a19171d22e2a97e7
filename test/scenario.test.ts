import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, loadScenarios } from '../ts/scenario/load.js';
import { closeWaitsOn, expectedVerdict, hangupPlan, ScenarioSchema } from '../ts/scenario/spec.js';
import { KitError } from '../ts/errors.js';

function tmpScenario(name: string, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ck-scn-'));
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, body);
  return f;
}

describe('scenario catalog', () => {
  it('loads every scenario in scenarios/ with an expectation per variant', () => {
    const all = loadScenarios();
    const names = all.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['hangup-clean', 'hangup-tool-wedge', 'hangup-on-exit-wedge', 'hangup-on-enter-wedge']));
    for (const s of all) {
      expect(['hang', 'closed', 'error']).toContain(s.expect.unpatched);
      // a control is what waits on nothing (an end-call tool awaiting its own close waits on itself)
      if (closeWaitsOn(s) === 'none') expect(s.expect.unpatched).toBe('closed');
      else expect(s.expect.patched).toBe('closed');
    }
  });

  it('names the file, the field and the allowed values on a bad enum', () => {
    const f = tmpScenario('bad-where', 'name: bad-where\ndescription: x\nwedge: { where: somewhere }\nexpect: { unpatched: hang, patched: closed }\n');
    try {
      loadScenarioFile(f);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KitError);
      expect((e as KitError).exitCode).toBe(2);
      expect((e as Error).message).toContain(f);
      expect((e as Error).message).toContain('wedge.where');
      expect((e as Error).message).toContain('tool, on_enter, on_exit');
    }
  });

  it('rejects unknown fields and a tool wedge without a tool name', () => {
    const f = tmpScenario('x', 'name: x\ndescription: x\nwedgee: 1\nwedge: { where: tool }\nexpect: { unpatched: hang, patched: closed }\n');
    expect(() => loadScenarioFile(f)).toThrow(/wedgee[\s\S]*|wedge\.tool/);
    const g = tmpScenario('y', 'name: y\ndescription: x\nwedge: { where: tool }\nexpect: { unpatched: hang, patched: closed }\n');
    expect(() => loadScenarioFile(g)).toThrow(/wedge\.tool/);
  });

  it('rejects an unknown scenario name with the list to choose from', () => {
    expect(() => loadScenarios({ only: ['nope'] })).toThrow(/unknown scenario\(s\): nope/);
  });
});

describe('close.trigger agent-tool', () => {
  const base = {
    name: 'x',
    description: 'x',
    gateway: { llm: [{ toolCall: { name: 'end_call', arguments: {} } }, { text: 'Bye' }] },
    wedge: { where: 'on_exit' },
    expect: { unpatched: 'hang', patched: 'closed' },
  };
  const messages = (input: unknown) => {
    const r = ScenarioSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('is in the catalog: the wedge, its control and the end-call tool waiting on itself', () => {
    const byName = new Map(loadScenarios().map((s) => [s.name, s]));
    const wedge = byName.get('end-call-tool-on-exit-wedge')!;
    expect(wedge.close).toEqual({ trigger: 'agent-tool', tool: 'end_call', toolAwaitsClose: true, toolDoes: 'close', closeOnDisconnect: true });
    expect(wedge.seeds).toEqual(['000', '002']);
    expect(wedge.expect).toEqual({ unpatched: 'hang', patched: 'closed' });
    const clean = byName.get('end-call-tool-clean')!;
    expect(clean.close.toolAwaitsClose).toBe(false);
    expect(closeWaitsOn(clean)).toBe('none');
    expect(clean.expect).toEqual({ unpatched: 'closed', patched: 'closed' });
    expect(closeWaitsOn(byName.get('end-call-tool-self-wait')!)).toBe('end_call_tool');
  });

  it('defaults the tool to end_call, awaited, and plans no hangup', () => {
    const s = ScenarioSchema.parse({ ...base, close: { trigger: 'agent-tool' } });
    expect(s.close.tool).toBe('end_call');
    expect(s.close.toolAwaitsClose).toBe(true);
    expect(s.caller.hangupAfter).toBeUndefined();
    expect(hangupPlan(s)).toEqual({ trigger: 'agent-tool', tool: 'end_call', toolAwaitsClose: true, toolDoes: 'close' });
    expect(closeWaitsOn(s)).toBe('on_exit');
    // the job process re-parses the JSON the kit wrote: the parsed form must parse again, unchanged
    expect(ScenarioSchema.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  it('keeps the caller-hangup defaults for the other scenarios', () => {
    const s = ScenarioSchema.parse({ ...base, gateway: {} });
    expect(s.close).toEqual({ trigger: 'caller-hangup', closeOnDisconnect: true });
    expect(hangupPlan(s)).toEqual({ trigger: 'caller-hangup', hangupAfter: 'wedge.entered', hangupDelayMs: 500 });
  });

  it('refuses a hangup cue with agent-tool: the caller leaves only after the verdict', () => {
    expect(messages({ ...base, caller: { hangupAfter: 'agent.entered' }, close: { trigger: 'agent-tool' } })).toEqual([expect.stringMatching(/^caller\.hangupAfter: close\.trigger is "agent-tool"/)]);
    expect(messages({ ...base, caller: { hangupDelayMs: 10 }, close: { trigger: 'agent-tool' } })).toEqual([expect.stringMatching(/^caller\.hangupDelayMs: /)]);
  });

  it('refuses an end-call tool the scripted LLM never calls', () => {
    expect(messages({ ...base, close: { trigger: 'agent-tool', tool: 'hang_up' } })).toEqual([expect.stringMatching(/^gateway\.llm: .*never be requested/)]);
  });

  it('refuses close.tool / toolAwaitsClose without agent-tool, a bad name, and the wedged tool as end-call tool', () => {
    expect(messages({ ...base, close: { tool: 'end_call' } })).toEqual([expect.stringMatching(/^close\.tool: .*close\.trigger is "caller-hangup"/)]);
    expect(messages({ ...base, close: { toolAwaitsClose: false } })).toEqual([expect.stringMatching(/^close\.toolAwaitsClose: /)]);
    expect(messages({ ...base, close: { trigger: 'agent-tool', tool: 'end call' } })[0]).toMatch(/^close\.tool: a function name/);
    expect(messages({ ...base, wedge: { where: 'tool', tool: 'end_call' }, close: { trigger: 'agent-tool' } })).toEqual([expect.stringMatching(/^wedge\.tool: .*cannot be the wedged tool/)]);
    expect(messages({ ...base, close: { trigger: 'robot' } })[0]).toMatch(/^close\.trigger: /);
  });

  it('takes delete-room (awaited) and shutdown-job (nothing to await, so not awaited by default, and refused awaited)', () => {
    const del = ScenarioSchema.parse({ ...base, close: { trigger: 'agent-tool', toolDoes: 'delete-room' } });
    expect(hangupPlan(del)).toEqual({ trigger: 'agent-tool', tool: 'end_call', toolAwaitsClose: true, toolDoes: 'delete-room' });
    // only a close the tool awaits is a close that waits on its requester
    expect(closeWaitsOn({ ...del, wedge: { ...del.wedge, where: 'none' } })).toBe('none');
    const shut = ScenarioSchema.parse({ ...base, close: { trigger: 'agent-tool', toolDoes: 'shutdown-job' } });
    expect(shut.close.toolAwaitsClose).toBe(false);
    expect(messages({ ...base, close: { trigger: 'agent-tool', toolDoes: 'shutdown-job', toolAwaitsClose: true } })).toEqual([expect.stringMatching(/^close\.toolAwaitsClose: .*shutdown-job/)]);
    expect(messages({ ...base, close: { toolDoes: 'delete-room' } })).toEqual([expect.stringMatching(/^close\.toolDoes: /)]);
    expect(messages({ ...base, close: { trigger: 'agent-tool', toolDoes: 'hang-up' } })[0]).toMatch(/^close\.toolDoes: /);
    const byName = new Map(loadScenarios().map((x) => [x.name, x]));
    expect(hangupPlan(byName.get('end-call-delete-room-on-exit-wedge')!)).toMatchObject({ toolDoes: 'delete-room' });
    expect(hangupPlan(byName.get('end-call-shutdown-job-on-exit-wedge')!)).toMatchObject({ toolDoes: 'shutdown-job', toolAwaitsClose: false });
  });

  it('names the file and the field when a YAML file gets it wrong', () => {
    const f = tmpScenario('bad-trigger', 'name: bad-trigger\ndescription: x\ncaller: { hangupAfter: agent.entered }\ngateway: { llm: [{ toolCall: { name: end_call, arguments: {} } }] }\nwedge: { where: none }\nclose: { trigger: agent-tool }\nexpect: { unpatched: closed, patched: closed }\n');
    expect(() => loadScenarioFile(f)).toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: caller\\.hangupAfter: `));
  });
});

describe('expect.uncured', () => {
  const base = { name: 'u', description: 'x', wedge: { where: 'none' } };
  const messages = (input: unknown) => {
    const r = ScenarioSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('is required when a patched verdict is hang, in any runtime, and refused otherwise', () => {
    expect(messages({ ...base, expect: { unpatched: 'hang', patched: 'hang' } })).toEqual([expect.stringMatching(/^expect\.uncured: a patched verdict is hang/)]);
    expect(messages({ ...base, expect: { unpatched: 'closed', patched: 'closed', runtimes: { py: { patched: 'hang' } } } })).toEqual([expect.stringMatching(/^expect\.uncured: /)]);
    expect(messages({ ...base, expect: { unpatched: 'hang', patched: 'closed', uncured: 'x' } })).toEqual([expect.stringMatching(/^expect\.uncured: .*remove/)]);
    expect(messages({ ...base, expect: { unpatched: 'hang', patched: 'hang', uncured: 'the pool' } })).toEqual([]);
  });

  it('says what is uncured in the catalog scenario that stays hang (seed 000 pooled TTS)', () => {
    const s = loadScenarios().find((x) => x.name === 'sip-outbound-deepgram-tts-pool')!;
    expect(expectedVerdict(s, 'py', 'patched')).toBe('hang');
    expect(s.expect.uncured).toMatch(/pool/);
  });
});

describe('providers and prewarmTts', () => {
  const base = { name: 'p', description: 'x', wedge: { where: 'none' }, expect: { unpatched: 'closed', patched: 'closed' } };

  it('defaults to the inference path, no prewarm, one expectation for both runtimes', () => {
    const s = ScenarioSchema.parse(base);
    expect(s.providers).toBe('inference');
    expect(s.prewarmTts).toBe(false);
    expect(expectedVerdict(s, 'js', 'unpatched')).toBe('closed');
    expect(expectedVerdict(s, 'py', 'patched')).toBe('closed');
  });

  it('takes deepgram, and a per-runtime expectation that overrides only what it names', () => {
    const s = ScenarioSchema.parse({ ...base, providers: 'deepgram', prewarmTts: true, expect: { unpatched: 'closed', patched: 'closed', runtimes: { py: { patched: 'hang' } }, uncured: 'the pool' } });
    expect(s.providers).toBe('deepgram');
    expect(s.prewarmTts).toBe(true);
    expect(expectedVerdict(s, 'py', 'patched')).toBe('hang');
    expect(expectedVerdict(s, 'py', 'unpatched')).toBe('closed');
    expect(expectedVerdict(s, 'js', 'patched')).toBe('closed');
  });

  it('refuses an unknown provider, an unknown runtime and a bad verdict in expect.runtimes', () => {
    expect(ScenarioSchema.safeParse({ ...base, providers: 'cartesia' }).success).toBe(false);
    expect(ScenarioSchema.safeParse({ ...base, expect: { ...base.expect, runtimes: { go: { patched: 'closed' } } } }).success).toBe(false);
    expect(ScenarioSchema.safeParse({ ...base, expect: { ...base.expect, runtimes: { py: { patched: 'stuck' } } } }).success).toBe(false);
    expect(ScenarioSchema.safeParse({ ...base, prewarmTts: 'yes' }).success).toBe(false);
  });

  it('has the seed 000 Deepgram scenarios in the catalog', () => {
    const all = loadScenarios();
    const pool = all.find((s) => s.name === 'sip-outbound-deepgram-tts-pool')!;
    const wedge = all.find((s) => s.name === 'sip-outbound-deepgram-on-exit-wedge')!;
    for (const s of [pool, wedge]) {
      expect(s).toMatchObject({ providers: 'deepgram', prewarmTts: true, seeds: ['000'], caller: { kind: 'sip-outbound' } });
    }
    expect(closeWaitsOn(pool)).toBe('none');
    expect(closeWaitsOn(wedge)).toBe('on_exit');
  });

  it('the Python shim reads the same fields (spec.py parse_scenario)', async () => {
    const { execa } = await import('execa');
    const code = [
      'import json, sys',
      "sys.path.insert(0, 'python-shim')",
      'from closekit_shim.spec import parse_scenario, ScenarioError',
      's = parse_scenario(json.loads(sys.argv[1]))',
      'print(s.providers, s.prewarm_tts)',
      'try:',
      '    parse_scenario({**json.loads(sys.argv[1]), "providers": "cartesia"})',
      'except ScenarioError as e:',
      '    print("refused", e)',
    ].join('\n');
    const r = await execa('python3', ['-c', code, JSON.stringify({ ...base, providers: 'deepgram', prewarmTts: true })], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const [first, second] = r.stdout.trim().split('\n');
    expect(first).toBe('deepgram True');
    expect(second).toMatch(/^refused .*providers: 'cartesia' is not one of inference, deepgram/);
  });
});
