/**
 * The contract both workers share: one list of timeline event names (ts/contract/events.ts
 * and python-shim/closekit_shim/emit.py EVENT_NAMES), refused alike when unknown, and every
 * name either worker's source emits is in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../ts/config.js';
import { EVENT_NAMES, WORKER_EVENT_NAMES, toParkedReport } from '../ts/contract/index.js';
import { createEmitter } from '../ts/js-shim/emit.js';
import { readEvents } from '../ts/observe/events.js';

function pythonEventNames(): string[] {
  // emit.py alone (stdlib only), loaded by path so the package's livekit imports are not needed.
  const code = [
    'import importlib.util, json, sys',
    `spec = importlib.util.spec_from_file_location("emit", ${JSON.stringify(join(ROOT, 'python-shim/closekit_shim/emit.py'))})`,
    'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
    'print(json.dumps(list(m.EVENT_NAMES)))',
  ].join('\n');
  return JSON.parse(execFileSync(process.env.CLOSEKIT_PYTHON || 'python3', ['-c', code], { encoding: 'utf8' })) as string[];
}

/** Literal event names passed to emit(...) in a source tree (both quote styles). */
function emittedNames(dir: string, ext: string): Set<string> {
  const out = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(ext))) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/\bemit\(\s*['"]([a-z_]+\.[a-z_.]+|parked)['"]/g)) out.add(m[1]!);
  }
  return out;
}

describe('timeline event names', () => {
  it('the Python shim validates the very list the TypeScript contract holds', () => {
    expect(pythonEventNames()).toEqual([...WORKER_EVENT_NAMES]);
  });

  it('every name either worker emits literally is in the contract', () => {
    const js = emittedNames(join(ROOT, 'ts/js-shim'), '.ts');
    const py = emittedNames(join(ROOT, 'python-shim/closekit_shim'), '.py');
    expect(js.size).toBeGreaterThan(10);
    expect(py.size).toBeGreaterThan(10);
    for (const n of [...js, ...py]) expect(WORKER_EVENT_NAMES as readonly string[], n).toContain(n);
  });

  it('the JS emitter refuses a name outside the protocol and writes nothing', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ck-contract-')), 'events.jsonl');
    const emit = createEmitter(file, 'js');
    expect(() => (emit as (ev: string) => void)('drain.begin')).toThrow(/"drain.begin" is not a timeline event/);
    emit('drain.start', { step: 'drain' });
    expect(readEvents(file).map((e) => e.ev)).toEqual(['drain.start']);
  });

  it('the kit-side names are in the full list, and nothing lists `verdict` (no one emits it)', () => {
    expect(EVENT_NAMES).toEqual(expect.arrayContaining(['caller.joined', 'caller.hangup', 'socket.open', 'socket.close', 'sip.log', 'activity.step.start', 'stt.connect', 'session.error', 'room.disconnected']));
    expect(EVENT_NAMES as readonly string[]).not.toContain('verdict');
  });
});

describe('ParkedReport', () => {
  it('reads a JS capture, a Python capture and an older array of captures into one shape', () => {
    expect(toParkedReport({ open: ['activity.close', 'toolExecutor.drain'], tasks: [{ name: 'tool lookup_order', kind: 'tool', state: 'pending' }], sessions: 1, inspector: 'ok' })).toEqual({
      open: ['activity.close', 'toolExecutor.drain'],
      tasks: [{ name: 'tool lookup_order', kind: 'tool', state: 'pending' }],
      sessions: 1,
      inspector: 'ok',
    });
    expect(toParkedReport({ open: ['drain'], tasks: [{ name: 'Task-3', coro: 'AgentSession.aclose', stack: ['a.py:1 in f'] }] })?.tasks[0]).toEqual({ name: 'Task-3', coro: 'AgentSession.aclose', stack: ['a.py:1 in f'] });
    expect(toParkedReport([{ open: ['old'] }, { open: ['drain'], sinceCloseMs: 4000 }])).toEqual({ open: ['drain'], tasks: [], sinceCloseMs: 4000 });
    expect(toParkedReport([])).toBeNull();
    expect(toParkedReport({ open: [], tasks: [] })).toBeNull();
  });
});
