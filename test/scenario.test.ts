import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, loadScenarios } from '../ts/scenario/load.js';
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
      if (s.wedge.where === 'none') expect(s.expect.unpatched).toBe('closed');
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
