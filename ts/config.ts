/**
 * Every pinned external version and every path the kit uses, in one place.
 * Paths are absolute; `.kit/` is the cache that `kit setup` fills idempotently.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Pinned versions. Change a pin here and nowhere else. */
export const VERSIONS = {
  /** Go module github.com/livekit/livekit-server, tag. */
  livekitServer: 'v1.13.5',
  /**
   * Go module github.com/livekit/sip, tag. Not v1.11.0: the Go module proxy these machines
   * reach refuses v1.9.0-v1.11.0 (403 "not available"); v1.8.0 is the newest it serves.
   */
  livekitSip: 'v1.8.0',
  /** npm @livekit/agents. */
  agentsJs: '1.9.0',
  /** npm @livekit/rtc-node that agents-js peers with (^0.13.34 for 1.9.0). */
  rtcNode: '0.13.35',
  /** PyPI livekit-agents. */
  agentsPy: '1.8.9',
} as const;

/**
 * The forced-close bound (ms) our patches give both runtimes by default
 * (agents-js `DEFAULT_FORCED_CLOSE_TIMEOUT = 5_000`, livekit-agents
 * `DEFAULT_FORCED_CLOSE_TIMEOUT = 5.0`). `kit verify` requires every patched wedge run to
 * close within this plus 1 s.
 */
export const FORCED_CLOSE_BOUND_MS = 5_000;

export const KIT_DIR = process.env.CLOSEKIT_KIT_DIR ? resolve(process.env.CLOSEKIT_KIT_DIR) : join(ROOT, '.kit');
export const BIN_DIR = join(KIT_DIR, 'bin');
export const RUNTIMES_DIR = join(KIT_DIR, 'runtimes');
/** Raw runs (keys, configs, unredacted logs and results): `.kit/runs/<run-id>/`. Never attached anywhere. */
export const RUNS_DIR = process.env.CLOSEKIT_RUNS_DIR ? resolve(process.env.CLOSEKIT_RUNS_DIR) : join(KIT_DIR, 'runs');
/** What may be attached to a public issue: `reports/<run-id>/`, redacted copies only. */
export const REPORTS_DIR = process.env.CLOSEKIT_REPORTS_DIR ? resolve(process.env.CLOSEKIT_REPORTS_DIR) : join(ROOT, 'reports');
export const SCENARIOS_DIR = join(ROOT, 'scenarios');
export const PATCHES_DIR = join(ROOT, 'patches');

export const LIVEKIT_SERVER_BIN = join(BIN_DIR, 'livekit-server');
export const LIVEKIT_SIP_BIN = join(BIN_DIR, 'livekit-sip');

/** The run network: each run gets 198.18.<n>.0/24; .1 is the host end, .2 the namespace end. */
export const NET = {
  prefix: '198.18',
  hostOctet: 1,
  nsOctet: 2,
};

/** Default ports inside the run's namespace (each run has its own namespace, so no collision). */
export const PORTS = {
  livekitHttp: 7880,
  livekitRtcTcp: 7881,
  livekitUdpStart: 50000,
  livekitUdpEnd: 50100,
  redis: 6379,
  gateway: 7900,
  sip: 5060,
  sipRtpStart: 20000,
  sipRtpEnd: 20100,
};
