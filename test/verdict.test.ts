import { describe, expect, it } from 'vitest';
import { endCallOutcome, judge, parkedIn, socketsOutlivedClose, type LedgerSocket } from '../ts/verdict/index.js';
import type { TimelineEvent } from '../ts/observe/events.js';

const ev = (t: number, name: string, runtime: 'js' | 'kit' = 'js'): TimelineEvent => ({ t, ev: name, runtime });
const sock = (closedAt: number | null, kind: LedgerSocket['kind'] = 'stt'): LedgerSocket => ({ id: `s${Math.random()}`, kind, worker: 'js', openedAt: 0, closedAt, closeCode: closedAt === null ? null : 1000, errorsSent: [] });

describe('judge', () => {
  const before = [ev(0, 'session.started'), ev(10, 'wedge.entered'), ev(100, 'caller.hangup', 'kit')];

  it('is closed when the close event fired after the hangup and every socket closed', () => {
    const v = judge({ events: [...before, ev(120, 'close.requested'), ev(400, 'session.closed')], sockets: [sock(390), sock(395, 'tts')], hangupAt: 100 });
    expect(v.verdict).toBe('closed');
    expect(v.closeMs).toBe(300);
    expect(v.openSocketsAfterClose).toBe(0);
  });

  it('is a hang when the close was requested and never completed, naming where it parked', () => {
    const v = judge({ events: [...before, ev(120, 'close.requested'), ev(121, 'interrupt.done'), ev(122, 'drain.start'), ev(5000, 'stt.error')], sockets: [sock(null)], hangupAt: 100 });
    expect(v.verdict).toBe('hang');
    expect(v.lastEvent).toBe('drain.start');
    expect(v.openSocketsAfterClose).toBe(1);
    expect(v.closeMs).toBeNull();
  });

  it('is a hang whose close event fired when a provider socket outlived the close (seed 000), with the socket kind', () => {
    const v = judge({ events: [...before, ev(120, 'close.requested'), ev(300, 'session.closed')], sockets: [sock(null)], hangupAt: 100 });
    expect(v.verdict).toBe('hang');
    expect(v.closeEvent).toBe('session.closed');
    expect(v.closeMs).toBe(200);
    expect(v.reason).toMatch(/the session closed, but 1 provider socket\(s\) \(stt\) outlived the close/);
    expect(socketsOutlivedClose(v)).toBe(true);
    // a close that never fired is the other kind of hang
    expect(socketsOutlivedClose(judge({ events: [...before, ev(120, 'close.requested')], sockets: [sock(null)], hangupAt: 100 }))).toBe(false);
  });

  it('is an error when the run never reached the hangup (wedge never entered)', () => {
    const v = judge({ events: [ev(0, 'session.started')], sockets: [], hangupAt: null, abortReason: 'wedge.entered never came' });
    expect(v.verdict).toBe('error');
    expect(v.reason).toBe('wedge.entered never came');
  });

  it('is an error when the hangup never led to a close request', () => {
    const v = judge({ events: [...before], sockets: [sock(null)], hangupAt: 100 });
    expect(v.verdict).toBe('error');
    expect(v.reason).toMatch(/closeOnDisconnect/);
  });

  it('ignores a close event from before the hangup', () => {
    const v = judge({ events: [ev(50, 'session.closed'), ...before, ev(120, 'close.requested')], sockets: [], hangupAt: 100 });
    expect(v.verdict).toBe('hang');
  });
});

