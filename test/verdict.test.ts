import { describe, expect, it } from 'vitest';
import { judge, parkedIn, type LedgerSocket } from '../ts/verdict/index.js';
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

  it('is an error, not a hang, when the close event fired but a socket stayed open', () => {
    const v = judge({ events: [...before, ev(120, 'close.requested'), ev(300, 'session.closed')], sockets: [sock(null)], hangupAt: 100 });
    expect(v.verdict).toBe('error');
    expect(v.reason).toMatch(/stayed open/);
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
