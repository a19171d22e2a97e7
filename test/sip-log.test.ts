import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sipLogEvents } from '../ts/observe/sip-log.js';

// Lines in livekit-sip v1.8.0's own format (zap console encoder), as it logged a real call here.
const LOG = [
  '2026-11-22T02:53:03.395Z\tINFO\tsip\tsip/server.go:312\tserver starting\t{"nodeID": "NE_x", "local": "198.18.1.2"}',
  '2026-11-22T02:53:07.092Z\tINFO\tsip\tsip/inbound.go:397\tprocessing invite\t{"nodeID": "NE_x", "callID": "SCL_A", "sipCallID": "closekit-1"}',
  '2026-11-22T02:53:07.100Z\tDEBUG\tsip\tsip/inbound.go:400\tdebug noise\t{"callID": "SCL_A"}',
  '2026-11-22T02:53:09.000Z\tINFO\tsip\tsip/inbound.go:397\tprocessing invite\t{"callID": "SCL_B"}',
  '2026-11-22T02:53:10.449Z\tINFO\tsip\tsip/inbound.go:604\tBYE from remote\t{"nodeID": "NE_x", "callID": "SCL_A"}',
  '2026-11-22T02:53:10.459Z\tINFO\tsip\tservice/service.go:261\tSIP call ended\t{"nodeID": "NE_x", "callID": "SCL_A", "reason": "hangup"}',
  'not a log line',
].join('\n');

describe('sipLogEvents', () => {
  const f = join(mkdtempSync(join(tmpdir(), 'ck-siplog-')), 'livekit-sip.log');
  writeFileSync(f, LOG);
  const offset = Date.parse('2026-11-22T02:53:00.000Z') - 1000; // wall - mono: mono 1000 ms at 02:53:00

  it("keeps one call's INFO lines, in order, on the monotonic clock", () => {
    const evs = sipLogEvents(f, offset, 'SCL_A');
    expect(evs.map((e) => e.data?.msg)).toEqual(['processing invite', 'BYE from remote', 'SIP call ended']);
    expect(evs[0]!.t).toBe(1000 + 7092);
    expect(evs[2]!.data?.reason).toBe('hangup');
  });

  it('keeps every call when no call id is known, and nothing from a missing file', () => {
    expect(sipLogEvents(f, offset, null).length).toBe(4);
    expect(sipLogEvents(join(tmpdir(), 'nope-ck.log'), offset, null)).toEqual([]);
  });
});