describe('judge, close.trigger agent-tool (the end-call tool awaits the close)', () => {
  const evd = (t: number, name: string, data: Record<string, unknown>): TimelineEvent => ({ t, ev: name, runtime: 'py', data });
  // the anchor is the worker's close.requested (t=1000): no caller.hangup before it
  const requested = [ev(0, 'session.started'), evd(999, 'tool.end_call.start', { tool: 'end_call', awaited: true }), evd(1000, 'close.requested', { reason: 'user_initiated' })];

  it('measures closeMs and closeRequestMs from the close request', () => {
    const v = judge({ trigger: 'agent-tool', events: [...requested, ev(1450, 'session.closed'), evd(1452, 'tool.end_call.returned', { ok: true, error: null, ms: 453 })], sockets: [sock(1460)], hangupAt: 1000 });
    expect(v.verdict).toBe('closed');
    expect(v.closeMs).toBe(450);
    expect(v.closeRequestMs).toBe(450);
    expect(v.reason).toContain('awaited close returned normally after 453 ms');
  });

  it('is a hang, never closed, when the awaited close threw (CancelledError) and no close event fired', () => {
    const v = judge({ trigger: 'agent-tool', events: [...requested, ev(1002, 'drain.start'), evd(6000, 'tool.end_call.returned', { ok: false, error: 'CancelledError: ', ms: 5001 })], sockets: [sock(6100), sock(6100, 'tts')], hangupAt: 1000 });
    expect(v.verdict).toBe('hang');
    expect(v.closeMs).toBeNull();
    expect(v.closeRequestMs).toBeNull();
    expect(v.reason).toContain('threw CancelledError');
    expect(v.reason).toContain('no close event');
  });

  it('is a hang when the awaited close returned normally without a close event', () => {
    const v = judge({ trigger: 'agent-tool', events: [...requested, evd(1200, 'tool.end_call.returned', { ok: true, error: null, ms: 201 })], sockets: [], hangupAt: 1000 });
    expect(v.verdict).toBe('hang');
    expect(v.reason).toContain('returned normally');
  });

  it('is a hang naming where it parked when the tool is still waiting', () => {
    const v = judge({ trigger: 'agent-tool', events: [...requested, ev(1001, 'activity.close.start'), { t: 1002, ev: 'activity.step.start', runtime: 'js', data: { step: 'toolExecutor.drain' } }], sockets: [sock(null)], hangupAt: 1000 });
    expect(v.verdict).toBe('hang');
    expect(v.reason).toContain('had not returned');
    expect(v.lastEvent).toBe('activity.step.start(toolExecutor.drain)');
  });

  it('is an error when the close request did not come from the end-call tool', () => {
    const v = judge({ trigger: 'agent-tool', events: [ev(0, 'session.started'), evd(1000, 'close.requested', { reason: 'participant_disconnected' }), ev(1100, 'session.closed')], sockets: [], hangupAt: 1000 });
    expect(v.verdict).toBe('error');
    expect(v.reason).toMatch(/participant_disconnected.*not by the end-call tool/);
  });

  it('is a hang when the session closed but a socket stayed open after the job ended', () => {
    const v = judge({ trigger: 'agent-tool', events: [...requested, ev(1300, 'session.closed')], sockets: [sock(null, 'tts')], hangupAt: 1000 });
    expect(v.verdict).toBe('hang');
    expect(v.reason).toMatch(/\(tts\) outlived the close/);
    expect(v.closeRequestMs).toBe(300);
  });

  it('says when the tool did not await the close', () => {
    expect(endCallOutcome([evd(1, 'tool.end_call.start', { tool: 'end_call', awaited: false }), evd(5, 'tool.end_call.returned', { ok: true, error: null, ms: 4 })])).toBe("the end_call tool's close (not awaited) returned normally after 4 ms");
  });

  it('without the trigger, the same timeline is judged from the hangup as before', () => {
    const v = judge({ events: [...requested, ev(1450, 'session.closed')], sockets: [], hangupAt: 900 });
    expect(v.closeMs).toBe(550);
    expect(v.closeRequestMs).toBe(450);
  });
});

describe('parkedIn', () => {
  it('names the innermost step the worker reported open', () => {
    const events: TimelineEvent[] = [
      { t: 1, ev: 'activity.step.start', runtime: 'js', data: { step: 'toolExecutor.drain' } },
      { t: 2, ev: 'parked', runtime: 'js', data: { open: ['activity.close', 'toolExecutor.drain'] } },
    ];
    expect(parkedIn(events, 'x')).toBe('toolExecutor.drain');
    expect(parkedIn([], 'fallback')).toBe('fallback');
  });
});
