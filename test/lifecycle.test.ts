import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioSchema } from '../ts/scenario/spec.js';
import { parseWorkerLogLine, supervisorLogEvents } from '../ts/observe/worker-log.js';
import { describeJobEnd, isUnresponsiveKillLine, jobEndCheck, judgeJobEnd, workerExitCheck } from '../ts/verdict/lifecycle.js';
import { lifecycleTitle } from '../ts/matrix/index.js';
import type { TimelineEvent } from '../ts/contract/events.js';

const base = { name: 'x', description: 'x', wedge: { where: 'none' }, expect: { unpatched: 'closed', patched: 'closed' } };
const jobEnd = { js: { unpatched: 'killed', patched: 'killed' }, py: { unpatched: 'killed', patched: 'killed' } };
const issues = (o: unknown) => {
  const r = ScenarioSchema.safeParse(o);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('scenario lifecycle block', () => {
  it('accepts a complete shutdown-callback hold and a SIGTERM with explicit timeouts', () => {
    expect(issues({ ...base, lifecycle: { shutdownCallback: { leaves: 'blocked-loop', holdMs: 20000 }, pingTimeoutMs: 5000 }, expect: { ...base.expect, jobEnd } })).toEqual([]);
    expect(issues({ ...base, lifecycle: { sigterm: { afterCloseRequestMs: 1000 }, drainTimeoutMs: 15000, shutdownProcessTimeoutMs: 3000 }, expect: { ...base.expect, workerExit: { unpatched: 'running', patched: 'exited' } } })).toEqual([]);
    expect(issues({ ...base, lifecycle: { sigterm: { afterCloseRequestMs: 1000 }, drainTimeoutMs: 15000, shutdownProcessTimeoutMs: 3000 } }).join('\n')).toMatch(/expect.workerExit: lifecycle.sigterm is set/);
    expect(issues({ ...base, expect: { ...base.expect, workerExit: { unpatched: 'running', patched: 'exited' } } }).join('\n')).toMatch(/set lifecycle.sigterm/);
  });
  it('refuses a hold without a pong timeout, a hold shorter than it, and a hold without expect.jobEnd', () => {
    expect(issues({ ...base, lifecycle: { shutdownCallback: { leaves: 'blocked-loop', holdMs: 20000 } }, expect: { ...base.expect, jobEnd } }).join('\n')).toMatch(/lifecycle.pingTimeoutMs: .*pong timeout/);
    expect(issues({ ...base, lifecycle: { shutdownCallback: { leaves: 'blocked-loop', holdMs: 3000 }, pingTimeoutMs: 5000 }, expect: { ...base.expect, jobEnd } }).join('\n')).toMatch(/holdMs 3000 must exceed/);
    expect(issues({ ...base, lifecycle: { shutdownCallback: { leaves: 'running-thread', holdMs: 20000 }, pingTimeoutMs: 5000 } }).join('\n')).toMatch(/expect.jobEnd: .*say how the job process must end/);
  });
  it('refuses a SIGTERM without the worker timeouts, an unknown hold, unknown keys and a stray expect.jobEnd', () => {
    const s = issues({ ...base, lifecycle: { sigterm: { afterCloseRequestMs: 0 } } }).join('\n');
    expect(s).toMatch(/lifecycle.drainTimeoutMs/);
    expect(s).toMatch(/lifecycle.shutdownProcessTimeoutMs/);
    expect(issues({ ...base, lifecycle: { shutdownCallback: { leaves: 'spin', holdMs: 9000 }, pingTimeoutMs: 5000 }, expect: { ...base.expect, jobEnd } }).join('\n')).toMatch(/leaves/);
    expect(issues({ ...base, lifecycle: { pingTimeout: 5 } }).join('\n')).toMatch(/Unrecognized key/);
    expect(issues({ ...base, expect: { ...base.expect, jobEnd } }).join('\n')).toMatch(/no lifecycle block/);
  });
});

describe('worker log lines', () => {
  it('parses livekit-agents and pino records, and skips the rest', () => {
    const py = parseWorkerLogLine('{"message": "process is unresponsive, killing process", "level": "ERROR", "pid": 7, "timestamp": "2026-12-02T08:05:37.828784+00:00"}');
    expect(py).toMatchObject({ level: 'ERROR', msg: 'process is unresponsive, killing process', pid: 7, wallMs: Date.parse('2026-12-02T08:05:37.828Z') });
    expect(parseWorkerLogLine('{"level":40,"time":1796197239206,"pid":9,"msg":"job is unresponsive"}')).toMatchObject({ level: 'WARN', msg: 'job is unresponsive', pid: 9, wallMs: 1796197239206 });
    expect(parseWorkerLogLine('not json')).toBeNull();
    expect(parseWorkerLogLine('{"no":"fields"}')).toBeNull();
  });
  it('keeps only supervisor lines, on the monotonic clock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-wl-'));
    const f = join(dir, 'py-worker.log');
    writeFileSync(f, ['{"message": "http_session(): closing", "level": "DEBUG", "timestamp": "2026-12-02T08:00:00+00:00"}', '{"level":40,"time":5000,"pid":3,"msg":"job executor is unresponsive","delay":612.4}', 'garbage'].join('\n'));
    const ev = supervisorLogEvents(f, 1000);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ t: 4000, ev: 'supervisor.log', data: { level: 'WARN', msg: 'job executor is unresponsive', delayMs: 612 } });
    expect(supervisorLogEvents(join(dir, 'missing.log'), 0)).toEqual([]);
  });
});

const ev = (t: number, name: string, data: Record<string, unknown> = {}): TimelineEvent => ({ t, ev: name, runtime: 'py', data });

describe('job end', () => {
  it('a kill line after the shutdown callback is a kill, timed from the room gone and the hold', () => {
    const j = judgeJobEnd([ev(100, 'room.disconnected'), ev(110, 'shutdown.callback'), ev(400, 'job.hold', { kind: 'blocked-loop' }), ev(5400, 'supervisor.log', { msg: 'process is unresponsive, killing process' })], 0, 5000);
    expect(j).toMatchObject({ how: 'killed', hold: 'blocked-loop', afterRoomGoneMs: 5300, afterHoldMs: 5000, afterHangupMs: 5400, supervisorLine: 'process is unresponsive, killing process' });
    expect(describeJobEnd(j)).toMatch(/killed by its supervisor 5300 ms after the room was gone/);
    expect(jobEndCheck('killed', j)).toBeNull();
    expect(jobEndCheck('exited', j)).toBe('the job process killed, expected exited');
  });
  it('a job that exited before the kill line exited (the line is about a dead process); none of both is alive', () => {
    const j = judgeJobEnd([ev(50, 'job.exit', { code: 1 }), ev(15000, 'supervisor.log', { msg: 'job is unresponsive' })], 0, 5000);
    expect(j).toMatchObject({ how: 'exited', exitCode: 1, shutdownCallbackRan: false, supervisorLine: null });
    expect(describeJobEnd(j)).toMatch(/code 1.*before any shutdown callback ran/);
    expect(judgeJobEnd([ev(10, 'shutdown.callback'), ev(20, 'supervisor.log', { msg: 'process exiting' })], 0, 5000).how).toBe('alive');
    expect(jobEndCheck('killed', null)).toBe('the job process was still alive, expected killed');
    expect(jobEndCheck(undefined, null)).toBeNull();
  });
  it('a Python job.exit (no code: the exit function, before the thread join) does not rule out a later kill', () => {
    const j = judgeJobEnd([ev(10, 'shutdown.callback'), ev(20, 'job.hold', { kind: 'running-thread' }), ev(300, 'job.exit', { code: null }), ev(5020, 'supervisor.log', { msg: 'process is unresponsive, killing process' })], 0, 5000);
    expect(j.how).toBe('killed');
  });
  it('recognises both runtimes kill lines and not the late-pong warnings', () => {
    expect(isUnresponsiveKillLine('process is unresponsive, killing process')).toBe(true);
    expect(isUnresponsiveKillLine('job is unresponsive')).toBe(true);
    expect(isUnresponsiveKillLine('process is unresponsive')).toBe(false);
    expect(isUnresponsiveKillLine('job executor is unresponsive')).toBe(false);
  });
});

describe('worker exit after SIGTERM', () => {
  const w = { afterSigtermMs: 3144, code: 143, signal: null, boundMs: 18000, drainTimeoutMs: 15000, shutdownProcessTimeoutMs: 3000, watchedMs: 28000, socketsOpenAtExit: 0, socketsClosedBeforeExit: 4, socketsTotal: 4 };
  it('holds exited/running against the measured exit', () => {
    expect(workerExitCheck('exited', w, true)).toBeNull();
    expect(workerExitCheck('running', w, true)).toBe('the worker exited 3144 ms after SIGTERM, expected it still running');
    expect(workerExitCheck('exited', { ...w, afterSigtermMs: null }, true)).toBe('the worker was still running 28000 ms after SIGTERM, expected it to exit');
    expect(workerExitCheck('running', null, true)).toBe('no SIGTERM was sent (the close was never requested)');
    expect(workerExitCheck(undefined, null, false)).toBeNull();
  });
});

describe('kit verify title', () => {
  it('prints the worker exit after SIGTERM and the job end', () => {
    const w = { afterSigtermMs: 18412, code: 143, signal: null, boundMs: 18000, drainTimeoutMs: 15000, shutdownProcessTimeoutMs: 3000, watchedMs: 28000, socketsOpenAtExit: 0, socketsClosedBeforeExit: 2, socketsTotal: 3 };
    expect(lifecycleTitle({ workerExit: w })).toBe('; worker exit 18412 ms after SIGTERM (code 143, bound 18000 ms, 0 socket(s) open at exit)');
    expect(lifecycleTitle({ workerExit: { ...w, afterSigtermMs: null } })).toBe('; worker still running 28000 ms after SIGTERM');
    expect(lifecycleTitle({})).toBe('');
  });
});
